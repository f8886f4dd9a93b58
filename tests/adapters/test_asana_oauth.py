"""OAuth refresh tokens made access tokens (asana/oauth.py), against a mocked token endpoint:
the exchange's form, a refresh at start, before expiry and after a 401, one exchange for
concurrent askers, ``invalid_grant`` and a failing endpoint as clear errors, and no secret in a
log line, a message or a repr."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import requests
import responses
from asana_fakes import BASE, START
from hypothesis import given, settings
from hypothesis import strategies as st

from delegator.asana import AsanaClient, BudgetRegistry, RetryPolicy
from delegator.asana.oauth import (
    REVOKED_ADVICE,
    OAuthApp,
    OAuthError,
    RefreshFailed,
    RefreshingToken,
    Revoked,
    exchange,
    token_url_for,
)
from delegator.clock import ManualClock
from delegator.redact import is_registered

TOKEN_URL = "https://asana.test/-/oauth_token"
CLIENT_ID = "1200000000000001"
CLIENT_SECRET = "app-secret-7c1e0f9b2d"
REFRESH = "1/refresh-token-9a8b7c6d"
SECRETS = (CLIENT_SECRET, REFRESH)


class Source:
    """The refresh token's variable or file: the test changes it, as an operator would."""

    def __init__(self, value: str = REFRESH) -> None:
        self.value = value

    def __call__(self) -> str:
        return self.value


def access(n: int) -> str:
    return f"2/access-token-{n:04d}-f00d"


def granted(api: responses.RequestsMock, n: int, **extra: object) -> None:
    body = {"access_token": access(n), "token_type": "bearer", "expires_in": 3600, **extra}
    api.post(TOKEN_URL, json=body)


def form(call: object) -> dict[str, str]:
    raw = call.request.body  # type: ignore[attr-defined]
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return {key: values[0] for key, values in parse_qs(text).items()}


def exchanges(api: responses.RequestsMock) -> int:
    return sum(1 for call in api.calls if call.request.url == TOKEN_URL)


@pytest.fixture
def app() -> OAuthApp:
    return OAuthApp(CLIENT_ID, CLIENT_SECRET, TOKEN_URL)


@pytest.fixture
def tokens(app: OAuthApp, clock: ManualClock, policy: RetryPolicy) -> RefreshingToken:
    return RefreshingToken(app, Source(), label="$ACME_REFRESH", clock=clock, policy=policy)


def test_the_first_token_is_an_exchange_of_the_refresh_token_form_encoded(
    tokens: RefreshingToken, api: responses.RequestsMock
) -> None:
    granted(api, 1)
    assert tokens.current() == access(1)
    (call,) = api.calls
    assert call.request.method == "POST"
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(call) == {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
    }
    assert all(is_registered(secret) for secret in (*SECRETS, access(1)))


def test_the_access_token_is_kept_until_the_margin_before_its_expiry(
    tokens: RefreshingToken, clock: ManualClock, api: responses.RequestsMock
) -> None:
    granted(api, 1)
    granted(api, 2)
    assert tokens.current() == access(1)
    clock.advance(minutes=54)  # six minutes left: still good
    assert not tokens.due()
    assert tokens.current() == access(1)
    assert exchanges(api) == 1
    clock.advance(minutes=2)  # four left: within the five-minute margin
    assert tokens.due()
    assert tokens.current() == access(2)
    assert exchanges(api) == 2


def test_a_401_renews_the_token_and_the_request_is_sent_once_more_with_the_new_one(
    tokens: RefreshingToken, clock: ManualClock, api: responses.RequestsMock
) -> None:
    granted(api, 1)
    granted(api, 2)
    api.get(f"{BASE}/users/me", status=401, json={"errors": [{"message": "Not Authorized"}]})
    api.get(f"{BASE}/users/me", json={"data": {"gid": "100", "name": "Anna", "email": "a@x"}})
    client = AsanaClient(
        tokens.provider(), base_url=BASE, clock=clock, budgets=BudgetRegistry(),
        token_id="oauth:ACME_REFRESH",
    )  # fmt: skip
    assert client.me()["gid"] == "100"
    sent = [
        c.request.headers.get("Authorization")
        for c in api.calls
        if "/users/me" in str(c.request.url)
    ]
    assert sent == [f"Bearer {access(1)}", f"Bearer {access(2)}"]
    assert exchanges(api) == 2


