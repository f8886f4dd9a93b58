"""Asana's webhooks behind the `WebhookBackend` port: created, listed and deleted through the
client, failures as the port's errors. A target's path ends in a secret key, and a webhook's
X-Hook-Secret signs its deliveries: neither may reach an error message or a log line."""

from __future__ import annotations

import logging

import pytest
import responses
from asana_fakes import BASE, body, path, query

from delegator.asana import AsanaClient
from delegator.asana.backend import AsanaBackend, shown_target
from delegator.core.context import Identity
from delegator.core.schema import WatchSource
from delegator.ports import (
    BackendError,
    RemoteWebhook,
    Subscribed,
    TokenRefused,
    WebhookBackend,
)

WORKSPACE = "77"
PROJECT = "300"
KEY = "kq2V9xR7bW1mT4nZpL8sYg"
TARGET = f"https://hooks.example.com/webhooks/asana/{KEY}"
SECRET = "f3c1a9e07b2d48c6a5e1f0d9c8b7a6e5f3c1a9e07b2d48c6a5e1f0d9c8b7a6e5"
FILTERS = [{"resource_type": "task", "action": "changed"}]


@pytest.fixture
def backend(client: AsanaClient) -> AsanaBackend:
    client.workspace_gid = WORKSPACE
    return AsanaBackend(client, WORKSPACE)


def _hook(gid: str, resource: str = PROJECT, active: bool = True) -> dict[str, object]:
    return {
        "gid": gid,
        "resource": {"gid": resource, "resource_type": "project", "name": "Ops"},
        "target": TARGET,
        "active": active,
    }


def _leaks(text: str) -> list[str]:
    """The secrets found in `text`: the target's path or key, or the X-Hook-Secret."""
    return [s for s in (KEY, "/webhooks/asana", SECRET) if s in text]


def test_the_adapter_is_a_webhook_backend(backend: AsanaBackend) -> None:
    port: WebhookBackend = backend  # proved by mypy
    assert port is backend


