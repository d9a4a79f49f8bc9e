"""A vendor-neutral filter language over login events.

Handlers translate their vendor's query grammar (QRadar filters, JSON:API filter[...], time
bounds) into these nodes; the store compiles them to parameterised SQL.  No vendor knowledge here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CmpOp = Literal["=", "!=", "<", ">", "<=", ">="]


@dataclass(frozen=True)
class Cmp:
    field: str
    op: CmpOp
    value: Any


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Any, ...]
    negate: bool = False


@dataclass(frozen=True)
class Between:
    field: str
    low: Any
    high: Any
    negate: bool = False


@dataclass(frozen=True)
class IsNull:
    field: str
    negate: bool = False


@dataclass(frozen=True)
class Text:
    """A string test beyond equality: `prefix` (starts with), `contains`, or `equals`; `casefold`
    compares case-insensitively (SCIM-style filters, keyword search)."""

    field: str
    mode: Literal["prefix", "contains", "equals"]
    value: str
    casefold: bool = False


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class And:
    exprs: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    exprs: tuple[Expr, ...]


Expr = Cmp | In | Between | IsNull | Text | Not | And | Or


def all_of(*exprs: Expr | None) -> Expr | None:
    """AND of the given expressions, skipping Nones; None when nothing is left."""
    kept = tuple(e for e in exprs if e is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(kept)
