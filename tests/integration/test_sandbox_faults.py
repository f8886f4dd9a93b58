"""Fault injection per token: rate limits, 500s, latency, revoked tokens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests

from delegator.sandbox import ALL_TOKENS, Faults, SandboxServer

ANNA = "sandbox-token-anna"
GIULIA = "sandbox-token-giulia"
RATE_LIMITED = "You've made too many requests and hit a rate limit. Please retry after the given amount of time."


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def sandbox(ticker: Ticker, sleeps: list[float]) -> Iterator[SandboxServer]:
    with SandboxServer.demo(faults=Faults(monotonic=ticker), sleep=sleeps.append) as server:
        yield server


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def me(session: requests.Session, sandbox: SandboxServer, token: str = ANNA) -> requests.Response:
    return session.get(
        f"{sandbox.base_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


# ---------------------------------------------------------------------- rate limit
def test_beyond_the_per_minute_limit_the_answer_is_429_with_retry_after(
    sandbox: SandboxServer, session: requests.Session, ticker: Ticker
) -> None:
    sandbox.faults.rate_limit(ANNA, 3)
    assert [me(session, sandbox).status_code for _ in range(2)] == [200, 200]  # at t=0
    ticker.now += 20
    assert me(session, sandbox).status_code == 200  # at t=20: the window is full
    ticker.now += 10
    refused = me(session, sandbox)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"  # the two from t=0 leave the window at t=60
    assert refused.json() == {
        "errors": [
            {
                "message": RATE_LIMITED,
                "help": "For more information on API status codes and how to handle them, "
                "read the docs on errors: https://developers.asana.com/docs/errors",
            }
        ]
    }
    ticker.now += 29
    assert me(session, sandbox).headers["Retry-After"] == "1"
    ticker.now += 1
    assert [me(session, sandbox).status_code for _ in range(3)] == [200, 200, 429]
    assert me(session, sandbox).headers["Retry-After"] == "20"  # the one from t=20


def test_the_limit_is_per_token(sandbox: SandboxServer, session: requests.Session) -> None:
    sandbox.faults.rate_limit(ANNA, 1)
    assert me(session, sandbox).status_code == 200
    assert me(session, sandbox).status_code == 429
    assert me(session, sandbox, GIULIA).status_code == 200
    assert me(session, sandbox, GIULIA).status_code == 200


def test_counting_rejected_requests_as_asana_does(
    sandbox: SandboxServer, session: requests.Session, ticker: Ticker
) -> None:
    sandbox.faults.rate_limit(ANNA, 2, count_rejected=True)
    assert [me(session, sandbox).status_code for _ in range(2)] == [200, 200]
    ticker.now += 30
    assert me(session, sandbox).status_code == 429  # counted: it stays in the window
    ticker.now += 30  # the first two leave the window, the rejected one does not
    assert [me(session, sandbox).status_code for _ in range(2)] == [200, 429]


def test_a_limit_for_all_tokens_and_lifting_it(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    sandbox.faults.rate_limit(ALL_TOKENS, 1)
    assert me(session, sandbox, GIULIA).status_code == 200
    assert me(session, sandbox, GIULIA).status_code == 429
    assert me(session, sandbox, ANNA).status_code == 200
    sandbox.faults.rate_limit(ALL_TOKENS, None)
    assert me(session, sandbox, GIULIA).status_code == 200


def test_a_rate_limited_write_is_not_applied(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    task = sandbox.world.task("Order new business cards for Luca")
    sandbox.faults.rate_limit(ANNA, 1)
    assert me(session, sandbox).status_code == 200
    response = session.put(
        f"{sandbox.base_url}/tasks/{task.gid}",
        json={"data": {"name": "renamed"}},
        headers={"Authorization": f"Bearer {ANNA}"},
        timeout=5,
    )
    assert response.status_code == 429
    assert task.name == "Order new business cards for Luca"


# ---------------------------------------------------------------------- server errors
def test_the_next_n_requests_fail_with_500(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    sandbox.faults.fail_next(ANNA, 2)
    first = me(session, sandbox)
    assert first.status_code == 500
    error = first.json()["errors"][0]
    assert error["message"] == "Server Error (injected by the sandbox)"
    assert error["phrase"] == "6 sad squid snuggle softly"
    assert [me(session, sandbox).status_code for _ in range(3)] == [500, 200, 200]
    assert me(session, sandbox, GIULIA).status_code == 200


def test_a_failure_before_applying_leaves_the_world_unchanged(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    task = sandbox.world.task("Order new business cards for Luca")
    sandbox.faults.fail_next(ANNA, 1, status=503)
    response = session.post(
        f"{sandbox.base_url}/tasks/{task.gid}/stories",
        json={"data": {"text": "hello"}},
        headers={"Authorization": f"Bearer {ANNA}"},
        timeout=5,
    )
    assert response.status_code == 503
    assert response.json()["errors"][0]["phrase"] == "6 sad squid snuggle softly"
    assert task.stories == []


def test_an_ambiguous_failure_applies_the_change_and_still_fails(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    task = sandbox.world.task("Order new business cards for Luca")
    sandbox.faults.fail_next(ANNA, 1, after_apply=True)
    response = session.post(
        f"{sandbox.base_url}/tasks/{task.gid}/stories",
        json={"data": {"text": "hello"}},
        headers={"Authorization": f"Bearer {ANNA}"},
        timeout=5,
    )
    assert response.status_code == 500
    assert [story.text for story in task.stories] == ["hello"]


def test_a_seeded_error_rate_is_reproducible(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    sandbox.faults.error_rate(ANNA, 0.5, seed=7)
    first = [me(session, sandbox).status_code for _ in range(20)]
    sandbox.faults.error_rate(ANNA, 0.5, seed=7)
    second = [me(session, sandbox).status_code for _ in range(20)]
    assert first == second
    assert 4 <= first.count(500) <= 16
    assert set(first) == {200, 500}
    sandbox.faults.error_rate(ANNA, 0.0)
    assert me(session, sandbox).status_code == 200


def test_injected_client_errors(sandbox: SandboxServer, session: requests.Session) -> None:
    sandbox.faults.fail_next(ANNA, 1, status=402)
    response = me(session, sandbox)
    assert response.status_code == 402
    assert response.json()["errors"][0]["message"] == "Injected error 402"


# ---------------------------------------------------------------------- latency and revoked tokens
def test_latency_delays_every_answer_to_that_token(
    sandbox: SandboxServer, session: requests.Session, sleeps: list[float]
) -> None:
    sandbox.faults.latency(ANNA, 1.5)
    assert me(session, sandbox).status_code == 200
    assert me(session, sandbox, GIULIA).status_code == 200
    assert sleeps == [1.5]


def test_real_latency_is_felt_by_the_client(session: requests.Session) -> None:
    with SandboxServer.demo() as sandbox:
        sandbox.faults.latency(ANNA, 0.04)
        started = time.perf_counter()
        assert me(session, sandbox).status_code == 200
        slow = time.perf_counter() - started
    assert slow >= 0.04


def test_a_revoked_token_is_401_until_restored(
    sandbox: SandboxServer, session: requests.Session
) -> None:
    sandbox.faults.revoke(ANNA)
    refused = me(session, sandbox)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["message"] == "Not Authorized"
    assert me(session, sandbox, GIULIA).status_code == 200
    sandbox.faults.restore(ANNA)
    assert me(session, sandbox).status_code == 200


def test_clear_removes_every_fault(sandbox: SandboxServer, session: requests.Session) -> None:
    sandbox.faults.revoke(ANNA)
    sandbox.faults.fail_next(GIULIA, 5)
    sandbox.faults.clear()
    assert me(session, sandbox).status_code == 200
    assert me(session, sandbox, GIULIA).status_code == 200
    assert sandbox.faults.settings(ANNA) is None


@pytest.mark.parametrize(
    "configure",
    [
        lambda faults: faults.rate_limit(ANNA, 0),
        lambda faults: faults.error_rate(ANNA, 1.5),
        lambda faults: faults.fail_next(ANNA, 1, status=302),
        lambda faults: faults.latency(ANNA, -1),
    ],
    ids=["rate_limit", "error_rate", "fail_next", "latency"],
)
def test_nonsense_settings_are_refused(configure: Callable[[Faults], None]) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        configure(Faults())
