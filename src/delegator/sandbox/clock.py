"""Time in the sandbox: an injectable clock and Asana's timestamp format.

Asana writes instants as UTC ISO 8601 with milliseconds and a ``Z`` (``2012-02-22T02:06:58.147Z``);
the sandbox stores aware datetimes truncated to the millisecond so that what it compares
(``modified_since``, ``completed_since``) is exactly what clients saw.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_PLUS_AS_SPACE = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")

Clock = Callable[[], datetime]
"""A function returning the current instant (timezone-aware)."""


def system_clock() -> datetime:
    """The real time, in UTC, to the millisecond."""
    return truncate_ms(datetime.now(UTC))


class ManualClock:
    """A clock that only moves when told to: for tests of ``modified_since`` and sync tokens.

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
        self._now = truncate_ms(start.astimezone(UTC))
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move forward by ``delta`` or by timedelta keyword arguments (``minutes=5``)."""
        step = delta if delta is not None else timedelta(**kwargs)
        with self._lock:
            self._now = truncate_ms(self._now + step)

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = truncate_ms(instant.astimezone(UTC))

    # The Asana client's clock (now, monotonic, sleep): handed to a client talking to a sandbox
    # on this clock, its waits (budget, Retry-After) move time instead of sleeping.
    def now(self) -> datetime:
        return self()

    def monotonic(self) -> float:
        return self().timestamp()

    def sleep(self, seconds: float) -> None:
        """Advance instead of sleeping; ``slept`` keeps each wait asked for."""
        self.slept.append(seconds)
        self.advance(seconds=seconds)


def truncate_ms(instant: datetime) -> datetime:
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def format_instant(instant: datetime) -> str:
    """``2026-11-27T09:05:00.000Z``: Asana's way of writing an instant."""
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant as clients send it; naive values are taken as UTC.

    Raises ValueError for anything else.
    """
    # A "+" in an unencoded query string arrives as a space: "09:00:00 01:00" means "+01:00".
    cleaned = _PLUS_AS_SPACE.sub(r"+\1", text.strip()).replace("Z", "+00:00")
    value = datetime.fromisoformat(cleaned)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
