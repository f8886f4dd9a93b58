"""OAuth end to end: a client file naming a refresh token, the agency's app in the settings,
cycles against the sandbox over loopback, its token endpoint beside ``/api/1.0``.

The demo world's Anna authorised the agency's app (her refresh token is in
``$NORTHWIND_REFRESH``); Lena's client (Fischer Consulting) keeps its personal token. The
sandbox's access tokens last an hour on its clock: moved past that, the next cycle renews the
token and goes on; a revoked authorisation fails that client alone, with a clear message.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from delegator.asana.oauth import REVOKED_ADVICE
from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry, load_clients
from delegator.clock import ManualClock
from delegator.cycles import Count, ErrorKind
from delegator.sandbox import Faults, SandboxServer, load_world
from delegator.sandbox.fixtures import FixtureError
from delegator.service import CycleReport
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
LENA = "lena@fischer-consulting.example"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
CLIENT_ID = "1200000000000077"
CLIENT_SECRET = "sandbox-app-secret-0f3c9e"
REFRESH = "1/sandbox-refresh-anna-4d2e8a"
TOKEN_PATH = "/-/oauth_token"
NEW_TASK = "Send December receipts to the accountant"
OAUTH_TOKEN = "token: { oauth: { refresh_token: { env: NORTHWIND_REFRESH } } }"


@pytest.fixture
def oauth_sandbox(sandbox: SandboxServer) -> SandboxServer:
    """The demo world with the agency's app, which Anna authorised."""
    world = sandbox.world
    world.set_oauth_app(CLIENT_ID, CLIENT_SECRET)
    world.add_refresh_token(world.user(ANNA), REFRESH)
    return sandbox


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """The two example clients; the agency's token is its OAuth refresh token."""
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("small-agency.yaml", "solo-consultant.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    agency = folder / "small-agency.yaml"
    text = agency.read_text(encoding="utf-8")
    assert "token: { env: ASANA_TOKEN_NORTHWIND }" in text
    agency.write_text(text.replace("token: { env: ASANA_TOKEN_NORTHWIND }", OAUTH_TOKEN))
    return folder


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    """A SQLite store whose files the test reads back for secrets."""
    folder = tmp_path / "state"
    folder.mkdir()
    with SqlStore(f"sqlite:///{folder / 'delegator.db'}") as opened:
        opened.migrate()
        yield opened


def make_fleet(
    sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> Fleet:
    environ = {"NORTHWIND_REFRESH": REFRESH, "ASANA_TOKEN_FISCHER": sandbox.token(LENA)}
    settings = Settings(
        rules_dir=rules_dir,
        asana_base_url=sandbox.base_url,  # the token endpoint is derived from it
        asana_oauth_client_id=CLIENT_ID,
        asana_oauth_client_secret=CLIENT_SECRET,
    )
    return Fleet(settings, store, environ=environ, clock=clock)


def entry(fleet: Fleet, key: str) -> ClientEntry:
    return next(e for e in load_clients(fleet.settings.rules_dir) if e.key == key)


def cycle(fleet: Fleet, key: str = "small-agency") -> CycleReport:
    """One cycle of one client, a minute (on the service's clock) after the previous one."""
    assert isinstance(fleet.clock, ManualClock)
    fleet.clock.advance(minutes=1)
    return fleet.cycle(entry(fleet, key))


def exchanges(sandbox: SandboxServer, status: int | None = None) -> int:
    return sandbox.requests.count("POST", TOKEN_PATH, status=status)


def refused(sandbox: SandboxServer) -> int:
    return sum(1 for e in sandbox.requests.entries() if e.status == 401 and e.path != TOKEN_PATH)


def touch(sandbox: SandboxServer) -> None:
    """A new task for the agency's triage, so the next cycle has something to delegate."""
    world = sandbox.world
    anna, operations = world.user(ANNA), world.project("Operations")
    world.create_task(
        operations.workspace, NEW_TASK, by=anna, assignee=anna, memberships=[(operations, None)]
    )


def test_a_client_authorised_by_oauth_is_cycled_with_exchanged_access_tokens(
    oauth_sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = make_fleet(oauth_sandbox, store, rules_dir, clock)
    report = cycle(fleet)
    assert report.errors == []
    invoice = oauth_sandbox.world.task("Send November receipts to the accountant")
    assert invoice.assignee is not None
    assert invoice.assignee.email == "giulia@va-agency.example"
    assert report.counts[Count.ACTIONS_DONE] >= 3
    assert exchanges(oauth_sandbox, 200) == 1
    used = {e.token or "" for e in oauth_sandbox.requests.entries() if e.path != TOKEN_PATH}
    assert len(used) == 1
    assert next(iter(used)).startswith("sandbox-oauth-")  # an access token, not a personal one


def test_an_access_token_near_its_expiry_is_renewed_before_the_next_cycle(
    oauth_sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = make_fleet(oauth_sandbox, store, rules_dir, clock)  # one clock for both
    cycle(fleet)
    clock.advance(minutes=55)  # four minutes left after the next cycle's minute
    touch(oauth_sandbox)
    report = cycle(fleet)
    assert report.errors == []
    assert exchanges(oauth_sandbox, 200) == 2
    assert refused(oauth_sandbox) == 0  # renewed before, not after a 401
    assert oauth_sandbox.world.task(NEW_TASK).assignee.email != ANNA  # type: ignore[union-attr]


def test_past_expiry_on_the_sandbox_clock_the_next_cycle_renews_after_the_401_and_goes_on(
    oauth_sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    service_clock = ManualClock(clock.now())  # the service's own: it believes the token good
    fleet = make_fleet(oauth_sandbox, store, rules_dir, service_clock)
    first = cycle(fleet)
    assert first.errors == []
    clock.advance(hours=1, minutes=1)  # the sandbox's clock: the access token has expired
    touch(oauth_sandbox)
    report = cycle(fleet)
    assert report.errors == []
    assert refused(oauth_sandbox) == 1  # one 401, the token renewed, the request sent again
    assert exchanges(oauth_sandbox, 200) == 2
    task = oauth_sandbox.world.task(NEW_TASK)
    assert task.assignee is not None
    assert task.assignee.email != ANNA
    assert cycle(fleet).errors == []  # and the next cycle is quiet
    assert exchanges(oauth_sandbox, 200) == 2


def test_a_revoked_authorisation_fails_that_client_alone_with_a_clear_message(
    oauth_sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    oauth_sandbox.world.revoke_refresh_token(REFRESH)
    fleet = make_fleet(oauth_sandbox, store, rules_dir, clock)
    reports = {r.client: r for r in fleet.cycle_all(load_clients(rules_dir))}
    agency, solo = reports["small-agency"], reports["solo-consultant"]
    assert agency.errors == [f"{REVOKED_ADVICE} (the refresh token in $NORTHWIND_REFRESH)"]
    assert [e.kind for e in agency.cycle_errors] == [ErrorKind.TOKEN]
    assert agency.counts[Count.CLIENT_FAILED] == 1
    assert solo.errors == []
    assert solo.counts[Count.TASKS_SEEN] > 0
    assert exchanges(oauth_sandbox, 400) == 1


def test_revoked_while_running_the_client_fails_saying_why_the_others_go_on(
    oauth_sandbox: SandboxServer, store: SqlStore, rules_dir: Path, clock: ManualClock
) -> None:
    fleet = make_fleet(oauth_sandbox, store, rules_dir, clock)
    assert cycle(fleet).errors == []
    oauth_sandbox.world.revoke_refresh_token(REFRESH)  # its access tokens stop too
    touch(oauth_sandbox)
    during = cycle(fleet)  # refused, the renewal refused: this cycle fails, and says why
    assert during.errors == [
        "the token was refused: GET /tasks: 401 Unauthorized: Not Authorized; "
        f"{REVOKED_ADVICE} (the refresh token in $NORTHWIND_REFRESH)"
    ]
    after = cycle(fleet)
    assert after.errors == [f"{REVOKED_ADVICE} (the refresh token in $NORTHWIND_REFRESH)"]
    assert exchanges(oauth_sandbox, 400) == 1  # not asked again with the refused token
    assert cycle(fleet, "solo-consultant").errors == []


def test_no_secret_reaches_the_logs_the_reports_or_the_store(
    oauth_sandbox: SandboxServer,
    store: SqlStore,
    rules_dir: Path,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fleet = make_fleet(oauth_sandbox, store, rules_dir, clock)
    reports = [cycle(fleet)]
    clock.advance(hours=1)
    touch(oauth_sandbox)
    reports.append(cycle(fleet))
    oauth_sandbox.world.revoke_refresh_token(REFRESH)
    clock.advance(hours=1)
    reports.append(cycle(fleet))
    access = {e.token for e in oauth_sandbox.requests.entries() if e.token}
    assert len(access) == 2
    secrets = {CLIENT_SECRET, REFRESH, *access}
    store.close()
    stored = b"".join(p.read_bytes() for p in (rules_dir.parent / "state").iterdir())
    shown = [caplog.text, *(str(vars(r)) for r in caplog.records), *map(repr, reports)]
    for secret in secrets:
        assert secret.encode() not in stored, secret
        assert not any(secret in text for text in shown), secret


# ---------------------------------------------------------------- the sandbox's endpoint


APP: dict[str, object] = {
    "client_id": CLIENT_ID,
    "client_secret": CLIENT_SECRET,
    "access_token_lifetime": 600,
}
ADA = {"name": "Ada", "email": "ada@acme.example", "refresh_token": REFRESH}
FIXTURE: dict[str, object] = {
    "oauth_app": APP,
    "workspaces": [{"name": "Acme", "gid": "1000", "users": [ADA]}],
}


@pytest.fixture
def acme(clock: ManualClock) -> Iterator[SandboxServer]:
    faults = Faults(monotonic=clock.monotonic)
    with SandboxServer.from_fixture(FIXTURE, clock=clock, faults=faults) as server:
        yield server


def exchange(server: SandboxServer, **form: str) -> requests.Response:
    fields = {"grant_type": "refresh_token", "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET, "refresh_token": REFRESH, **form}  # fmt: skip
    return requests.post(server.token_url, data=fields, timeout=5)


def me(server: SandboxServer, token: str) -> int:
    answer = requests.get(
        f"{server.base_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    return answer.status_code


def test_the_sandbox_exchanges_a_refresh_token_as_asana_does(
    acme: SandboxServer, clock: ManualClock
) -> None:
    answer = exchange(acme)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    assert body["data"]["email"] == "ada@acme.example"
    assert me(acme, body["access_token"]) == 200
    clock.advance(seconds=599)
    assert me(acme, body["access_token"]) == 200
    clock.advance(seconds=1)
    assert me(acme, body["access_token"]) == 401  # expired on the sandbox's clock
    assert acme.token_url == acme.base_url.removesuffix("/api/1.0") + TOKEN_PATH
    [logged] = [e for e in acme.requests.entries() if e.path == TOKEN_PATH]
    assert (logged.body, logged.token, logged.status) == (None, None, 200)


def test_the_sandbox_refuses_as_asana_does(acme: SandboxServer) -> None:
    wrong_secret = exchange(acme, client_secret="not-the-secret")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    unknown = exchange(acme, refresh_token="1/never-issued")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_grant")
    code = exchange(acme, grant_type="authorization_code")
    assert code.json()["error"] == "unsupported_grant_type"
    acme.faults.fail_next(REFRESH)
    assert exchange(acme).status_code == 500
    assert exchange(acme).status_code == 200
    acme.faults.revoke(REFRESH)
    assert exchange(acme).json()["error"] == "invalid_grant"


def test_revoking_in_the_world_stops_the_access_tokens_too(acme: SandboxServer) -> None:
    token = exchange(acme).json()["access_token"]
    acme.world.revoke_refresh_token(REFRESH)
    assert me(acme, token) == 401
    assert exchange(acme).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"oauth_app": {"client_id": CLIENT_ID}}, "oauth_app.client_secret"),
        (
            {"oauth_app": {**APP, "access_token_lifetime": 0}},
            "oauth_app.access_token_lifetime",
        ),
        ({"oauth_app": {**APP, "scopes": "x"}}, "oauth_app.scopes"),
    ],
)
def test_a_wrong_oauth_app_in_a_fixture_is_located(change: dict[str, object], where: str) -> None:
    with pytest.raises(FixtureError) as caught:
        load_world({**FIXTURE, **change})
    assert caught.value.where == where


def test_a_refresh_token_in_a_fixture_is_a_non_empty_string() -> None:
    users = [{"name": "Ada", "email": "ada@acme.example", "refresh_token": ""}]
    broken = {**FIXTURE, "workspaces": [{"name": "Acme", "users": users}]}
    with pytest.raises(FixtureError) as caught:
        load_world(broken)
    assert caught.value.where == "workspaces[0].users[0].refresh_token"


def test_access_tokens_last_an_hour_by_default() -> None:
    world = load_world(
        {"workspaces": FIXTURE["workspaces"], "oauth_app": {"client_id": "1", "client_secret": "s"}}
    )
    assert world.access_token_lifetime == timedelta(hours=1)
