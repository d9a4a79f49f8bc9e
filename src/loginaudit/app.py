"""The ASGI application: every vendor's spec mounted at its real path over one shared store."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, ClassVar, Literal

from connexion.jsonifier import Jsonifier
from connexion.middleware import ConnexionMiddleware, MiddlewarePosition
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIAPI, SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver

from . import errors, guard, landing, wire
from .fastjson import FastJsonifier
from .framework import INLINE_KEY, App
from .intake import CONTROL_VALIDATORS, VENDOR_VALIDATORS, OnceValidationMiddleware, SafeURIParser
from .lane import Prewired
from .limits import RequestLimits
from .mocking.middleware import MockBehaviours
from .registry import CONTROL, ROUTED, allowed_methods, spec_dir, vendor_for
from .responses import ResponseCache
from .storage import Store, bind


class RootPaths:
    """`/api/v1/logs` is routed as `/api/v1/logs/` (the mount's root operation), query string kept."""

    def __init__(self, app: Any, roots: frozenset[str]) -> None:
        self.app, self.roots = app, roots

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in self.roots:
            scope = {**scope, "path": scope["path"] + "/", "raw_path": scope["path"].encode() + b"/"}
        await self.app(scope, receive, send)


class PublishedSpecUI(SwaggerUIAPI):  # type: ignore[misc]
    """Swagger UI and `openapi.json` of a mounted vendor show the document it publishes (Okta: server
    `/api/v1`, path `/logs`), not the re-rooted copy it is routed by (path `/`, found by the browser test)."""

    MOUNTED: ClassVar[dict[str, Any]] = {v.base_path: v for v in ROUTED if v.mount}

    def _spec_for_prefix(self, request: Any) -> dict[str, Any]:
        vendor = self.MOUNTED.get(self.base_path)
        if vendor is None:
            return super()._spec_for_prefix(request)  # type: ignore[no-any-return]
        outer = self._base_path_for_prefix(request).removesuffix(vendor.base_path)  # a proxy's prefix, if any
        return {**vendor.spec, "servers": [{"url": outer + vendor.server_path}]}


DOC_MARKS = ("/openapi.", "/swagger.json", "/ui")  # in every path Swagger UI serves (spec json/yaml, the UI)


class PublishedSpecMiddleware(SwaggerUIMiddleware):  # type: ignore[misc]
    """Connexion 3.3's `add_api`, making a PublishedSpecUI (its own names SwaggerUIAPI outright); a request
    for no documentation path goes straight on (stock matches every API's mount and its routes first:
    ~3% of a vendor read), with a copy of its scope as stock's fallback passes on."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not any(mark in scope["path"] for mark in DOC_MARKS):
            await self.app(dict(scope), receive, send)
            return
        await super().__call__(scope, receive, send)

    def add_api(self, specification: Any, base_path: str | None = None, arguments: dict[str, Any] | None = None,
                **kwargs: Any) -> None:
        api = PublishedSpecUI(specification, base_path=base_path, arguments=arguments, default=self.default_fn,
                              **kwargs)
        self.router.mount(api.base_path, app=api.router)


MIDDLEWARES = [{SwaggerUIMiddleware: PublishedSpecMiddleware, RequestValidationMiddleware: OnceValidationMiddleware}
               .get(m, m) for m in ConnexionMiddleware.default_middlewares]


def _renderer_for(path: str) -> errors.Renderer | None:
    vendor = vendor_for(path)
    return None if vendor is None else vendor.module.render_error


def create_app(database_url: str | None = None, *, validate_responses: bool | None = None,
               store: Store | None = None, allowed_hosts: frozenset[str] | Literal["env"] | None = "env",
               control_token: str | None = None) -> Any:
    """Build the app; `validate_responses` defaults to $LOGINAUDIT_VALIDATE_RESPONSES (off), the host
    names it answers to to $LOGINAUDIT_ALLOWED_HOSTS plus loopback (None: any), the control-plane
    token to $LOGINAUDIT_CONTROL_TOKEN (none)."""
    if validate_responses is None:
        validate_responses = os.environ.get("LOGINAUDIT_VALIDATE_RESPONSES", "") not in ("", "0")
    store = store or Store(database_url)
    store.create_schema()
    bind(store)
    logging.getLogger("connexion").setLevel(logging.ERROR)  # it logs every 4xx at WARNING
    # Unknown query parameters are ignored like the vendors do; Connexion logs each at ERROR.
    logging.getLogger("connexion.decorators.parameter").setLevel(logging.CRITICAL)

    inline = store.engine.dialect.name == "sqlite"  # see framework: vendor reads on the event loop
    app = App(
        __name__,
        specification_dir=spec_dir(),
        uri_parser_class=SafeURIParser,
        middlewares=list(MIDDLEWARES),  # a copy: add_middleware inserts into the list it is given
        jsonifier=Jsonifier(json, separators=(",", ":")),  # compact, insertion-ordered
    )
    for vendor in ROUTED:
        _ = vendor.module  # import now, not in the first request's thread (import-lock deadlock)
        app.add_api(
            vendor.routed_spec,  # the document as read and bundled (see registry), re-rooted under a mount
            name=vendor.api_name,
            # Given explicitly, so Connexion mounts the most specific base path first (it sorts by the
            # base path it is given; without one every API sorts alike): QRadar's `/api` contains
            # every other vendor's tree.
            base_path=vendor.base_path,
            resolver=RelativeResolver(vendor.module_name),
            strict_validation=vendor.strict_query,
            validate_responses=validate_responses,
            validator_map=CONTROL_VALIDATORS if vendor is CONTROL else VENDOR_VALIDATORS,
            swagger_ui_options=SwaggerUIOptions(swagger_ui=True, swagger_ui_path="/ui"),
            **({} if vendor is CONTROL else {"jsonifier": FastJsonifier(), INLINE_KEY: inline}),
        )
    errors.install(app, _renderer_for, allowed_methods)
    hosts = guard.allowed_hosts_from_env() if allowed_hosts == "env" else allowed_hosts
    token = control_token or os.environ.get(guard.CONTROL_TOKEN_ENV) or None
    # Middlewares added later sit inside earlier ones: who may call comes first (it costs nothing);
    # the vendor's wire details apply to every answer;
    # a request's size is bounded and its body read before anything (the journal included) works on it.
    app.add_middleware(guard.Guard, MiddlewarePosition.BEFORE_EXCEPTION, allowed_hosts=hosts, control_token=token)
    app.add_middleware(wire.VendorWire, MiddlewarePosition.BEFORE_EXCEPTION, vendor_for=vendor_for)
    app.add_middleware(RequestLimits, MiddlewarePosition.BEFORE_EXCEPTION, vendor_for=vendor_for)
    # inside the Content-Type rewrite, so faults and Prefer answers leave with the vendor's exact type
    app.add_middleware(MockBehaviours, MiddlewarePosition.BEFORE_EXCEPTION, vendor_for=vendor_for)
    # innermost of ours: faults, limits, Prefer and the journal act on every request, hits included
    app.add_middleware(ResponseCache, MiddlewarePosition.BEFORE_EXCEPTION, vendor_for=vendor_for)
    # the router answers a mount's own path with a redirect to its trailing slash; a vendor whose
    # operation is at its mount (Okta's /api/v1/logs) is routed there instead
    app.add_middleware(RootPaths, MiddlewarePosition.BEFORE_ROUTING,
                       roots=frozenset(v.base_path for v in ROUTED if v.root_routed))
    # once routed, a request enters its operation's Connexion layers wired to each other (lane.py)
    app.add_middleware(Prewired, MiddlewarePosition.BEFORE_SECURITY)
    landing.install(app)
    app.store = store
    return app
