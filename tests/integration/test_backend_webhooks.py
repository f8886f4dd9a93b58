"""The Asana backend's webhooks against the real sandbox over loopback: Asana's handshake reaches
the project's own receiver (a `WebhookServer` over a dict of secrets) while ``POST /webhooks`` is
in flight, and the secret the backend returns is the one the receiver kept."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from delegator.asana import AsanaClient, BudgetRegistry, RetryPolicy
from delegator.asana.backend import AsanaBackend
from delegator.core.context import Identity
from delegator.core.schema import WatchSource
from delegator.ports import BackendError, RemoteWebhook
from delegator.sandbox import Faults, ManualClock, SandboxServer
from delegator.webhooks.receiver import PATH, WebhookReceiver, WebhookSecrets
from delegator.webhooks.server import WebhookServer

NORTHWIND = "1100000000000001"
OPERATIONS = "1100000000000201"
WAITING = "1100000000000303"
URGENT = "1100000000000401"
ANNA = "anna@northwind.example"
ANNA_GID = "1100000000000101"
FILTERS = [{"resource_type": "task", "action": "changed"}]
QUIET = {"batch_window": 0.05, "heartbeat_interval": None, "timeout": 2.0}


class Secrets:
    """`WebhookSecrets` over dicts: keys awaiting a handshake, and the secrets kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.expected: set[str] = set()
        self.kept: dict[str, str] = {}

    def expect(self) -> str:
        key = secrets.token_urlsafe(16)
        with self._lock:
            self.expected.add(key)
        return key

    def expecting_handshake(self, key: str) -> bool:
        with self._lock:
            return key in self.expected

    def accept_handshake(self, key: str, secret: str) -> bool:
        with self._lock:
            if key not in self.expected:
                return False  # another handshake won
            self.expected.discard(key)
            self.kept[key] = secret
            return True

    def secret(self, key: str) -> str | None:
        with self._lock:
            return self.kept.get(key)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[SandboxServer]:
    with SandboxServer.demo(
        clock=clock, faults=Faults(monotonic=clock.monotonic), webhooks=QUIET
    ) as server:
        yield server


@pytest.fixture
def hooks() -> Secrets:
    return Secrets()


@pytest.fixture
def receiver(hooks: Secrets) -> Iterator[WebhookServer]:
    def on_delivery(key: str, events: int, at: Any) -> None:
        pass

    port: WebhookSecrets = hooks  # proved by mypy
    with WebhookServer(WebhookReceiver(port, on_delivery)) as server:
        yield server


@pytest.fixture
def asana(sandbox: SandboxServer, clock: ManualClock) -> Iterator[AsanaBackend]:
    client = AsanaClient(
        sandbox.token(ANNA),
        base_url=sandbox.base_url,
        retry=RetryPolicy(jitter=lambda ceiling: ceiling),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
        workspace_gid=NORTHWIND,
    )
    backend = AsanaBackend(client, NORTHWIND)
    yield backend
    backend.close()


def target_of(receiver: WebhookServer, key: str) -> str:
    return receiver.url + PATH.replace("{webhook_key}", key)


def test_a_webhook_is_created_listed_and_deleted(
    sandbox: SandboxServer, receiver: WebhookServer, hooks: Secrets, asana: AsanaBackend
) -> None:
    key = hooks.expect()
    target = target_of(receiver, key)

    subscribed = asana.subscribe(OPERATIONS, target, FILTERS)

    assert receiver.receiver.counts().handshakes == 1
    assert subscribed.secret is not None
    assert subscribed.secret == hooks.secret(key)  # the 201's secret is the handshake's
    [hook] = sandbox.webhooks.all()
    assert hook.gid == subscribed.webhook
    assert hook.target == target
    assert hook.filters == FILTERS
    assert asana.webhooks() == [RemoteWebhook(subscribed.webhook, OPERATIONS, target, True)]

    asana.unsubscribe(subscribed.webhook)
    assert sandbox.webhooks.all() == []
    assert asana.webhooks() == []
    asana.unsubscribe(subscribed.webhook)  # already gone: done


def test_a_target_refusing_the_handshake_is_a_clear_error(
    sandbox: SandboxServer, receiver: WebhookServer, hooks: Secrets, asana: AsanaBackend
) -> None:
    key = secrets.token_urlsafe(16)  # not expected: the receiver answers 404
    target = target_of(receiver, key)

    with pytest.raises(BackendError) as failed:
        asana.subscribe(OPERATIONS, target, FILTERS)

    message = str(failed.value)
    assert not failed.value.fatal
    assert "Asana could not complete the handshake with the webhook target" in message
    assert f"http://127.0.0.1:{receiver.port}/..." in message
    assert "did not respond with the handshake secret" in message  # Asana's own words
    assert key not in message
    assert "/webhooks/asana" not in message
    assert hooks.kept == {}
    assert sandbox.webhooks.all() == []
    assert asana.webhooks() == []


def test_watched_sources_name_the_project_whose_webhook_serves_them(
    asana: AsanaBackend,
) -> None:
    anna = Identity(ANNA_GID, ANNA, "Anna Rossi")

    def resource(spec: Any) -> str | None:
        return asana.watched(WatchSource.model_validate(spec), anna).webhook_resource

    assert resource({"project": "Operations"}) == OPERATIONS
    assert resource({"project": OPERATIONS}) == OPERATIONS
    assert resource({"section": {"name": "Waiting", "project": "Operations"}}) == OPERATIONS
    assert resource({"section": WAITING}) == OPERATIONS
    assert resource({"tag": "urgent"}) is None
    assert resource("my_tasks") is None
    section = asana.watched(WatchSource.model_validate({"section": WAITING}), anna)
    assert section.key == f"section:{WAITING}"
