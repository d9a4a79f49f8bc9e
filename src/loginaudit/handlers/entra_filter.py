"""The OData `$filter` subset Microsoft Graph takes on `auditLogs/signIns`, parsed by lark.

Graph's "List signIns" page and its query-parameter guide: comparisons `eq`, `ne`, `gt`, `ge`, `lt`,
`le`, the function `startswith(property, 'text')`, `and`, `or`, `not`, parentheses; string literals in
single quotes (`''` is a quote), date-times bare (`createdDateTime ge 2024-01-01T00:00:00Z`), numbers,
`true`/`false`, `null`. Properties are paths with `/` (`status/errorCode`, `location/city`). On beta, a
collection property takes the lambda `any` with `eq` tests joined by `or`
(`signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')`, what connectors send to
get both kinds of sign-in from beta). What the
store keeps becomes a comparison on its columns; what Graph derives from the kind of sign-in
(`status/errorCode`, `isInteractive`, `clientAppUsed`, ...) is decided per kind in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from lark import Lark, Token, v_args

from ..storage.criteria import And, Cmp, Expr, In, Not, Or, Text, with_values
from ..timefmt import parse_iso
from .grammar import Connectives, transform

GRAMMAR = r"""
?start: expr
?expr: or_
?or_: and_ (_OR and_)*
?and_: unary (_AND unary)*
?unary: _NOT unary                               -> negate
      | "(" expr ")"
      | PROP OP literal                          -> cmp
      | _STARTSWITH "(" PROP "," STRING ")"      -> startswith
      | PROP "(" PROP ":" member (_OR member)* ")" -> any_
