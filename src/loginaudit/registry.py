"""The vendors this server emulates: one line each.

Adding a vendor = one spec in openapi/, one handler module, one line below, its tests.
A handler module provides the operation functions its spec names, `render_error` (the vendor's
body for framework-level errors), `TOKEN_KINDS` (the credentials the control plane can issue) and
`ADMIN_TOKEN_KIND` (the one of them that sees everything).
"""

from __future__ import annotations

import importlib
import pathlib
import re
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from types import ModuleType
from typing import Any
from urllib.parse import urlparse

import yaml

from .bundle import bundled


def spec_dir() -> pathlib.Path:
    """`loginaudit/openapi` in an installed wheel, the repository's top-level `openapi/` otherwise."""
    packaged = pathlib.Path(__file__).parent / "openapi"
    return packaged if packaged.is_dir() else pathlib.Path(__file__).parents[2] / "openapi"


_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
DOC_SUFFIXES = ("/openapi.json", "/openapi.yaml", "/swagger.json")


@dataclass(frozen=True)
class Vendor:
    name: str
    spec_file: str
    module_name: str
    # Real vendors ignore unknown query parameters; strict validation would answer 400 where they answer 200.
    strict_query: bool = False
    # The exact Content-Type the vendor's server sends for JSON (specs say plain application/json).
    json_type: str = "application/json"
    # Documents for client generation that are not routed (e.g. one per contract of a two-contract path).
    client_specs: tuple[str, ...] = ()
    # Where the API is mounted when its server URL is another vendor's base (Okta's `/api/v1` is SSOJet's
    # too): the routed copy of the spec is re-rooted there, the published document stays as written.
    mount: str | None = None
    # More versions of the API, one document each at its own server path (Graph's `/beta` beside `/v1.0`),
    # answered by the same handlers with the same tokens, settings and rate limits: the same vendor.
    versions: tuple[str, ...] = ()

    @cached_property
    def apis(self) -> tuple[Vendor, ...]:
        """What is routed for this vendor: its document, then one per other version."""
        return (self, *(replace(self, spec_file=f, versions=(), client_specs=()) for f in self.versions))

    @property
    def api_name(self) -> str:
        """The routed document's name for Connexion (`entra`, `entra-beta`): unique per API."""
        return self.spec_file.removesuffix(".yaml")

    @cached_property
    def server_path(self) -> str:
        """The path of the published document's first server URL (Okta: `/api/v1`)."""
        return str(urlparse(self.spec["servers"][0]["url"]).path).rstrip("/")

    @cached_property
    def routed_spec(self) -> dict[str, Any]:
        """The spec as mounted: under `mount`, paths re-rooted below it (`/logs` under `/api/v1/logs` is `/`)."""
        if self.mount is None:
            return self.spec
        below = self.mount.removeprefix(self.server_path)
        paths = {(t.removeprefix(below) or "/"): item for t, item in self.spec["paths"].items()}
        return {**self.spec, "servers": [{"url": self.mount}], "paths": paths}

    def url(self, template: str) -> str:
        """The full path of a routed spec's path template (the mount itself for `/`)."""
        return self.base_path + ("" if template == "/" else template)

    @cached_property
    def root_routed(self) -> bool:
        """Whether the mount itself is an operation's URL (spec path `/`), which the router would
        otherwise redirect to a trailing slash."""
        return "/" in self.routed_spec["paths"]

    @cached_property
    def spec(self) -> dict[str, Any]:
        with open(spec_dir() / self.spec_file, encoding="utf-8") as fh:
            return bundled(yaml.safe_load(fh), spec_dir())

    @property
    def title(self) -> str:
        return str(self.spec["info"]["title"])

    @cached_property
    def base_path(self) -> str:
        """Where the API is mounted: the path of the routed spec's first server URL, as Connexion derives it."""
        return str(urlparse(self.routed_spec["servers"][0]["url"]).path).rstrip("/")

    def serves(self, path: str) -> bool:
        """Whether `path` is under this API's base path."""
        return path == self.base_path or path.startswith(self.base_path + "/")

    def serves_docs(self, path: str) -> bool:
        """Whether `path` is this API's documentation (Swagger UI, the served document), not the API."""
        return path.startswith(self.base_path + "/ui") or path.endswith(DOC_SUFFIXES)

    @cached_property
    def _path_patterns(self) -> dict[str, re.Pattern[str]]:
        """Each path template of the spec as a full-path regex (a `{param}` matches one segment)."""
        return {template: re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(
                    self.base_path + ("" if template == "/" else template))) + ("/?$" if template == "/" else "$"))
                for template in self.routed_spec["paths"]}

    @cached_property
    def routes(self) -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
        """(full-path regex, documented methods) for every path of the spec."""
        return tuple((self._path_patterns[template], tuple(m.upper() for m in item if m in _METHODS))
                     for template, item in self.routed_spec["paths"].items())

    @cached_property
    def operations(self) -> tuple[tuple[re.Pattern[str], str, str], ...]:
        """(full-path regex, METHOD, operationId) for every operation of the spec."""
        return tuple((self._path_patterns[template], method.upper(), str(op["operationId"]))
                     for template, item in self.routed_spec["paths"].items()
                     for method, op in item.items() if method in _METHODS)

    def operation_for(self, method: str, path: str) -> str | None:
        """The operationId routed for `method` on `path` (HEAD is GET's), or None."""
        method = "GET" if method == "HEAD" else method
        for pattern, op_method, op_id in self.operations:
            if op_method == method and pattern.match(path):
                return op_id
        return None

    def operation(self, op_id: str) -> dict[str, Any] | None:
        """The spec's operation object for `op_id`."""
        for item in self.spec["paths"].values():
            for method, op in item.items():
                if method in _METHODS and op.get("operationId") == op_id:
                    return op  # type: ignore[no-any-return]
        return None

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow a local `$ref` (e.g. a shared response in components)."""
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    @cached_property
    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)


VENDORS: tuple[Vendor, ...] = (
    Vendor("unleash", "unleash.yaml", "loginaudit.handlers.unleash", json_type="application/json; charset=utf-8"),
    Vendor("canvas", "canvas.yaml", "loginaudit.handlers.canvas", json_type="application/json; charset=utf-8"),
    Vendor("qradar", "qradar.yaml", "loginaudit.handlers.qradar", json_type="application/json;charset=UTF-8"),
    Vendor("ingedata", "ingedata.yaml", "loginaudit.handlers.ingedata"),
    Vendor("ssojet", "ssojet.yaml", "loginaudit.handlers.ssojet", json_type="application/json; charset=utf-8",
           client_specs=("ssojet-legacy.yaml", "ssojet-current.yaml")),
    Vendor("okta", "okta.yaml", "loginaudit.handlers.okta", mount="/api/v1/logs"),
    Vendor("entra", "entra.yaml", "loginaudit.handlers.entra", versions=("entra-beta.yaml",),
           json_type="application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
)
CONTROL = Vendor("control", "control.yaml", "loginaudit.handlers.control", strict_query=True)
# Every routed API document: each vendor's versions, then the control plane.
ROUTED: tuple[Vendor, ...] = (*(api for vendor in VENDORS for api in vendor.apis), CONTROL)


@lru_cache(maxsize=4096)
def vendor_for(path: str) -> Vendor | None:
    """The API (vendor or control plane) whose base path is the longest prefix of `path`; asked by
    several middlewares per request, so remembered per path (bounded: paths are client input)."""
    best: Vendor | None = None
    for vendor in ROUTED:
        if vendor.serves(path) and (best is None or len(vendor.base_path) > len(best.base_path)):
            best = vendor
    return best


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods the specs document for `path` (Connexion's own 405 `Allow` lists only one route's)."""
    for vendor in ROUTED:
        for pattern, methods in vendor.routes:
            if pattern.match(path):
                return methods + (("HEAD",) if "GET" in methods else ())
    return ()


