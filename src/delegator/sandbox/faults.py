"""Asana's limits, and fault injection per token: what a client must survive, on demand.

By default every token has Asana's limits (docs: developers.asana.com/docs/rate-limits):

- requests per minute by the plan of its workspaces, 150 on ``free`` and 1,500 on ``paid``
  (a token whose user belongs to any paid workspace has the paid quota), in a sliding 60 s
  window on the sandbox's clock; refused requests count against the quota, as Asana counts
  them; a /batch costs one unit per action and is refused whole when its actions do not fit;
- the search API, 60 requests per minute besides;
- 50 reads (GET) and 15 writes (POST, PUT, PATCH, DELETE) in flight at once, a batch taking
  one slot per action.

Beyond a limit: 429 with ``Retry-After`` (whole seconds until the window frees enough, counting
the refused request itself; 1 s for the concurrency limits) and Asana's body. The window runs on
the world's clock (``Faults(monotonic=...)`` gives it another), so a test on a ManualClock trips a
limit only by sending that many requests in one simulated minute, and a client that waits out a
Retry-After on the same clock gets through.

Settable from Python at any time while the server runs (thread-safe):

- ``rate_limit(token, per_minute)``: replaces the plan's quota (None: no quota at all). Only
  admitted requests count, unless ``count_rejected=True`` (as Asana's own quota does).
- ``search_rate_limit(token, per_minute)`` and ``concurrency(token, reads=, writes=)``: replace
  the search quota and the in-flight caps (None: none).
- ``no_limits(token)``: none of Asana's limits for that token (or ``ALL_TOKENS``).
- ``error_rate(token, rate, seed=...)``: that fraction of requests answer 500 (seeded randomness).
- ``fail_next(token, count, status=500, after_apply=False)``: the next ``count`` requests fail;
  with ``after_apply`` the request is carried out first and still answered with the error (the
  ambiguous failure a client must not repeat a comment after).
- ``latency(token, seconds)``: every response is delayed.
- ``revoke(token)`` / ``restore(token)``: the token is refused with 401.
- ``garbage(token, kind, count=1, endpoint=None, method=None)``: the next ``count`` successful
  answers (None: every one until ``clear``), optionally only those of one route template as the
  request log names it (``"/projects/{project_gid}/tasks"``, ``"/tasks"``, ``"/batch"``) and one
  method, keep their status but not their shape (the request itself is carried out):
  ``null_data`` (``"data": null``), ``empty_data`` (``"data": {}``), ``list_data`` (the data
  wrapped in a list), ``no_data`` (the body without ``data``), ``not_json`` (a truncated JSON
  body) or ``html`` (a proxy's HTML page with Content-Type text/html).

``ALL_TOKENS`` ("*") configures every token that has no settings of its own.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

ALL_TOKENS: Final = "*"
WINDOW_SECONDS: Final = 60.0
FREE_PER_MINUTE: Final = 150
PAID_PER_MINUTE: Final = 1500
SEARCH_PER_MINUTE: Final = 60
MAX_READS: Final = 50
MAX_WRITES: Final = 15
CONCURRENCY_RETRY_AFTER: Final = 1
GARBAGE_KINDS: Final = ("null_data", "empty_data", "list_data", "no_data", "not_json", "html")
_HTML_PAGE: Final = (
    b"<!DOCTYPE html><html><head><title>503</title></head>"
    b"<body><h1>Down for maintenance</h1><p>Back soon.</p></body></html>"
)


@dataclass
class TokenFaults:
    """The faults set for one token (or for ALL_TOKENS)."""

    requests_per_minute: int | None = None
    count_rejected: bool = False
    rate_limit_set: bool = False  # False: the quota of the token's plan applies
    search_per_minute: int | None = SEARCH_PER_MINUTE
    max_reads: int | None = MAX_READS
    max_writes: int | None = MAX_WRITES
    error_rate: float = 0.0
    fail_next: int = 0
    fail_status: int = 500
    fail_after_apply: bool = False
    latency: float = 0.0
    revoked: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    garbage: Garbage | None = None


@dataclass
class Garbage:
    """Wrong-shape answers still to give: which kind, how many (None: all), to what."""

    kind: str
    count: int | None
    endpoint: str | None
    method: str | None

    def matches(self, method: str, endpoint: str) -> bool:
        return (self.endpoint is None or self.endpoint == endpoint) and (
            self.method is None or self.method == method.upper()
        )


def garbled(kind: str, body: object) -> tuple[object, dict[str, str]]:
    """A successful answer's body made into garbage of `kind`, and the headers to send with it.
    A ``bytes`` body is sent as is (not JSON), with its Content-Type."""
    original = dict(body) if isinstance(body, dict) else {"data": body}
    if kind == "null_data":
        return {**original, "data": None}, {}
    if kind == "empty_data":
        return {**original, "data": {}}, {}
    if kind == "list_data":
        return {**original, "data": [original.get("data")]}, {}
    if kind == "no_data":
        original.pop("data", None)
        return original, {}
    if kind == "not_json":
        return b'{"data": [{"gid": "1", "name": "Trunc', {"Content-Type": "application/json"}
    if kind == "html":
        return _HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"}
    raise ValueError(f"unknown garbage kind {kind!r}: use one of {', '.join(GARBAGE_KINDS)}")


@dataclass(frozen=True, slots=True)
class Failure:
    """An injected error for one request: its status, and whether the request runs first."""

    status: int
    after_apply: bool


class _Window:
    """The units a token spent in the last WINDOW_SECONDS, oldest first, with their total."""

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()
        self.used = 0

    def take(self, now: float, units: int, limit: int, *, count_rejected: bool) -> int | None:
        """Spend ``units`` if they fit (None), else the Retry-After in whole seconds."""
        while self.entries and self.entries[0][0] <= now - WINDOW_SECONDS:
            self.used -= self.entries.popleft()[1]
        if self.used + units <= limit:
            self.entries.append((now, units))
            self.used += units
            return None
        if count_rejected:
            self.entries.append((now, units))
            self.used += units
        retry_after = WINDOW_SECONDS
        if units <= limit:
            freed = 0
            for stamp, cost in self.entries:
                freed += cost
                if self.used - freed + units <= limit:
                    retry_after = stamp + WINDOW_SECONDS - now
                    break
        return max(1, math.ceil(retry_after))


def _no_plan(token: str) -> int | None:
    return None


class Faults:
    def __init__(self, *, monotonic: Callable[[], float] | None = None) -> None:
        self._monotonic = monotonic or time.monotonic
        self._own_clock = monotonic is not None
        self._per_minute: Callable[[str], int | None] = _no_plan
        self._lock = threading.Lock()
        self._settings: dict[str, TokenFaults] = {}
        self._windows: dict[str, _Window] = {}
        self._search_windows: dict[str, _Window] = {}
        self._in_flight: dict[str, list[int]] = {}

    def bind(
        self, *, monotonic: Callable[[], float], per_minute: Callable[[str], int | None]
    ) -> None:
        """The server's world: its clock (unless one was given) and each token's plan quota."""
        with self._lock:
            if not self._own_clock:
                self._monotonic = monotonic
            self._per_minute = per_minute

    # ------------------------------------------------------------------ setting faults
    def rate_limit(
        self, token: str, per_minute: int | None, *, count_rejected: bool = False
    ) -> None:
        """At most ``per_minute`` requests in any 60 s for this token (None: no limit)."""
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute is at least 1 (or None for no limit)")
        with self._lock:
            settings = self._for(token)
            settings.requests_per_minute = per_minute
            settings.count_rejected = count_rejected
            settings.rate_limit_set = True

    def search_rate_limit(self, token: str, per_minute: int | None) -> None:
        """At most ``per_minute`` searches in any 60 s for this token (None: no search quota)."""
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute is at least 1 (or None for no limit)")
        with self._lock:
            self._for(token).search_per_minute = per_minute

    def concurrency(self, token: str, *, reads: int | None, writes: int | None) -> None:
        """At most ``reads`` GETs and ``writes`` other requests in flight (None: no cap)."""
        if any(cap is not None and cap < 1 for cap in (reads, writes)):
            raise ValueError("a concurrency cap is at least 1 (or None for no cap)")
        with self._lock:
            settings = self._for(token)
            settings.max_reads, settings.max_writes = reads, writes

    def no_limits(self, token: str = ALL_TOKENS) -> None:
        """Lift every one of Asana's limits for this token (by default: all tokens)."""
        with self._lock:
            settings = self._for(token)
            settings.requests_per_minute = None
            settings.rate_limit_set = True
            settings.search_per_minute = None
            settings.max_reads = settings.max_writes = None

    def error_rate(self, token: str, rate: float, *, seed: int = 0) -> None:
        """Answer this fraction (0..1) of the token's requests with 500, reproducibly."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate is a fraction between 0 and 1")
        with self._lock:
            settings = self._for(token)
            settings.error_rate = rate
            settings.rng = random.Random(seed)

    def fail_next(
        self, token: str, count: int = 1, *, status: int = 500, after_apply: bool = False
    ) -> None:
        """The token's next ``count`` requests answer ``status``; ``after_apply``: once done."""
        if not 400 <= status <= 599:
            raise ValueError("status is an HTTP error status (4xx or 5xx)")
        with self._lock:
            settings = self._for(token)
            settings.fail_next = count
            settings.fail_status = status
            settings.fail_after_apply = after_apply

    def latency(self, token: str, seconds: float) -> None:
        """Delay every response to this token by ``seconds``."""
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        with self._lock:
            self._for(token).latency = seconds

    def revoke(self, token: str) -> None:
        """Refuse the token with 401 from now on (until ``restore``)."""
        with self._lock:
            self._for(token).revoked = True

    def restore(self, token: str) -> None:
        with self._lock:
            self._for(token).revoked = False

    def garbage(
        self,
        token: str,
        kind: str = "null_data",
        *,
        count: int | None = 1,
        endpoint: str | None = None,
        method: str | None = None,
    ) -> None:
        """The token's next ``count`` successful answers (None: all until ``clear``) of
        ``endpoint`` (a route template; None: any) and ``method`` come back as garbage of
        ``kind`` (one of GARBAGE_KINDS), with their status kept and the request carried out."""
        if kind not in GARBAGE_KINDS:
            raise ValueError(
                f"unknown garbage kind {kind!r}: use one of {', '.join(GARBAGE_KINDS)}"
            )
        if count is not None and count < 1:
            raise ValueError("count is at least 1 (or None for every answer)")
        with self._lock:
            self._for(token).garbage = Garbage(
                kind, count, endpoint, None if method is None else method.upper()
            )

    def clear(self, token: str | None = None) -> None:
        """Remove the faults of one token, or of all (and forget the rate windows)."""
        with self._lock:
            if token is None:
                self._settings.clear()
                self._windows.clear()
                self._search_windows.clear()
            else:
                self._settings.pop(token, None)
                self._windows.pop(token, None)
                self._search_windows.pop(token, None)

    def settings(self, token: str) -> TokenFaults | None:
        """The settings that apply to ``token`` (its own, else ALL_TOKENS'), for inspection."""
        with self._lock:
            return self._applying(token)

    # ------------------------------------------------------------------ used by the dispatcher
    def is_revoked(self, token: str) -> bool:
        with self._lock:
            settings = self._applying(token)
            return settings is not None and settings.revoked

    def delay(self, token: str | None) -> float:
        with self._lock:
            settings = self._applying(token) if token else None
            return settings.latency if settings else 0.0

    def admit(self, token: str, units: int = 1, *, search: bool = False) -> int | None:
        """Count ``units`` against the token's quotas: None when admitted, else Retry-After."""
        with self._lock:
            settings = self._applying(token)
            if settings is not None and settings.rate_limit_set:
                limit, count_rejected = settings.requests_per_minute, settings.count_rejected
            else:
                limit, count_rejected = self._per_minute(token), True
            now = self._monotonic()
            if limit is not None:
                window = self._windows.setdefault(token, _Window())
                refused = window.take(now, units, limit, count_rejected=count_rejected)
                if refused is not None:
                    return refused
            search_limit = SEARCH_PER_MINUTE if settings is None else settings.search_per_minute
            if search and search_limit is not None:
                window = self._search_windows.setdefault(token, _Window())
                return window.take(now, 1, search_limit, count_rejected=True)
            return None

    def enter(self, token: str, *, reads: int, writes: int) -> int | None:
        """Take in-flight slots: None when there is room (call ``leave`` after), else Retry-After."""
        with self._lock:
            settings = self._applying(token)
            max_reads = MAX_READS if settings is None else settings.max_reads
            max_writes = MAX_WRITES if settings is None else settings.max_writes
            flight = self._in_flight.setdefault(token, [0, 0])
            if (reads and max_reads is not None and flight[0] + reads > max_reads) or (
                writes and max_writes is not None and flight[1] + writes > max_writes
            ):
                return CONCURRENCY_RETRY_AFTER
            flight[0] += reads
            flight[1] += writes
            return None

    def leave(self, token: str, *, reads: int, writes: int) -> None:
        with self._lock:
            flight = self._in_flight.setdefault(token, [0, 0])
            flight[0] = max(0, flight[0] - reads)
            flight[1] = max(0, flight[1] - writes)

    def in_flight(self, token: str) -> tuple[int, int]:
        """(reads, writes) of the token being answered now."""
        with self._lock:
            flight = self._in_flight.get(token, [0, 0])
            return flight[0], flight[1]

    def failure(self, token: str) -> Failure | None:
        """Whether this request fails by injection (and how)."""
        with self._lock:
            settings = self._applying(token)
            if settings is None:
                return None
            if settings.fail_next > 0:
                settings.fail_next -= 1
                return Failure(settings.fail_status, settings.fail_after_apply)
            if settings.error_rate > 0 and settings.rng.random() < settings.error_rate:
                return Failure(500, after_apply=False)
            return None

    def garbage_for(self, token: str | None, method: str, endpoint: str) -> str | None:
        """The kind of garbage this successful answer becomes, if any (one is used up)."""
        with self._lock:
            settings = self._applying(token) if token else None
            garbage = settings.garbage if settings is not None else None
            if garbage is None or not garbage.matches(method, endpoint):
                return None
            if garbage.count is not None:
                garbage.count -= 1
                if garbage.count <= 0:
                    assert settings is not None
                    settings.garbage = None
            return garbage.kind

    def _for(self, token: str) -> TokenFaults:
        return self._settings.setdefault(token, TokenFaults())

    def _applying(self, token: str) -> TokenFaults | None:
        return self._settings.get(token) or self._settings.get(ALL_TOKENS)
