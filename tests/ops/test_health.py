"""Readiness rules: when a client is healthy, and when the service as a whole is ready; with
replicas, a client another replica holds, a client just taken over, the lease rounds as a check."""

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
    LeaseState,
    Readiness,
    ReplicaState,
    Tracker,
    assess,
    entry_state,
    readiness,
    state_from_records,
    stored_lease,
    with_store_checks,
)
from delegator.ports import CycleRecord, LeaseRecord
from delegator.service import CycleReport

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POLL = timedelta(minutes=2)
EXAMPLES = Path("examples")


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


# ---------------------------------------------------------------------- replicas and leases
HERE = LeaseState("here", "web-a", minutes_ago(1), NOW + timedelta(minutes=1), 3)
ELSEWHERE = LeaseState("elsewhere", "web-b", minutes_ago(30), NOW + timedelta(minutes=1), 2)


@pytest.mark.parametrize(
    "known",
    [
        {},  # never run here
        {"watched_since": minutes_ago(1)},  # this replica just started
        {"last_result": "ok", "last_success_at": minutes_ago(30)},  # it ran it, long ago
        {"last_result": "failed", "last_errors": ("401 Unauthorized",)},
    ],
)
def test_a_client_another_replica_holds_is_fine_here_whatever_was_seen_of_it(
    known: dict[str, object],
) -> None:
    health = assess(state(lease=ELSEWHERE, **known), NOW, ready_polls=3)
    assert (health.status, health.healthy) == ("elsewhere", True)
    assert health.reason == "replica web-b holds its lease (for 30m) and runs its cycles"
    # Its holder unknown (the database did not answer; the last round saw it held).
    unnamed = assess(state(lease=LeaseState("elsewhere"), **known), NOW, ready_polls=3)
    assert unnamed.reason == "another replica holds its lease and runs its cycles"


def test_a_client_just_taken_over_is_starting_until_its_first_cycle_here() -> None:
    # This replica ran it an hour ago, then another did; it has just taken the lease back.
    before = state(
        watched_since=minutes_ago(120),
        last_cycle_at=minutes_ago(61),
        last_result="ok",
        last_success_at=minutes_ago(60),
        lease=HERE,
    )
    health = assess(before, NOW, ready_polls=3)
    assert (health.status, health.healthy) == ("starting", True)
    assert health.reason == "this replica took its lease 60s ago: waiting for its first cycle here"
    # After its first cycle here, that cycle is judged.
    failed = replace(before, last_cycle_at=minutes_ago(0.5), last_result="failed")
    assert assess(failed, NOW, ready_polls=3).status == "failing"
    # Taken long ago, no cycle since: stale as before.
    late = replace(before, lease=replace(HERE, since=minutes_ago(10)))
    assert assess(late, NOW, ready_polls=3).status == "stale"


@pytest.mark.parametrize(
    ("clients", "ready"),
    [
        ([health("elsewhere", True)], True),  # every client is served elsewhere
        ([health("failing", False), health("elsewhere", True)], False),  # its only one fails
        ([health("ok", True), health("elsewhere", True)], True),
        ([health("invalid", False), health("elsewhere", True)], True),
    ],
)
def test_a_replica_is_judged_only_on_the_clients_it_holds(
    clients: list[ClientHealth], ready: bool
) -> None:
    assert Readiness(NOW, OK, clients).ready is ready


