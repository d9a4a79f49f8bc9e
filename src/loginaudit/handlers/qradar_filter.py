"""The QRadar REST filter grammar: parsed by lark, evaluated in Python, translated for the store.

`parse()` gives a criteria tree over QRadar's field names and raw values; `evaluate()` is the
reference semantics on QRadar-shaped rows (used for enum fields and by the property tests);
`to_store()` rewrites a tree into the store's canonical fields and types, so SQL is only ever
built by the store, with bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from lark import Lark, Token, v_args
from lark.exceptions import LarkError

from ..storage.criteria import And, Between, Cmp, CmpOp, Expr, In, IsNull, Not, Or, with_values
from .grammar import Connectives, transform

GRAMMAR = r"""
?start: expr
?expr: or_
?or_: and_ (_OR and_)*
?and_: unary (_AND unary)*
?unary: _NOT unary                                  -> negate
      | "(" expr ")"
      | predicate
?predicate: FIELD OP value                           -> cmp
          | FIELD NOT? _IN "(" value ("," value)* ")" -> isin
          | FIELD NOT? _BETWEEN value _AND value     -> between
          | FIELD _IS NOT? _NULL                     -> isnull
value: NUMBER | STRING | BARE
OP: "<=" | ">=" | "!=" | "<>" | "^=" | "=" | "<" | ">"
_AND.3: /and\b/i
_OR.3: /or\b/i
_NOT.3: /not\b/i
NOT.3: /not\b/i
_IN.3: /in\b/i
_BETWEEN.3: /between\b/i
_IS.3: /is\b/i
_NULL.3: /null\b/i
FIELD: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER.2: /-?[0-9]+(\.[0-9]+)?(?![A-Za-z0-9_.:\-])/
STRING: /"(\\.|[^"\\])*"/
BARE: /[A-Za-z0-9_.:\-]+/
%import common.WS
%ignore WS
"""

FIELDS = ("attempt_time", "user_id", "remote_ip", "attempt_result", "attempt_method")
ENUMS: dict[str, tuple[str, ...]] = {"attempt_result": ("SUCCESS", "FAILURE"),
                                     "attempt_method": ("LOGIN_PAGE", "HTTP_BASIC")}
NUMERIC = ("attempt_time", "user_id")
FALSE: Expr = In("id", ())
TRUE: Expr = In("id", (), negate=True)


class FilterError(ValueError):
    """The filter does not parse, names an unknown field, or compares a field with the wrong type."""


class _ToCriteria(Connectives):
    def __init__(self, fields: tuple[str, ...] = FIELDS) -> None:
        super().__init__()
        self.fields = fields

    def _field(self, tok: Token) -> str:
        name = str(tok)
        if name not in self.fields:
            raise FilterError(f"Unknown field: {name}")
        return name

    @v_args(inline=True)
    def value(self, tok: Token) -> Any:
        if tok.type == "NUMBER":
            return float(tok) if "." in tok else int(tok)
        if tok.type == "STRING":
            inner = str(tok)[1:-1]
            out, escaped = [], False
            for ch in inner:
                if escaped or ch != "\\":
                    out.append(ch)
                    escaped = False
                else:
                    escaped = True
            return "".join(out)
        return str(tok)

    def cmp(self, items: list[Any]) -> Expr:
        field, op, value = items
        # IBM's table lists three spellings of "not equal": != <> ^=
        return Cmp(self._field(field), "!=" if op in ("<>", "^=") else str(op), value)  # type: ignore[arg-type]

    def isin(self, items: list[Any]) -> Expr:
        negate = len(items) > 1 and isinstance(items[1], Token) and items[1].type == "NOT"
        values = items[2:] if negate else items[1:]
        return In(self._field(items[0]), tuple(values), negate=negate)

    def between(self, items: list[Any]) -> Expr:
        negate = len(items) == 4
        lo, hi = items[-2:]
        return Between(self._field(items[0]), lo, hi, negate=negate)

    def isnull(self, items: list[Any]) -> Expr:
        return IsNull(self._field(items[0]), negate=len(items) == 2)



@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual")


MAX_LENGTH = 10_000  # characters
PREDICATES = frozenset({"cmp", "isin", "between", "isnull"})
def parse(text: str, fields: tuple[str, ...] = FIELDS) -> Expr:
    """A QRadar filter string → a criteria tree over an endpoint's fields (raises FilterError).

    Parsed by its shape: the text with each number outside a string replaced by a numbered placeholder
    of the same kind (sign, integer or decimal). The lexer reads a NUMBER in the same places whatever
    the digits and no rule looks at a number's value, so a shape parses as every text of that shape
    does: its tree is remembered and each text's numbers put back. A connector's walk sends one shape
    with new times each time, and lark's parse was ~20% of a QRadar request. A shape that does not
    parse is not remembered; the text itself is parsed then, so every error names the text's own."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter too long (more than {MAX_LENGTH} characters)")
    numbers: list[str] = []

    def placeholder(found: re.Match[str]) -> str:
        if found.group(1) is None:  # a string: kept as it is
            return found.group(0)
        numbers.append(found.group(0))
        sign, decimal = found.group(1), found.group(2)
        return f"{sign}{len(numbers)}{'.5' if decimal else ''}"

    shape = _shaped(_NUMBERS.sub(placeholder, text), fields)
    if shape is None:
        return _parsed(text, fields)
    return _bound(shape, numbers) if numbers else shape


