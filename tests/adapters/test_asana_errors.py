"""Every status Asana answers with, mapped to the project's exceptions, and the retry decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
import responses
import urllib3.exceptions
from asana_fakes import BASE, TOKEN

from delegator.asana import (
    ApiError,
    AsanaClient,
    AsanaError,
    BudgetRegistry,
    Forbidden,
    InvalidRequest,
    NotFound,
    Outcome,
    PaymentRequired,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    Unauthorized,
    decide,
)
from delegator.asana.errors import from_status, from_transport, parse_retry_after
from delegator.clock import ManualClock

TASK_URL = f"{BASE}/tasks/1"


def errors_body(*messages: str) -> dict[str, object]:
    return {
        "errors": [
            {"message": m, "help": "For more information on API status codes..."} for m in messages
        ]
    }


@pytest.mark.parametrize(
    ("status", "kind", "outcome"),
    [
        (400, InvalidRequest, Outcome.SKIP),
        (401, Unauthorized, Outcome.FATAL),
        (402, PaymentRequired, Outcome.SKIP),
        (403, Forbidden, Outcome.SKIP),
        (404, NotFound, Outcome.SKIP),
        (409, ApiError, Outcome.SKIP),
    ],
)
def test_client_errors_map_to_their_class_with_asanas_messages(
    client: AsanaClient,
    api: responses.RequestsMock,
    status: int,
    kind: type[ApiError],
    outcome: Outcome,
) -> None:
    api.get(TASK_URL, status=status, json=errors_body("task: Not a valid GID", "second reason"))

    with pytest.raises(kind) as caught:
        client.get_task("1", ("name",))

    error = caught.value
    assert type(error) is kind
    assert error.status == status
    assert error.messages == ("task: Not a valid GID", "second reason")
    assert error.method == "GET"
    assert error.path == "/tasks/1"
    assert str(error).startswith(f"GET /tasks/1: {status} ")
    assert str(error).endswith("task: Not a valid GID; second reason")
    assert error.outcome is outcome
    assert isinstance(error.__cause__, requests.HTTPError)
    assert len(api.calls) == 1  # never retried


def test_a_client_error_is_not_retried_even_on_an_idempotent_write(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/addTag", status=403, json=errors_body("Forbidden"))

    with pytest.raises(Forbidden):
        client.add_tag("1", "7")

    assert len(api.calls) == 1


def test_server_errors_that_persist_become_server_error_and_skip(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    body = {"errors": [{"message": "Server Error", "phrase": "6 sad squid snuggle softly"}]}
    for _ in range(4):
        api.get(TASK_URL, status=500, json=body)

    with pytest.raises(ServerError) as caught:
        client.get_task("1", ("name",))

    assert caught.value.status == 500
    assert caught.value.messages == ("Server Error",)
    assert caught.value.outcome is Outcome.SKIP
    assert len(api.calls) == 4  # RetryPolicy.max_attempts
    assert clock.slept == [1.0, 2.0, 4.0]  # exponential backoff, no jitter in tests


def test_rate_limited_beyond_the_policy_is_fatal(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    client = AsanaClient(
        TOKEN,
        base_url=BASE,
        retry=RetryPolicy(max_rate_limited=2, jitter=lambda c: c),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
    )
    for _ in range(3):
        api.get(TASK_URL, status=429, headers={"Retry-After": "7"}, json=errors_body("Too many"))

    with pytest.raises(RateLimited) as caught:
        client.get_task("1", ("name",))

    assert caught.value.retry_after == 7.0
    assert caught.value.outcome is Outcome.FATAL
    assert len(api.calls) == 3
    assert clock.slept == [7.0, 7.0]


def test_a_412_is_a_plain_api_error() -> None:
    body = {"errors": [], "sync": "de4774f6915eae04714ca93bb2f5ee81"}
    error = from_status("GET", "/tasks", 412, body, {}, datetime(2026, 1, 1, tzinfo=UTC))

    assert type(error) is ApiError
    assert error.status == 412


@pytest.mark.parametrize("status", [500, 502, 503, 504, 302])
def test_unexpected_statuses_are_server_errors(status: int) -> None:
    error = from_status("PUT", "/tasks/1", status, None, {}, datetime(2026, 1, 1, tzinfo=UTC))

    assert type(error) is ServerError
    assert error.may_have_executed is True


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)

    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 09:00:45 GMT", now) == 45.0
    assert parse_retry_after("Fri, 27 Nov 2026 08:00:00 GMT", now) == 0.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("soon", now) is None


def test_a_json_error_body_that_is_not_asanas_still_maps() -> None:
    error = from_status("GET", "/tasks", 400, ["odd"], {}, datetime(2026, 1, 1, tzinfo=UTC))

    assert isinstance(error, InvalidRequest)
    assert error.messages == ()
    assert str(error) == "GET /tasks: 400 Bad Request"


# ---------------------------------------------------------------- transport failures


def test_connect_timeout_never_reached_the_server() -> None:
    error = from_transport("POST", "/tasks/1/stories", requests.ConnectTimeout("connect timed out"))

    assert error.may_have_reached_server is False
    assert error.may_have_executed is False
    assert "timed out connecting" in str(error)


def test_read_timeout_may_have_reached_the_server() -> None:
    error = from_transport("POST", "/tasks/1/stories", requests.ReadTimeout("read timed out"))

    assert error.may_have_reached_server is True
    assert "timed out waiting" in str(error)


def test_refused_connection_never_reached_the_server() -> None:
    refused = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    wrapped = urllib3.exceptions.MaxRetryError(None, "/tasks", reason=refused)  # type: ignore[arg-type]

    error = from_transport("POST", "/tasks", requests.ConnectionError(wrapped))

    assert error.may_have_reached_server is False


def test_reset_connection_may_have_reached_the_server() -> None:
    reset = urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "reset")
    )

    error = from_transport("POST", "/tasks", requests.ConnectionError(reset))

    assert error.may_have_reached_server is True


def test_a_timeout_through_the_client_is_retried_then_reported_fatal(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    for _ in range(4):
        api.get(TASK_URL, body=requests.ReadTimeout("read timed out"))

    with pytest.raises(TransportError) as caught:
        client.get_task("1", ("name",))

    assert isinstance(caught.value.__cause__, requests.ReadTimeout)
    assert caught.value.outcome is Outcome.FATAL
    assert len(api.calls) == 4
    assert clock.slept == [1.0, 2.0, 4.0]


# ---------------------------------------------------------------- the decision


POLICY = RetryPolicy(jitter=lambda ceiling: ceiling)


def server_error() -> ServerError:
    return ServerError("POST", "/x", 503)


@pytest.mark.parametrize(
    ("error", "method", "idempotent", "outcome", "delay"),
    [
        (
            RateLimited("POST", "/tasks/1/stories", 429, retry_after=12),
            "POST",
            False,
            Outcome.RETRY,
            12.0,
        ),
        (RateLimited("GET", "/tasks", 429, retry_after=None), "GET", None, Outcome.RETRY, 30.0),
        (RateLimited("GET", "/tasks", 429, retry_after=3600), "GET", None, Outcome.FATAL, 0.0),
        (server_error(), "GET", None, Outcome.RETRY, 1.0),
        (server_error(), "PUT", None, Outcome.RETRY, 1.0),
        (server_error(), "POST", True, Outcome.RETRY, 1.0),
        (server_error(), "POST", None, Outcome.VERIFY, 1.0),
        (server_error(), "POST", False, Outcome.VERIFY, 1.0),
        (
            TransportError("POST", "/x", "t", may_have_reached_server=True),
            "POST",
            False,
            Outcome.VERIFY,
            1.0,
        ),
        (
            TransportError("POST", "/x", "t", may_have_reached_server=False),
            "POST",
            False,
            Outcome.RETRY,
            1.0,
        ),
        (Unauthorized("GET", "/x", 401), "GET", None, Outcome.FATAL, 0.0),
        (NotFound("PUT", "/x", 404), "PUT", None, Outcome.SKIP, 0.0),
        (PaymentRequired("PUT", "/x", 402), "PUT", None, Outcome.SKIP, 0.0),
        (ApiError("GET", "/x", 412), "GET", None, Outcome.SKIP, 0.0),
    ],
)
def test_decide_first_failure(
    error: AsanaError, method: str, idempotent: bool | None, outcome: Outcome, delay: float
) -> None:
    decision = decide(error, method=method, idempotent=idempotent, failures=1, policy=POLICY)

    assert (decision.outcome, decision.delay) == (outcome, delay)


def test_decide_backs_off_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_base=1.0, backoff_cap=5.0, jitter=lambda c: c)

    delays = [
        decide(server_error(), method="GET", failures=n, policy=policy).delay for n in range(1, 6)
    ]

    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_decide_gives_up_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)

    assert decide(server_error(), method="GET", failures=3, policy=policy).outcome is Outcome.SKIP
    unreachable = TransportError("GET", "/x", "t", may_have_reached_server=False)
    assert decide(unreachable, method="GET", failures=3, policy=policy).outcome is Outcome.FATAL


def test_default_jitter_stays_between_half_and_full_backoff() -> None:
    policy = RetryPolicy(backoff_base=2.0)

    delays = [policy.backoff(2) for _ in range(200)]

    assert all(2.0 <= delay <= 4.0 for delay in delays)
    assert len(set(delays)) > 1
