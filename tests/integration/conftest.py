"""The integration tests' shared fixtures: a manual clock and the demo sandbox on it.

``clock`` starts at ``START``, Tuesday 2026-12-01 09:00 UTC (10:00 in Rome, a working hour),
unless the test module defines its own ``START`` (a timezone-aware datetime): then the clock
starts there. A module whose tests need something else defines its own ``clock`` or ``sandbox``
fixture, which wins over these.

``sandbox`` is the demo world (Northwind Studio and Fischer Consulting) with its rate windows on
the same clock (``Faults(monotonic=clock.monotonic)``), so advancing the clock moves both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from delegator.sandbox import Faults, ManualClock, SandboxServer

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ManualClock:
    """A ManualClock at the module's ``START``, or at this file's."""
    return ManualClock(getattr(request.module, "START", START))


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[SandboxServer]:
    """The demo world on ``clock``, its faults' rate windows on the same clock."""
    faults = Faults(monotonic=clock.monotonic)
    with SandboxServer.demo(clock=clock, faults=faults) as server:
        yield server
