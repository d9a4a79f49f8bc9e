"""Okta's System Log `filter` expressions (SCIM-style), parsed by lark and translated to store criteria.

Grammar as Okta documents it for `/api/v1/logs` (developer.okta.com/docs/api, "Filter"; the SDKs'
`listLogEvents(filter=...)`): `attribute op value` with `eq`, `co`, `sw`, `gt`, `ge`, `lt`, `le`,
`attribute pr`, joined by `and`/`or`, negated by `not (...)`, grouped by parentheses; operators
and keywords in any case, attributes as dotted paths, values JSON strings (or numbers, booleans).
Attributes the store keeps become comparisons on its columns; attributes Okta derives from what a
login is (`eventType`, `outcome.result`, `severity`, ...) are decided for each kind of login in
Python, so SQL is only ever built by the store, with bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from lark import Lark, Token, v_args

from ..storage.criteria import And, Cmp, Expr, In, IsNull, Or, Text
from ..timefmt import parse_iso
from .grammar import Connectives, transform

GRAMMAR = r"""
?start: expr
?expr: or_
?or_: and_ (_OR and_)*
?and_: unary (_AND unary)*
?unary: _NOT "(" expr ")"          -> negate
      | "(" expr ")"
      | ATTR OP value              -> cmp
      | ATTR _PR                   -> present
value: STRING | NUMBER | TRUE | FALSE | NULL
OP.3: /(eq|co|sw|gt|ge|lt|le)\b/i
_AND.3: /and\b/i
_OR.3: /or\b/i
_NOT.3: /not\b/i
_PR.3: /pr\b/i
TRUE.3: /true\b/
FALSE.3: /false\b/
NULL.3: /null\b/
ATTR: /[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/
STRING: /"(\\.|[^"\\])*"/
NUMBER: /-?[0-9]+(\.[0-9]+)?/
%import common.WS
%ignore WS
"""

# Okta attribute -> the store's column (string attributes compare as strings)
COLUMNS = {
    "uuid": "uuid",
    "actor.alternateId": "username",
    "client.ipAddress": "ip",
    "request.ipChain.ip": "ip",
    "client.userAgent.rawUserAgent": "user_agent",
    "client.geographicalContext.country": "country",
    "client.geographicalContext.city": "city",
    "outcome.reason": "failure_reason",
    "transaction.id": "request_id",
}
FALSE: Expr = In("id", ())
TRUE: Expr = In("id", (), negate=True)


class FilterError(ValueError):
    """The expression does not parse, or names an attribute this API cannot filter on."""


# A login's derived attributes, by (event_type, successful): what eventType, outcome.result, ... it shows.
Derive = Callable[[str, bool], str]
KINDS = (("login", True), ("login", False), ("logout", True), ("logout", False))


def _kind_expr(kinds: list[tuple[str, bool]]) -> Expr:
    if len(kinds) == len(KINDS):
        return TRUE
    return Or(tuple(And((Cmp("event_type", "=", t), Cmp("successful", "=", ok))) for t, ok in kinds)) \
        if kinds else FALSE


def _matches(op: str, have: str, want: Any) -> bool:
    if not isinstance(want, str):
        return False
    match op:
        case "eq":
            return have == want
        case "co":
            return want.lower() in have.lower()
        case "sw":
            return have.lower().startswith(want.lower())
        case "gt":
            return have > want
        case "ge":
            return have >= want
        case "lt":
            return have < want
        case "le":
            return have <= want
    return False


class _ToCriteria(Connectives):
    def __init__(self, derived: dict[str, Derive], person_of: Callable[[str], int | None]) -> None:
        super().__init__()
        self.derived, self.person_of = derived, person_of

    @v_args(inline=True)
    def value(self, tok: Token) -> Any:
        match tok.type:
            case "STRING":
                return json.loads(str(tok))
            case "NUMBER":
                return float(tok) if "." in tok else int(tok)
            case "TRUE" | "FALSE":
                return tok == "true"
        return None

    def _attribute(self, tok: Token) -> str:
        name = str(tok)
        if name not in COLUMNS and name not in self.derived and name not in ("published", "actor.id"):
            raise FilterError(f"Invalid filter attribute: {name}")
        return name

    @v_args(inline=True)
    def cmp(self, attr: Token, op: Token, value: Any) -> Expr:
        name, op_name = self._attribute(attr), str(op).lower()
        if name in self.derived:
            derive = self.derived[name]
            return _kind_expr([k for k in KINDS if _matches(op_name, derive(*k), value)])
        if name == "published":
            return self._published(op_name, value)
        if name == "actor.id":
            if op_name != "eq" or not isinstance(value, str):
                raise FilterError("actor.id takes eq with a user id")
            person = self.person_of(value)
            return FALSE if person is None else Cmp("person_id", "=", person)
        if not isinstance(value, str):
            return FALSE  # a string attribute never equals a number, boolean or null
        column = COLUMNS[name]
        match op_name:
            case "eq":
                return Cmp(column, "=", value)
            case "co":
                return Text(column, "contains", value, casefold=True)
            case "sw":
                return Text(column, "prefix", value, casefold=True)
        return Cmp(column, {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op_name], value)  # type: ignore[arg-type]

    @staticmethod
    def _published(op: str, value: Any) -> Expr:
        if op in ("co", "sw") or not isinstance(value, str):
            raise FilterError("published compares with eq, gt, ge, lt or le and an ISO 8601 time")
        try:
            at: datetime = parse_iso(value)
        except ValueError:
            raise FilterError(f"Invalid date: {value}") from None
        return Cmp("occurred_at", {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}[op], at)  # type: ignore[arg-type]

    @v_args(inline=True)
    def present(self, attr: Token) -> Expr:
        name = self._attribute(attr)
        if name in COLUMNS:
            return IsNull(COLUMNS[name], negate=True)
        return IsNull("person_id", negate=True) if name == "actor.id" else TRUE



@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


def parse(text: str, derived: dict[str, Derive], person_of: Callable[[str], int | None]) -> Expr:
    """The filter as store criteria; FilterError when it does not parse or names what cannot be filtered."""
    return transform(_parser(), text, _ToCriteria(derived, person_of), predicates=frozenset({"cmp", "present"}),
                     error=FilterError, syntax="Invalid filter")