def by_name(name: str) -> Vendor:
    for vendor in VENDORS:
        if vendor.name == name:
            return vendor
    raise KeyError(name)


class SettingsError(ValueError):
    """Settings a vendor does not have, or values it does not take; `status` is the control plane's answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def checked_settings(vendor: str, values: dict[str, Any]) -> tuple[Vendor, dict[str, Any]]:
    """The vendor and its defaults, once every key of `values` is one of its settings with a value it takes
    (the same rules for the control plane, scenarios and --mock-config)."""
    try:
        v = by_name(vendor)
    except KeyError:
        raise SettingsError(f"unknown vendor {vendor!r}", 404) from None
    defaults = dict(getattr(v.module, "SETTINGS", {}))
    if not isinstance(values, dict):
        raise SettingsError(f"{v.name} settings are a mapping of setting to value")
    for key, value in values.items():
        if key not in defaults:
            raise SettingsError(f"{v.name} has no setting {key!r}; it has {sorted(defaults)}")
        if type(value) is not type(defaults[key]):
            raise SettingsError(f"{v.name} setting {key!r} takes a {type(defaults[key]).__name__}")
        choices = getattr(v.module, "SETTING_CHOICES", {}).get(key)
        if choices is not None and value not in choices:
            raise SettingsError(f"{v.name} setting {key!r} is one of {sorted(choices)}")
    return v, defaults
