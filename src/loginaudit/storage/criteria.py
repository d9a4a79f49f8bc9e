"""A vendor-neutral filter language over login events.

Handlers translate their vendor's query grammar (QRadar filters, JSON:API filter[...], time
bounds) into these nodes; the store compiles them to parameterised SQL.  No vendor knowledge here.
"""

from __future__ import annotations

from collections.abc import Callable
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


def with_values(expr: Expr, value: Callable[[Any], Any]) -> Expr:
    """The criteria with every compared value passed through `value`: a filter parsed by its shape
    (QRadar's, Entra's) gets the text's own values back in place of its stand-ins."""
    match expr:
        case Not(expr=inner):
            return Not(with_values(inner, value))
        case And(exprs=inner):
            return And(tuple(with_values(e, value) for e in inner))
        case Or(exprs=inner):
            return Or(tuple(with_values(e, value) for e in inner))
        case Cmp(field=field, op=op, value=v):
            return Cmp(field, op, value(v))
        case In(field=field, values=values, negate=negate):
            return In(field, tuple(value(v) for v in values), negate=negate)
        case Between(field=field, low=low, high=high, negate=negate):
            return Between(field, value(low), value(high), negate=negate)
    return expr


def all_of(*exprs: Expr | None) -> Expr | None:
    """AND of the given expressions, skipping Nones; None when nothing is left."""
    kept = tuple(e for e in exprs if e is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(kept)


def tightened(expr: Expr) -> Expr:
    """The same predicate with each field's lower bounds (`>`, `>=`) among the top-level conjuncts
    reduced to the tightest, and its upper bounds likewise. SQLite starts an index range at one bound
    only and, with bound parameters, cannot tell which is tighter: a retention bound beside a query's
    window scanned the whole retention period whenever the window held fewer rows than the page."""
    if not isinstance(expr, And):
        return expr
    flat: list[Expr] = []
    pending = list(expr.exprs)
    while pending:
        e = pending.pop(0)
        if isinstance(e, And):
            pending[:0] = e.exprs
        else:
            flat.append(e)
    best: dict[tuple[str, bool], Cmp] = {}
    kept: list[Expr] = []
    for e in flat:
        if isinstance(e, Cmp) and e.op in (">", ">=", "<", "<=") and e.value is not None:
            lower = e.op in (">", ">=")
            key = (e.field, lower)
            have = best.get(key)
            try:
                if have is None or _tighter(e, have, lower):
                    best[key] = e
                continue
            except TypeError:  # values of different kinds: keep both, the database decides
                pass
        kept.append(e)
    kept.extend(best.values())
    return And(tuple(kept)) if len(kept) > 1 else kept[0]


def _tighter(new: Cmp, old: Cmp, lower: bool) -> bool:
    if new.value == old.value:
        return new.op in (">", "<")  # strict is tighter at the same value
    return bool(new.value > old.value) if lower else bool(new.value < old.value)
