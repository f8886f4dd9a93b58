"""A cycle's bookkeeping in few transactions, and the history pruned: on SQLite and PostgreSQL.

``together()`` makes the calls of a block one transaction (all kept or none); positions, the
completions of an outcome's steps and the reads of the tasks seen are one statement each; prune
deletes only what nothing reads any more.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from storekit import T0, act, begin

from delegator.cycles import CycleCounts
from delegator.ports import Delegation, Finished, Override, Pruned, SyncPosition
from delegator.store import SqlStore, StoreError

# ---------------------------------------------------------------- together


def test_the_calls_of_a_together_block_are_kept_together_or_not_at_all(store: SqlStore) -> None:
    def stopped() -> None:
        with store.together(write=True):
            begin(store, task="1")
            store.save_sync_position("acme", SyncPosition("project:1", high_water=T0))
            raise RuntimeError("the cycle stops here")

    with pytest.raises(RuntimeError):
        stopped()
    assert store.actions("acme") == []
    assert store.sync_positions("acme") == {}

    with store.together(write=True):
        begin(store, task="1")
        with store.together(write=True):  # a block inside another joins it
            store.save_sync_position("acme", SyncPosition("project:1", high_water=T0))
        assert len(store.actions("acme")) == 1  # the block reads its own writes
    assert len(store.actions("acme")) == 1
    assert set(store.sync_positions("acme")) == {"project:1"}


def test_a_write_inside_a_block_opened_for_reading_is_refused(store: SqlStore) -> None:
    with pytest.raises(RuntimeError, match="opened for reading"), store.together():
        begin(store)
    assert store.actions("acme") == []


def test_a_failing_call_inside_a_block_fails_the_whole_block(store: SqlStore) -> None:
    def failing() -> None:
        with store.together(write=True):
            begin(store, task="1")
            store.finish_cycle(999_999, T0, CycleCounts())  # no such cycle

    with pytest.raises(StoreError):
        failing()
    assert store.actions("acme") == []


# ---------------------------------------------------------------- positions, journal, delegations


def test_positions_are_read_and_saved_for_every_source_at_once(store: SqlStore) -> None:
    one = SyncPosition("project:1", high_water=T0)
    two = SyncPosition("project:2", sync_token="abc", last_full_read=T0)
    store.save_sync_positions("acme", [one, two])
    store.save_sync_positions("other", [one])
    assert store.sync_positions("acme") == {"project:1": one, "project:2": two}
    moved = SyncPosition("project:1", high_water=T0 + timedelta(minutes=1))
    store.save_sync_positions("acme", [moved])
    assert store.sync_positions("acme") == {"project:1": moved, "project:2": two}
    assert store.sync_position("acme", "project:1") == moved
    store.save_sync_positions("acme", [])  # nothing to save: nothing happens


def test_completions_are_saved_at_once_and_intents_never_carried_out_are_forgotten(
    store: SqlStore,
) -> None:
    first, second, third = (begin(store, task=str(n)) for n in (1, 2, 3))
    done = act(store, task="4")
    store.finish_actions(
        [
            Finished(first, "done", T0, story_gid="77"),
            Finished(second, "failed", T0, result="502 Bad Gateway"),
        ]
    )
    store.forget_actions([third, done])  # a finished entry is never forgotten
    by_task = {a.task_gid: a for a in store.actions("acme")}
    assert set(by_task) == {"1", "2", "4"}
    assert (by_task["1"].status, by_task["1"].story_gid) == ("done", "77")
    assert (by_task["2"].status, by_task["2"].result) == ("failed", "502 Bad Gateway")
    with pytest.raises(StoreError, match="no action 123456"):
        store.finish_actions([Finished(123_456, "done", T0)])


def test_the_journal_and_delegations_are_read_for_the_tasks_asked_only(store: SqlStore) -> None:
    for n in range(1200):  # more than one chunk of gids
        store.record_delegation(Delegation("acme", f"9{n:04d}", "t", "r", "anna", "5", T0))
    begin(store, task="90001", kind="queue")
    begin(store, task="90002", kind="assign")
    begin(store, task="80000", kind="assign")
    asked = [f"9{n:04d}" for n in range(0, 1200, 2)]
    found = store.delegations("acme", "open", task_gids=asked)
    assert sorted(d.task_gid for d in found) == sorted(asked)
    assert store.delegations("acme", "open", task_gids=[]) == []
    actions = store.actions("acme", kinds=("assign", "queue"), task_gids=["90001", "90002"])
    assert sorted(a.task_gid for a in actions) == ["90001", "90002"]
    many = store.actions("acme", task_gids=[f"9{n:04d}" for n in range(1200)], limit=1)
    assert len(many) == 1
    assert store.actions("acme", task_gids=[]) == []


def test_shadow_plans_are_known_by_task_rule_and_version(store: SqlStore) -> None:
    begin(store, task="1", rule="r", kind="tag", mode="shadow", status="planned",
          detail={"tag": "x", "version": "v1"})  # fmt: skip
    begin(
        store, task="2", rule="r", kind="tag", mode="shadow", status="planned", detail={"tag": "x"}
    )  # fmt: skip  (journaled before versions: no version)
    begin(store, task="3", rule="r", kind="tag", mode="active", detail={"version": "v1"})
    assert store.shadow_plans("acme", ["1", "2", "3", "4"]) == {("1", "r", "v1")}


# ---------------------------------------------------------------- prune


def test_prune_deletes_the_old_history_nothing_reads_and_keeps_the_rest(store: SqlStore) -> None:
    old, new = T0 - timedelta(days=100), T0
    cycle = store.start_cycle("acme", old, dry_run=False)
    store.finish_cycle(cycle, old, CycleCounts())
    running = store.start_cycle("acme", old, dry_run=False)  # never finished: kept
    store.start_cycle("acme", new, dry_run=False)
    gone = [
        act(store, task="1", kind="assign", at=old, cycle_id=cycle),
        act(store, task="1", kind="tag", status="failed", at=old),
        act(store, task="2", kind="queue", status="queued", at=old),
        act(store, task="3", kind="tag", mode="shadow", status="planned", at=old),
        act(store, task="4", kind="rule", status="skipped", at=old),
    ]
    kept = [
        act(store, task="1", kind="rule", at=old),  # the rule's outcome: the rule remembers it
        act(store, task="1", kind="comment", at=old),  # a posted comment: never posted again
        begin(store, task="5", kind="rule", at=old),  # pending: still to be carried out
        act(store, task="6", kind="assign", at=new),
    ]
    store.record_delegation(Delegation("acme", "7", "t", "r", "anna", "5", old))  # open: kept
    store.record_delegation(
        Delegation("acme", "8", "t", "r", "anna", "5", old, status="done", closed_at=old)
    )
    store.record_override(Override("acme", "9", "t", "r", "taken back", old))

    assert store.prune(T0 - timedelta(days=90), dry_run=True) == Pruned(5, 1, 1)
    assert len(store.actions("acme")) == 9  # a dry run deletes nothing
    assert store.prune(T0 - timedelta(days=90)) == Pruned(5, 1, 1)

    assert sorted(a.id for a in store.actions("acme")) == sorted(kept)
    assert {a.id for a in store.actions("acme")}.isdisjoint(gone)
    assert sorted(c.id for c in store.cycles("acme")) == sorted([running, cycle + 2])
    assert [d.task_gid for d in store.delegations("acme", None)] == ["7"]
    assert [o.task_gid for o in store.overrides("acme")] == ["9"]
    assert store.memories("acme", ["1"])["1"].acted  # what the rule remembers, intact
    assert store.prune(T0 - timedelta(days=90)) == Pruned()  # nothing left to prune


def test_prune_deletes_in_batches(store: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("delegator.store.sqlstore.PRUNE_BATCH", 7)
    for n in range(30):
        act(store, task=str(n), kind="tag", at=T0 - timedelta(days=200))
    assert store.prune(T0).actions == 30
    assert store.actions("acme") == []