def test_a_token_renewed_by_another_client_is_taken_without_a_second_exchange(
    tokens: RefreshingToken, api: responses.RequestsMock
) -> None:
    granted(api, 1)
    granted(api, 2)
    first, second = tokens.provider(), tokens.provider()
    assert first() == second() == access(1)
    assert first() == access(2)  # first was refused: renewed
    assert second() == access(2)  # second's was the same refused one: already renewed
    assert exchanges(api) == 2


def test_concurrent_askers_wait_for_one_exchange(
    tokens: RefreshingToken, api: responses.RequestsMock
) -> None:
    calls = 0

    def slow_grant(request: object) -> tuple[int, dict[str, str], str]:
        nonlocal calls
        calls += 1
        threading.Event().wait(0.05)  # the others arrive meanwhile and wait on the exchange
        return 200, {}, f'{{"access_token": "{access(calls)}", "expires_in": 3600}}'

    api.add_callback(responses.POST, TOKEN_URL, callback=slow_grant)
    start = threading.Barrier(8)
    got: list[str] = []

    def ask() -> None:
        start.wait()
        got.append(tokens.current())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [access(1)] * 8
    assert calls == 1


def test_concurrent_refusals_of_one_token_renew_it_once(
    tokens: RefreshingToken, api: responses.RequestsMock
) -> None:
    granted(api, 1)
    granted(api, 2)
    refused = tokens.current()
    got: list[str] = []
    start = threading.Barrier(6)

    def refuse() -> None:
        start.wait()
        got.append(tokens.renew(refused))

    threads = [threading.Thread(target=refuse) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [access(2)] * 6
    assert exchanges(api) == 2


def test_invalid_grant_is_a_clear_revocation_kept_until_a_new_refresh_token_is_written(
    app: OAuthApp, clock: ManualClock, policy: RetryPolicy, api: responses.RequestsMock
) -> None:
    source = Source()
    tokens = RefreshingToken(app, source, label="$ACME_REFRESH", clock=clock, policy=policy)
    api.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": REFRESH})
    with pytest.raises(Revoked) as caught:
        tokens.current()
    assert str(caught.value) == f"{REVOKED_ADVICE} (the refresh token in $ACME_REFRESH)"
    with pytest.raises(Revoked):  # the same refresh token: Asana is not asked again
        tokens.current()
    assert exchanges(api) == 1
    assert tokens.due()
    source.value = "1/refresh-token-after-reauthorising"
    granted(api, 7)
    assert tokens.current() == access(7)
    assert form(api.calls[-1])["refresh_token"] == source.value


def test_a_failing_token_endpoint_is_retried_with_backoff_then_a_clear_error(
    tokens: RefreshingToken, clock: ManualClock, api: responses.RequestsMock
) -> None:
    for _ in range(4):
        api.post(TOKEN_URL, status=503, body="busy")
    with pytest.raises(RefreshFailed) as caught:
        tokens.current()
    assert str(caught.value) == (
        "no access token from Asana's token endpoint after 4 attempts (last: HTTP 503) for "
        "the refresh token in $ACME_REFRESH"
    )
    assert exchanges(api) == 4
    assert clock.slept == [1.0, 2.0, 4.0]


def test_a_failure_that_passes_is_retried_to_a_token(
    tokens: RefreshingToken, clock: ManualClock, api: responses.RequestsMock
) -> None:
    api.post(TOKEN_URL, body=requests.ConnectionError("reset by peer"))
    api.post(TOKEN_URL, status=500, json={"errors": [{"message": "Server Error"}]})
    granted(api, 3)
    assert tokens.current() == access(3)
    assert clock.slept == [1.0, 2.0]


def test_a_refused_app_is_said_with_the_settings_to_check(
    tokens: RefreshingToken, api: responses.RequestsMock
) -> None:
    api.post(TOKEN_URL, status=401, json={"error": "invalid_client"})
    with pytest.raises(
        RefreshFailed, match=r"asana\.oauth_client_id and asana\.oauth_client_secret"
    ):
        tokens.current()


def test_a_rotated_refresh_token_is_used_next_and_kept_in_memory(
    tokens: RefreshingToken, clock: ManualClock, api: responses.RequestsMock
) -> None:
    granted(api, 1, refresh_token="1/rotated-refresh-token")
    granted(api, 2)
    tokens.current()
    assert is_registered("1/rotated-refresh-token")
    clock.advance(hours=1)
    assert tokens.current() == access(2)
    assert form(api.calls[-1])["refresh_token"] == "1/rotated-refresh-token"


def test_a_short_lived_token_is_renewed_before_half_its_life_is_out(
    tokens: RefreshingToken, clock: ManualClock, api: responses.RequestsMock
) -> None:
    api.post(TOKEN_URL, json={"access_token": access(1), "expires_in": 120})
    granted(api, 2)
    tokens.current()
    clock.advance(seconds=59)
    assert not tokens.due()
    clock.advance(seconds=2)
    assert tokens.current() == access(2)


def test_no_secret_in_a_log_line_a_message_or_a_repr(
    app: OAuthApp,
    tokens: RefreshingToken,
    clock: ManualClock,
    api: responses.RequestsMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    granted(api, 1, refresh_token="1/rotated-refresh-token")
    api.post(TOKEN_URL, status=502)
    api.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "x"})
    tokens.current()
    clock.advance(hours=1)
    with pytest.raises(Revoked) as caught:
        tokens.current()
    shown = [
        caplog.text,
        *(str(vars(record)) for record in caplog.records),
        str(caught.value),
        repr(caught.value),
        repr(tokens),
        repr(app),
    ]
    assert "asana_oauth_refreshed" in caplog.text
    assert "asana_oauth_retry" in caplog.text
    for secret in (*SECRETS, access(1), "1/rotated-refresh-token"):
        assert not any(secret in text for text in shown), secret