def replica_state(**changes: object) -> ReplicaState:
    base = ReplicaState(
        "web-a",
        started_at=minutes_ago(60),
        lease=timedelta(minutes=2),
        live=("web-a", "web-b"),
        leases_held=1,
        last_round_at=minutes_ago(0.1),
        last_renewed_at=minutes_ago(0.1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "check", "warnings"),
    [
        ({}, "ok", []),
        (
            {"last_renewed_at": minutes_ago(0.5), "last_error": "connection refused"},
            "ok",
            ["the last lease round failed; the leases last 90s more unrenewed: connection refused"],
        ),
        (
            {"last_renewed_at": minutes_ago(3), "last_error": "connection refused"},
            "the lease rounds have failed for 3m, longer than a lease lasts (2m): this replica's "
            "leases have run out and other replicas take its clients: connection refused",
            [],
        ),
        (  # the first round never went through: counted from the start
            {"last_renewed_at": None, "last_error": "connection refused"},
            "the lease rounds have failed for 60m, longer than a lease lasts (2m): this replica's "
            "leases have run out and other replicas take its clients: connection refused",
            [],
        ),
        (  # no error, no round either: the rounds' thread is stuck
            {"last_round_at": minutes_ago(5), "last_renewed_at": minutes_ago(5)},
            "no lease round has gone through for 5m, longer than a lease lasts (2m): this "
            "replica's leases have run out and other replicas take its clients",
            [],
        ),
        (
            {"last_round_at": None, "last_renewed_at": None},
            "no lease round yet: this replica does not know which clients it holds",
            [],
        ),
    ],
)
def test_lease_rounds_failing_for_longer_than_a_lease_make_the_replica_unready(
    changes: dict[str, object], check: str, warnings: list[str]
) -> None:
    picture = readiness(NOW, OK, [], ready_polls=3, replica=replica_state(**changes))
    assert picture.checks["leases"] == check
    assert list(picture.warnings) == warnings
    assert picture.ready is (check == "ok")


def test_the_readiness_json_shows_the_replica_and_each_clients_lease() -> None:
    picture = readiness(
        NOW,
        OK,
        [
            state(lease=ELSEWHERE, key="solo"),
            state(last_result="ok", last_success_at=NOW, lease=HERE),
        ],
        ready_polls=3,
        replica=replica_state(),
    )
    body = picture.as_json()
    assert body["checks"]["leases"] == "ok"
    assert body["replica"] == {
        "id": "web-a",
        "started_at": "2026-11-27T11:00:00+00:00",
        "live_replicas": ["web-a", "web-b"],
        "leases_held": 1,
        "lease_seconds": 120.0,
        "last_round_at": "2026-11-27T11:59:54+00:00",
        "last_good_round_at": "2026-11-27T11:59:54+00:00",
        "last_round_error": None,
    }
    solo, agency = body["clients"]
    assert (solo["status"], solo["healthy"]) == ("elsewhere", True)
    assert solo["lease"] == {
        "state": "elsewhere",
        "replica": "web-b",
        "since": "2026-11-27T11:30:00+00:00",
        "expires": "2026-11-27T12:01:00+00:00",
        "token": 2,
    }
    assert agency["lease"]["state"] == "here"
    assert agency["lease"]["since"] == "2026-11-27T11:59:00+00:00"
    # `delegator run` adds the store's checks and judges again: the replica and leases stay.
    again = with_store_checks(picture, None, ready_polls=3, failed_writes_at=1, min_free=0)
    assert again.as_json() == body
    # Without leases (a test's service, a one-off), no replica and no lease.
    plain = readiness(NOW, OK, [state()], ready_polls=3).as_json()
    assert plain["replica"] is None
    assert plain["clients"][0]["lease"] is None
    assert "leases" not in plain["checks"]


def lease_record(
    holder: str | None, *, live: bool = True, replica: str | None = None
) -> LeaseRecord:
    return LeaseRecord(
        "agency",
        holder,
        replica if replica is not None else (holder.split("#")[0] if holder else None),
        4,
        minutes_ago(5) if holder else None,
        NOW + timedelta(minutes=1) if holder else None,
        live and holder is not None,
    )


@pytest.mark.parametrize(
    ("record", "me", "expected"),
    [
        (None, None, "free"),
        (lease_record(None), None, "free"),
        (lease_record("web-a#1"), None, "held"),  # seen from outside: `delegator status`
        (lease_record("web-a#1", live=False), None, "expired"),
        (lease_record("web-a#1"), "web-a#1", "here"),
        (lease_record("web-a#1"), "web-a#2", "elsewhere"),  # the same id, another process
        (lease_record("web-b#1", live=False), "web-a#1", "expired"),
    ],
)
def test_a_stored_lease_as_shown(record: LeaseRecord | None, me: str | None, expected: str) -> None:
    lease = stored_lease(record, me=me)
    assert lease.state == expected
    if expected not in ("free",):
        assert record is not None
        assert (lease.replica, lease.since, lease.token) == (
            record.replica,
            record.acquired_at,
            4,
        )
