"""Prism's response choice by request: `Prefer: code=401, example=badToken` (or the `__code` and
`__example` query twins) answers with that documented response, before auth and validation, so a
client's error paths are testable without arranging state.

The body is the documented example (a named one, else the media type's `example`, else the first
named one); a documented error status without an example gets the vendor's own error body. A
code or example the operation does not document is a 422 problem naming what it does document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from connexion.lifecycle import ConnexionResponse
from connexion.problem import problem

from ..registry import Vendor


@dataclass(frozen=True)
class Preference:
    code: str | None = None
    example: str | None = None


def parse(prefer_header: str | None, query_string: bytes) -> Preference | None:
    """The Prefer header's `code`/`example`, overridden by `__code`/`__example`; None if neither is set."""
    found: dict[str, str] = {}
    for part in (prefer_header or "").replace(";", ",").split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip().lower() in ("code", "example"):
            found[key.strip().lower()] = value.strip().strip('"')
    if b"__" in query_string or b"%5f" in query_string.lower():  # else no key can unquote to `__...`
        for key, value in parse_qsl(query_string.decode("latin-1")):
            if key in ("__code", "__example"):
                found[key[2:]] = value
    if not found:
        return None
    return Preference(code=found.get("code"), example=found.get("example"))


def _pick_media(content: dict[str, Any], accept: str | None) -> str | None:
    if not content:
        return None
    for wanted in (accept or "").split(","):
        media = wanted.split(";")[0].strip().lower()
        if media in content:
            return media
    return next(iter(content))


def _example(media: dict[str, Any], name: str | None) -> tuple[bool, Any]:
    examples = media.get("examples") or {}
    if name is not None:
        return (True, examples[name].get("value")) if name in examples else (False, None)
    if "example" in media:
        return True, media["example"]
    if examples:
        return True, next(iter(examples.values())).get("value")
    return False, None


def _header_values(vendor: Vendor, response: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, header in (response.get("headers") or {}).items():
        header = vendor.resolve(header)
        schema = vendor.resolve(header.get("schema") or {})
        value = header.get("example", schema.get("example", schema.get("default")))
        if value is not None:
            out[name] = str(value)
    return out


def _unsatisfiable(vendor: Vendor, op_id: str, detail: str, documented: list[str]) -> ConnexionResponse:
    return problem(422, "Unprocessable Prefer", f"{vendor.name} {op_id}: {detail}",
                   ext={"documented": documented}, headers={"X-Loginaudit-Prefer": "unsatisfiable"})


def respond(vendor: Vendor, op_id: str, pref: Preference, accept: str | None, path: str) -> ConnexionResponse:
    operation = vendor.operation(op_id) or {}
    responses = {str(code): vendor.resolve(r) for code, r in operation.get("responses", {}).items()}
    documented = sorted(responses)
    if pref.code is not None and pref.code not in responses:
        return _unsatisfiable(vendor, op_id, f"no documented {pref.code!r} response", documented)
    candidates = [pref.code] if pref.code is not None else documented
    for code in candidates:
        response = responses[code]
        media_type = _pick_media(response.get("content") or {}, accept)
        found, body = _example(response["content"][media_type], pref.example) if media_type else (False, None)
        if pref.example is not None and not found:
            continue
        status = int(code) if code.isdigit() else 200
        headers = {**_header_values(vendor, response), "X-Loginaudit-Prefer": "applied"}
        if found:
            raw = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
            return ConnexionResponse(status_code=status, body=raw, content_type=media_type, headers=headers)
        if status >= 400:
            rendered: ConnexionResponse = vendor.module.render_error(status, HTTPStatus(status).phrase, headers, path)
            return rendered
        return ConnexionResponse(status_code=status, body=b"", headers=headers)
    return _unsatisfiable(vendor, op_id, f"no documented example {pref.example!r}"
                          + (f" for {pref.code}" if pref.code else ""), documented)