def test_the_token_endpoint_is_beside_the_api() -> None:
    assert token_url_for("https://app.asana.com/api/1.0") == "https://app.asana.com/-/oauth_token"
    assert token_url_for("http://127.0.0.1:8123/api/1.0/") == "http://127.0.0.1:8123/-/oauth_token"


def test_the_margin_is_five_minutes_by_default(tokens: RefreshingToken) -> None:
    assert tokens.margin == timedelta(minutes=5)


def test_requests_refused_together_are_all_sent_again_after_one_exchange(
    tokens: RefreshingToken, clock: ManualClock, api: responses.RequestsMock
) -> None:
    granted(api, 1)
    granted(api, 2)
    together = threading.Barrier(2)

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if request.headers["Authorization"] == f"Bearer {access(1)}":
            together.wait(timeout=5)  # both requests were sent with the first token
            return 401, {}, '{"errors": [{"message": "Not Authorized"}]}'
        return 200, {}, '{"data": {"gid": "1", "name": "Send the invoice"}}'

    api.add_callback(responses.GET, f"{BASE}/tasks/1", callback=answer)
    client = AsanaClient(
        tokens.provider(), base_url=BASE, clock=clock, budgets=BudgetRegistry(),
        token_id="oauth:ACME_REFRESH",
    )  # fmt: skip
    got: list[str] = []
    failed: list[BaseException] = []

    def read() -> None:
        try:
            got.append(client.get_task("1", ("name",))["gid"])
        except Exception as exc:  # reported below
            failed.append(exc)

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert got == ["1", "1"]
    assert exchanges(api) == 2  # the first token, and one renewal for both


MARK = "Zq9"  # begins every text Asana's answer holds here: none may reach a message
marked = st.text(max_size=20).map(lambda text: MARK + text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | marked,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
answers = st.fixed_dictionaries(
    {},
    optional={
        "access_token": marked | json_values,
        "expires_in": st.integers(-10, 10**6) | json_values,
        "refresh_token": marked | json_values,
        "error": st.sampled_from(["invalid_grant", "invalid_client", "invalid_request"])
        | json_values,
        "error_description": marked,
    },
)


@settings(max_examples=150, deadline=None)
@given(status=st.sampled_from([200, 201, 400, 401, 403, 404, 429, 500, 503]), body=answers)
def test_whatever_the_token_endpoint_answers_is_a_grant_or_an_oauth_error(
    status: int, body: dict[str, object]
) -> None:
    """A grant with a usable token, or an error naming at most OAuth's error code: never a
    token, a description or anything else of the answer."""
    app = OAuthApp(CLIENT_ID, CLIENT_SECRET, TOKEN_URL)
    failure: Exception | None = None
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=status, json=body)
        try:
            grant = exchange(app, REFRESH, session=requests.Session(), now=START)
        except Exception as exc:  # checked below
            failure = exc
    if failure is not None:
        if not isinstance(failure, OAuthError):  # no answer worth having: retried
            assert type(failure).__name__ == "_Transient"
            assert status in (429, 500, 503)
            return
        assert MARK not in str(failure)
        return
    assert 200 <= status < 300
    assert grant.access_token == str(body["access_token"]).strip()
    assert grant.access_token
    assert grant.expires_at > START