_NUMBERS = re.compile(r'"(?:\\.|[^"\\])*"|(?<![A-Za-z0-9_.:\-])(-?)[0-9]+(\.[0-9]+)?(?![A-Za-z0-9_.:\-])')


@lru_cache(maxsize=1024)
def _shaped(shape: str, fields: tuple[str, ...]) -> Expr | None:
    try:
        return _parsed(shape, fields)
    except FilterError:
        return None


def _parsed(text: str, fields: tuple[str, ...]) -> Expr:
    try:
        tree = _parser().parse(text)
    except LarkError as exc:  # QRadar's 422 names the parse error
        raise FilterError(str(exc).strip().split("\n", 1)[0]) from None
    return transform(_parser(), text, _ToCriteria(fields), predicates=PREDICATES, error=FilterError,
                     syntax="filter", tree=tree)


def _bound(expr: Expr, numbers: list[str]) -> Expr:
    """The shape's tree with its placeholders (the only numbers in it) replaced by the text's numbers."""
    def real(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        token = numbers[int(abs(value)) - 1]
        return float(token) if "." in token else int(token)

    return with_values(expr, real)


# ---- reference semantics on QRadar rows ------------------------------------------------------------

_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


BOOLEAN: tuple[str, ...] = ("deprecated", "removed", "fips_enabled")  # other endpoints' boolean fields


def _coerce(field: str, value: Any, numeric: tuple[str, ...] = NUMERIC) -> Any:
    """A filter literal as the field's type; FilterError when it cannot be one."""
    if field in BOOLEAN:
        text = str(value).lower()
        if text not in ("true", "false"):
            raise FilterError(f"{field} takes true or false, not {value!r}")
        return text == "true"
    if field in numeric:
        try:
            number = value if isinstance(value, int | float) else int(str(value))
        except ValueError:
            raise FilterError(f"{field} needs a number, not {value!r}") from None
        if not -(2**63) <= number < 2**63:  # a Java long, as QRadar parses it
            raise FilterError(f"{field} value out of range: {value!r}")
        return number
    return value if isinstance(value, str) else _number_text(value)


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def evaluate(expr: Expr, row: Mapping[str, Any], numeric: tuple[str, ...] = NUMERIC) -> bool:
    """Whether a QRadar-shaped row matches; NULL never equals anything and is "not equal" to all.
    `numeric` names the row's number fields (login attempts' by default)."""
    match expr:
        case Cmp(field=f, op=op, value=v):
            have, want = row.get(f), _coerce(f, v, numeric)
            if have is None:
                return op == "!="
            if isinstance(have, str) != isinstance(want, str):
                return op == "!="
            return _CMP[op](have, want)
        case In(field=f, values=vs, negate=neg):
            have = row.get(f)
            hit = have is not None and any(_same(have, _coerce(f, v, numeric)) for v in vs)
            return not hit if neg else hit
        case Between(field=f, low=lo, high=hi, negate=neg):
            have = row.get(f)
            lo_, hi_ = _coerce(f, lo, numeric), _coerce(f, hi, numeric)
            hit = (have is not None and isinstance(have, str) == isinstance(lo_, str) == isinstance(hi_, str)
                   and lo_ <= have <= hi_)
            return not hit if neg else hit
        case IsNull(field=f, negate=neg):
            return (row.get(f) is not None) if neg else (row.get(f) is None)
        case Not(expr=e):
            return not evaluate(e, row, numeric)
        case And(exprs=es):
            return all(evaluate(e, row, numeric) for e in es)
        case Or(exprs=es):
            return any(evaluate(e, row, numeric) for e in es)
    raise TypeError(expr)


def check_literals(expr: Expr, numeric: tuple[str, ...] = NUMERIC) -> None:
    """Raise FilterError for a literal its field's type cannot take, whatever the rows (an empty
    list must reject `id = abc` too)."""
    match expr:
        case Cmp(field=f, value=v):
            _coerce(f, v, numeric)
        case In(field=f, values=vs):
            for v in vs:
                _coerce(f, v, numeric)
        case Between(field=f, low=lo, high=hi):
            _coerce(f, lo, numeric)
            _coerce(f, hi, numeric)
        case Not(expr=e):
            check_literals(e, numeric)
        case And(exprs=es) | Or(exprs=es):
            for e in es:
                check_literals(e, numeric)


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, str) == isinstance(b, str) and a == b


