"""The request journal: the last N vendor requests of this process, credentials redacted.

Bounded on purpose (WireMock's unbounded journal is its best-known OOM); N=0 turns it off.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from dataclasses import dataclass
from itertools import count
from typing import Any
from urllib.parse import parse_qsl

from .credentials import SECRET_HEADERS, SECRET_PARAMS

SIZE_ENV = "LOGINAUDIT_JOURNAL_SIZE"
DEFAULT_SIZE = 1000
REDACTED = "<redacted>"


def redact_header(name: str, value: str) -> str:
    """Keep an auth scheme word (`Bearer`, `Basic`) and cookie names; drop every secret."""
    if name not in SECRET_HEADERS:
        return value
    if name == "cookie":
        return "; ".join(f"{part.split('=', 1)[0].strip()}={REDACTED}" for part in value.split(";") if part.strip())
    scheme, sep, _ = value.partition(" ")
    return f"{scheme} {REDACTED}" if sep and scheme.isalpha() else REDACTED


@dataclass
class Entry:
    seq: int
    time: str
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    vendor: str | None
    operation: str | None
    status: int | None = None
    latency_ms: float | None = None
    outcome: str = "handled"  # handled | prefer | throttled | fault-error | fault-drop

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

    @staticmethod
    def _size(size: int | None) -> int:
        return max(0, size if size is not None else int(os.environ.get(SIZE_ENV, DEFAULT_SIZE)))

    @property
    def size(self) -> int:
        return self._entries.maxlen or 0

    def resize(self, size: int) -> None:
        with self._lock:
            self._entries = deque(self._entries, maxlen=max(0, size))

    def open(self, *, time: str, method: str, path: str, query_string: bytes, headers: list[tuple[bytes, bytes]],
             vendor: str | None, operation: str | None) -> Entry | None:
        """Start an entry (None when the journal is off); it is complete once `status` is set."""
        if not self.size:
            return None
        decoded: dict[str, str] = {}
        for k, v in headers:
            name = k.decode("latin-1").lower()
            value = redact_header(name, v.decode("latin-1"))
            decoded[name] = f"{decoded[name]}, {value}" if name in decoded else value
        entry = Entry(seq=next(self._seq), time=time, method=method, path=path,
                      query=parse_qsl(query_string.decode("latin-1"), keep_blank_values=True),
                      headers=decoded, vendor=vendor, operation=operation)
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, vendor: str | None = None, limit: int | None = None) -> list[Entry]:
        """Oldest first; `limit` keeps the newest."""
        with self._lock:
            picked = [e for e in self._entries if vendor is None or e.vendor == vendor]
        return picked[-limit:] if limit else picked

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


JOURNAL = Journal()
