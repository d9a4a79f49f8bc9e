"""Facts remembered per store generation: fresh after every committed write, never taken from a
transaction that wrote, on every backend."""

from __future__ import annotations

from sqlalchemy import select

from loginaudit.storage import Store
from loginaudit.storage.memo import remembered
from loginaudit.storage.models import Tenant
from loginaudit.storage.records import create_tenant


def _names(store: Store, calls: list[int]) -> list[str]:
    def load() -> list[str]:
        calls.append(1)
        return sorted(s.scalars(select(Tenant.name)))

    with store.session() as s:
        return remembered(s, "test.tenant_names", load)


def test_a_fact_is_computed_once_per_generation_and_again_after_a_write(store: Store) -> None:
    calls: list[int] = []
    with store.session() as s:
        create_tenant(s, name="a")
    assert _names(store, calls) == ["a"] and _names(store, calls) == ["a"]
    assert len(calls) == 1
    with store.session() as s:
        create_tenant(s, name="b")
    assert _names(store, calls) == ["a", "b"]
    assert len(calls) == 2


def test_nothing_is_remembered_from_a_transaction_that_wrote(store: Store) -> None:
    with store.session() as s:
        create_tenant(s, name="pending")
        assert remembered(s, "test.in_write", lambda: "seen mid-write") == "seen mid-write"
    with store.session() as s:
        assert remembered(s, "test.in_write", lambda: "after commit") == "after commit"


def test_keep_decides_what_is_remembered(store: Store) -> None:
    with store.session() as s:
        create_tenant(s, name="x")
    for expected in ("first", "second"):
        with store.session() as s:
            assert remembered(s, "test.kept", lambda e=expected: e, keep=lambda v: False) == expected
