"""Asana's limits by default: requests per minute by plan, search, concurrency; on the world's clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from delegator.sandbox import ALL_TOKENS, ManualClock, SandboxServer

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
FREE = "token-free"
PAID = "token-paid"
BOTH = "token-both"
HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)


def fixture() -> dict[str, Any]:
    return {
        "workspaces": [
            {
                "name": "Free Co",
                "gid": "100",
                "plan": "free",
                "users": [
                    {"name": "Fay", "email": "fay@free.example", "token": FREE},
                    {"name": "Bo", "email": "bo@both.example", "token": BOTH},
                ],
                "projects": [{"name": "Work", "gid": "110", "tasks": [{"name": "A"}]}],
            },
            {
                "name": "Paid Co",
                "gid": "200",
                "users": [
                    {"name": "Pia", "email": "pia@paid.example", "token": PAID},
                    {"name": "Bo", "email": "bo@both.example"},
                ],
            },
        ]
    }


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[SandboxServer]:
    with SandboxServer.from_fixture(fixture(), clock=clock) as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def me(session: requests.Session, sandbox: SandboxServer, token: str) -> requests.Response:
    return session.get(
        f"{sandbox.base_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


def statuses(session: requests.Session, sandbox: SandboxServer, token: str, n: int) -> list[int]:
    return [me(session, sandbox, token).status_code for _ in range(n)]


def test_a_free_workspace_allows_150_requests_a_minute_by_default(
    sandbox: SandboxServer, session: requests.Session, clock: ManualClock
) -> None:
    assert statuses(session, sandbox, FREE, 150) == [200] * 150
    refused = me(session, sandbox, FREE)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"  # all 150 were sent at this same instant
    assert refused.json() == {
        "errors": [
            {
                "message": "You've made too many requests and hit a rate limit. "
                "Please retry after the given amount of time.",
                "help": HELP,
            }
        ]
    }
    assert me(session, sandbox, PAID).status_code == 200  # per token
    clock.advance(seconds=60)  # the world's clock, not the wall's, frees the window
    assert me(session, sandbox, FREE).status_code == 200


def test_a_paid_workspace_allows_1500_and_a_member_of_any_paid_workspace_has_that_quota(
    sandbox: SandboxServer, clock: ManualClock
) -> None:
    faults = sandbox.faults
    assert [faults.admit(PAID) for _ in range(1500)] == [None] * 1500
    assert faults.admit(PAID) == 60
    assert sandbox.world.requests_per_minute(BOTH) == 1500
    assert sandbox.world.requests_per_minute(FREE) == 150


def test_refused_requests_count_against_the_quota_as_asana_says(
    sandbox: SandboxServer, session: requests.Session, clock: ManualClock
) -> None:
    assert statuses(session, sandbox, FREE, 100) == [200] * 100
    clock.advance(seconds=30)
    assert statuses(session, sandbox, FREE, 50) == [200] * 50
    refused = me(session, sandbox, FREE)
    assert refused.status_code == 429
    # The refusal itself is counted: the 100 from t=0 must leave, then there is room for one.
    assert refused.headers["Retry-After"] == "30"
    for _ in range(10):  # ignoring Retry-After only piles more into the window
        assert me(session, sandbox, FREE).status_code == 429
    clock.advance(seconds=30)
    # 100 left the window; 50 + 11 refused remain: 89 more fit, not 100.
    assert statuses(session, sandbox, FREE, 90) == [200] * 89 + [429]


def test_a_client_waiting_out_retry_after_on_the_same_clock_gets_through(
    sandbox: SandboxServer, session: requests.Session, clock: ManualClock
) -> None:
    statuses(session, sandbox, FREE, 150)
    answer = me(session, sandbox, FREE)
    for _ in range(3):
        if answer.status_code != 429:
            break
        clock.sleep(float(answer.headers["Retry-After"]))
        answer = me(session, sandbox, FREE)
    assert answer.status_code == 200
    assert clock.slept == [60.0]


def test_a_batch_costs_one_unit_per_action_against_the_plan_quota(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    statuses(session, sandbox, FREE, 145)
    actions = [{"relative_path": "/users/me", "method": "get"}] * 10
    response = session.post(
        f"{sandbox.base_url}/batch",
        json={"data": {"actions": actions}},
        headers={"Authorization": f"Bearer {FREE}"},
        timeout=5,
    )
    assert response.status_code == 429  # 145 + 10 > 150: refused whole


def test_search_has_its_own_60_a_minute(
    sandbox: SandboxServer, session: requests.Session, clock: ManualClock
) -> None:
    url = f"{sandbox.base_url}/workspaces/200/tasks/search"
    auth = {"Authorization": f"Bearer {PAID}"}
    answers = [session.get(url, headers=auth, timeout=5).status_code for _ in range(61)]
    assert answers == [200] * 60 + [429]
    assert me(session, sandbox, PAID).status_code == 200  # other requests still go through
    clock.advance(seconds=60)
    assert session.get(url, headers=auth, timeout=5).status_code == 200


def test_the_override_replaces_the_plan_quota_and_none_lifts_it(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    sandbox.faults.rate_limit(FREE, 2)
    assert statuses(session, sandbox, FREE, 3) == [200, 200, 429]
    sandbox.faults.rate_limit(ALL_TOKENS, None)  # no quota for tokens without their own
    assert statuses(session, sandbox, PAID, 1600) == [200] * 1600


def test_no_limits_lifts_every_default(sandbox: SandboxServer) -> None:
    sandbox.faults.no_limits()
    assert all(sandbox.faults.admit(FREE) is None for _ in range(500))
    assert all(sandbox.faults.admit(FREE, search=True) is None for _ in range(100))
    assert sandbox.faults.enter(FREE, reads=500, writes=100) is None


def test_fifty_reads_and_fifteen_writes_in_flight_by_default(sandbox: SandboxServer) -> None:
    faults = sandbox.faults
    assert faults.enter(PAID, reads=50, writes=0) is None
    assert faults.enter(PAID, reads=1, writes=0) == 1  # the 51st read
    assert faults.enter(PAID, reads=0, writes=15) is None  # writes are counted apart
    assert faults.enter(PAID, reads=0, writes=1) == 1
    assert faults.enter(FREE, reads=1, writes=1) is None  # per token
    faults.leave(PAID, reads=1, writes=1)
    assert faults.enter(PAID, reads=1, writes=1) is None
    assert faults.in_flight(PAID) == (50, 15)


class Held:
    """The sandbox's latency sleep: holds a request in flight until released."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.released = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.holding.set()
        self.released.wait(seconds)


def test_beyond_the_concurrency_cap_the_answer_is_429_and_a_batch_takes_a_slot_per_action(
    clock: ManualClock, session: requests.Session
) -> None:
    held = Held()
    with SandboxServer.from_fixture(fixture(), clock=clock, sleep=held) as sandbox:
        sandbox.faults.concurrency(PAID, reads=2, writes=1)
        sandbox.faults.latency(PAID, 30)
        auth = {"Authorization": f"Bearer {PAID}"}
        slow = threading.Thread(target=me, args=(requests.Session(), sandbox, PAID))
        slow.start()
        try:
            assert held.holding.wait(5)
            sandbox.faults.latency(PAID, 0)
            assert sandbox.faults.in_flight(PAID) == (1, 0)
            two_reads = [{"relative_path": "/users/me", "method": "get"}] * 2
            refused = session.post(
                f"{sandbox.base_url}/batch",
                json={"data": {"actions": two_reads}},
                headers=auth,
                timeout=5,
            )
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "1"
            assert me(session, sandbox, PAID).status_code == 200  # one read still fits
        finally:
            held.released.set()
            slow.join(5)
        assert sandbox.faults.in_flight(PAID) == (0, 0)  # answered: the slots are free