member: PROP OP STRING
literal: STRING | DATETIME | NUMBER | TRUE | FALSE | NULL
OP.3: /(eq|ne|gt|ge|lt|le)\b/
_AND.3: /and\b/
_OR.3: /or\b/
_NOT.3: /not\b/
_STARTSWITH.3: /startswith\b/i
TRUE.3: /true\b/
FALSE.3: /false\b/
NULL.3: /null\b/
DATETIME.2: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})/
NUMBER: /-?\d+(\.\d+)?/
PROP: /[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*/
STRING: /'([^']|'')*'/
%import common.WS
%ignore WS
"""

# Graph property -> the store's column (compared as strings)
COLUMNS = {
    "id": "uuid",
    "userPrincipalName": "username",
    "ipAddress": "ip",
    "correlationId": "request_id",
    "appDisplayName": "client_name",
    "location/city": "city",
    "location/countryOrRegion": "country",
}
_OPS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
FALSE: Expr = In("id", ())
TRUE: Expr = In("id", (), negate=True)

# A kind of sign-in -> (criteria selecting it, its derived values by property)
Kinds = Mapping[str, tuple[Expr, Mapping[str, Any]]]


class FilterError(ValueError):
    """The expression does not parse, or uses what Graph does not support on signIns."""


def _compare(op: str, have: Any, want: Any) -> bool:
    try:
        match op:
            case "eq":
                return bool(have == want)
            case "ne":
                return bool(have != want)
            case "gt":
                return bool(have > want)
            case "ge":
                return bool(have >= want)
            case "lt":
                return bool(have < want)
        return bool(have <= want)
    except TypeError:  # a number against a string: never true
        return False


class _ToCriteria(Connectives):
    def __init__(self, kinds: Kinds, person_of: Callable[[str], int | None],
                 collections: Mapping[str, tuple[str, ...]]) -> None:
        super().__init__()
        self.kinds, self.person_of, self.collections = kinds, person_of, collections
        self.derived = {name for _, values in kinds.values() for name in values}

    @v_args(inline=True)
    def literal(self, tok: Token) -> Any:
        match tok.type:
            case "STRING":
                return str(tok)[1:-1].replace("''", "'")
            case "NUMBER":
                return float(tok) if "." in tok else int(tok)
            case "DATETIME":
                try:
                    return parse_iso(str(tok))
                except ValueError:
                    raise FilterError(f"Invalid date-time literal {tok}") from None
            case "TRUE" | "FALSE":
                return tok == "true"
        return None

    def _kinds_where(self, name: str, test: Callable[[Any], bool]) -> Expr:
        chosen = [expr for expr, values in self.kinds.values() if test(values[name])]
        if len(chosen) == len(self.kinds):
            return TRUE
        return Or(tuple(chosen)) if chosen else FALSE

    @v_args(inline=True)
    def cmp(self, prop: Token, op: Token, value: Any) -> Expr:
        name, op_name = str(prop), str(op)
        if name == "createdDateTime":
            if not isinstance(value, datetime):
                raise FilterError("createdDateTime compares with a date-time literal")
            return Cmp("occurred_at", _OPS[op_name], value)  # type: ignore[arg-type]
        if name == "userId":
            if op_name not in ("eq", "ne") or not isinstance(value, str):
                raise FilterError("userId compares with eq or ne and a quoted id")
            person = self.person_of(value)
            match = FALSE if person is None else Cmp("person_id", "=", person)
            return Not(match) if op_name == "ne" else match
        if name in self.derived:
            return self._kinds_where(name, lambda have: _compare(op_name, have, value))
        if name not in COLUMNS:
            raise FilterError(f"Invalid filter clause: property '{name}' is not supported")
        column = COLUMNS[name]
        if value is None:
            return Cmp(column, "=" if op_name == "eq" else "!=", None)
        if not isinstance(value, str):
            return FALSE if op_name != "ne" else TRUE
        return Cmp(column, _OPS[op_name], value)  # type: ignore[arg-type]

    @v_args(inline=True)
    def startswith(self, prop: Token, text: Token) -> Expr:
        name, value = str(prop), str(text)[1:-1].replace("''", "'")
        if name in self.derived:
            return self._kinds_where(name, lambda have: isinstance(have, str) and
                                     have.lower().startswith(value.lower()))
        if name not in COLUMNS:
            raise FilterError(f"Invalid filter clause: startswith on '{name}' is not supported")
        return Text(COLUMNS[name], "prefix", value, casefold=True)

    @v_args(inline=True)
    def member(self, var: Token, op: Token, text: Token) -> tuple[str, str, str]:
        return str(var), str(op), str(text)[1:-1].replace("''", "'")

    def any_(self, children: list[Any]) -> Expr:
        prop, var, *members = children
        name = str(prop).removesuffix("/any")
        if not str(prop).endswith("/any") or name not in self.collections:
            raise FilterError(f"Invalid filter clause: property '{prop}' is not supported")
        if any(v != str(var) or op != "eq" for v, op, _ in members):
            raise FilterError(f"Invalid filter clause: any() on '{name}' takes {var} eq '...' joined by or")
        # every sign-in the store keeps has the same collection (interactive user sign-ins)
        return TRUE if any(value in self.collections[name] for _, _, value in members) else FALSE


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


def parse(text: str, kinds: Kinds, person_of: Callable[[str], int | None],
          collections: Mapping[str, tuple[str, ...]] | None = None) -> Expr:
    """The $filter as store criteria; FilterError when it does not parse or uses what signIns do not support.
    `collections`: the collection properties `any` may test, with every sign-in's members (beta's).

    Parsed by its shape where that is safe: the text with each date-time outside a string replaced by a
    numbered stand-in (year 1001, 1002, ...). A connector's walk sends one shape with new times each
    time, and lark's parse and transform were ~20% of an Entra page. The shape's criteria are
    remembered only if every stand-in came out once, as a createdDateTime comparison (the one rule
    whose result does not depend on the value: a derived property compares the value itself) and no
    user was looked up (that answer is the store's); the text's own date-times are put back. Anything
    else, or a date-time the store cannot take, and the text is parsed itself, so every error is its own."""
    collections = collections or {}
    found: list[str] = []

    def stand_in(match: re.Match[str]) -> str:
        if match.group(1) is None:  # a string: kept as it is
            return match.group(0)
        found.append(match.group(1))
        return f"{_FIRST_YEAR + len(found)}-01-01T00:00:00Z"

    shape = _DATETIMES.sub(stand_in, text)
    if found and len(found) < _MOST:
        key = (shape, id(kinds), tuple(sorted(collections.items())))
        remembered = _SHAPES.get(key)
        if remembered is None or remembered[0] is not kinds:
            remembered = (kinds, _shape_criteria(shape, kinds, collections, len(found)))
            if len(_SHAPES) >= _SHAPES_KEPT:
                _SHAPES.clear()
            _SHAPES[key] = remembered
        criteria = remembered[1]
        if criteria is not None:
            try:
                times = [parse_iso(t) for t in found]
            except ValueError:
                pass  # the text's own parse names it
            else:
                return _bound(criteria, times)
    return _parsed(text, kinds, person_of, collections)


def _parsed(text: str, kinds: Kinds, person_of: Callable[[str], int | None],
            collections: Mapping[str, tuple[str, ...]]) -> Expr:
    return transform(_parser(), text, _ToCriteria(kinds, person_of, collections),
                     predicates=frozenset({"cmp", "startswith", "any_"}),
                     error=FilterError, syntax="Invalid filter clause")


# A date-time as the lexer's DATETIME reads it, not inside a string (matched first and kept) nor
# touching another token's characters (then the text is left to the lexer as it is).
_DATETIMES = re.compile(r"'(?:[^']|'')*'|(?<![\w./:+-])(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                        r"(?:Z|[+-]\d{2}:\d{2}))(?![\w./:+-])")
_FIRST_YEAR, _MOST = 1000, 999  # stand-ins are years 1001..1998: the store keeps them (timefmt.EARLIEST)
_SHAPES: dict[tuple[Any, ...], tuple[Kinds, Expr | None]] = {}
_SHAPES_KEPT = 1024


class _LookedUp(Exception):
    """A shape named a user: its criteria depend on the store, so they are not remembered."""


def _no_lookup(_user: str) -> int | None:
    raise _LookedUp


def _shape_criteria(shape: str, kinds: Kinds, collections: Mapping[str, tuple[str, ...]],
                    count: int) -> Expr | None:
    """The shape's criteria if they can stand for every text of that shape, else None."""
    try:
        criteria = _parsed(shape, kinds, _no_lookup, collections)
    except (FilterError, _LookedUp):
        return None
    seen = sorted(_stand_ins(criteria))
    return criteria if seen == list(range(1, count + 1)) else None


def _stand_in(value: Any) -> int | None:
    """Which stand-in a criteria value is (its year past _FIRST_YEAR), if it is one."""
    if isinstance(value, datetime) and _FIRST_YEAR < value.year < _FIRST_YEAR + _MOST:
        return value.year - _FIRST_YEAR
    return None


def _stand_ins(expr: Expr) -> list[int]:
    """Every stand-in in the criteria; -1 for one anywhere but a createdDateTime comparison."""
    match expr:
        case Not(expr=inner):
            return _stand_ins(inner)
        case And(exprs=inner) | Or(exprs=inner):
            return [n for e in inner for n in _stand_ins(e)]
        case Cmp(field=field, value=value):
            n = _stand_in(value)
            return [] if n is None else [n if field == "occurred_at" else -1]
    values = [v for held in vars(expr).values() for v in (held if isinstance(held, tuple) else (held,))]
    return [-1] if any(_stand_in(v) is not None for v in values) else []


def _bound(expr: Expr, times: list[datetime]) -> Expr:
    """The shape's criteria with each stand-in replaced by the text's date-time."""
    return with_values(expr, lambda value: value if (n := _stand_in(value)) is None else times[n - 1])
