"""Time as the client sees it: injected, so tests of waits and budgets take no real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

Sleep = Callable[[float], None]


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware wall-clock time (for comparing with Asana's timestamps)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for budgets and backoff)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
