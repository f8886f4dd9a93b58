"""What the engine is told about each task: which rules acted, which commented, overrides."""

from __future__ import annotations

from datetime import timedelta

from storekit import T0, act, begin

from delegator.core.engine import NO_MEMORY, TaskMemory
from delegator.ports import Override
from delegator.store import SqlStore
from delegator.store.sqlstore import MEMORY_CHUNK


def test_a_task_never_acted_on_has_no_memory(store: SqlStore) -> None:
    assert store.memories("acme", ["1201", "1202"]) == {"1201": NO_MEMORY, "1202": NO_MEMORY}
    assert store.memories("acme", []) == {}


def test_acted_is_when_each_rule_first_completed_an_outcome_on_the_task(store: SqlStore) -> None:
    act(store, task="1", rule="Invoices", kind="rule", at=T0 + timedelta(hours=1))
    act(store, task="1", rule="Invoices", kind="rule", at=T0)  # earlier: this one counts
    act(store, task="1", rule="Invoices", kind="rule", at=T0 + timedelta(days=3))
    act(store, task="1", rule="Bookings", kind="rule", at=T0 + timedelta(hours=2))

    assert store.memories("acme", ["1"]) == {
        "1": TaskMemory(
            acted={"Invoices": T0, "Bookings": T0 + timedelta(hours=2)},
            commented=frozenset(),
        )
    }


def test_only_a_done_active_rule_entry_counts_as_acting(store: SqlStore) -> None:
    act(store, task="1", rule="Shadowed", kind="rule", mode="shadow")
    act(store, task="1", rule="Dry run", kind="rule", mode="dry_run", status="planned")
    act(store, task="1", rule="Failed", kind="rule", status="failed")
    act(store, task="1", rule="Queued", kind="rule", status="queued")
    act(store, task="1", rule="Skipped", kind="rule", status="skipped")
    begin(store, task="1", rule="Crashed", kind="rule")  # still pending
    act(store, task="1", rule="Writes only", kind="assign")  # its rule entry never completed
    act(store, task="1", rule="Done", kind="rule", at=T0 + timedelta(minutes=1))
    act(store, task="1", rule="Done", kind="assign", at=T0)  # a write: not the outcome's time

    assert store.memories("acme", ["1"])["1"] == TaskMemory(
        acted={"Done": T0 + timedelta(minutes=1)}, commented=frozenset()
    )


def test_commented_lists_the_rules_whose_comment_was_posted(store: SqlStore) -> None:
    act(store, task="1", rule="Ask Anna", kind="rule")
    act(store, task="1", rule="Ask Anna", kind="comment")
    act(store, task="1", rule="Assign only", kind="rule")
    act(store, task="1", rule="Assign only", kind="assign")
    act(store, task="1", rule="Comment failed", kind="comment", status="failed")
    act(store, task="1", rule="Comment in shadow", kind="comment", mode="shadow")
    begin(store, task="1", rule="Comment in flight", kind="comment")
    act(store, task="2", rule="Other task", kind="comment")

    memory = store.memories("acme", ["1"])["1"]
    assert memory.commented == frozenset({"Ask Anna"})
    assert memory.acted == {"Ask Anna": T0, "Assign only": T0}


def test_a_posted_comment_is_remembered_even_when_its_rule_did_not_complete(
    store: SqlStore,
) -> None:
    act(store, task="1", rule="Ask Anna", kind="rule", status="failed")  # the tag write failed
    act(store, task="1", rule="Ask Anna", kind="comment")

    assert store.memories("acme", ["1"]) == {
        "1": TaskMemory(acted={}, commented=frozenset({"Ask Anna"}))
    }


def test_a_comment_in_flight_when_the_process_died_is_remembered_once_completed(
    store: SqlStore,
) -> None:
    outcome = begin(store, task="1", rule="Ask Anna", kind="rule")
    comment = begin(store, task="1", rule="Ask Anna", kind="comment")
    assert store.memories("acme", ["1"])["1"] == NO_MEMORY

    # after the restart, the comment is found on the task; the outcome is planned again
    store.finish_action(comment, "done", T0 + timedelta(minutes=5), story_gid="9001")
    store.finish_action(outcome, "failed", T0 + timedelta(minutes=5))

    assert store.memories("acme", ["1"])["1"] == TaskMemory(
        acted={}, commented=frozenset({"Ask Anna"})
    )


def test_an_override_is_remembered_with_its_reason_and_date(store: SqlStore) -> None:
    act(store, task="1", rule="Invoices", kind="rule")
    store.record_override(
        Override(
            client="acme",
            task_gid="1",
            task_name="Pay the March invoice",
            rule="Invoices",
            reason="assigned back to Anna Rossi",
            detected_at=T0 + timedelta(days=1, hours=3),
        )
    )

    assert store.memories("acme", ["1", "2"]) == {
        "1": TaskMemory(
            acted={"Invoices": T0},
            commented=frozenset(),
            override="assigned back to Anna Rossi (2025-03-04)",
        ),
        "2": NO_MEMORY,
    }


def test_memories_belong_to_their_client(store: SqlStore) -> None:
    act(store, task="1", rule="Invoices", kind="rule", client="globex")
    store.record_override(Override("globex", "1", "t", "Invoices", "tag removed", T0))

    assert store.memories("acme", ["1"]) == {"1": NO_MEMORY}
    assert store.memories("globex", ["1"])["1"].override == "tag removed (2025-03-03)"


def test_thousands_of_tasks_are_read_in_chunks(store: SqlStore) -> None:
    gids = [str(10_000 + n) for n in range(MEMORY_CHUNK * 5 + 7)]
    remembered = gids[:: MEMORY_CHUNK // 2]  # a few in every chunk, and the very last one
    remembered.append(gids[-1])
    for n, gid in enumerate(remembered):
        act(store, task=gid, rule="Invoices", kind="rule", at=T0 + timedelta(minutes=n))
    store.record_override(Override("acme", gids[-2], "t", "Invoices", "taken back", T0))

    memories = store.memories("acme", iter(gids + gids[:3]))  # any iterable; repeats ignored

    assert list(memories) == gids
    assert {gid for gid, memory in memories.items() if memory.acted} == set(remembered)
    assert memories[gids[-1]].acted == {"Invoices": T0 + timedelta(minutes=len(remembered) - 1)}
    assert memories[gids[-2]].override == "taken back (2025-03-03)"
    assert (
        sum(memory is NO_MEMORY for memory in memories.values()) == len(gids) - len(remembered) - 1
    )
