"""Cycles, sync positions and the action journal, round trip, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from storekit import ROME, T0, begin

from delegator.cycles import CycleCounts, CycleError, ErrorKind
from delegator.ports import ActionRecord, CycleRecord, SyncPosition
from delegator.store import SqlStore, StoreError

# ---------------------------------------------------------------- cycles


def test_a_cycle_is_recorded_when_it_starts_and_completed_when_it_ends(store: SqlStore) -> None:
    cycle_id = store.start_cycle("acme", T0, dry_run=False)
    assert store.cycles("acme") == [
        CycleRecord(
            cycle_id,
            "acme",
            T0,
            None,
            dry_run=False,
            counts=CycleCounts(),
            errors=(),
            error_kinds=(),
        )
    ]

    store.finish_cycle(
        cycle_id,
        T0 + timedelta(seconds=4),
        CycleCounts.from_mapping({"tasks": 12, "acted": 3}),  # keys of another version: kept
        [CycleError(ErrorKind.TASK, "task 9: 403")],
    )

    assert store.cycles("acme") == [
        CycleRecord(
            cycle_id,
            "acme",
            T0,
            T0 + timedelta(seconds=4),
            dry_run=False,
            counts=CycleCounts.from_mapping({"tasks": 12, "acted": 3}),
            errors=("task 9: 403",),
            error_kinds=(ErrorKind.TASK,),
        )
    ]


def test_cycles_come_newest_first_per_client_and_limited(store: SqlStore) -> None:
    ids = [store.start_cycle("acme", T0 + timedelta(minutes=m), dry_run=m == 2) for m in range(4)]
    other = store.start_cycle("globex", T0 + timedelta(minutes=10), dry_run=False)

    assert [c.id for c in store.cycles("acme")] == ids[::-1]
    assert [c.id for c in store.cycles("acme", limit=2)] == [ids[3], ids[2]]
    assert [c.dry_run for c in store.cycles("acme")] == [False, True, False, False]
    assert [c.id for c in store.cycles(limit=2)] == [other, ids[3]]
    assert store.cycles("initech") == []


def test_finishing_an_unknown_cycle_is_an_error(store: SqlStore) -> None:
    with pytest.raises(StoreError, match=r"^no cycle 424242 in the database at "):
        store.finish_cycle(424242, T0, CycleCounts())


# ---------------------------------------------------------------- sync positions


def test_a_sync_position_is_saved_replaced_and_kept_per_client_and_source(
    store: SqlStore,
) -> None:
    assert store.sync_position("acme", "project:77") is None
    first = SyncPosition("project:77", high_water=T0, sync_token="tok-1", last_full_read=T0)
    store.save_sync_position("acme", first)
    store.save_sync_position("acme", SyncPosition("my_tasks"))
    store.save_sync_position("globex", SyncPosition("project:77", sync_token="globex-tok"))

    assert store.sync_position("acme", "project:77") == first
    assert store.sync_position("acme", "my_tasks") == SyncPosition("my_tasks", None, None, None)

    later = SyncPosition("project:77", high_water=T0 + timedelta(minutes=5), sync_token=None)
    store.save_sync_position("acme", later)

    assert store.sync_position("acme", "project:77") == later  # replaced as a whole
    assert store.sync_position("globex", "project:77") == SyncPosition(
        "project:77", sync_token="globex-tok"
    )


# ---------------------------------------------------------------- the action journal


def test_an_action_is_journalled_pending_then_completed(store: SqlStore) -> None:
    cycle_id = store.start_cycle("acme", T0, dry_run=False)
    action_id = store.begin_action(
        cycle_id=cycle_id,
        client="acme",
        task_gid="1201",
        task_name="Pay the March invoice",
        rule="Invoices to Anna",
        kind="comment",
        detail={"text": "Anna, please pay this", "mentions": ["501"], "nested": {"a": [1, 2]}},
        assistant="anna",
        mode="active",
        at=T0,
    )
    pending = ActionRecord(
        id=action_id,
        cycle_id=cycle_id,
        client="acme",
        task_gid="1201",
        task_name="Pay the March invoice",
        rule="Invoices to Anna",
        kind="comment",
        detail={"text": "Anna, please pay this", "mentions": ["501"], "nested": {"a": [1, 2]}},
        assistant="anna",
        mode="active",
        status="pending",
        created_at=T0,
    )
    assert store.actions("acme") == [pending]
    assert store.pending_actions("acme") == [pending]

    done_at = T0 + timedelta(seconds=2)
    store.finish_action(action_id, "done", done_at, result="posted", story_gid="9001")

    done = ActionRecord(
        **{
            **{f: getattr(pending, f) for f in pending.__dataclass_fields__},
            "status": "done",
            "completed_at": done_at,
            "result": "posted",
            "story_gid": "9001",
        }
    )
    assert store.actions("acme") == [done]
    assert store.pending_actions("acme") == []


def test_an_action_written_with_a_final_status_is_complete_at_once(store: SqlStore) -> None:
    action_id = begin(store, mode="dry_run", status="planned", at=T0)

    [planned] = store.actions("acme")
    assert (planned.id, planned.status, planned.mode) == (action_id, "planned", "dry_run")
    assert planned.completed_at == T0
    assert store.pending_actions("acme") == []


def test_finishing_an_unknown_action_is_an_error(store: SqlStore) -> None:
    with pytest.raises(StoreError, match=r"^no action 99 in the database at "):
        store.finish_action(99, "done", T0)


def test_an_action_in_an_unknown_cycle_is_refused(store: SqlStore) -> None:
    with pytest.raises(StoreError, match=r"^the database at .* failed: "):
        begin(store, cycle_id=31337)
    assert store.actions() == []


def test_a_crash_between_intent_and_completion_leaves_the_intent_pending(
    database_url: str,
) -> None:
    with SqlStore(database_url) as before_crash:
        before_crash.migrate()
        finished = begin(before_crash, task="1", kind="assign", at=T0)
        before_crash.finish_action(finished, "done", T0)
        comment = begin(before_crash, task="2", kind="comment", at=T0 + timedelta(seconds=1))
        begin(before_crash, task="3", client="globex")
        # the process dies here: the comment's call may or may not have reached Asana

    with SqlStore(database_url) as restarted:
        restarted.migrate()
        pending = restarted.pending_actions("acme")
        assert [(a.id, a.task_gid, a.kind, a.status) for a in pending] == [
            (comment, "2", "comment", "pending")
        ]
        restarted.finish_action(comment, "done", T0 + timedelta(minutes=1), story_gid="77")
        assert restarted.pending_actions("acme") == []
        assert [a.task_gid for a in restarted.pending_actions("globex")] == ["3"]


def test_pending_actions_come_oldest_first(store: SqlStore) -> None:
    ids = [begin(store, task=str(n), at=T0 + timedelta(seconds=n)) for n in range(3)]
    assert [a.id for a in store.pending_actions("acme")] == ids


def test_the_journal_filters_by_client_task_and_since_newest_first(store: SqlStore) -> None:
    a1 = begin(store, task="1", at=T0)
    a2 = begin(store, task="2", at=T0 + timedelta(hours=1))
    a3 = begin(store, task="1", at=T0 + timedelta(hours=2))
    a4 = begin(store, task="1", at=T0 + timedelta(hours=2))  # same instant: the later id first
    g1 = begin(store, task="1", client="globex", at=T0 + timedelta(hours=3))

    def ids(records: list[ActionRecord]) -> list[int]:
        return [r.id for r in records]

    assert ids(store.actions("acme")) == [a4, a3, a2, a1]
    assert ids(store.actions()) == [g1, a4, a3, a2, a1]
    assert ids(store.actions("acme", task_gid="1")) == [a4, a3, a1]
    assert ids(store.actions(task_gid="1")) == [g1, a4, a3, a1]
    assert ids(store.actions("acme", since=T0 + timedelta(hours=1))) == [a4, a3, a2]
    assert ids(store.actions("acme", task_gid="1", since=T0 + timedelta(minutes=1))) == [a4, a3]
    assert ids(store.actions("acme", limit=2)) == [a4, a3]
    assert ids(store.actions(limit=1)) == [g1]
    assert store.actions("initech") == []


def test_since_compares_instants_whatever_the_offset_given(store: SqlStore) -> None:
    early = begin(store, task="1", at=datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    late = begin(store, task="2", at=datetime(2025, 3, 3, 11, 0, tzinfo=ROME))  # 10:00 UTC

    since = datetime(2025, 3, 3, 10, 30, tzinfo=ROME)  # 09:30 UTC
    assert [a.id for a in store.actions("acme", since=since)] == [late]
    assert [a.id for a in store.actions("acme")] == [late, early]


# ---------------------------------------------------------------- time


def test_times_come_back_aware_in_utc_and_equal_to_what_went_in(store: SqlStore) -> None:
    local = datetime(2025, 3, 3, 10, 15, 30, 123456, tzinfo=ROME)
    cycle_id = store.start_cycle("acme", local, dry_run=False)
    store.finish_cycle(cycle_id, local, CycleCounts())
    action_id = begin(store, at=local)
    store.finish_action(action_id, "done", local)
    store.save_sync_position("acme", SyncPosition("p", high_water=local, last_full_read=local))

    [cycle] = store.cycles("acme")
    [action] = store.actions("acme")
    position = store.sync_position("acme", "p")
    assert position is not None
    stored = [
        cycle.started_at,
        cycle.finished_at,
        action.created_at,
        action.completed_at,
        position.high_water,
        position.last_full_read,
    ]
    for value in stored:
        assert value is not None
        assert value.tzinfo is UTC
        assert value == local
    assert cycle.started_at == datetime(2025, 3, 3, 9, 15, 30, 123456, tzinfo=UTC)


def test_a_naive_time_is_refused_as_a_programming_error(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="naive datetime 2025-03-03T09:00:00 given to the store"):
        store.start_cycle("acme", datetime(2025, 3, 3, 9, 0), dry_run=False)
    assert store.cycles("acme") == []


def test_the_journal_can_be_read_by_kind(store: SqlStore) -> None:
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for kind in ("assign", "tag", "queue", "comment"):
        store.begin_action(
            cycle_id=None, client="acme", task_gid="1", task_name="t", rule="r", kind=kind,
            detail={}, assistant=None, mode="active", at=at, status="done",
        )  # fmt: skip
    kinds = [a.kind for a in store.actions(client="acme", kinds=("assign", "queue"))]
    assert sorted(kinds) == ["assign", "queue"]
