"""Summaries and digests sent: one claim per period and destination, attempts, retries due, and
replicas racing for the same period."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from storekit import ROME, T0

from delegator.ports import SendRecord
from delegator.store import SqlStore, StoreError

FRIDAY = T0 + timedelta(days=4, hours=8)  # the fire time that closes the week: Fri 17:00 UTC
WEEK_START = FRIDAY - timedelta(days=7)
SLACK = "webhook:env:SLACK_WEBHOOK_URL"
STATUS = "asana_status:1209000000000001"


def claim(store: SqlStore, **given: Any) -> int | None:
    fields: dict[str, Any] = {
        "client": "acme",
        "kind": "summary",
        "recipient": "",
        "destination": SLACK,
        "period": FRIDAY,
        "period_start": WEEK_START,
        "at": FRIDAY + timedelta(seconds=30),
        **given,
    }
    return store.claim_send(**fields)


def only(store: SqlStore) -> SendRecord:
    (record,) = store.sends()
    return record


def test_a_claim_is_a_pending_send_due_now(store: SqlStore) -> None:
    at = FRIDAY + timedelta(seconds=30)

    send_id = claim(store, at=at)

    assert send_id is not None
    assert only(store) == SendRecord(
        id=send_id,
        client="acme",
        kind="summary",
        recipient="",
        destination=SLACK,
        period=FRIDAY,
        period_start=WEEK_START,
        status="pending",
        attempts=0,
        next_attempt_at=at,
        last_error=None,
        receipt=None,
        created_at=at,
        sent_at=None,
    )
    assert only(store).period.tzinfo is not None


def test_a_claim_may_hold_other_replicas_off_until_a_later_time(store: SqlStore) -> None:
    claim(store, next_attempt_at=FRIDAY + timedelta(minutes=10))

    assert only(store).next_attempt_at == FRIDAY + timedelta(minutes=10)


def test_the_same_period_and_destination_is_claimed_once(store: SqlStore) -> None:
    first = claim(store)

    assert claim(store) is None
    assert claim(store, at=FRIDAY + timedelta(hours=3)) is None  # after a restart
    assert [s.id for s in store.sends()] == [first]


def test_the_same_instant_in_another_timezone_is_the_same_period(store: SqlStore) -> None:
    claim(store)

    assert claim(store, period=FRIDAY.astimezone(ROME)) is None
    assert only(store).period == FRIDAY


def test_another_destination_recipient_kind_client_or_period_is_a_claim_of_its_own(
    store: SqlStore,
) -> None:
    claimed = [
        claim(store),
        claim(store, destination=STATUS),
        claim(store, kind="digest", recipient="anna"),
        claim(store, kind="digest", recipient="bob"),
        claim(store, client="globex"),
        claim(store, period=FRIDAY + timedelta(days=7), period_start=FRIDAY),
    ]

    assert None not in claimed
    assert len(set(claimed)) == 6
    assert len(store.sends()) == 6


def test_a_baseline_claim_is_never_due_and_counts_no_attempt(store: SqlStore) -> None:
    send_id = claim(store, status="baseline")
    assert send_id is not None

    store.finish_send(send_id, "baseline", FRIDAY)

    record = only(store)
    assert (record.status, record.attempts, record.next_attempt_at) == ("baseline", 0, None)
    assert store.sends(due_by=FRIDAY + timedelta(days=30)) == []
    assert claim(store) is None  # the period stays taken


def test_a_claim_is_pending_or_baseline_only(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="'pending' or 'baseline', not 'sent'"):
        claim(store, status="sent")
    assert store.sends() == []


def test_failed_attempts_then_a_success_are_counted_and_the_last_error_kept(
    store: SqlStore,
) -> None:
    send_id = claim(store)
    assert send_id is not None
    first_try = FRIDAY + timedelta(minutes=1)
    second_try = FRIDAY + timedelta(minutes=3)
    sent = FRIDAY + timedelta(minutes=7)

    store.finish_send(send_id, "failed", first_try, error="HTTP 500", next_attempt_at=second_try)
    failed = only(store)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "HTTP 500")
    assert (failed.next_attempt_at, failed.sent_at) == (second_try, None)

    store.finish_send(send_id, "sent", sent, receipt="HTTP 200")
    done = only(store)
    assert (done.status, done.attempts, done.receipt) == ("sent", 2, "HTTP 200")
    assert (done.sent_at, done.next_attempt_at) == (sent, None)
    assert done.last_error == "HTTP 500"  # what the success overcame
    assert done.created_at == FRIDAY + timedelta(seconds=30)


def test_giving_up_records_the_error_and_leaves_nothing_due(store: SqlStore) -> None:
    send_id = claim(store)
    assert send_id is not None

    store.finish_send(send_id, "gave_up", FRIDAY, error="HTTP 404: no such webhook")

    record = only(store)
    assert (record.status, record.attempts, record.last_error) == (
        "gave_up",
        1,
        "HTTP 404: no such webhook",
    )
    assert store.sends(due_by=FRIDAY + timedelta(days=1)) == []


def test_finishing_a_send_that_does_not_exist_is_an_error(store: SqlStore) -> None:
    with pytest.raises(StoreError, match="no summary send 4242"):
        store.finish_send(4242, "sent", FRIDAY)


def test_sends_filter_by_client_kind_status_and_due_time_newest_period_first(
    store: SqlStore,
) -> None:
    week = timedelta(days=7)
    old = claim(store, period=FRIDAY - week, period_start=WEEK_START - week)
    new = claim(store)
    digest = claim(store, kind="digest", recipient="anna")
    other = claim(store, client="globex", period=FRIDAY + week, period_start=FRIDAY)
    assert old is not None
    assert new is not None
    assert digest is not None
    store.finish_send(old, "sent", FRIDAY - week)
    store.finish_send(new, "failed", FRIDAY, error="down", next_attempt_at=FRIDAY + timedelta(1))
    store.finish_send(digest, "failed", FRIDAY, error="down", next_attempt_at=FRIDAY)

    assert [s.id for s in store.sends()] == [other, digest, new, old]
    assert [s.id for s in store.sends("acme")] == [digest, new, old]
    assert [s.id for s in store.sends("acme", limit=2)] == [digest, new]
    assert [s.id for s in store.sends("acme", kind="summary")] == [new, old]
    assert [s.id for s in store.sends(statuses=["sent", "pending"])] == [other, old]
    assert [s.id for s in store.sends(statuses=["failed"], due_by=FRIDAY)] == [digest]
    assert [s.id for s in store.sends(statuses=["failed"], due_by=FRIDAY + timedelta(1))] == [
        digest,
        new,
    ]
    assert store.sends("nobody") == []


def test_the_last_send_is_the_latest_period_whatever_order_they_were_claimed_in(
    store: SqlStore,
) -> None:
    assert store.last_send("acme", "summary", "", SLACK) is None
    week = timedelta(days=7)
    latest = claim(store, period=FRIDAY + week, period_start=FRIDAY, status="baseline")
    claim(store)
    claim(store, destination=STATUS, period=FRIDAY + 2 * week, period_start=FRIDAY + week)

    last = store.last_send("acme", "summary", "", SLACK)

    assert last is not None
    assert (last.id, last.period, last.status) == (latest, FRIDAY + week, "baseline")
    assert store.last_send("acme", "digest", "", SLACK) is None
    assert store.last_send("acme", "summary", "anna", SLACK) is None


def test_a_due_send_is_leased_to_one_attempt_at_a_time(store: SqlStore) -> None:
    send_id = claim(store)
    assert send_id is not None
    store.finish_send(send_id, "failed", FRIDAY, error="down", next_attempt_at=FRIDAY)
    lease_end = FRIDAY + timedelta(minutes=5)

    assert store.lease_send(send_id, at=FRIDAY, until=lease_end) is True
    assert store.lease_send(send_id, at=FRIDAY, until=lease_end) is False  # another replica
    assert only(store).next_attempt_at == lease_end
    assert store.lease_send(send_id, at=lease_end, until=lease_end + timedelta(minutes=5))

    store.finish_send(send_id, "sent", lease_end)
    assert store.lease_send(send_id, at=lease_end + timedelta(days=1), until=FRIDAY) is False


def test_a_naive_period_is_refused(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        claim(store, period=datetime(2025, 3, 7, 17, 0))
    assert store.sends() == []


def test_a_claim_failing_on_another_constraint_is_an_error_not_a_lost_race(
    store: SqlStore,
) -> None:
    with pytest.raises(StoreError, match="failed"):
        claim(store, client=None)
    assert store.sends() == []


def test_replicas_racing_for_one_period_claim_it_exactly_once(database_url: str) -> None:
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
                got = claim(own, at=FRIDAY + timedelta(seconds=n))
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
        assert [s.id for s in reader.sends()] == winners
