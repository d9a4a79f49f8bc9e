"""What the filter grammars (QRadar, Okta, Graph OData) share: a lark parse, bounded before it is
transformed (lark's Transformer recurses, and SQLite's own parser gives up near 45 nested NOTs),
the boolean connectives, and errors raised as the grammar's own error class."""

from __future__ import annotations

from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import LarkError, VisitError

from ..storage.criteria import And, Expr, Not, Or

MAX_DEPTH = 24  # nested NOT/parentheses/AND-OR levels
MAX_PREDICATES = 256  # comparisons in one filter; each is a few terms of SQL


class Connectives(Transformer[Token, Expr]):
    """`negate`, `and_`, `or_` rules of every grammar here, as criteria."""

    def negate(self, items: list[Any]) -> Expr:
        return Not(items[0])

    def and_(self, items: list[Any]) -> Expr:
        return And(tuple(items))

    def or_(self, items: list[Any]) -> Expr:
        return Or(tuple(items))


def _bounded(tree: Tree[Token], predicates: frozenset[str], error: type[ValueError]) -> Tree[Token]:
    stack, seen = [(tree, 1)], 0
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise error(f"filter nested too deeply (more than {MAX_DEPTH} levels)")
        if node.data in predicates:
            seen += 1
            if seen > MAX_PREDICATES:
                raise error(f"filter has more than {MAX_PREDICATES} comparisons")
            continue
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return tree


def transform(parser: Lark, text: str, transformer: Transformer[Token, Expr], *, predicates: frozenset[str],
              error: type[ValueError], syntax: str, tree: Tree[Token] | None = None) -> Expr:
    """Parse `text` (unless its `tree` is given), check its size, transform it; every failure is
    `error` (`syntax` prefixes a parse error's name, e.g. "Invalid filter")."""
    if tree is None:
        try:
            tree = parser.parse(text)
        except (LarkError, RecursionError) as exc:
            raise error(f"{syntax}: {type(exc).__name__}") from None
    tree = _bounded(tree, predicates, error)
    try:
        result: Expr = transformer.transform(tree)
        return result
    except VisitError as exc:
        raise (exc.orig_exc if isinstance(exc.orig_exc, error) else error(str(exc.orig_exc))) from None
