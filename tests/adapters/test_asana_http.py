"""The transport: what every request carries, and how failures are retried or not."""

from __future__ import annotations

import pytest
import requests
import responses
from asana_fakes import BASE, TOKEN, body, me_response, path, query

from delegator import __version__
from delegator.asana import (
    AsanaClient,
    AsanaError,
    BudgetRegistry,
    Outcome,
    RateLimited,
    ServerError,
    Timeouts,
    TransportError,
    Unauthorized,
    UnexpectedAnswer,
)
from delegator.clock import ManualClock

TASK = {"gid": "1", "name": "Send the invoice"}


def test_every_request_carries_auth_user_agent_and_timeouts(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    client = AsanaClient(
        TOKEN,
        base_url="http://127.0.0.1:8123/api/1.0/",
        timeouts=Timeouts(connect=2.5, read=11.0),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
    )
    api.get("http://127.0.0.1:8123/api/1.0/tasks/1", json={"data": TASK})
    api.put("http://127.0.0.1:8123/api/1.0/tasks/1", json={"data": TASK})

    client.get_task("1", ("name",))
    client.assign("1", "42")

    for call in api.calls:
        headers = call.request.headers
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert headers["User-Agent"] == f"delegator/{__version__} (+python-requests)"
        assert headers["Accept"] == "application/json"
        assert call.request.req_kwargs["timeout"] == (2.5, 11.0)
    assert api.calls[1].request.headers["Content-Type"] == "application/json"


def test_default_base_url_is_asanas(clock: ManualClock, api: responses.RequestsMock) -> None:
    client = AsanaClient(TOKEN, clock=clock, sleep=clock.sleep, budgets=BudgetRegistry())
    api.get("https://app.asana.com/api/1.0/tasks/1", json={"data": TASK})

    assert client.get_task("1", ["name"]) == TASK


def test_opt_fields_are_one_comma_separated_value(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/tasks/1", json={"data": TASK})

    client.get_task("1", ["name", "assignee.name", "name", "tags.name"])

    assert query(api.calls[0]) == {"opt_fields": "name,assignee.name,tags.name"}
    # Sent with its commas as they are (legal in a query): nothing left for urllib3 to re-encode.
    assert "opt_fields=name,assignee.name,tags.name" in api.calls[0].request.url


def test_429_on_a_get_waits_retry_after_then_repeats_once(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.get(
        f"{BASE}/tasks/1",
        status=429,
        headers={"Retry-After": "30"},
        json={"errors": [{"message": "rate"}]},
    )
    api.get(f"{BASE}/tasks/1", json={"data": TASK})

    assert client.get_task("1", ("name",)) == TASK

    assert clock.slept == [30.0]
    assert len(api.calls) == 2
    assert api.calls[0].request.url == api.calls[1].request.url


def test_429_on_a_comment_is_retried_because_asana_did_not_execute_it(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    stories = f"{BASE}/tasks/1/stories"
    api.post(
        stories, status=429, headers={"Retry-After": "12"}, json={"errors": [{"message": "rate"}]}
    )
    api.post(
        stories, status=201, json={"data": {"gid": "555", "created_at": "2026-11-27T09:00:12.000Z"}}
    )

    assert client.comment("1", "Over to you") == "555"

    assert clock.slept == [12.0]
    assert len(api.calls) == 2  # no existence check: a 429 is never ambiguous
    assert body(api.calls[0]) == body(api.calls[1]) == {"data": {"text": "Over to you"}}


def test_429_pauses_the_whole_token_and_halves_its_rate(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/tasks/1", status=429, headers={"Retry-After": "5"})
    api.get(f"{BASE}/tasks/1", json={"data": TASK})

    client.get_task("1", ("name",))

    assert client.budget.rate_factor == 0.5


def test_5xx_then_success_on_a_read(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.get(f"{BASE}/tasks/1", status=503, json={"errors": [{"message": "down"}]})
    api.get(f"{BASE}/tasks/1", status=500, json={"errors": [{"message": "oops"}]})
    api.get(f"{BASE}/tasks/1", json={"data": TASK})

    assert client.get_task("1", ("name",)) == TASK

    assert clock.slept == [1.0, 2.0]
    assert len(api.calls) == 3


def test_5xx_then_success_on_an_idempotent_put(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.put(f"{BASE}/tasks/1", status=502)
    api.put(
        f"{BASE}/tasks/1", json={"data": {"gid": "1", "modified_at": "2026-11-27T09:00:01.000Z"}}
    )

    assert client.assign("1", "42") == {"gid": "1", "modified_at": "2026-11-27T09:00:01.000Z"}

    assert [body(call) for call in api.calls] == [{"data": {"assignee": "42"}}] * 2
    assert clock.slept == [1.0]


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("addTag", lambda c: c.add_tag("1", "7")),
        ("removeTag", lambda c: c.remove_tag("1", "7")),
        ("addFollowers", lambda c: c.add_followers("1", ["42"])),
        ("addProject", lambda c: c.add_project("1", "9")),
    ],
)
def test_idempotent_posts_are_retried_after_a_timeout(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock, name: str, call: object
) -> None:
    url = f"{BASE}/tasks/1/{name}"
    api.post(url, body=requests.ReadTimeout("read timed out"))
    # addFollowers answers with the task; the others with an empty object.
    api.post(url, json={"data": {"gid": "1"} if name == "addFollowers" else {}})

    call(client)  # type: ignore[operator]

    assert len(api.calls) == 2
    assert clock.slept == [1.0]


def test_move_to_section_is_retried_after_a_reset(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    url = f"{BASE}/sections/5/addTask"
    api.post(url, body=requests.ConnectionError("Connection reset by peer"))
    api.post(url, json={"data": {}})

    client.move_to_section("1", "5")

    assert len(api.calls) == 2


def test_a_create_without_a_way_to_check_is_not_sent_twice(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    # A task in a workspace with no assignee cannot be looked for: report, do not re-post.
    api.post(f"{BASE}/tasks", status=504)

    with pytest.raises(ServerError) as caught:
        client.create_task("Call the accountant", workspace_gid="77")

    assert caught.value.outcome is Outcome.SKIP
    assert len(api.calls) == 1


def test_a_create_is_retried_when_the_request_never_left(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks", body=requests.ConnectTimeout("connect timed out"))
    api.post(
        f"{BASE}/tasks", status=201, json={"data": {"gid": "9001", "name": "Call the accountant"}}
    )

    created = client.create_task("Call the accountant", workspace_gid="77")

    assert created["gid"] == "9001"
    assert len(api.calls) == 2


def test_unauthorized_is_fatal_and_not_retried(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/users/me", status=401, json={"errors": [{"message": "Not Authorized"}]})

    with pytest.raises(Unauthorized) as caught:
        client.me()

    assert caught.value.outcome is Outcome.FATAL
    assert len(api.calls) == 1


def test_a_2xx_that_is_not_json_is_an_unexpected_answer_retried_as_a_server_error(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    for _ in range(4):
        api.get(f"{BASE}/tasks/1", body="<html>maintenance</html>", content_type="text/html")

    with pytest.raises(UnexpectedAnswer, match="not JSON \\(Content-Type text/html\\)") as caught:
        client.get_task("1", ("name",))

    assert isinstance(caught.value, ServerError)  # retried as a 5xx: 4 attempts
    assert caught.value.outcome is Outcome.SKIP
    assert len(api.calls) == 4


def test_the_token_user_is_asked_once_per_client(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    me_response(api, gid="100")

    assert client.me_gid() == "100"
    assert client.me()["email"] == "bot@example.com"
    assert len(api.calls) == 1
    assert path(api.calls[0]) == "/users/me"
    assert query(api.calls[0]) == {"opt_fields": "name,email"}


def test_requests_sent_counts_retries(client: AsanaClient, api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/tasks/1", status=500)
    api.get(f"{BASE}/tasks/1", json={"data": TASK})

    client.get_task("1", ("name",))

    assert client.requests_sent == 2
    assert client.budget.units_spent == 2


# ---------------------------------------------------------------- secrets


def test_the_token_never_appears_in_errors_or_reprs(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    # A misbehaving proxy that echoes the Authorization header into its error message.
    api.get(
        f"{BASE}/tasks/1", status=400, json={"errors": [{"message": f"bad header Bearer {TOKEN}"}]}
    )
    api.get(f"{BASE}/tasks/2", status=401, json={"errors": [{"message": "Not Authorized"}]})
    for _ in range(4):
        api.get(f"{BASE}/tasks/3", body=requests.ConnectionError(f"failed with {TOKEN}"))
    api.get(f"{BASE}/tasks/4", status=429, headers={"Retry-After": "99999"})

    caught: list[AsanaError] = []
    for gid in "1234":
        with pytest.raises(AsanaError) as error:
            client.get_task(gid, ("name",))
        caught.append(error.value)

    assert [type(e) for e in caught][1:] == [Unauthorized, TransportError, RateLimited]
    assert "[redacted]" in str(caught[0])
    for error in caught:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
        assert TOKEN not in str(error.args)
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(client.transport)
    assert TOKEN not in repr(client.budget.key)
