"""Prebuilt statements run on SQLite's driver cursor, not through SQLAlchemy's execution.

SQLAlchemy's `execute` of a statement already compiled costs ~40-90 µs a call (cache key, parameter
processing, an expanding IN re-rendered, the result's setup) where sqlite3 takes ~15 µs for a page's
read (issue 20: about a third of a walk's miss was the store read through SQLAlchemy). A statement is
compiled here once (`prepare`, cached by its caller per query form) and its values bound per call with
the bind processors SQLAlchemy would use (a datetime as the store writes it, microseconds always).
Errors are raised as SQLAlchemy's, so errors.py maps them as it maps any other store error.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ClauseElement
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

SQLITE = sqlite.dialect()


@dataclass(frozen=True, eq=False)  # one per form (its caller's lru_cache), hashed by identity below
class Prepared:
    """A compiled statement for sqlite3: its text, and per positional parameter its name, constant
    value (a literal SQLAlchemy bound) or bind processor, and whether it expands to a list."""

    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]
    expanding: frozenset[str]


def prepare(stmt: ClauseElement) -> Prepared:
    compiled = stmt.compile(dialect=SQLITE)
    assert isinstance(compiled, SQLCompiler)  # a statement's, with its binds and their order
    binds = compiled.binds
    names = tuple(compiled.positiontup or ())
    processors: dict[str, Callable[[Any], Any]] = {}
    for name in names:
        process = binds[name].type.dialect_impl(SQLITE).bind_processor(SQLITE)
        if process is not None:
            processors[name] = process
    return Prepared(compiled.string, names,
                    {n: binds[n].value for n in names if binds[n].value is not None and not binds[n].callable},
                    processors, frozenset(n for n in names if binds[n].expanding))


@lru_cache(maxsize=512)
def _expanded(prepared: Prepared, lengths: tuple[tuple[str, int], ...]) -> str:
    sql = prepared.sql
    for name, n in lengths:
        sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * n))
    return sql


def _arguments(prepared: Prepared, params: dict[str, Any]) -> tuple[str, list[Any]]:
    out: list[Any] = []
    lengths = []
    for name in prepared.names:
        value = params[name] if name in params else prepared.constants[name]
        process = prepared.processors.get(name)
        if name in prepared.expanding:
            lengths.append((name, len(value)))
            out.extend(value if process is None else map(process, value))
        else:
            out.append(value if process is None else process(value))
    return (_expanded(prepared, tuple(lengths)) if lengths else prepared.sql), out


def fetch(session: Session, prepared: Prepared, params: dict[str, Any]) -> list[Any]:
    """The rows of `prepared` with `params`, as sqlite3's tuples, in the session's transaction."""
    sql, arguments = _arguments(prepared, params)
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, arguments)
        return list(cursor.fetchall())
    except sqlite3.Error as exc:  # as SQLAlchemy would raise it (errors.py maps what a client may see)
        raise DBAPIError.instance(sql, arguments, exc, sqlite3.Error) from exc
    finally:
        cursor.close()
