"""The follow-up ledger: each step of a delegation's follow-up claimed once (by one replica of
several racing), settled with its detail merged, listed by client, moment, task, step and status,
fenced like every other write, and pruned only once its delegation is closed."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from storekit import ROME, T0

from delegator.core.expectations import Step
from delegator.ports import Delegation, Fence, FollowUp, LeaseLost, ReplicaIdentity
from delegator.store import SqlStore, StoreError

DUE = T0 + timedelta(hours=4)
SEEN = T0 + timedelta(hours=3)


def claim(store: SqlStore, **given: Any) -> int | None:
    fields: dict[str, Any] = {
        "client": "acme",
        "task_gid": "1201",
        "task_name": "Fattura Rossi",
        "rule": "Invoices",
        "assistant": "anna",
        "delegated_at": T0,
        "stage": "acknowledged",
        "step": Step.REMINDER,
        "due_at": DUE,
        "at": SEEN,
        **given,
    }
    return store.claim_followup(**fields)


def delegation(task: str, **given: Any) -> Delegation:
    fields: dict[str, Any] = {
        "client": "acme",
        "task_gid": task,
        "task_name": f"task {task}",
        "rule": "Invoices",
        "assistant": "anna",
        "assignee_gid": "501",
        "delegated_at": T0,
        **given,
    }
    return Delegation(**fields)


def test_a_claim_is_a_pending_step_read_back_as_claimed(store: SqlStore) -> None:
    followup_id = claim(store, detail={"text": "a reminder"})

    assert followup_id is not None
    assert store.followups("acme") == [
        FollowUp(
            id=followup_id,
            client="acme",
            task_gid="1201",
            task_name="Fattura Rossi",
            rule="Invoices",
            assistant="anna",
            delegated_at=T0,
            stage="acknowledged",
            step=Step.REMINDER,
            status="pending",
            due_at=DUE,
            created_at=SEEN,
            finished_at=None,
            story_gid=None,
            detail={"text": "a reminder"},
        )
    ]
    (record,) = store.followups("acme")
    assert record.step is Step.REMINDER
    assert record.delegated_at.tzinfo is not None
    assert record.due_at.tzinfo is not None


def test_a_step_of_a_stage_is_claimed_once_whatever_the_first_claims_status(
    store: SqlStore,
) -> None:
    first = claim(store)

    assert claim(store) is None
    assert claim(store, at=SEEN + timedelta(hours=2), status="done") is None  # after a restart
    assert claim(store, delegated_at=T0.astimezone(ROME)) is None  # the same instant
    store.finish_followup(first or 0, "failed", SEEN)
    assert claim(store) is None  # a failed step is not claimed again either
    assert [f.id for f in store.followups("acme")] == [first]


def test_another_step_stage_delegation_task_or_client_is_another_claim(store: SqlStore) -> None:
    ids = [
        claim(store),
        claim(store, step=Step.ESCALATION),
        claim(store, stage="started"),
        claim(store, delegated_at=T0 + timedelta(days=1)),  # delegated again: a new clock
        claim(store, task_gid="1202"),
        claim(store, client="globex"),
        claim(store, stage="", step=Step.BOUNCE, detail={"reason": "needs the accountant"}),
    ]

    assert None not in ids
    assert len(set(ids)) == len(ids)


def test_a_claim_with_a_final_status_is_finished_as_written(store: SqlStore) -> None:
    claim(store, step=Step.MET, status="done", detail={"at": T0 + timedelta(hours=1)})

    (met,) = store.followups("acme")
    assert (met.status, met.finished_at) == ("done", SEEN)
    assert met.detail == {"at": "2025-03-03T10:00:00+00:00"}  # a moment is kept as ISO 8601


def test_a_claim_that_loses_inside_a_transaction_leaves_it_usable(store: SqlStore) -> None:
    """On PostgreSQL a failed statement aborts the whole transaction: the losing claim must not
    fail, or the cycle's other writes in the same ``together()`` block would all be lost."""
    first = claim(store)

    with store.together(write=True):
        assert claim(store) is None
        store.record_delegation(delegation("1201"))
        second = claim(store, step=Step.ESCALATION)

    assert second is not None
    assert [f.id for f in store.followups("acme")] == [first, second]
    assert [d.task_gid for d in store.delegations("acme")] == ["1201"]


