"""The request journal: the last N vendor requests of this process, credentials redacted.

Bounded on purpose (WireMock's unbounded journal is its best-known OOM), in entries and in bytes:
each recorded value is cut to VALUE_CHARS and the whole journal kept under MAX_BYTES, so a flood of
requests with huge headers or queries costs at most that. N=0 turns it off.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any
from urllib.parse import parse_qsl

from .credentials import SECRET_HEADERS, SECRET_PARAMS

SIZE_ENV = "LOGINAUDIT_JOURNAL_SIZE"
DEFAULT_SIZE = 1000
REDACTED = "<redacted>"
VALUE_CHARS = 512  # of each header and query value, and of the path (the rest is counted, not kept)
MAX_BYTES = 16 * 1024 * 1024


def _cut(text: str) -> str:
    return text if len(text) <= VALUE_CHARS else f"{text[:VALUE_CHARS]}...({len(text)} characters)"


def redact_header(name: str, value: str) -> str:
    """Keep an auth scheme word (`Bearer`, `Basic`) and cookie names; drop every secret."""
    if name not in SECRET_HEADERS:
        return value
    if name == "cookie":
        return "; ".join(f"{part.split('=', 1)[0].strip()}={REDACTED}" for part in value.split(";") if part.strip())
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} {REDACTED}" if sep and scheme.isalpha() else REDACTED


def _decoded(query_string: bytes, headers: Iterable[tuple[bytes, bytes]]) -> tuple[list[tuple[str, str]],
                                                                             dict[str, str]]:
    """A request's query and headers as the journal shows them: values cut, header secrets redacted."""
    decoded: dict[str, str] = {}
    for k, v in headers:
        name = _cut(k.decode("latin-1").lower())
        value = _cut(redact_header(name, v.decode("latin-1")))
        decoded[name] = _cut(f"{decoded[name]}, {value}") if name in decoded else value
    return [(_cut(k), _cut(v)) for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)], decoded


@dataclass
class Entry:
    """One request. Its query and headers are decoded when first read (most entries never are: ~5% of a
    small read went to decoding them eagerly); a request with a value longer than VALUE_CHARS is decoded
    at once, so the journal never keeps more than the cut values of a flood of huge ones."""

    seq: int
    when: datetime
    method: str
    path: str
    vendor: str | None
    operation: str | None
    raw: tuple[bytes, tuple[tuple[bytes, bytes], ...]] | None = field(default=None, repr=False)
    status: int | None = None
    latency_ms: float | None = None
    outcome: str = "handled"  # handled | prefer | throttled | fault-error | fault-drop
    size: int = 0  # bytes it holds, roughly: what MAX_BYTES counts
    _seen: tuple[list[tuple[str, str]], dict[str, str]] | None = field(default=None, repr=False)

    def _read(self) -> tuple[list[tuple[str, str]], dict[str, str]]:
        seen = self._seen
        if seen is None:  # readers may race here: each decodes the same raw values alike
            assert self.raw is not None
            seen = self._seen = _decoded(*self.raw)
        return seen

    @property
    def query(self) -> list[tuple[str, str]]:
        return self._read()[0]

    @property
    def headers(self) -> dict[str, str]:
        return self._read()[1]

    @property
    def time(self) -> str:
        return self.when.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "vendor": self.vendor, "operation": self.operation,
                "method": self.method, "path": self.path,
                "query": [{"name": k, "value": REDACTED if k in SECRET_PARAMS else v} for k, v in self.query],
                "headers": self.headers, "status": self.status, "latency_ms": self.latency_ms,
                "outcome": self.outcome}


class Journal:
    def __init__(self, size: int | None = None) -> None:
        self._lock = threading.Lock()
        self._seq = count(1)
        self._entries: deque[Entry] = deque(maxlen=self._size(size))
        self._bytes = 0

    @staticmethod
    def _size(size: int | None) -> int:
        return max(0, size if size is not None else int(os.environ.get(SIZE_ENV, DEFAULT_SIZE)))

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def resize(self, size: int) -> None:
        with self._lock:
            self._entries = deque(self._entries, maxlen=max(0, size))
            self._bytes = sum(e.size for e in self._entries)

    def open(self, *, when: datetime, method: str, path: str, query_string: bytes,
             headers: Iterable[tuple[bytes, bytes]], vendor: str | None, operation: str | None) -> Entry | None:
        """Start an entry (None when the journal is off); it is complete once `status` is set."""
        if not self.size:
            return None
        kept = tuple(headers)
        entry = Entry(seq=next(self._seq), when=when, method=method, path=_cut(path), vendor=vendor,
                      operation=operation)
        if len(query_string) > VALUE_CHARS or any(len(k) > VALUE_CHARS or len(v) > VALUE_CHARS for k, v in kept):
            query, decoded = entry._seen = _decoded(query_string, kept)
            entry.size = 200 + len(entry.path) + sum(len(k) + len(v) for k, v in (*query, *decoded.items()))
        else:  # until read it holds the request's own bytes, no value longer than VALUE_CHARS
            entry.raw = (query_string, kept)
            entry.size = 200 + len(entry.path) + len(query_string) + sum(len(k) + len(v) for k, v in kept)
        with self._lock:
            if len(self._entries) == self._entries.maxlen:
                self._bytes -= self._entries.popleft().size
            self._entries.append(entry)
            self._bytes += entry.size
            while self._bytes > MAX_BYTES and len(self._entries) > 1:
                self._bytes -= self._entries.popleft().size
        return entry

    def entries(self, vendor: str | None = None, limit: int | None = None) -> list[Entry]:
        """Oldest first; `limit` keeps the newest."""
        with self._lock:
            picked = [e for e in self._entries if vendor is None or e.vendor == vendor]
        return picked[-limit:] if limit else picked

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


JOURNAL = Journal()
