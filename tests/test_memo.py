"""Facts remembered per store generation: fresh after every committed write, never taken from a
transaction that wrote, on every backend."""

from __future__ import annotations

from sqlalchemy import select

from loginaudit.storage import Store
from loginaudit.storage.memo import remembered, remembered_each
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


def test_records_are_loaded_once_per_generation_only_the_missing_ones(store: Store) -> None:
    loads: list[list[int]] = []

    def load(wanted: list[int]) -> dict[int, str]:
        loads.append(wanted)
        return {i: f"v{i}" for i in wanted if i != 3}  # 3: no such record

    def read(*ids: int | None) -> dict[int, str]:
        with store.session() as s:
            return remembered_each(s, "test.each", ids, load)

    with store.session() as s:
        create_tenant(s, name="a")
    assert read(2, 1, None, 2) == {1: "v1", 2: "v2"}
    assert read(1, 3, 4) == {1: "v1", 4: "v4"}
    assert loads == [[1, 2], [3, 4]]  # 1 remembered; 3 answered for by nobody, so asked again next time
    with store.session() as s:
        create_tenant(s, name="b")
        assert remembered_each(s, "test.each", [1], load) == {1: "v1"}  # mid-write: loaded, not kept
    assert read(1) == {1: "v1"}
    assert loads[2:] == [[1], [1]]  # a new generation loads again
