"""The proxy: given explicitly (``asana.proxy``), never taken from the environment, never shown.

A forward proxy on loopback relays the client's requests to the sandbox and records what it was
asked (the absolute URL, the Proxy-Authorization header). The environment's proxy variables
point at a port nothing listens on: were they read, every request would fail.
"""

from __future__ import annotations

import base64
import http.client
import io
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from delegator.asana import AsanaClient, BudgetRegistry, RetryPolicy, TransportError
from delegator.bootstrap import Fleet, open_store
from delegator.clients import load_client
from delegator.clock import ManualClock
from delegator.logs import configure
from delegator.redact import forget_secrets, is_registered, redact_text
from delegator.sandbox import SandboxServer
from delegator.settings import Settings

PASSWORD = "pr0xy-s3cret-Hh7Kk2"
EXAMPLES = Path("examples")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def do_GET(self) -> None:
        self._relay()

    def do_POST(self) -> None:
        self._relay()

    def do_PUT(self) -> None:
        self._relay()

    def do_DELETE(self) -> None:
        self._relay()

    def _relay(self) -> None:
        self.server.seen.append((self.command, self.path, self.headers.get("Proxy-Authorization")))
        target = urlsplit(self.path)  # a proxy is asked for absolute URLs
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            key: value
            for key, value in self.headers.items()
            if key.lower() not in {"proxy-authorization", "proxy-connection", "connection"}
        }
        upstream = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        try:
            path = target.path + (f"?{target.query}" if target.query else "")
            upstream.request(self.command, path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in {"content-length", "transfer-encoding", "connection"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            upstream.close()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[tuple[str, str, str | None]]


@pytest.fixture
def proxy() -> Iterator[_ProxyServer]:
    server = _ProxyServer(("127.0.0.1", 0), _Relay)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def environment_proxies(monkeypatch: pytest.MonkeyPatch) -> str:
    """Proxy variables that lead nowhere: the client must not read them."""
    nowhere = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, nowhere)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return nowhere


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def _client(base_url: str, token: str, proxy_url: str | None) -> AsanaClient:
    clock = ManualClock(datetime.now(UTC))
    return AsanaClient(
        token,
        base_url=base_url,
        proxy=proxy_url,
        retry=RetryPolicy(max_attempts=2, jitter=lambda ceiling: ceiling),
        clock=clock,
        sleep=clock.sleep,  # retries take no real time
        budgets=BudgetRegistry(),
    )


def _proxy_url(server: _ProxyServer) -> str:
    return f"http://agent:{PASSWORD}@127.0.0.1:{server.server_address[1]}"


def test_requests_go_through_the_configured_proxy_with_its_credentials(
    proxy: _ProxyServer,
) -> None:
    with SandboxServer.demo() as sandbox:
        token, base_url = sandbox.token("anna@northwind.example"), sandbox.base_url
        with _client(base_url, token, _proxy_url(proxy)) as client:
            assert client.me()["email"] == "anna@northwind.example"
            workspace = sandbox.world.workspaces[0].gid
            assert client.lookups().tags(workspace)  # a second request, through it too
    assert len(proxy.seen) == 2
    method, target, authorization = proxy.seen[0]
    assert method == "GET"
    assert target == f"{base_url}/users/me?opt_fields=name,email"
    assert authorization == "Basic " + base64.b64encode(f"agent:{PASSWORD}".encode()).decode()


def test_the_environments_proxy_variables_are_not_read(proxy: _ProxyServer) -> None:
    with SandboxServer.demo() as sandbox:
        token = sandbox.token("anna@northwind.example")
        with _client(sandbox.base_url, token, None) as client:
            assert client.me()["email"] == "anna@northwind.example"  # direct, not "nowhere"
        assert len(sandbox.requests.entries()) == 1
    assert proxy.seen == []


def test_the_proxy_url_is_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    proxy_url = f"http://agent:{PASSWORD}@127.0.0.1:{closed_port()}"  # refuses connections
    caplog.set_level(logging.DEBUG)
    with _client("http://asana.invalid/api/1.0", "a-token-0123456789", proxy_url) as client:
        shown = [repr(client), repr(client.transport), str(client.transport)]
        with pytest.raises(TransportError) as caught:
            client.me()
    error = caught.value
    shown += [str(error), repr(error), error.detail]
    shown += [record.getMessage() for record in caplog.records]
    shown += [str(value) for record in caplog.records for value in vars(record).values()]
    for text in shown:
        assert PASSWORD not in text
        assert proxy_url not in text
    assert "connection to Asana failed" in str(error)
    # Registered with the log redactor: whatever carries it later is redacted.
    assert is_registered(proxy_url)
    assert PASSWORD not in redact_text(f"ProxyError({proxy_url!r}) password={PASSWORD}")


def test_a_proxy_is_for_the_transports_own_session() -> None:
    with pytest.raises(ValueError, match="own session"):
        AsanaClient("a-token", proxy="http://127.0.0.1:3128", session=requests.Session())


def _rules(tmp_path: Path) -> Path:
    text = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
    old = "token: { env: ASANA_TOKEN_NORTHWIND }"
    assert old in text
    path = tmp_path / "rules" / "small-agency.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text.replace(old, "token: {env: T}"), encoding="utf-8")
    return path


def test_the_fleet_sends_a_clients_requests_through_the_asana_proxy_setting(
    proxy: _ProxyServer, tmp_path: Path
) -> None:
    stream = io.StringIO()
    configure("json", "debug", stream=stream)
    with SandboxServer.demo() as sandbox:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'state.db'}",
            asana_base_url=sandbox.base_url,
            asana_proxy=_proxy_url(proxy),
        )
        fleet = Fleet(
            settings,
            open_store(settings),
            environ={"T": sandbox.token("anna@northwind.example")},
            clock=ManualClock(datetime.now(UTC)),
        )
        try:
            report = fleet.cycle(load_client(_rules(tmp_path)), dry_run=True)
        finally:
            fleet.close()
        relayed = len(sandbox.requests.entries())
    assert not report.errors, report.errors
    assert relayed > 0
    assert len(proxy.seen) == relayed  # every request of the cycle went through the proxy
    assert PASSWORD not in stream.getvalue()
