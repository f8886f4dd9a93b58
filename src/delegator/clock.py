"""Time, injected: one `Clock` for the service, the Asana client and the sandbox.

A `Clock` gives the wall-clock time (timezone-aware, to compare with Asana's timestamps and to
stamp cycles), a monotonic time (budgets, backoff, caches) and a way to wait. `SystemClock` is
the real one; `ManualClock` moves only when told to, so tests of waits, budgets and
``modified_since`` take no real time. The core never reads time: it is handed `now`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

Sleep = Callable[[float], None]


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware wall-clock time."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for budgets and backoff)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def __call__(self) -> datetime:
        return self.now()


def truncate_ms(instant: datetime) -> datetime:
    """To the millisecond: Asana writes instants with milliseconds."""
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


class ManualClock:
    """A clock that only moves when told to (`advance`, `set`, `sleep`).

    Its wall-clock time is read to the millisecond, as Asana writes it (so what a sandbox on
    this clock compares is exactly what clients saw); its monotonic time starts at 1000.0 and
    moves with `advance` and `sleep` only, never back (`set` moves the wall clock alone).
    `sleep` advances instead of waiting; `slept` keeps each wait asked for.

    >>> clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    >>> clock.advance(minutes=5)
    >>> clock().isoformat()
    '2026-11-27T09:05:00+00:00'
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(
                "ManualClock needs a timezone-aware start, e.g. datetime(..., tzinfo=UTC)"
            )
        self._now = start.astimezone(UTC)
        self._mono = 1000.0
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now()

    def now(self) -> datetime:
        with self._lock:
            return truncate_ms(self._now)

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, delta: timedelta | float | None = None, **kwargs: float) -> None:
        """Move forward by ``delta`` (a timedelta or seconds) or by timedelta keyword arguments
        (``minutes=5``)."""
        if delta is None:
            step = timedelta(**kwargs)
        elif isinstance(delta, timedelta):
            step = delta
        else:
            step = timedelta(seconds=delta)
        with self._lock:
            self._now += step
            self._mono += max(0.0, step.total_seconds())

    def set(self, instant: datetime) -> None:
        """Set the wall clock (forward or back); the monotonic time does not move."""
        with self._lock:
            self._now = instant.astimezone(UTC)

    def sleep(self, seconds: float) -> None:
        """Advance instead of sleeping."""
        self.slept.append(seconds)
        self.advance(seconds)
