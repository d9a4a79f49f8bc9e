"""Schemathesis configuration built from the specs themselves.

Each document's `info.x-loginaudit-conformance` says which statuses a schema-valid request may get
(and why) and which checks do not apply; this module turns that, plus credentials per security
scheme, into a `SchemathesisConfig`, so the test suite and `loginaudit conform` share one source.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig

# loginaudit's own mock controls (mocking/prefer.py: `__code`, `__example`, Prism's query twins of
# `Prefer`), not any vendor's input. Hypothesis draws string constants from the code under test, so a
# fuzzed query can name one (`__example=null` -> our 422 "Unprocessable Prefer", found by a fresh-clone CI
# run); every case sent by the conformance suite and the test suite goes without them.
MOCK_CONTROLS = ("__code", "__example")


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    if case.query:
        for name in [n for n in case.query if n in MOCK_CONTROLS]:
            del case.query[name]


def settings_of(spec: Mapping[str, Any]) -> dict[str, Any]:
    return dict(spec["info"].get("x-loginaudit-conformance") or {})


def auth_entry(spec: Mapping[str, Any], scheme: str, value: str) -> dict[str, str]:
    """One credential for one security scheme, in Schemathesis' shape (basic takes `user:password`)."""
    try:
        definition = spec["components"]["securitySchemes"][scheme]
    except KeyError:
        known = sorted(spec.get("components", {}).get("securitySchemes", {}))
        raise ValueError(f"{spec['info']['title']} has no security scheme {scheme!r}; it has {known}") from None
    if definition["type"] == "http" and definition["scheme"].lower() == "basic":
        user, _, password = value.partition(":")
        return {"username": user, "password": password}
    if definition["type"] == "http":
        return {"bearer": value}
    return {"api_key": value}


def project(spec: Mapping[str, Any], auth: Mapping[str, str]) -> dict[str, Any]:
    settings = settings_of(spec)
    checks: dict[str, Any] = {name: {"enabled": False} for name in settings.get("disabled-checks", [])}
    if "expected-statuses" in settings:
        checks["positive_data_acceptance"] = {"expected-statuses": list(settings["expected-statuses"])}
    entry: dict[str, Any] = {"title": spec["info"]["title"], "checks": checks}
    if auth:
        entry["auth"] = {"openapi": {scheme: auth_entry(spec, scheme, value) for scheme, value in auth.items()}}
    return entry


def build(specs: Iterable[tuple[Mapping[str, Any], Mapping[str, str]]], *, seed: int = 42,
          max_examples: int = 60) -> SchemathesisConfig:
    """A config with one [[project]] per (spec, {security scheme: credential})."""
    return SchemathesisConfig.from_dict({
        "seed": seed,
        "generation": {"max-examples": max_examples},
        "project": [project(spec, auth) for spec, auth in specs],
    })
