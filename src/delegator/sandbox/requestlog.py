"""What clients asked the sandbox, for tests and benchmarks to count.

Every HTTP request is one entry; each action of a ``POST /batch`` is an entry of its own too
(``in_batch=True``), so a test can see both the round trips a client made and what it asked for.
Requests refused for a contract reason (strict.py) are also kept apart: :meth:`RequestLog.refusals`.
``units`` is what the entry cost against the token's rate limit: 1 for a request, 1 per batch
action (the batch envelope itself costs 0), 0 for a request refused before it was counted.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from delegator.sandbox.strict import Refusal


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    at: datetime
    method: str
    path: str  # under /api/1.0, e.g. "/tasks/123"
    endpoint: str  # the route, e.g. "/tasks/{task_gid}" ("" when no route matched)
    query: Mapping[str, str]
    body: Any
    token: str | None
    user_gid: str | None
    status: int
    units: int
    in_batch: bool = False

    @property
    def key(self) -> str:
        """``"GET /tasks/{task_gid}"``: what :meth:`RequestLog.counts` counts by."""
        return f"{self.method} {self.endpoint or self.path}"


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._refusals: list[Refusal] = []
        self._listeners: list[Callable[[LoggedRequest], None]] = []
        self._lock = threading.Lock()

    def append(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(entry)

    def subscribe(self, listener: Callable[[LoggedRequest], None]) -> None:
        """Call ``listener`` with every entry as it is logged (the CLI prints them)."""
        with self._lock:
            self._listeners.append(listener)

    def entries(self, *, include_batched: bool = False) -> list[LoggedRequest]:
        """The HTTP requests in order (and the batch actions when ``include_batched``)."""
        with self._lock:
            return [e for e in self._entries if include_batched or not e.in_batch]

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self.entries())

    def count(
        self,
        method: str | None = None,
        endpoint: str | None = None,
        *,
        status: int | None = None,
        token: str | None = None,
        include_batched: bool = False,
    ) -> int:
        """How many requests match: ``count("PUT", "/tasks/{task_gid}")``."""
        return sum(
            1
            for e in self.entries(include_batched=include_batched)
            if (method is None or e.method == method.upper())
            and (endpoint is None or endpoint in (e.endpoint, e.path))
            and (status is None or e.status == status)
            and (token is None or e.token == token)
        )

    def counts(self, *, include_batched: bool = False) -> Counter[str]:
        """Requests per ``"METHOD /endpoint"``."""
        return Counter(e.key for e in self.entries(include_batched=include_batched))

    def quota_units(self, token: str | None = None) -> int:
        """Rate-limit units spent (batch actions count one each)."""
        return sum(
            e.units for e in self.entries(include_batched=True) if token is None or e.token == token
        )

    def last(self) -> LoggedRequest:
        with self._lock:
            if not self._entries:
                raise LookupError("no request has been logged")
            return self._entries[-1]

    def refused(self, refusal: Refusal) -> None:
        """Record a request refused because Asana's spec refuses it (see strict.py)."""
        with self._lock:
            self._refusals.append(refusal)

    def refusals(self) -> list[Refusal]:
        """The requests (and batch actions) refused for a contract reason, in order."""
        with self._lock:
            return list(self._refusals)

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._refusals.clear()
