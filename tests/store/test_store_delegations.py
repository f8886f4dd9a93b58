"""Delegations, the override ledger, assistant load and round-robin positions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from storekit import T0

from delegator.ports import Delegation, Override
from delegator.store import SqlStore


def delegation(
    task: str, assistant: str = "anna", client: str = "acme", **more: object
) -> Delegation:
    fields: dict[str, object] = {
        "client": client,
        "task_gid": task,
        "task_name": f"task {task}",
        "rule": "Invoices to Anna",
        "assistant": assistant,
        "assignee_gid": f"user-{assistant}",
        "delegated_at": T0,
        **more,
    }
    return Delegation(**fields)  # type: ignore[arg-type]


def test_a_delegation_round_trips_with_every_field(store: SqlStore) -> None:
    given = delegation(
        "1",
        tag="delegated",
        permalink_url="https://app.asana.com/0/0/1",
        due_on=date(2025, 3, 7),
    )
    store.record_delegation(given)

    assert store.delegations("acme") == [given]
    assert store.delegations("acme", status=None) == [given]
    assert store.delegations("globex") == []


def test_closing_a_delegation_moves_it_out_of_the_open_list(store: SqlStore) -> None:
    store.record_delegation(delegation("1"))
    store.record_delegation(delegation("2", delegated_at=T0 + timedelta(hours=1)))

    store.close_delegation("acme", "1", "done", T0 + timedelta(days=1))

    assert [d.task_gid for d in store.delegations("acme")] == ["2"]
    assert store.delegations("acme", status="done") == [
        delegation("1", status="done", closed_at=T0 + timedelta(days=1))
    ]
    assert [(d.task_gid, d.status) for d in store.delegations("acme", status=None)] == [
        ("1", "done"),
        ("2", "open"),
    ]


def test_closing_a_task_with_no_open_delegation_does_nothing(store: SqlStore) -> None:
    store.record_delegation(delegation("1"))
    store.close_delegation("acme", "1", "done", T0 + timedelta(days=1))

    store.close_delegation("acme", "1", "overridden", T0 + timedelta(days=2))  # already closed
    store.close_delegation("acme", "404", "done", T0)

    assert [(d.status, d.closed_at) for d in store.delegations("acme", status=None)] == [
        ("done", T0 + timedelta(days=1))
    ]


def test_closing_as_open_is_a_programming_error(store: SqlStore) -> None:
    closed = (
        r"needs a closed status \('done', 'overridden', .*'bounced', 'reassigned'\), not 'open'"
    )
    with pytest.raises(ValueError, match=closed):
        store.close_delegation("acme", "1", "open", T0)


def test_a_task_delegated_again_keeps_one_open_delegation_with_the_new_assistant(
    store: SqlStore,
) -> None:
    store.record_delegation(delegation("1", "anna"))
    again = delegation("1", "marco", delegated_at=T0 + timedelta(days=2))

    store.record_delegation(again)

    assert store.delegations("acme") == [again]
    assert store.assistant_load("acme") == {"marco": 1}


def test_a_task_delegated_after_its_last_delegation_closed_keeps_the_history(
    store: SqlStore,
) -> None:
    store.record_delegation(delegation("1", "anna"))
    store.close_delegation("acme", "1", "done", T0 + timedelta(days=1))
    store.record_delegation(delegation("1", "marco", delegated_at=T0 + timedelta(days=3)))

    assert [(d.assistant, d.status) for d in store.delegations("acme", status=None)] == [
        ("anna", "done"),
        ("marco", "open"),
    ]


def test_load_counts_open_delegations_per_assistant_and_client(store: SqlStore) -> None:
    for task, assistant in [("1", "anna"), ("2", "anna"), ("3", "marco"), ("4", "anna")]:
        store.record_delegation(delegation(task, assistant))
    store.record_delegation(delegation("9", "anna", client="globex"))
    store.close_delegation("acme", "4", "done", T0)

    assert store.assistant_load("acme") == {"anna": 2, "marco": 1}
    assert store.assistant_load("globex") == {"anna": 1}
    assert store.assistant_load("initech") == {}


def test_an_override_is_recorded_once_and_closes_the_open_delegation(store: SqlStore) -> None:
    store.record_delegation(delegation("1", "anna"))
    store.record_delegation(delegation("2", "anna"))
    first = Override("acme", "1", "task 1", "Invoices to Anna", "assigned back to Bob", T0)

    store.record_override(first)
    store.record_override(
        Override("acme", "1", "task 1", "Invoices to Anna", "tag removed", T0 + timedelta(days=1))
    )

    assert store.overrides("acme") == [first]  # the first override stands
    assert store.assistant_load("acme") == {"anna": 1}
    assert store.delegations("acme", status="overridden") == [
        delegation("1", "anna", status="overridden", closed_at=T0)
    ]


def test_overrides_are_listed_oldest_first_since_a_time_per_client(store: SqlStore) -> None:
    days = [
        Override("acme", str(n), f"task {n}", "r", "taken back", T0 + timedelta(days=n))
        for n in range(3)
    ]
    for override in reversed(days):
        store.record_override(override)
    store.record_override(Override("globex", "1", "t", "r", "tag removed", T0))

    assert store.overrides("acme") == days
    assert store.overrides("acme", since=T0 + timedelta(days=1)) == days[1:]
    assert store.overrides("initech") == []


def test_round_robin_remembers_the_last_assistant_per_pool_and_client(store: SqlStore) -> None:
    assert store.round_robin("acme") == {}

    store.save_round_robin("acme", "finance", "anna")
    store.save_round_robin("acme", "bookings", "marco")
    store.save_round_robin("acme", "finance", "marco")
    store.save_round_robin("globex", "finance", "zoe")

    assert store.round_robin("acme") == {"finance": "marco", "bookings": "marco"}
    assert store.round_robin("globex") == {"finance": "zoe"}
