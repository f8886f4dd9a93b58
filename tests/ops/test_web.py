"""The operations endpoint over real HTTP: liveness, readiness with its reasons, metrics; and the
readiness the running service reports (its store, its scheduler, its clients, and with replicas,
who holds each client and how its lease rounds go)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from delegator.bootstrap import Fleet
from delegator.clock import ManualClock
from delegator.health import ClientHealth, ClientState, Readiness
from delegator.leases import LeaseTimes, Ownership, identity
from delegator.metrics import Metrics
from delegator.ports import ReplicaIdentity
from delegator.scheduler import Service
from delegator.settings import Settings
from delegator.store import SqlStore, StoreError
from delegator.web import OpsServer, WebError

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
EXAMPLES = Path("examples")
OK = {"settings": "ok", "store": "ok", "scheduler": "ok"}


def picture(*clients: tuple[str, bool], **checks: str) -> Readiness:
    healths = [
        ClientHealth(ClientState(key, key.title(), None), "ok" if ok else "failing", ok, "why")
        for key, ok in clients
    ]
    return Readiness(NOW, {**OK, **checks}, healths)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[], Readiness]], OpsServer]]:
    servers: list[OpsServer] = []

    def start(readiness: Callable[[], Readiness], metrics: Metrics | None = None) -> OpsServer:
        server = OpsServer("127.0.0.1", 0, readiness=readiness, metrics=metrics or Metrics())
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def get(server: OpsServer, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=5)


def test_healthz_answers_while_the_process_lives(serve: Callable[..., OpsServer]) -> None:
    server = serve(lambda: picture())
    response = get(server, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert requests.head(server.url + "/healthz", timeout=5).status_code == 200


def test_readyz_is_200_or_503_with_the_reasons(serve: Callable[..., OpsServer]) -> None:
    answers = iter(
        [
            picture(("agency", True), ("solo", False)),
            picture(("agency", False), ("solo", False)),
            picture(("agency", True), store="the database at sqlite:///x failed: disk I/O error"),
        ]
    )
    server = serve(lambda: next(answers))
    first = get(server, "/readyz")
    assert first.status_code == 200
    body = first.json()
    assert body["ready"] is True
    assert [(c["client"], c["healthy"], c["reason"]) for c in body["clients"]] == [
        ("agency", True, "why"),
        ("solo", False, "why"),
    ]
    assert get(server, "/readyz?verbose=1").status_code == 503  # every client fails
    third = get(server, "/readyz")
    assert third.status_code == 503
    assert third.json()["checks"]["store"].endswith("disk I/O error")


def test_a_readiness_check_that_raises_is_503_not_a_traceback(
    serve: Callable[..., OpsServer],
) -> None:
    def broken() -> Readiness:
        raise RuntimeError("the scheduler is gone")

    response = get(serve(broken), "/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "error": "the readiness check failed: the scheduler is gone",
    }


def test_metrics_in_the_prometheus_format(serve: Callable[..., OpsServer]) -> None:
    metrics = Metrics()
    metrics.summary_sent("agency", "summary", "asana", "sent")
    response = get(serve(lambda: picture(), metrics), "/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    families = {f.name for f in text_string_to_metric_families(response.text)}
    assert {"delegator_summary_sends", "delegator_build_info"} <= families


def test_an_unknown_path_is_404_naming_the_paths(serve: Callable[..., OpsServer]) -> None:
    response = get(serve(lambda: picture()), "/admin")
    assert response.status_code == 404
    assert response.json()["paths"] == ["/healthz", "/readyz", "/metrics"]


def test_a_port_in_use_is_a_clear_start_up_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = OpsServer("127.0.0.1", port, readiness=picture, metrics=Metrics())
        with pytest.raises(WebError) as caught:
            server.start()
    message = str(caught.value)
    assert message.startswith(f"cannot listen on 127.0.0.1:{port} for /healthz, /readyz and ")
    assert "DELEGATOR_HTTP_PORT" in message


def test_the_server_stops_and_frees_its_port() -> None:
    server = OpsServer("127.0.0.1", 0, readiness=picture, metrics=Metrics()).start()
    port = server.port
    server.stop()
    server.stop()  # twice is harmless
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))
    with pytest.raises(RuntimeError):
        _ = server.port


# ---------------------------------------------------------------------- the service's readiness
@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", folder / "agency.yaml")
    (folder / "broken.yaml").write_text("version: 1\nclient: {name: B}\n", encoding="utf-8")
    return folder


def test_the_service_reports_its_store_scheduler_and_clients(
    rules: Path, database_url: str, serve: Callable[..., OpsServer]
) -> None:
    store = SqlStore(database_url)
    store.migrate()
    fleet = Fleet(Settings(rules_dir=rules), store, environ={})  # no token: agency fails
    service = Service(fleet, rules)
    service.start()
    try:
        server = serve(service.readiness)
        starting = get(server, "/readyz")
        body = starting.json()
        assert body["checks"] == OK
        clients = {c["client"]: c for c in body["clients"]}
        assert clients["broken"]["status"] == "invalid"
        assert "broken.yaml" in clients["broken"]["reason"]
        # The first cycle runs at once; without its token the client fails, and with it the
        # only usable client, the service is not ready.
        service._cycle("agency")
        failing = get(server, "/readyz")
        assert failing.status_code == 503
        agency = {c["client"]: c for c in failing.json()["clients"]}["agency"]
        assert agency["status"] == "failing"
        assert agency["reason"] == "the environment variable ASANA_TOKEN_NORTHWIND is not set"
        assert agency["next_cycle_at"] is not None
    finally:
        service.stop()
    stopped = get(server, "/readyz")
    assert stopped.status_code == 503
    assert stopped.json()["checks"]["scheduler"] == "stopping"


def test_an_unreachable_database_makes_the_service_unready_without_its_password(
    rules: Path, tmp_path: Path, serve: Callable[..., OpsServer]
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql+psycopg://delegator:s3cret-pw@127.0.0.1:{port}/nowhere"
    fleet = Fleet(Settings(rules_dir=rules, database_url=url), SqlStore(url), environ={})
    service = Service(fleet, rules)
    response = get(serve(service.readiness), "/readyz")
    assert response.status_code == 503
    store = response.json()["checks"]["store"]
    assert store.startswith("the database at postgresql+psycopg://delegator:***@127.0.0.1:")
    assert "s3cret-pw" not in response.text
    assert response.json()["checks"]["scheduler"] == "not running"


def test_readyz_shows_who_holds_each_client_and_judges_the_replica_on_its_own(
    rules: Path, database_url: str, serve: Callable[..., OpsServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clients: this replica (web-a) holds one, whose token is missing, so it fails; a one-off
    `delegator once` elsewhere (web-b) holds the other. The other is fine here, but does not make
    web-a ready: web-a is judged on what it holds. Then web-a's lease rounds fail for longer than
    a lease lasts, and the "leases" check says so."""
    shutil.copy(EXAMPLES / "solo-consultant.yaml", rules / "solo.yaml")
    store = SqlStore(database_url)
    store.migrate()
    clock = ManualClock(datetime.now(UTC))
    other = ReplicaIdentity("web-b#1", "web-b", "b.example", 4242, clock.now())
    [taken] = store.acquire_leases(other, ["solo"], period=600, at=clock.now())
    me = identity("web-a", clock.now())
    times = LeaseTimes(timedelta(seconds=60), timedelta(seconds=10))
    ownership = Ownership(store, me, times, clock=clock, monotonic=clock.monotonic)
    fleet = Fleet(Settings(rules_dir=rules), store, environ={}, clock=clock, ownership=ownership)
    service = Service(fleet, rules)
    service.start()
    keeper = service.keeper
    assert keeper is not None
    keeper.stop()  # the rounds in the test's hands from here
    try:
        server = serve(service.readiness)
        service._cycle("agency")  # no token: it fails
        response = get(server, "/readyz")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["checks"]["leases"] == "ok"
        assert body["replica"]["id"] == "web-a"
        assert body["replica"]["live_replicas"] == ["web-a"]  # a one-off is no member
        assert body["replica"]["leases_held"] == 1
        assert body["replica"]["last_round_error"] is None
        assert body["replica"]["last_round_at"] is not None
        assert body["replica"]["last_good_round_at"] == body["replica"]["last_round_at"]
        clients = {c["client"]: c for c in body["clients"]}
        agency, solo = clients["agency"], clients["solo"]
        assert agency["status"] == "failing"
        assert agency["lease"]["state"] == "here"
        assert agency["lease"]["replica"] == "web-a"
        assert agency["lease"]["token"] == 1
        assert solo["status"] == "elsewhere"
        assert solo["healthy"] is True
        assert solo["reason"].startswith("replica web-b holds its lease (for ")
        [record] = [r for r in store.leases() if r.client == "solo"]
        assert solo["lease"] == {
            "state": "elsewhere",
            "replica": "web-b",
            "since": record.acquired_at.isoformat() if record.acquired_at else None,
            "expires": record.expires_at.isoformat() if record.expires_at else None,
            "token": taken.fence.token,
        }

        def no_database(*args: object, **kwargs: object) -> None:
            raise StoreError("the database at sqlite:///x failed: connection refused")

        monkeypatch.setattr(store, "lease_round", no_database)
        clock.advance(seconds=30)
        keeper.tick()  # failed, but the lease still has 30 s: a warning
        body = get(server, "/readyz").json()
        assert body["checks"]["leases"] == "ok"
        assert body["warnings"] == [
            "the last lease round failed; the leases last 30s more unrenewed: the database at "
            "sqlite:///x failed: connection refused"
        ]
        clock.advance(seconds=35)
        keeper.tick()
        response = get(server, "/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["leases"] == (
            "the lease rounds have failed for 65s, longer than a lease lasts (60s): this "
            "replica's leases have run out and other replicas take its clients: the database at "
            "sqlite:///x failed: connection refused"
        )
        assert body["replica"]["leases_held"] == 0
        assert body["replica"]["last_round_error"].endswith("connection refused")
        # By its own clock its hold ran out; by the database's it has not yet: "expired" here.
        agency = {c["client"]: c for c in body["clients"]}["agency"]
        assert agency["lease"]["state"] == "expired"
        assert agency["lease"]["replica"] == "web-a"
    finally:
        monkeypatch.undo()
        service.stop()