def test_steps_and_stages_that_do_not_go_together_are_programming_errors(
    store: SqlStore,
) -> None:
    with pytest.raises(ValueError, match="a bounce has the stage ''"):
        claim(store, step=Step.BOUNCE)
    with pytest.raises(ValueError, match="a bounce has the stage ''"):
        claim(store, stage="")
    with pytest.raises(ValueError, match="not 'finished'"):
        claim(store, stage="finished")
    with pytest.raises(ValueError, match="not 'sent'"):
        claim(store, status="sent")
    assert store.followups("acme") == []


def test_replicas_racing_for_one_step_claim_it_exactly_once(database_url: str) -> None:
    replicas = 6
    with SqlStore(database_url) as first:
        first.migrate()
    start = threading.Barrier(replicas)
    results: list[int | None] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def replica(n: int) -> None:
        try:
            with SqlStore(database_url) as own:  # its own engine and connections
                start.wait(timeout=10)
                got = claim(own, at=SEEN + timedelta(seconds=n), assistant=f"replica-{n}")
            with lock:
                results.append(got)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    winners = [r for r in results if r is not None]
    assert len(results) == replicas
    assert len(winners) == 1
    with SqlStore(database_url) as reader:
        assert [f.id for f in reader.followups("acme")] == winners


def test_finishing_settles_the_step_and_merges_its_detail(store: SqlStore) -> None:
    followup_id = claim(store, step=Step.ESCALATION, detail={"to": "owner", "text": "draft"})
    assert followup_id is not None

    store.finish_followup(
        followup_id, "done", SEEN + timedelta(minutes=1), story_gid="9001", detail={"text": "late"}
    )

    (record,) = store.followups("acme")
    assert record.status == "done"
    assert record.finished_at == SEEN + timedelta(minutes=1)
    assert record.story_gid == "9001"
    assert record.detail == {"to": "owner", "text": "late"}

    store.finish_followup(followup_id, "done", SEEN + timedelta(minutes=2))  # no detail given
    (again,) = store.followups("acme")
    assert (again.detail, again.story_gid) == ({"to": "owner", "text": "late"}, "9001")


def test_finishing_a_step_that_does_not_exist_says_so(store: SqlStore) -> None:
    with pytest.raises(StoreError, match="no follow-up 404"):
        store.finish_followup(404, "done", SEEN)
    with pytest.raises(StoreError, match="no follow-up 404"):
        store.finish_followup(404, "done", SEEN, detail={"text": "x"})


def test_a_secret_in_the_detail_is_never_stored(store: SqlStore) -> None:
    token = "2/1200000000000001/1209999999999999:0123456789abcdef0123456789abcdef"
    claim(store, stage="", step=Step.BOUNCE, detail={"reason": f"the token is {token}"})

    (record,) = store.followups("acme")
    assert token not in str(record.detail)


def test_listing_filters_by_moment_task_step_and_status(store: SqlStore) -> None:
    a = claim(store, at=T0 + timedelta(hours=1))
    b = claim(store, step=Step.ESCALATION, at=T0 + timedelta(hours=2), status="done")
    c = claim(store, task_gid="1202", at=T0 + timedelta(hours=3), status="skipped")
    d = claim(
        store,
        stage="",
        step=Step.BOUNCE,
        task_gid="1203",
        at=T0 + timedelta(hours=4),
        status="done",
    )
    claim(store, client="globex", at=T0 + timedelta(hours=5))

    def ids(**filters: Any) -> list[int]:
        return [f.id for f in store.followups("acme", **filters)]

    assert ids() == [a, b, c, d]
    assert ids(since=T0 + timedelta(hours=2)) == [b, c, d]  # the instant itself included
    assert ids(since=(T0 + timedelta(hours=2)).astimezone(ROME)) == [b, c, d]
    assert ids(task_gids=["1202", "1201"]) == [a, b, c]
    assert ids(task_gids=[]) == []
    assert ids(steps=[Step.BOUNCE, Step.ESCALATION]) == [b, d]
    assert ids(statuses=["done"]) == [b, d]
    assert ids(statuses=["done"], steps=[Step.BOUNCE], since=T0) == [d]
    assert store.followups("initech") == []


