"""Hostile input on every operation of every spec: never a 5xx, always a documented answer.

The cases are generated from the specs, not written per endpoint: every parameter gets every hostile
value, every leaf of every JSON body every hostile token, every body the deep-nesting and huge-number
documents, every credential slot hostile secrets, and every path the methods nobody routes. Each
answer is checked by Schemathesis' own checks against the spec (no server error, a documented
status, content type and body schema: the vendor's envelope). Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from loginaudit.registry import ROUTED, Vendor

# Values a parameter (path, query or header) gets, one at a time, all others left valid.
VALUES: dict[str, str] = {
    "5000 digits": "9" * 5000,
    "past 64 bits": "18446744073709551616",
    "negative": "-9223372036854775809",
    "year 9999 behind UTC": "9999-12-31T23:59:59-01:00",
    "year 1 ahead of UTC": "0001-01-01T00:00:00+01:00",
    "last QRadar millisecond": "253402300799999",
    "NUL": "a\x00b",
    "deep parentheses": "(" * 3000 + "x" + ")" * 3000,
    "deep NOT": "not " * 200 + "user_id = 1",
    "long": "x" * 20_000,
    "odd Unicode": "\u202e\ufeff\u540d\U0001f600",
}
# JSON tokens (raw text) a body leaf gets, one at a time.
TOKENS: dict[str, str] = {
    "5000 digits": "9" * 5000,
    "past 64 bits": "18446744073709551616",
    "lone surrogate": '"\\ud800"',
    "NUL": '"a\\u0000b"',
    "year 9999 behind UTC": '"9999-12-31T23:59:59-01:00"',
    "year 1 ahead of UTC": '"0001-01-01T00:00:00+01:00"',
    "deep arrays": "[" * 2000 + "]" * 2000,
    "deep objects": '{"a":' * 2000 + "1" + "}" * 2000,
    "wrong type": "[1]",
}
# Whole bodies any JSON operation may receive.
BODIES: dict[str, str] = {
    "deep arrays": "[" * 5000 + "]" * 5000,
    "number past the int-string limit": "9" * 5000,
    "surrogate key": '{"\\udfff": 1}',
    "not JSON": "{",
}
METHODS = ("HEAD", "TRACE", "FOO", "PATCH", "DELETE", "OPTIONS")
MARK = "__hostile__"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    label: str = ""


def _sample(vendor: Vendor, schema: Any, depth: int = 0) -> Any:
    """A value the schema accepts, every property filled (leaves are what the cases mutate)."""
    schema = vendor.resolve(schema)
    if "example" in schema and depth > 0:
        return schema["example"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        return {k: _sample(vendor, v, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_sample(vendor, schema.get("items", {}), depth + 1)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    return "2026-11-22T12:00:00Z" if schema.get("format") == "date-time" else "x"


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list) and node:
        yield from _leaves(node[0], (*path, 0))
    elif path:
        yield path


def _with_token(body: Any, leaf: tuple[Any, ...], token: str) -> str:
    copy = json.loads(json.dumps(body))
    target = copy
    for step in leaf[:-1]:
        target = target[step]
    target[leaf[-1]] = MARK
    return json.dumps(copy).replace(f'"{MARK}"', token)


@dataclass(frozen=True)
class Target:
    """One operation with valid values for everything; a case changes one thing."""

    method: str
    url_template: str
    good_path: dict[str, str]
    good_query: dict[str, str]
    auth: dict[str, str]

    def request(self, label: str, path: dict[str, str] | None = None, query: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, body: str | None = None, signed: bool = True) -> Request:
        values = {**self.good_path, **(path or {})}
        url = self.url_template.format(**{k: _quote(v) for k, v in values.items()})
        return Request(self.method.upper(), url, {**self.good_query, **(query or {})},
                       {**(self.auth if signed else {}), **(headers or {})}, body, label)


def _cases(vendor: Vendor, world: dict[str, Any]) -> Iterator[tuple[str, str, Request]]:
    """(path template, method, request) for every hostile case of the spec."""
    for template, item in vendor.routed_spec["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            params = [vendor.resolve(p) for p in (*shared, *op.get("parameters", []))]
            target = Target(method, vendor.url(template),
                            {p["name"]: world["path"].get(p["name"], "1") for p in params if p["in"] == "path"},
                            {p["name"]: world["query"][p["name"]] for p in params
                             if p["in"] == "query" and p["name"] in world["query"]},
                            world["auth"])
            for p in params:
                if p["in"] == "cookie":
                    continue
                for name, value in VALUES.items():
                    label = f"{p['in']} {p['name']} = {name}"
                    if p["in"] == "path":
                        yield template, method, target.request(label, path={p["name"]: value})
                    elif p["in"] == "query":
                        yield template, method, target.request(label, query={p["name"]: value})
                    elif _header_safe(value):
                        yield template, method, target.request(label, headers={p["name"]: value})
            body_spec = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body_spec is not None:
                sample = _sample(vendor, body_spec["schema"])
                json_type = {"Content-Type": "application/json"}
                for leaf in _leaves(sample):
                    for name, token in TOKENS.items():
                        yield template, method, target.request(f"body {'.'.join(map(str, leaf))} = {name}",
                                                               headers=json_type, body=_with_token(sample, leaf, token))
                for name, raw in BODIES.items():
                    yield template, method, target.request(f"body = {name}", headers=json_type, body=raw)
            if op.get("security", vendor.spec.get("security")):
                for header, value in world["hostile_auth"]:
                    yield template, method, target.request(f"credential {header}", headers={header: value},
                                                           signed=False)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _header_safe(value: str) -> bool:
    return value.isascii() and value.isprintable() and len(value) < 8000


def _world(client: Any) -> dict[str, Any]:
    """A seeded store and, per vendor, working credentials and good path values."""
    client.post("/_loginaudit/seed", json={"events": 200, "seed": 3}).raise_for_status()
    tokens = {(t["vendor"], t["kind"]): t["secret"] for t in client.get("/_loginaudit/tokens").json()}
    ssojet_key = next(t for t in client.get("/_loginaudit/tokens", params={"vendor": "ssojet"}).json())
    cred = client.get(f"/_loginaudit/credentials/{ssojet_key['credential_id']}").json()
    person = client.get(f"/_loginaudit/people/{cred['person_id']}").json()
    tenant = client.get(f"/_loginaudit/tenants/{cred['tenant_id']}").json()
    jwt = client.post("/api/v3/iam/auth/api/login", json={"key": tokens["ingedata", "admin_key"]}).json()
    hostile_secrets = {"5000 digits": "9" * 5000, "odd": "Bearer  \t x"}
    basic = base64.b64encode(b"admin:pa\x00ss").decode()
    return {
        "unleash": {"auth": {"Authorization": tokens["unleash", "admin"]}},
        "canvas": {"auth": {"Authorization": f"Bearer {tokens['canvas', 'site_admin']}"}},
        "qradar": {"auth": {"SEC": tokens["qradar", "sec_admin"]}, "extra_auth": {"Authorization": f"Basic {basic}"}},
        "ingedata": {"auth": {"Authorization": f"Bearer {jwt['meta']['token']}"}},
        "ssojet": {"auth": {"Authorization": f"Bearer {tokens['ssojet', 'api_key']}"},
                   "path": {"userid": person["uuid"]}, "query": {"client_id": tenant["client_id"]}},
        "okta": {"auth": {"Authorization": f"SSWS {tokens['okta', 'api_token']}"}},
        "entra": {"auth": {"Authorization": f"Bearer {tokens['entra', 'app_auditlog']}"}},
        "control": {"auth": {}, "path": {"vendor": "canvas"}},
        "hostile_secrets": hostile_secrets,
    }


def _failures(client: Any, vendor: Vendor, world: dict[str, Any]) -> tuple[int, list[str]]:
    mine = world[vendor.name]
    hostile_auth = [(h, v) for h in mine["auth"] for v in world["hostile_secrets"].values()]
    hostile_auth += list(mine.get("extra_auth", {}).items())
    context = {"auth": mine["auth"], "path": mine.get("path", {}), "query": mine.get("query", {}),
               "hostile_auth": hostile_auth}
    schema = schemathesis.openapi.from_asgi(f"{vendor.base_path}/openapi.json", client.app)
    # The served document is the published one (Okta: `/logs`); cases are made from the routed copy (`/`).
    published = dict(zip(vendor.routed_spec["paths"], vendor.spec["paths"], strict=True))
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    failures, tried, succeeded = [], 0, 0
    for template, method, req in _cases(vendor, context):
        tried += 1
        r = client.request(req.method, req.path, params=req.query, headers=req.headers,
                           content=req.body.encode("utf-8", "surrogatepass") if req.body is not None else None)
        succeeded += r.status_code < 300
        case = schema[published[template]][method].Case()
        try:
            case.validate_response(r, checks=checks)
        except Exception as exc:  # a FailureGroup: keep the first line of each failure
            failures.append(f"{req.method} {template} [{req.label}] -> {r.status_code} {r.text[:160]!r}: "
                            f"{str(exc).strip().splitlines()[0]}")
    if not succeeded:
        failures.append("no case got a 2xx: the valid parts of the requests are not valid")
    return tried, failures


@pytest.mark.parametrize("vendor", ROUTED, ids=lambda v: v.api_name)
def test_hostile_input_gets_a_documented_answer(client: Any, vendor: Vendor) -> None:
    world = _world(client)
    tried, failures = _failures(client, vendor, world)
    assert tried >= 10, f"only {tried} cases generated for {vendor.name}"
    assert not failures, f"{len(failures)} of {tried} hostile requests failed:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("vendor", ROUTED[:-1], ids=lambda v: v.api_name)
def test_unrouted_methods_answer_in_the_vendor_envelope(client: Any, vendor: Vendor) -> None:
    """HEAD like GET without a body where the vendor's router does that (not gin: 404); any other
    undocumented method the vendor's 404 or 405, in its own envelope, never a 5xx."""
    world = _world(client)
    mine = world[vendor.name]
    routed_head = getattr(vendor.module, "HEAD_ROUTED", True)
    for template, item in vendor.routed_spec["paths"].items():
        url = vendor.url(template).format_map(_Good(mine.get("path", {})))
        documented = {m.upper() for m in item if m != "parameters"}
        for method in (m for m in METHODS if m not in documented):
            r = client.request(method, url, params=mine.get("query", {}), headers=mine["auth"])
            where = f"{method} {template} -> {r.status_code}"
            assert r.status_code < 500, where
            if method == "HEAD" and "GET" in documented:
                get = client.get(url, params=mine.get("query", {}), headers=mine["auth"])
                assert r.status_code == (get.status_code if routed_head else 404), where
                assert r.content == b"", where
                continue
            assert r.status_code in (404, 405), where
            assert r.headers["content-type"].startswith(vendor.json_type.split(";")[0]), where
            assert r.headers["content-type"] == vendor.json_type, where
            assert ("allow" in r.headers) == (r.status_code == 405), where
            assert r.content == b"" if method == "HEAD" else isinstance(r.json(), dict | list), where


class _Good(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "1"