# ---- translation to the store's canonical fields ----------------------------------------------------

FIRST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z: Python's first instant
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: its last whole millisecond


def _at(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _from(ms: int) -> Expr:
    """attempt_time >= ms. Any Java long is a valid literal; beyond Python's datetime range the
    answer is all or nothing, since every stored time lies inside it."""
    return TRUE if ms <= FIRST_MS else FALSE if ms > LAST_MS else Cmp("occurred_at", ">=", _at(ms))


def _time_cmp(op: CmpOp, ms: int) -> Expr:
    """attempt_time is the event time floored to the millisecond: `= t` is the span [t, t+1ms)."""
    match op:
        case "=":
            return And((_from(ms), Not(_from(ms + 1))))
        case "!=":
            return Not(_time_cmp("=", ms))
        case "<":
            return Not(_from(ms))
        case "<=":
            return Not(_from(ms + 1))
        case ">":
            return _from(ms + 1)
        case ">=":
            return _from(ms)
    raise FilterError(op)


ENUM_STORE: dict[str, dict[str, Expr]] = {
    "attempt_result": {"SUCCESS": Cmp("successful", "=", True), "FAILURE": Cmp("successful", "=", False)},
    "attempt_method": {"HTTP_BASIC": Cmp("auth_method", "=", "http_basic"),
                       "LOGIN_PAGE": Cmp("auth_method", "!=", "http_basic")},
}


def _enum(expr: Expr, field: str) -> Expr:
    """An enum predicate becomes the set of enum values it admits (by the reference semantics)."""
    admitted = [v for v in ENUMS[field] if evaluate(expr, {field: v})]
    if not admitted:
        return FALSE
    if len(admitted) == len(ENUMS[field]):
        return TRUE
    return Or(tuple(ENUM_STORE[field][v] for v in admitted)) if len(admitted) > 1 else ENUM_STORE[field][admitted[0]]


def to_store(expr: Expr) -> Expr:
    """A QRadar criteria tree → the store's canonical criteria (raises FilterError on bad literals)."""
    match expr:
        case Not(expr=e):
            return Not(to_store(e))
        case And(exprs=es):
            return And(tuple(to_store(e) for e in es))
        case Or(exprs=es):
            return Or(tuple(to_store(e) for e in es))
        case Cmp(field=f) | In(field=f) | Between(field=f) | IsNull(field=f) if f in ENUMS:
            for v in _literals(expr):
                if not isinstance(v, str):
                    raise FilterError(f"{f} takes one of {', '.join(ENUMS[f])}")
            return _enum(expr, f)
        case IsNull(field="attempt_time" | "user_id", negate=neg):
            return TRUE if neg else FALSE
        case IsNull(field="remote_ip", negate=neg):
            return IsNull("ip", negate=neg)
        case Cmp(field="attempt_time", op=op, value=v):
            return _time_cmp(op, int(_coerce("attempt_time", v)))
        case In(field="attempt_time", values=vs, negate=neg):
            hit = Or(tuple(_time_cmp("=", int(_coerce("attempt_time", v))) for v in vs)) if vs else FALSE
            return Not(hit) if neg else hit
        case Between(field="attempt_time", low=lo, high=hi, negate=neg):
            lo_ms, hi_ms = int(_coerce("attempt_time", lo)), int(_coerce("attempt_time", hi))
            hit = And((_from(lo_ms), Not(_from(hi_ms + 1))))
            return Not(hit) if neg else hit
        case Cmp(field=f, op=op, value=v):
            return Cmp(_STORE_FIELD[f], op, _coerce(f, v))
        case In(field=f, values=vs, negate=neg):
            return In(_STORE_FIELD[f], tuple(_coerce(f, v) for v in vs), negate=neg)
        case Between(field=f, low=lo, high=hi, negate=neg):
            return Between(_STORE_FIELD[f], _coerce(f, lo), _coerce(f, hi), negate=neg)
    raise FilterError(f"unsupported filter {expr!r}")


_STORE_FIELD = {"user_id": "credential_id", "remote_ip": "ip"}


def _literals(expr: Expr) -> list[Any]:
    match expr:
        case Cmp(value=v):
            return [v]
        case In(values=vs):
            return list(vs)
        case Between(low=lo, high=hi):
            return [lo, hi]
    return []
