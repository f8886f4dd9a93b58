"""Time in the sandbox: its default clock and Asana's timestamp format (the `Clock` and
`ManualClock` are `delegator.clock`'s, re-exported here).

Asana writes instants as UTC ISO 8601 with milliseconds and a ``Z`` (``2012-02-22T02:06:58.147Z``);
the sandbox stores aware datetimes truncated to the millisecond so that what it compares
(``modified_since``, ``completed_since``) is exactly what clients saw.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from delegator.clock import Clock, ManualClock, SystemClock, truncate_ms

_PLUS_AS_SPACE = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")

__all__ = [
    "Clock",
    "ManualClock",
    "MillisecondClock",
    "format_instant",
    "parse_instant",
    "system_clock",
    "truncate_ms",
]


class MillisecondClock(SystemClock):
    """The real time, in UTC, to the millisecond (as the sandbox stores and compares it)."""

    def now(self) -> datetime:
        return truncate_ms(super().now())


system_clock = MillisecondClock()
"""The sandbox's default clock: the real time, to the millisecond."""


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