def test_subscribe_posts_the_webhook_and_reads_the_secret_beside_data(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(
        f"{BASE}/webhooks",
        status=201,
        json={"data": _hook("900"), "X-Hook-Secret": SECRET},
    )
    subscribed = backend.subscribe(PROJECT, TARGET, FILTERS)

    assert subscribed == Subscribed("900", SECRET)
    [call] = api.calls
    assert call.request.method == "POST"
    assert path(call) == "/webhooks"
    assert query(call) == {}
    assert body(call) == {"data": {"resource": PROJECT, "target": TARGET, "filters": FILTERS}}


def test_a_201_without_a_secret_gives_none(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/webhooks", status=201, json={"data": _hook("901")})
    assert backend.subscribe(PROJECT, TARGET, []) == Subscribed("901", None)
    assert body(api.calls[0]) == {"data": {"resource": PROJECT, "target": TARGET, "filters": []}}


def test_the_listing_follows_every_page(backend: AsanaBackend, api: responses.RequestsMock) -> None:
    api.get(
        f"{BASE}/webhooks",
        json={"data": [_hook("1"), _hook("2", "301", False)], "next_page": {"offset": "abc"}},
    )
    api.get(f"{BASE}/webhooks", json={"data": [_hook("3")], "next_page": None})

    hooks = backend.webhooks()

    assert hooks == [
        RemoteWebhook("1", PROJECT, TARGET, True),
        RemoteWebhook("2", "301", TARGET, False),
        RemoteWebhook("3", PROJECT, TARGET, True),
    ]
    first, second = api.calls
    assert path(first) == path(second) == "/webhooks"
    assert query(first) == {
        "workspace": WORKSPACE,
        "limit": "100",
        "opt_fields": "resource,target,active",
    }
    assert query(second) == {**query(first), "offset": "abc"}


def test_a_listing_without_targets_is_an_error_not_an_empty_list(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    # Retried like a 5xx (the one registered answer, each time), then reported.
    api.get(f"{BASE}/webhooks", json={"data": [{"gid": "1"}], "next_page": None})
    with pytest.raises(BackendError, match="resource"):
        backend.webhooks()


def test_unsubscribe_deletes_the_webhook(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.delete(f"{BASE}/webhooks/900", json={"data": {}})
    backend.unsubscribe("900")
    [call] = api.calls
    assert call.request.method == "DELETE"
    assert path(call) == "/webhooks/900"
    assert call.request.body is None


def test_unsubscribing_a_webhook_already_gone_is_done(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.delete(
        f"{BASE}/webhooks/900",
        status=404,
        json={"errors": [{"message": "webhook: Unknown object: 900"}]},
    )
    backend.unsubscribe("900")


def test_other_delete_failures_are_the_ports(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.delete(f"{BASE}/webhooks/900", status=403, json={"errors": [{"message": "Forbidden"}]})
    with pytest.raises(BackendError) as failed:
        backend.unsubscribe("900")
    assert not failed.value.fatal


def test_a_failed_handshake_is_clear_and_not_fatal(
    backend: AsanaBackend, api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    # Asana's words may name the target in full: they are kept, the path is not.
    said = f"The remote server at {TARGET} did not respond with the handshake secret."
    api.post(f"{BASE}/webhooks", status=400, json={"errors": [{"message": said}]})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(BackendError) as failed:
        backend.subscribe(PROJECT, TARGET, FILTERS)

    message = str(failed.value)
    assert type(failed.value) is BackendError
    assert not failed.value.fatal
    assert "Asana could not complete the handshake with the webhook target" in message
    assert "https://hooks.example.com/..." in message
    assert "did not respond with the handshake secret" in message
    assert _leaks(message) == []
    assert failed.value.__cause__ is None  # no chained error holding the raw text
    assert _leaks(caplog.text) == []


def test_a_refused_target_is_clear_and_not_fatal(
    backend: AsanaBackend, api: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    api.post(
        f"{BASE}/webhooks",
        status=403,
        json={"errors": [{"message": "Invalid hostname: webhooks cannot target localhost"}]},
    )
    caplog.set_level(logging.DEBUG)
    target = f"https://localhost:8443/webhooks/asana/{KEY}"

    with pytest.raises(BackendError) as failed:
        backend.subscribe(PROJECT, target, FILTERS)

    message = str(failed.value)
    assert not failed.value.fatal
    assert message.startswith("Asana refused the webhook target https://localhost:8443/...")
    assert "Invalid hostname" in message
    assert _leaks(message) == []
    assert _leaks(caplog.text) == []


def test_a_refused_token_on_subscribe_stays_fatal(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/webhooks", status=401, json={"errors": [{"message": "Not Authorized"}]})
    with pytest.raises(TokenRefused) as refused:
        backend.subscribe(PROJECT, TARGET, FILTERS)
    assert refused.value.fatal
    assert _leaks(str(refused.value)) == []


def test_a_refused_token_on_the_listing_and_delete_stays_fatal(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/webhooks", status=401, json={"errors": [{"message": "Not Authorized"}]})
    api.delete(f"{BASE}/webhooks/9", status=401, json={"errors": [{"message": "Not Authorized"}]})
    with pytest.raises(TokenRefused):
        backend.webhooks()
    with pytest.raises(TokenRefused):
        backend.unsubscribe("9")


def test_a_bad_filter_is_not_called_a_handshake_failure(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(
        f"{BASE}/webhooks",
        status=400,
        json={"errors": [{"message": "filters: Value is not an array of objects"}]},
    )
    with pytest.raises(BackendError) as failed:
        backend.subscribe(PROJECT, TARGET, FILTERS)
    assert "handshake" not in str(failed.value)
    assert "filters: Value is not an array of objects" in str(failed.value)
    assert not failed.value.fatal


def test_a_target_is_shown_by_scheme_and_host_only() -> None:
    assert shown_target(TARGET) == "https://hooks.example.com/..."
    assert shown_target("http://u:p@127.0.0.1:8080/a/b?c=d") == "http://127.0.0.1:8080/..."
    assert KEY not in shown_target("not a url " + KEY)


# ---------------------------------------------------------------- watched sources


def test_a_project_source_is_served_by_the_projects_webhook(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(
        f"{BASE}/workspaces/77/projects",
        json={"data": [{"gid": PROJECT, "name": "Ops"}], "next_page": None},
    )
    owner = Identity(gid="1")
    by_gid = backend.watched(WatchSource.model_validate({"project": PROJECT}), owner)
    by_name = backend.watched(WatchSource.model_validate({"project": "Ops"}), owner)
    assert by_gid.webhook_resource == PROJECT
    assert by_name.webhook_resource == PROJECT
    assert by_name.key == f"project:{PROJECT}"


def test_a_section_by_name_is_served_by_its_projects_webhook(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(
        f"{BASE}/workspaces/77/projects",
        json={"data": [{"gid": PROJECT, "name": "Ops"}], "next_page": None},
    )
    api.get(
        f"{BASE}/projects/{PROJECT}/sections",
        json={"data": [{"gid": "55", "name": "Waiting"}], "next_page": None},
    )
    watch = WatchSource.model_validate({"section": {"name": "Waiting", "project": "Ops"}})
    source = backend.watched(watch, Identity(gid="1"))
    assert source.key == "section:55"
    assert source.webhook_resource == PROJECT


def test_a_section_by_gid_reads_its_project_once(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(
        f"{BASE}/sections/55",
        json={"data": {"gid": "55", "project": {"gid": PROJECT, "resource_type": "project"}}},
    )
    watch = WatchSource.model_validate({"section": "55"})
    first = backend.watched(watch, Identity(gid="1"))
    again = backend.watched(watch, Identity(gid="1"))

    assert first.webhook_resource == again.webhook_resource == PROJECT
    [call] = api.calls  # cached in the backend's lookups
    assert path(call) == "/sections/55"
    assert query(call) == {"opt_fields": "project"}


def test_a_section_whose_project_cannot_be_read_is_polled(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/sections/55", status=403, json={"errors": [{"message": "Forbidden"}]})
    source = backend.watched(WatchSource.model_validate({"section": "55"}), Identity(gid="1"))
    assert source.key == "section:55"
    assert source.webhook_resource is None


def test_tags_and_my_tasks_are_polled(backend: AsanaBackend, api: responses.RequestsMock) -> None:
    api.get(
        f"{BASE}/workspaces/77/tags",
        json={"data": [{"gid": "3", "name": "urgent"}], "next_page": None},
    )
    tag = backend.watched(WatchSource.model_validate({"tag": "urgent"}), Identity(gid="1"))
    mine = backend.watched(WatchSource.model_validate("my_tasks"), Identity(gid="1"))
    assert tag.webhook_resource is None
    assert mine.webhook_resource is None
    assert (tag.key, mine.label) == ("tag:3", "my tasks")
