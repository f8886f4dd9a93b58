"""The status page's links in the store: kept as issued (never a token), listed newest first and
by client, revoked once (the first revocation stands), and refused when revoked or unknown."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from storekit import ROME, T0

from delegator.ports import Fence, LinkRecord
from delegator.store import SqlStore, StoreError, schema

DAY = timedelta(days=1)


def link(
    link_id: str = "Lk1acme",
    *,
    client: str | None = "acme",
    assistant: str | None = None,
    at: timedelta = timedelta(0),
    note: str = "",
) -> LinkRecord:
    return LinkRecord(
        id=link_id,
        kind="assistant" if assistant else "client",
        client=client,
        assistant=assistant,
        issued_at=T0 + at,
        expires_at=T0 + at + 30 * DAY,
        note=note,
    )


def test_a_link_is_kept_as_issued_and_read_back_in_utc(store: SqlStore) -> None:
    issued = LinkRecord(
        id="Lk-full",
        kind="assistant",
        client="acme",
        assistant="anna",
        issued_at=T0.astimezone(ROME),
        expires_at=(T0 + 7 * DAY).astimezone(ROME),
        note="sent to Anna <anna@example.com> on Slack; \u05e9\u05dc\u05d5\u05dd \U0001f600",
    )
    store.record_link(issued)
    assert store.link("Lk-full") == issued
    kept = store.link("Lk-full")
    assert kept is not None
    assert kept.issued_at.utcoffset() == timedelta(0)
    assert store.link("no-such") is None


def test_links_are_listed_newest_first_and_by_client(store: SqlStore) -> None:
    store.record_link(link("a1", at=timedelta(hours=1)))
    store.record_link(link("a2", at=timedelta(hours=3)))
    store.record_link(link("g1", client="globex", at=timedelta(hours=2)))
    store.record_link(link("anna", client=None, assistant="anna", at=timedelta(hours=4)))
    assert [x.id for x in store.links()] == ["anna", "a2", "g1", "a1"]
    assert [x.id for x in store.links("acme")] == ["a2", "a1"]
    assert [x.id for x in store.links("initech")] == []


def test_an_id_is_kept_once(store: SqlStore) -> None:
    store.record_link(link("same"))
    with pytest.raises(StoreError):
        store.record_link(link("same", client="globex"))
    assert [x.client for x in store.links()] == ["acme"]


def test_a_link_is_revoked_once_and_its_first_revocation_stands(store: SqlStore) -> None:
    store.record_link(link("Lk1"))
    store.record_link(link("Lk2"))
    assert store.link_revoked("Lk1") is False
    assert store.revoke_link("Lk1", T0 + DAY) is True
    assert store.revoke_link("Lk1", T0 + 2 * DAY) is False
    first = store.link("Lk1")
    assert first is not None
    assert first.revoked_at == T0 + DAY
    assert store.link_revoked("Lk1") is True
    assert store.link_revoked("Lk2") is False  # only that one


def test_an_unknown_link_is_refused_and_cannot_be_revoked(store: SqlStore) -> None:
    assert store.link_revoked("made-up") is True
    assert store.revoke_link("made-up", T0) is False
    assert store.links() == []


def test_links_are_not_fenced_by_a_client_lease(store: SqlStore) -> None:
    """An operator's command issues and revokes links whoever holds the client's lease."""
    fenced = store.fenced(Fence("acme", "gone#1", 7))
    fenced.record_link(link("Lk-fenced"))
    assert fenced.revoke_link("Lk-fenced", T0 + DAY) is True


def test_a_naive_time_is_refused(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.record_link(
            LinkRecord("Lk", "client", "acme", None, T0.replace(tzinfo=None), T0 + DAY)
        )
    store.record_link(link("Lk"))
    with pytest.raises(ValueError, match="naive"):
        store.revoke_link("Lk", T0.replace(tzinfo=None))


def test_the_table_has_no_column_for_a_token(store: SqlStore) -> None:
    columns = {column.name for column in schema.status_links.columns}
    assert columns == {
        "id", "kind", "client", "assistant", "issued_at", "expires_at", "revoked_at", "note"
    }  # fmt: skip


def test_two_revocations_racing_revoke_once(database_url: str) -> None:
    with SqlStore(database_url) as first, SqlStore(database_url) as second:
        first.migrate()
        first.record_link(link("race"))
        results: list[bool] = []
        barrier = threading.Barrier(2)

        def revoke(store: SqlStore, day: int) -> None:
            barrier.wait()
            results.append(store.revoke_link("race", T0 + day * DAY))

        threads = [
            threading.Thread(target=revoke, args=(first, 1)),
            threading.Thread(target=revoke, args=(second, 2)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results) == [False, True]
        kept = first.link("race")
        assert kept is not None
        assert kept.revoked_at in (T0 + DAY, T0 + 2 * DAY)
