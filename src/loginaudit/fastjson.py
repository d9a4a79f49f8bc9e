"""Vendor bodies serialised by orjson, byte-identical to the stdlib encoder the specs were written against.

Encoding a 50-item page with `json` was 5-7% of a request's CPU (issue 20). orjson writes the same
compact bytes for what vendor handlers return (dicts, lists, str, int, bool, None) except where it
would differ, and there this falls back to the stdlib: non-ASCII text (the stdlib escapes it as
`\\uXXXX`), integers past 64 bits, and any other type (datetimes, subclasses, dataclasses), which
orjson is told to refuse rather than format its own way. Floats would be formatted differently in
exponent form (`1e16` vs `1e+16`); no vendor body carries one, and the control plane keeps the stdlib.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from connexion.jsonifier import Jsonifier

_REFUSE_OTHERS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(data: Any) -> str | None:
    """Compact JSON of `data` exactly as `json.dumps(data, separators=(",", ":"))` writes it, or
    None where orjson could not promise that."""
    try:
        raw = orjson.dumps(data, option=_REFUSE_OTHERS)
    except TypeError:
        return None
    return raw.decode("ascii") if raw.isascii() else None


class FastJsonifier(Jsonifier):  # type: ignore[misc]
    """Connexion's serialiser for vendor APIs: orjson where it is byte-identical, the stdlib otherwise."""

    def __init__(self) -> None:
        super().__init__(json, separators=(",", ":"))

    def dumps(self, data: Any, **kwargs: Any) -> str:
        fast = None if kwargs else dumps(data)
        return super().dumps(data, **kwargs) if fast is None else fast + "\n"
