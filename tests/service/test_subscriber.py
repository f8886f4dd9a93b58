"""The subscriber's decisions against a real store and a webhook backend that plays Asana's part
(the handshake through the receiver's port, then the 201): what a stranger's handshake, a
handshake that never came, a failing Asana and a rotated seal key lead to; and the health that
decides between the poll and the safety poll."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from delegator.deliveries import StoredSecrets
from delegator.ports import (
    BackendError,
    RemoteWebhook,
    Subscribed,
    Subscription,
    SubscriptionState,
    WatchedSource,
)
from delegator.sealing import Sealer, SealKeyError
from delegator.store import SqlStore
from delegator.subscriptions import (
    HooksMode,
    HooksPolicy,
    Subscriber,
    Wanted,
    hooks_health,
    key_of,
    target_url,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
URL = "https://hooks.example.com"
KEY = "k" * 40
PROJECT = WatchedSource("project Operations", "project:201", "201")
TAG = WatchedSource("tag urgent", "tag:9", None)


class Asana:
    """A WebhookBackend: ``handshake`` says what reaches the receiver while POST is in flight."""

    def __init__(self, secrets: StoredSecrets) -> None:
        self.secrets = secrets
        self.hooks: dict[str, RemoteWebhook] = {}
        self.handshake: str | None = "asana-secret"  # None: never reaches this receiver
        self.stranger_first: str | None = None  # a stranger's handshake wins the race
        self.answer_secret: str | None = "asana-secret"
        self.fail: BackendError | None = None
        self.deleted: list[str] = []

    def subscribe(
        self, resource: str, target: str, filters: Sequence[Mapping[str, Any]]
    ) -> Subscribed:
        if self.fail is not None:
            raise self.fail
        key = key_of(URL, target)
        assert key is not None
        if self.stranger_first is not None:
            assert self.secrets.expecting_handshake(key)
            assert self.secrets.accept_handshake(key, self.stranger_first)
        if self.handshake is not None and self.secrets.expecting_handshake(key):
            assert self.secrets.accept_handshake(key, self.handshake)
        gid = str(1000 + len(self.hooks) + len(self.deleted))
        self.hooks[gid] = RemoteWebhook(gid, resource, target, True)
        return Subscribed(gid, self.answer_secret)

    def unsubscribe(self, webhook: str) -> None:
        self.hooks.pop(webhook, None)
        self.deleted.append(webhook)

    def webhooks(self) -> list[RemoteWebhook]:
        return list(self.hooks.values())


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    made = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    made.migrate()
    return made


def parts(store: SqlStore, key: str = KEY) -> tuple[Subscriber, Asana, StoredSecrets]:
    sealer = Sealer(key)
    secrets = StoredSecrets(store, sealer, lambda: T0)
    subscriber = Subscriber(HooksPolicy(URL, timedelta(hours=9)), sealer, forget=secrets.forget)
    return subscriber, Asana(secrets), secrets


def step(subscriber: Subscriber, asana: Asana, store: SqlStore, at: datetime = T0,
         sources: Sequence[WatchedSource] = (PROJECT,)) -> None:  # fmt: skip
    subscriber.keep_in_step("acme", asana, sources, store, at, check_every=timedelta(minutes=5))


def test_a_project_is_subscribed_and_its_secret_kept_sealed(store: SqlStore) -> None:
    subscriber, asana, secrets = parts(store)
    step(subscriber, asana, store)
    (row,) = store.subscriptions("acme")
    assert row.state is SubscriptionState.ACTIVE
    assert row.webhook in asana.hooks
    assert row.sealed_secret is not None
    assert "asana-secret" not in row.sealed_secret
    assert secrets.secret(row.key) == "asana-secret"
    step(subscriber, asana, store, T0 + timedelta(minutes=1))  # in step: nothing more
    assert len(asana.hooks) == 1


def test_a_strangers_handshake_that_won_the_race_is_not_kept(store: SqlStore) -> None:
    subscriber, asana, secrets = parts(store)
    asana.stranger_first = "a-strangers-secret"
    step(subscriber, asana, store)
    (row,) = store.subscriptions("acme")
    assert row.state is SubscriptionState.FAILED
    assert "differs" in (row.problem or "")
    assert asana.hooks == {}  # the webhook Asana made is deleted
    assert secrets.secret(row.key) is None  # and nothing signed with the stranger's key counts


def test_a_handshake_that_never_reached_the_receiver_fails_and_is_retried_later(
    store: SqlStore,
) -> None:
    subscriber, asana, _ = parts(store)
    asana.handshake = None
    step(subscriber, asana, store)
    (row,) = store.subscriptions("acme")
    assert row.state is SubscriptionState.FAILED
    assert row.retry_at == T0 + timedelta(minutes=1)
    asana.handshake = "asana-secret"
    step(subscriber, asana, store, T0 + timedelta(seconds=30))  # not yet
    assert store.subscriptions("acme")[0].state is SubscriptionState.FAILED
    step(subscriber, asana, store, T0 + timedelta(minutes=1))
    (again,) = store.subscriptions("acme")
    assert again.state is SubscriptionState.ACTIVE


def test_failures_back_off_doubling_up_to_an_hour(store: SqlStore) -> None:
    subscriber, asana, _ = parts(store)
    asana.fail = BackendError("Asana could not complete the handshake")
    at, waits = T0, []
    for _ in range(9):
        step(subscriber, asana, store, at)
        (row,) = store.subscriptions("acme")
        assert row.retry_at is not None
        waits.append(row.retry_at - at)
        at = row.retry_at
    assert [w.total_seconds() / 60 for w in waits] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_fatal_error_leaves_no_row_behind(store: SqlStore) -> None:
    subscriber, asana, _ = parts(store)
    asana.fail = BackendError("the token was refused", fatal=True)
    with pytest.raises(BackendError):
        step(subscriber, asana, store)
    assert store.subscriptions("acme") == []


def test_a_webhook_asana_dropped_is_subscribed_again_at_the_check(store: SqlStore) -> None:
    subscriber, asana, _ = parts(store)
    step(subscriber, asana, store)
    asana.hooks.clear()  # Asana deleted it after a day of failed deliveries
    step(subscriber, asana, store, T0 + timedelta(minutes=1))  # not checked yet
    assert asana.hooks == {}
    step(subscriber, asana, store, T0 + timedelta(minutes=5))
    (row,) = store.subscriptions("acme")
    assert row.state is SubscriptionState.ACTIVE
    assert row.webhook in asana.hooks


def test_a_rotated_seal_key_replaces_the_webhook(store: SqlStore) -> None:
    subscriber, asana, _ = parts(store)
    step(subscriber, asana, store)
    (old,) = store.subscriptions("acme")
    rotated, asana2, _ = parts(store, key="r" * 40)
    asana2.hooks = asana.hooks
    step(rotated, asana2, store, T0 + timedelta(minutes=1))
    (new,) = store.subscriptions("acme")
    assert new.key != old.key
    assert old.webhook in asana2.deleted
    assert new.state is SubscriptionState.ACTIVE


def test_a_source_no_longer_watched_loses_its_webhook(store: SqlStore) -> None:
    subscriber, asana, _ = parts(store)
    step(subscriber, asana, store)
    step(subscriber, asana, store, T0 + timedelta(minutes=1), sources=[TAG])
    assert store.subscriptions("acme") == []
    assert asana.hooks == {}


def test_an_orphan_webhook_of_this_service_is_deleted_at_the_check(store: SqlStore) -> None:
    subscriber, asana, _ = parts(store)
    orphan = RemoteWebhook("77", "201", target_url(URL, "nobody-knows-this-key"), True)
    foreign = RemoteWebhook("78", "201", "https://elsewhere.example/hook", True)
    asana.hooks = {"77": orphan, "78": foreign}
    step(subscriber, asana, store)
    assert "77" in asana.deleted
    assert "78" in asana.hooks  # somebody else's webhook is left alone


def row(state: SubscriptionState, signal: datetime | None) -> Subscription:
    return Subscription("k1", "acme", "201", state, T0, webhook="1", sealed_secret="x",
                        last_signal_at=signal)  # fmt: skip


@pytest.mark.parametrize(
    ("wanted", "rows", "mode"),
    [
        (None, [], HooksMode.PENDING),
        (Wanted(("201",), ()), [], HooksMode.PENDING),
        (Wanted(("201",), ()), [row(SubscriptionState.ACTIVE, T0)], HooksMode.HEALTHY),
        (Wanted(("201",), ("tag urgent",)), [row(SubscriptionState.ACTIVE, T0)], HooksMode.POLLED),
        (Wanted(("201",), ()), [row(SubscriptionState.FAILED, None)], HooksMode.DEGRADED),
        (Wanted(("201",), ()), [row(SubscriptionState.PENDING, None)], HooksMode.PENDING),
        (
            Wanted(("201",), ()),
            [row(SubscriptionState.ACTIVE, T0 - timedelta(hours=10))],
            HooksMode.DEGRADED,
        ),
    ],
)
def test_health(wanted: Wanted | None, rows: list[Subscription], mode: HooksMode) -> None:
    assert hooks_health(wanted, rows, T0 + timedelta(minutes=1), timedelta(hours=9)).mode is mode


def test_wanted_gives_one_webhook_per_project_and_names_the_polled_sources() -> None:
    section = WatchedSource("section Inbox", "section:5", "201")
    wanted = Wanted.of([PROJECT, section, TAG])
    assert wanted == Wanted(("201",), ("tag urgent",))


def test_only_this_services_targets_are_its_own() -> None:
    assert key_of(URL, target_url(URL + "/", "abc")) == "abc"
    assert key_of(URL, "https://hooks.example.com.evil/webhooks/asana/abc") is None
    assert key_of(URL, URL + "/webhooks/asana/") is None


def test_a_short_seal_key_is_refused() -> None:
    with pytest.raises(SealKeyError, match="at least 32"):
        Sealer("short")
    assert repr(Sealer(KEY)) == "Sealer(<key>)"
    assert Sealer(KEY).unseal(Sealer("o" * 40).seal("s")) is None
