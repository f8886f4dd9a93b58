"""Tokens read from a provider (re-read after a 401 and on reload), budgets keyed by a stable
token identity and workspace, and Asana-Change notices logged once and counted."""

from __future__ import annotations

import logging

import pytest
import responses
from asana_fakes import BASE, TOKEN

from delegator.asana import (
    AsanaClient,
    BudgetRegistry,
    InvalidRequest,
    Limits,
    NotFound,
    Unauthorized,
)
from delegator.asana.http import ChangeNotice, RequestAttempt, forget_logged_changes
from delegator.clock import ManualClock
from delegator.metrics import Metrics
from delegator.redact import forget_secrets, is_registered

TASK = {"gid": "1", "name": "Send the invoice"}
NEW_TOKEN = "1/12345678:0123456789abcdef0123456789abcdef"


class SecretFile:
    """A token provider whose value the test changes, as a rotated secret file would."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def __call__(self) -> str:
        self.reads += 1
        return self.value


def make(clock: ManualClock, token: object, **options: object) -> AsanaClient:
    return AsanaClient(
        token,  # type: ignore[arg-type]
        base_url=BASE,
        clock=clock,
        sleep=clock.sleep,
        budgets=options.pop("budgets", BudgetRegistry()),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def unauthorized(api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/tasks/1", status=401, json={"errors": [{"message": "Not Authorized"}]})


# ---------------------------------------------------------------- the token provider


def test_a_401_rereads_the_token_and_retries_once_with_the_new_one(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    secret = SecretFile(TOKEN)
    client = make(clock, secret)
    unauthorized(api)
    api.get(f"{BASE}/tasks/1", json={"data": TASK})
    secret.value = NEW_TOKEN  # rotated while the client ran

    assert client.get_task("1", ("name",)) == TASK

    assert [call.request.headers["Authorization"] for call in api.calls] == [
        f"Bearer {TOKEN}",
        f"Bearer {NEW_TOKEN}",
    ]
    assert is_registered(NEW_TOKEN)  # a new secret read is redacted from every log line


def test_a_401_with_the_same_token_raises_unauthorized_without_retrying(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    secret = SecretFile(TOKEN)
    client = make(clock, secret)
    unauthorized(api)

    with pytest.raises(Unauthorized):
        client.get_task("1", ("name",))

    assert len(api.calls) == 1
    assert secret.reads == 2  # once at creation, once after the 401


def test_a_second_401_after_a_new_token_is_raised(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    secret = SecretFile(TOKEN)
    client = make(clock, secret)
    unauthorized(api)
    unauthorized(api)
    secret.value = NEW_TOKEN

    with pytest.raises(Unauthorized):
        client.get_task("1", ("name",))

    assert len(api.calls) == 2


def test_an_unreadable_secret_after_a_401_reports_the_401(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    state = {"broken": False}

    def provider() -> str:
        if state["broken"]:
            raise OSError("the token file cannot be read")
        return TOKEN

    client = make(clock, provider)
    unauthorized(api)
    state["broken"] = True

    with pytest.raises(Unauthorized):
        client.get_task("1", ("name",))


def test_reload_reads_the_provider_again(clock: ManualClock, api: responses.RequestsMock) -> None:
    secret = SecretFile(TOKEN)
    client = make(clock, secret)
    api.get(f"{BASE}/tasks/1", json={"data": TASK})

    assert client.reload() is False
    secret.value = NEW_TOKEN
    assert client.reload() is True
    client.get_task("1", ("name",))

    assert api.calls[0].request.headers["Authorization"] == f"Bearer {NEW_TOKEN}"


def test_a_plain_string_token_still_works(clock: ManualClock, api: responses.RequestsMock) -> None:
    client = make(clock, TOKEN)
    api.get(f"{BASE}/tasks/1", json={"data": TASK})

    assert client.get_task("1", ("name",)) == TASK
    assert client.reload() is False
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_empty_token_from_the_provider_is_refused(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="token is required"):
        make(clock, lambda: "  ")


def test_neither_token_appears_in_an_error(clock: ManualClock, api: responses.RequestsMock) -> None:
    forget_secrets()  # only the transport's own redaction is under test
    secret = SecretFile(TOKEN)
    client = make(clock, secret)
    secret.value = NEW_TOKEN
    client.reload()
    api.get(
        f"{BASE}/tasks/1",
        status=400,
        json={"errors": [{"message": f"bad {TOKEN} and {NEW_TOKEN}"}]},
    )

    with pytest.raises(InvalidRequest) as raised:
        client.get_task("1", ("name",))

    assert TOKEN not in str(raised.value)
    assert NEW_TOKEN not in str(raised.value)


# ---------------------------------------------------------------- budgets


def test_a_rotated_token_keeps_its_budget_under_the_callers_token_id(clock: ManualClock) -> None:
    registry = BudgetRegistry()
    before = make(clock, TOKEN, budgets=registry, token_id="acme-token", workspace_gid="77")
    after = make(clock, NEW_TOKEN, budgets=registry, token_id="acme-token", workspace_gid="77")

    assert before.budget is after.budget
    assert before.budget.key == "acme-token@77"
    assert TOKEN not in repr(vars(registry))
    assert NEW_TOKEN not in repr(vars(registry))


def test_budgets_are_kept_per_workspace_with_the_callers_limits(clock: ManualClock) -> None:
    registry = BudgetRegistry()
    free = make(clock, TOKEN, budgets=registry, workspace_gid="1", limits=Limits.for_plan("free"))
    paid = make(clock, TOKEN, budgets=registry, workspace_gid="2", limits=Limits.for_plan("paid"))

    assert free.budget is not paid.budget
    assert free.budget.limits.requests_per_minute == 150
    assert paid.budget.limits.requests_per_minute == 1500


def test_without_a_token_id_the_identity_is_the_tokens_hash(clock: ManualClock) -> None:
    registry = BudgetRegistry()
    one = make(clock, TOKEN, budgets=registry)
    two = make(clock, TOKEN, budgets=registry)
    other = make(clock, NEW_TOKEN, budgets=registry)

    assert one.budget is two.budget
    assert other.budget is not one.budget


def test_search_has_its_own_budget_of_60_a_minute(clock: ManualClock) -> None:
    client = make(clock, TOKEN, workspace_gid="77")

    assert client.search_budget is not client.budget
    assert client.search_budget.limits.requests_per_minute == 60


# ---------------------------------------------------------------- Asana-Change


CHANGE = "name=new_goal_memberships;info=https://asa.na/api-gm;affected=true"


@pytest.fixture
def fresh_changes() -> None:
    forget_logged_changes()


def test_asana_change_is_logged_once_per_name_as_fields_and_counted(
    clock: ManualClock,
    api: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
    fresh_changes: None,
) -> None:
    metrics = Metrics()
    client = make(clock, TOKEN, observer=metrics.observe_request)
    for _ in range(3):
        api.get(f"{BASE}/tasks/1", json={"data": TASK}, headers={"Asana-Change": CHANGE})

    with caplog.at_level(logging.WARNING, logger="delegator.asana.http"):
        for _ in range(3):
            client.get_task("1", ("name",))

    notices = [r for r in caplog.records if r.getMessage() == "asana_change_notice"]
    assert len(notices) == 1
    record = notices[0]
    assert record.levelno == logging.WARNING
    assert vars(record)["change"] == "new_goal_memberships"
    assert vars(record)["info"] == "https://asa.na/api-gm"
    assert vars(record)["affected"] is True
    assert "=" not in record.getMessage()
    exposition = metrics.exposition().decode()
    assert 'delegator_asana_change_notices_total{name="new_goal_memberships"} 3.0' in exposition


def test_several_changes_in_one_answer_and_on_an_error(
    clock: ManualClock, api: responses.RequestsMock, fresh_changes: None
) -> None:
    seen: list[RequestAttempt] = []
    client = make(clock, TOKEN, observer=seen.append)
    api.get(
        f"{BASE}/tasks/1",
        status=404,
        json={"errors": [{"message": "Unknown object"}]},
        headers={"Asana-Change": "name=a_change;info=https://asa.na/a, name=b_change;info=x"},
    )

    with pytest.raises(NotFound):
        client.get_task("1", ("name",))

    assert seen[0].changes == (
        ChangeNotice("a_change", "https://asa.na/a", False),
        ChangeNotice("b_change", "x", False),
    )
