"""bench/layers.py files py-spy's samples by layer: the README's layer table rests on it.

py-spy names a frame's file relative to the sys.path entry it was found under
(`sqlalchemy/orm/session.py`), or absolute where none holds it. Until session 19 the SQL layer matched
only `/sqlalchemy/`, so SQLAlchemy's own frames (the Session, bind processors, the token lookup) were
filed under the handler or the framework.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def layers() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("layers")
    finally:
        sys.path.remove(str(BENCH))


WALK = [("<module>", "inprocess.py"), ("main", "inprocess.py"), ("_walk", "inprocess.py"),
        ("MockBehaviours.__call__", "loginaudit/mocking/middleware.py")]


@pytest.mark.parametrize(("inner", "layer"), [
    ([("getLoginHistory", "loginaudit/handlers/unleash.py"), ("Session.connection", "sqlalchemy/orm/session.py")],
     "SQL"),
    ([("authenticate", "loginaudit/handlers/unleash.py"), ("find_token", "loginaudit/storage/records.py"),
      ("Session.scalar", "/opt/venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py")], "SQL"),
    ([("getLoginHistory", "loginaudit/handlers/unleash.py"), ("fetch", "loginaudit/storage/driver.py")], "SQL"),
    ([("getLoginHistory", "loginaudit/handlers/unleash.py"), ("write", "<template of 8 keys>")], "rows -> JSON"),
    ([("OnceParameterValidator.validate_request", "loginaudit/intake.py")], "validation"),
    ([("getLoginHistory", "loginaudit/handlers/unleash.py"), ("shaped", "loginaudit/storage/events.py")],
     "handler"),
    ([("Route.handle", "starlette/routing.py")], "framework"),
    # a file that merely mentions sqlalchemy is not SQLAlchemy's
    ([("Route.handle", "starlette/routing.py"), ("f", "mysqlalchemy_helpers/x.py")], "framework"),
])
def test_a_sample_is_filed_under_the_innermost_layer_found(layers: ModuleType, inner: list[tuple[str, str]],
                                                           layer: str) -> None:
    assert layers._layer(WALK + inner, "getLoginHistory") == layer


def test_samples_outside_the_measured_rounds_are_left_out(layers: ModuleType) -> None:
    warm = [*WALK[:2], ("_warm", "inprocess.py"), *WALK[2:], ("fetch", "loginaudit/storage/driver.py")]
    assert layers._layer(warm, "getLoginHistory") is None
    assert layers._layer([("main", "inprocess.py"), ("create", "loginaudit/asgi.py")], "getLoginHistory") is None
