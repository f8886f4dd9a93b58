"""Fault injection, per token: what a client must survive from Asana, on demand.

Settable from Python at any time while the server runs (thread-safe):

- ``rate_limit(token, per_minute)``: a sliding one-minute window; beyond it, 429 with
  ``Retry-After`` (whole seconds until enough of the window frees up) and Asana's body. Only
  admitted requests count, unless ``count_rejected=True`` (Asana counts rejected ones too).
  A batch costs one unit per action, and is refused whole when its actions do not fit.
- ``error_rate(token, rate, seed=...)``: that fraction of requests answer 500 (seeded randomness).
- ``fail_next(token, count, status=500, after_apply=False)``: the next ``count`` requests fail;
  with ``after_apply`` the request is carried out first and still answered with the error (the
  ambiguous failure a client must not repeat a comment after).
- ``latency(token, seconds)``: every response is delayed.
- ``revoke(token)`` / ``restore(token)``: the token is refused with 401.

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


@dataclass
class TokenFaults:
    """The faults set for one token (or for ALL_TOKENS)."""

    requests_per_minute: int | None = None
    count_rejected: bool = False
    error_rate: float = 0.0
    fail_next: int = 0
    fail_status: int = 500
    fail_after_apply: bool = False
    latency: float = 0.0
    revoked: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(0))


@dataclass(frozen=True, slots=True)
class Failure:
    """An injected error for one request: its status, and whether the request runs first."""

    status: int
    after_apply: bool


class Faults:
    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._settings: dict[str, TokenFaults] = {}
        self._windows: dict[str, deque[tuple[float, int]]] = {}

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

    def clear(self, token: str | None = None) -> None:
        """Remove the faults of one token, or of all (and forget the rate windows)."""
        with self._lock:
            if token is None:
                self._settings.clear()
                self._windows.clear()
            else:
                self._settings.pop(token, None)
                self._windows.pop(token, None)

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

    def admit(self, token: str, units: int = 1) -> int | None:
        """Count ``units`` against the token's window: None when admitted, else Retry-After."""
        with self._lock:
            settings = self._applying(token)
            if settings is None or settings.requests_per_minute is None:
                return None
            limit = settings.requests_per_minute
            now = self._monotonic()
            window = self._windows.setdefault(token, deque())
            while window and window[0][0] <= now - WINDOW_SECONDS:
                window.popleft()
            used = sum(cost for _, cost in window)
            if used + units <= limit:
                window.append((now, units))
                return None
            retry_after = WINDOW_SECONDS
            if units <= limit:
                freed = 0
                for stamp, cost in window:
                    freed += cost
                    if used - freed + units <= limit:
                        retry_after = stamp + WINDOW_SECONDS - now
                        break
            if settings.count_rejected:
                window.append((now, units))
            return max(1, math.ceil(retry_after))

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

    def _for(self, token: str) -> TokenFaults:
        return self._settings.setdefault(token, TokenFaults())

    def _applying(self, token: str) -> TokenFaults | None:
        return self._settings.get(token) or self._settings.get(ALL_TOKENS)
