"""The ASGI application: every vendor's spec mounted at its real path over one shared store."""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import connexion
from connexion.jsonifier import Jsonifier
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver

from . import errors, landing
from .registry import CONTROL, VENDORS, Vendor, allowed_methods, spec_dir
from .storage import Store, bind
from .uri import SafeURIParser


def _renderer_for(path: str) -> errors.Renderer | None:
    best: Vendor | None = None
    for vendor in (*VENDORS, CONTROL):
        base = vendor.base_path
        if (path == base or path.startswith(base + "/")) and (best is None or len(base) > len(best.base_path)):
            best = vendor
    return None if best is None else best.module.render_error


def create_app(database_url: str | None = None, *, validate_responses: bool | None = None,
               store: Store | None = None) -> Any:
    """Build the app; `validate_responses` defaults to $LOGINAUDIT_VALIDATE_RESPONSES (off)."""
    if validate_responses is None:
        validate_responses = os.environ.get("LOGINAUDIT_VALIDATE_RESPONSES", "") not in ("", "0")
    store = store or Store(database_url)
    store.create_schema()
    bind(store)
    logging.getLogger("connexion").setLevel(logging.ERROR)  # it logs every 4xx at WARNING

    app = connexion.FlaskApp(
        __name__,
        specification_dir=spec_dir(),
        uri_parser_class=SafeURIParser,
        jsonifier=Jsonifier(json, separators=(",", ":")),  # compact, insertion-ordered
    )
    for vendor in (*VENDORS, CONTROL):
        _ = vendor.module  # import now, not in the first request's thread (import-lock deadlock)
        app.add_api(
            vendor.spec_file,
            name=vendor.name,
            resolver=RelativeResolver(vendor.module_name),
            strict_validation=vendor.strict_query,
            validate_responses=validate_responses,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=True, swagger_ui_path="/ui"),
        )
    errors.install(app, _renderer_for, allowed_methods)
    landing.install(app)
    app.store = store
    return app
