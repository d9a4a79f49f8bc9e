"""Fault and rate-limit rules: kept in the store so every worker applies the same ones and a reset
clears them; each process caches them for a second so a request costs no extra query."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..registry import by_name
from ..storage import current
from ..storage.models import Setting

FAULTS_KEY = "mock:faults"
LIMITS_KEY = "mock:rate-limits"
CACHE_SECONDS = 1.0


class RuleError(ValueError):
    """A rule naming a vendor or operation the registry does not have."""


@dataclass(frozen=True)
class FaultRule:
    vendor: str
    operation: str | None = None  # None: every operation of the vendor
    delay_ms: int = 0
    delay_max_ms: int | None = None  # set: a uniform random delay in [delay_ms, delay_max_ms]
    error_rate: float = 0.0
    error_status: int = 500
    drop_rate: float = 0.0


@dataclass(frozen=True)
class RateLimit:
    vendor: str
    requests: int
    window_seconds: float = 60.0


def _check(vendor: str, operation: str | None = None) -> None:
    try:
        v = by_name(vendor)
    except KeyError:
        raise RuleError(f"unknown vendor {vendor!r}") from None
    if operation is not None and v.operation(operation) is None:
        ops = sorted(op for _, _, op in v.operations)
        raise RuleError(f"{vendor} has no operation {operation!r}; it has {ops}")


def _build(cls: type[Any], raw: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in raw.items() if k in names})


def parse_faults(raw: list[dict[str, Any]]) -> list[FaultRule]:
    rules = [_build(FaultRule, r) for r in raw]
    for rule in rules:
        _check(rule.vendor, rule.operation)
        if rule.delay_max_ms is not None and rule.delay_max_ms < rule.delay_ms:
            raise RuleError("delay_max_ms must not be below delay_ms")
    return rules


def parse_limits(raw: list[dict[str, Any]]) -> list[RateLimit]:
    rules = [_build(RateLimit, r) for r in raw]
    for rule in rules:
        _check(rule.vendor)
    return rules


class _Cached:
    """One settings row, read at most once per CACHE_SECONDS by this process (writes here refresh it)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.value: dict[str, Any] = {}
        self.read_at = float("-inf")

    def get(self) -> dict[str, Any]:
        if time.monotonic() - self.read_at > CACHE_SECONDS:
            with current().session() as s:
                row = s.get(Setting, self.key)
                self.value = dict(row.value) if row else {}
            self.read_at = time.monotonic()
        return self.value

    def put(self, value: dict[str, Any]) -> None:
        with current().session(write=True) as s:
            row = s.get(Setting, self.key)
            if row is None:
                s.add(Setting(key=self.key, value=value))
            else:
                row.value = value
        self.value, self.read_at = value, time.monotonic()

    def forget(self) -> None:
        self.read_at = float("-inf")


_faults = _Cached(FAULTS_KEY)
_limits = _Cached(LIMITS_KEY)


def faults() -> tuple[list[FaultRule], int | None]:
    """(rules, random seed) in force."""
    value = _faults.get()
    return [FaultRule(**r) for r in value.get("rules", [])], value.get("seed")


def set_faults(rules: list[FaultRule], seed: int | None = None) -> None:
    _faults.put({"rules": [asdict(r) for r in rules], "seed": seed})


def limits() -> list[RateLimit]:
    return [RateLimit(**r) for r in _limits.get().get("rules", [])]


def set_limits(rules: list[RateLimit]) -> None:
    _limits.put({"rules": [asdict(r) for r in rules]})


def forget() -> None:
    """After a store reset: read the (now absent) rules again on the next request."""
    _faults.forget()
    _limits.forget()


def fault_for(vendor: str, operation: str | None) -> FaultRule | None:
    """The operation's own rule, else the vendor-wide one, else None."""
    rules, _ = faults()
    own = [r for r in rules if r.vendor == vendor and r.operation is not None and r.operation == operation]
    wide = [r for r in rules if r.vendor == vendor and r.operation is None]
    return next(iter(own or wide), None)


def limit_for(vendor: str) -> RateLimit | None:
    return next((r for r in limits() if r.vendor == vendor), None)


def apply_config(doc: Any) -> None:
    """A mock config file's `faults` (list of rules, or {rules, seed}) and `rate_limits` (list of rules)."""
    if not isinstance(doc, dict) or set(doc) - {"faults", "rate_limits"}:
        raise RuleError("a mock config is a mapping with `faults` and/or `rate_limits`")
    faults_doc = doc.get("faults") or []
    faults_doc = faults_doc if isinstance(faults_doc, dict) else {"rules": faults_doc}
    set_faults(parse_faults(list(faults_doc.get("rules") or [])), faults_doc.get("seed"))
    set_limits(parse_limits(list(doc.get("rate_limits") or [])))
