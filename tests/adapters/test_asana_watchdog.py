"""The deadline's watchdog: one thread for every attempt of the process, not one per request.

`test_asana_deadline.py` checks what a deadline does to a trickled answer; these check the
watchdog itself: deadlines expire in time order whatever order they were armed in, an attempt
that ended is never expired, done entries do not pile up, and real requests start no thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from delegator.asana import AsanaClient, BudgetRegistry
from delegator.asana.deadline import WATCHDOG, Deadline, Watchdog
from delegator.sandbox import SandboxServer


class Recorder(Deadline):
    """A deadline that records when the watchdog expired it."""

    def __init__(self, name: str, log: list[tuple[str, float]], seconds: float = 60.0) -> None:
        super().__init__(seconds)
        self.name = name
        self.log = log
        self.fired = threading.Event()

    def _expire(self) -> None:
        self.log.append((self.name, time.monotonic()))
        self.fired.set()


@pytest.fixture
def watchdog() -> Iterator[Watchdog]:
    made = Watchdog(name="asana-deadline-test")
    yield made
    made.close()
    assert made.thread is None


def test_deadlines_expire_in_time_order_whatever_the_order_they_were_armed_in(
    watchdog: Watchdog,
) -> None:
    log: list[tuple[str, float]] = []
    now = time.monotonic()
    late, early, middle = (Recorder(name, log) for name in ("late", "early", "middle"))
    watchdog.arm(now + 0.6, late)  # the watchdog sleeps towards this one...
    watchdog.arm(now + 0.1, early)  # ...and is woken for an earlier one
    watchdog.arm(now + 0.3, middle)
    assert late.fired.wait(3)
    assert [name for name, _ in log] == ["early", "middle", "late"]
    for (_, at), due in zip(log, (0.1, 0.3, 0.6), strict=True):
        assert at >= now + due
        assert at < now + due + 0.5


def test_an_attempt_that_ended_is_never_expired(watchdog: Watchdog) -> None:
    log: list[tuple[str, float]] = []
    now = time.monotonic()
    ended, running = Recorder("ended", log), Recorder("running", log)
    entry = watchdog.arm(now + 0.1, ended)
    watchdog.arm(now + 0.2, running)
    watchdog.disarm(entry)
    watchdog.disarm(entry)  # twice: nothing more
    assert running.fired.wait(3)
    time.sleep(0.05)
    assert [name for name, _ in log] == ["running"]


def test_done_entries_are_swept_and_one_thread_serves_them_all(watchdog: Watchdog) -> None:
    log: list[tuple[str, float]] = []
    later = time.monotonic() + 600
    for index in range(10 * Watchdog.SWEEP_AT):
        watchdog.disarm(watchdog.arm(later + index, Recorder(str(index), log)))
    assert len(watchdog) < 2 * Watchdog.SWEEP_AT
    names = [thread.name for thread in threading.enumerate()]
    assert names.count("asana-deadline-test") == 1
    assert watchdog.thread is not None
    assert watchdog.thread.daemon
    assert log == []


def test_requests_start_no_thread_of_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    me = threading.current_thread()
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def recording_start(thread: threading.Thread) -> None:
        if threading.current_thread() is me:  # not the sandbox's threads, started by its own
            started.append(thread)
        start(thread)

    with SandboxServer.demo() as sandbox:
        token = sandbox.token("anna@northwind.example")
        with AsanaClient(token, base_url=sandbox.base_url, budgets=BudgetRegistry()) as client:
            client.me()  # the watchdog may start here, once for the process
            monkeypatch.setattr(threading.Thread, "start", recording_start)
            workspace = sandbox.world.workspaces[0].gid
            for _ in range(5):
                client.lookups().tags(workspace)
            monkeypatch.undo()
    assert started == []
    assert [t.name for t in threading.enumerate()].count(WATCHDOG.name) == 1
    assert len(WATCHDOG) < 2 * Watchdog.SWEEP_AT  # each attempt's entry done, none piling up