def test_many_tasks_are_read_in_chunks(store: SqlStore) -> None:
    with store.together(write=True):
        for n in range(1200):
            claim(store, task_gid=str(n), at=T0 + timedelta(seconds=n))

    found = store.followups("acme", task_gids=[str(n) for n in range(0, 1200, 2)])

    assert [f.task_gid for f in found] == [str(n) for n in range(0, 1200, 2)]


def test_a_fenced_store_with_a_stale_token_claims_and_settles_nothing(store: SqlStore) -> None:
    followup_id = claim(store)
    assert followup_id is not None
    me = ReplicaIdentity("alpha#1", "alpha", "alpha.example", 1, T0)
    (first,) = store.acquire_leases(me, ["acme"], period=60.0, at=T0)
    store.release_leases(me)
    (current,) = store.acquire_leases(me, ["acme"], period=60.0, at=T0)
    stale = store.fenced(Fence("acme", me.key, first.fence.token))
    assert current.fence.token > first.fence.token

    with pytest.raises(LeaseLost):
        claim(stale, step=Step.ESCALATION)
    with pytest.raises(LeaseLost):
        stale.finish_followup(followup_id, "done", SEEN, detail={"text": "late"})

    (record,) = stale.followups("acme")  # reads go through
    assert (record.step, record.status, record.detail) == (Step.REMINDER, "pending", {})
    fresh = store.fenced(current.fence)
    assert claim(fresh, step=Step.ESCALATION) is not None
    fresh.finish_followup(followup_id, "done", SEEN)
    assert [f.status for f in store.followups("acme")] == ["done", "pending"]


@pytest.mark.parametrize("status", ["bounced", "reassigned"])
def test_a_delegation_closes_as_bounced_or_reassigned(store: SqlStore, status: Any) -> None:
    store.record_delegation(delegation("1201"))

    store.close_delegation("acme", "1201", status, T0 + timedelta(days=1))

    assert store.delegations("acme") == []
    assert [(d.status, d.closed_at) for d in store.delegations("acme", status=None)] == [
        (status, T0 + timedelta(days=1))
    ]
    assert store.assistant_load("acme") == {}


def test_prune_keeps_the_ledger_of_open_delegations_however_old(store: SqlStore) -> None:
    old = T0 - timedelta(days=200)
    store.record_delegation(delegation("open", delegated_at=old))
    store.record_delegation(delegation("closed", delegated_at=old))
    store.close_delegation("acme", "closed", "done", old + timedelta(days=1))
    for task in ("open", "closed", "never-recorded"):
        claim(store, task_gid=task, delegated_at=old, at=old + timedelta(hours=1))
    claim(store, task_gid="closed", step=Step.MET, delegated_at=old, at=T0)  # recent: kept
    claim(store, task_gid="open", client="globex", delegated_at=old, at=old)  # no open there

    would = store.prune(T0 - timedelta(days=90), dry_run=True)
    assert len(store.followups("acme")) == 4
    assert would.followups == 3  # acme's closed and never-recorded, globex's

    assert store.prune(T0 - timedelta(days=90)).followups == 3

    assert [(f.task_gid, f.step) for f in store.followups("acme")] == [
        ("open", Step.REMINDER),
        ("closed", Step.MET),
    ]
    assert store.followups("globex") == []


def _moments(records: list[FollowUp]) -> list[datetime]:
    return [f.created_at for f in records]


def test_listing_is_oldest_first_whatever_the_order_claimed(store: SqlStore) -> None:
    claim(store, task_gid="3", at=T0 + timedelta(hours=3))
    claim(store, task_gid="1", at=T0 + timedelta(hours=1))
    claim(store, task_gid="2", at=T0 + timedelta(hours=2))

    moments = _moments(store.followups("acme"))
    assert moments == sorted(moments)
    assert moments == _moments(store.followups("acme", task_gids=["3", "2", "1"]))
