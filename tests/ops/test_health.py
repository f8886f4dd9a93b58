"""Readiness rules: when a client is healthy, and when the service as a whole is ready."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from delegator.clients import load_client
from delegator.cycles import Count, CycleCounts, ErrorKind
from delegator.health import (
    ClientHealth,
    ClientState,
    Readiness,
    Tracker,
    assess,
    entry_state,
    state_from_records,
)
from delegator.ports import CycleRecord
from delegator.service import CycleReport

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLL = timedelta(minutes=2)
EXAMPLES = Path("rules/examples")


def state(**changes: object) -> ClientState:
    return replace(ClientState("agency", "Agency", POLL), **changes)  # type: ignore[arg-type]


def minutes_ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("known", "status", "healthy"),
    [
        ({"last_result": "ok", "last_success_at": minutes_ago(1)}, "ok", True),
        # within 3 polls (6 minutes) of the last good cycle, a failure is tolerated
        ({"last_result": "failed", "last_success_at": minutes_ago(5),
          "last_errors": ("401 Unauthorized",)}, "degraded", True),
        ({"last_result": "errors", "last_success_at": minutes_ago(1)}, "degraded", True),
        ({"last_result": "ok", "last_success_at": minutes_ago(7)}, "stale", False),
        ({"last_result": "failed", "last_success_at": minutes_ago(7),
          "last_errors": ("401 Unauthorized",)}, "failing", False),
        ({"watched_since": minutes_ago(1)}, "starting", True),
        ({"watched_since": minutes_ago(1), "last_result": "interrupted"}, "starting", True),
        ({"watched_since": minutes_ago(7)}, "never_run", False),
        # a first cycle that failed is not "starting": the reason shows at once
        ({"watched_since": minutes_ago(1), "last_result": "failed",
          "last_errors": ("the environment variable ASANA_TOKEN_X is not set",)}, "failing", False),
        ({}, "never_run", False),
        ({"poll": None, "problem": "agency.yaml:3:1: poll: bad"}, "invalid", False),
    ],
)  # fmt: skip
def test_a_clients_health(known: dict[str, object], status: str, healthy: bool) -> None:
    health = assess(state(**known), NOW, ready_polls=3)
    assert (health.status, health.healthy) == (status, healthy)
    for error in known.get("last_errors", ()):  # type: ignore[attr-defined]
        assert error in health.reason


def test_a_stale_client_says_how_long_and_how_often() -> None:
    health = assess(state(last_result="ok", last_success_at=minutes_ago(30)), NOW, 3)
    assert health.reason == "no successful cycle for 30m (one is due every 2m)"


def health(status: str, healthy: bool) -> ClientHealth:
    return ClientHealth(state(), status, healthy, "")  # type: ignore[arg-type]


OK = {"settings": "ok", "store": "ok", "scheduler": "ok"}


@pytest.mark.parametrize(
    ("checks", "clients", "ready"),
    [
        (OK, [], True),
        (OK, [health("ok", True), health("failing", False)], True),  # one revoked token
        (OK, [health("failing", False), health("stale", False)], False),  # everyone fails
        (OK, [health("invalid", False)], True),  # a broken file is the author's to mend
        (OK, [health("invalid", False), health("failing", False)], False),
        ({**OK, "store": "the database at sqlite:///x failed"}, [health("ok", True)], False),
        ({**OK, "scheduler": "stopping"}, [health("ok", True)], False),
    ],
)
def test_the_service_is_ready_unless_every_client_or_a_shared_part_fails(
    checks: dict[str, str], clients: list[ClientHealth], ready: bool
) -> None:
    picture = Readiness(NOW, checks, clients)
    assert picture.ready is ready
    assert picture.as_json()["ready"] is ready


def record(
    id: int,
    started: datetime,
    finished: datetime | None,
    errors: tuple[str, ...] = (),
    **counts: int,
) -> CycleRecord:
    return CycleRecord(
        id, "agency", started, finished, False, CycleCounts.from_mapping(counts), errors
    )


def test_the_state_read_from_stored_cycles() -> None:
    records = [  # newest first, as the store gives them
        record(4, minutes_ago(1), None),
        record(3, minutes_ago(3), minutes_ago(2.9), ("401 Unauthorized",), client_failed=1),
        record(2, minutes_ago(5), minutes_ago(4.9), queued=2, tasks_seen=3),
        record(1, minutes_ago(7), minutes_ago(6.9)),
    ]
    found = state_from_records(state(), records)
    assert found.running_since == minutes_ago(1)
    assert (found.last_cycle_at, found.last_result) == (minutes_ago(3), "failed")
    assert found.last_errors == ("401 Unauthorized",)
    assert found.last_success_at == minutes_ago(4.9)
    assert found.queued == 2
    assert found.next_cycle_at == minutes_ago(3) + POLL
    assert state_from_records(state(), []) == state()


def test_an_invalid_rule_file_is_a_state_with_its_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nclient: {name: B}\n", encoding="utf-8")
    found = entry_state(load_client(broken))
    assert found.poll is None
    assert found.problem is not None
    assert "broken.yaml" in found.problem
    valid = entry_state(load_client(EXAMPLES / "small-agency.yaml"))
    assert (valid.key, valid.name, valid.poll) == ("small-agency", "Northwind Studio", POLL)


def test_the_tracker_follows_the_running_service() -> None:
    now = [NOW]
    tracker = Tracker(lambda: now[0])
    tracker.watch(load_client(EXAMPLES / "small-agency.yaml"))
    [watched] = tracker.states()
    assert (watched.watched_since, watched.last_result) == (NOW, None)
    assert assess(watched, NOW, 3).status == "starting"

    tracker.cycle_started("small-agency", NOW)
    assert tracker.states()[0].running_since == NOW
    now[0] = NOW + timedelta(seconds=5)
    report = CycleReport("small-agency", "Northwind Studio", NOW, False)
    report.counts[Count.TASKS_SEEN] = 34
    report.counts[Count.QUEUED] = 1
    tracker.cycle_finished(report, now[0])
    [after] = tracker.states({"small-agency": NOW + POLL})
    assert (after.running_since, after.last_result, after.last_success_at) == (None, "ok", now[0])
    assert (after.queued, after.next_cycle_at) == (1, NOW + POLL)

    failed = CycleReport("small-agency", "Northwind Studio", NOW + POLL, False)
    failed.add_error(ErrorKind.TOKEN, "401 Unauthorized")
    failed.counts[Count.CLIENT_FAILED] = 1
    tracker.cycle_finished(failed, NOW + POLL)
    [later] = tracker.states()
    assert (later.last_result, later.last_success_at) == ("failed", now[0])
    # A new version of the file keeps what was seen; a removed client is forgotten.
    tracker.watch(load_client(EXAMPLES / "small-agency.yaml"))
    assert tracker.states()[0].last_success_at == now[0]
    tracker.forget("small-agency")
    assert tracker.states() == []
    tracker.cycle_finished(report, now[0])  # a cycle of a client that left: ignored
    assert tracker.states() == []
