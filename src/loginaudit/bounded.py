"""Untrusted documents parsed with limits: JSON bodies, YAML scenarios, opaque cursors.

Python's parsers accept what later crashes us: numbers past the int-string limit (ValueError deep in
`json`), nesting that exhausts the recursion limit, lone surrogates no database driver can encode,
and YAML aliases that expand 275 bytes into ten million nodes. Every document a client sends is
read through here, so those become a client error at the door, in the vendor's envelope.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

MAX_DEPTH = 32  # containers inside containers; the deepest real document (a scenario) uses 4
MAX_NODES = 1_000_000  # values in one document, aliases expanded (a 10 MiB body holds fewer)
MAX_DIGITS = 40  # a JSON integer literal; ids are signed 64-bit (19 digits)


class BadInput(ValueError):
    """A document we refuse to read (400); the message is safe to show the client."""

    status = 400


class Unstorable(BadInput):
    """Well-formed input holding text the store cannot keep (422)."""

    status = 422


def unstorable_at(text: str) -> int:
    """Where the first character the store cannot keep stands in `text`, or -1: NUL (PostgreSQL's
    text cannot hold it; the store refuses it on every backend) or a lone surrogate (not UTF-8)."""
    nul = text.find("\x00")
    if text.isascii():
        return nul
    try:
        text.encode("utf-8")
        return nul
    except UnicodeEncodeError as exc:
        return exc.start if nul < 0 else min(nul, exc.start)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise BadInput(f"number too long ({len(text)} characters)")
    return int(text)


def _float(text: str) -> float:
    if len(text) > 400:
        raise BadInput(f"number too long ({len(text)} characters)")
    return float(text)


def check_tree(doc: Any, *, storable: bool = False, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """`doc` itself when it is a tree of at most `max_depth` levels and `max_nodes` values and, with
    `storable`, every string (keys too) is one the store can keep; BadInput otherwise. Iterative:
    depth cannot hurt it."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise BadInput(f"document too large (more than {max_nodes} values)")
        if isinstance(node, str) and storable:
            _storable(node)
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                raise BadInput(f"document nested too deeply (more than {max_depth} levels)")
            if isinstance(node, dict):
                for key in node:
                    if isinstance(key, str) and storable:
                        _storable(key)
                stack.extend((v, depth + 1) for v in node.values())
            else:
                stack.extend((v, depth + 1) for v in node)
    return doc


def _storable(text: str) -> None:
    at = unstorable_at(text)
    if at >= 0:
        what = "a NUL character" if text[at] == "\x00" else "a lone surrogate (not valid Unicode)"
        raise Unstorable(f"a string holds {what}, which the store cannot keep")


def loads_json(text: str | bytes, *, storable: bool = False) -> Any:
    """json.loads with the limits above (see check_tree for `storable`)."""
    try:
        doc = json.loads(text, parse_int=_int, parse_float=_float)
    except RecursionError:
        raise BadInput(f"document nested too deeply (more than {MAX_DEPTH} levels)") from None
    except BadInput:
        raise
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadInput(str(exc)) from None
    return check_tree(doc, storable=storable)


def loads_yaml(text: str | bytes) -> Any:
    """yaml.safe_load after a streaming pass that bounds depth and the alias-expanded size, so
    neither an alias bomb nor deep nesting is ever built; YAML is only ever stored (scenarios)."""
    open_: list[list[Any]] = [[0, None]]  # per open collection: [values so far, its anchor]
    anchors: dict[str, int] = {}  # anchor -> values it expands to
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                open_[-1][0] += anchors.get(event.anchor or "", 1)
            elif isinstance(event, yaml.ScalarEvent):
                open_[-1][0] += 1
                if event.anchor:
                    anchors[event.anchor] = 1
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(open_) > MAX_DEPTH:
                    raise BadInput(f"document nested too deeply (more than {MAX_DEPTH} levels)")
                open_.append([1, event.anchor])
            elif isinstance(event, yaml.CollectionEndEvent):
                size, anchor = open_.pop()
                if anchor:
                    anchors[anchor] = size
                open_[-1][0] += size
            if sum(size for size, _ in open_) > MAX_NODES:
                raise BadInput(f"document too large (more than {MAX_NODES} values, aliases expanded)")
        return check_tree(yaml.safe_load(text), storable=True)
    except RecursionError:
        raise BadInput(f"document nested too deeply (more than {MAX_DEPTH} levels)") from None
    except yaml.YAMLError as exc:
        raise BadInput(f"not YAML: {exc}") from None


def excerpt(text: str, limit: int = 80) -> str:
    """At most `limit` characters of client input, for an error message (never echo it whole)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
