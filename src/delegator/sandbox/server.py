"""The sandbox as an HTTP server on loopback, and the handle tests and the demo hold.

``SandboxServer`` binds when started (port 0: any free port), serves each connection in its own
thread, and exposes the world, the faults and the request log of the running server.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from delegator.sandbox.api import API_PREFIX, Api
from delegator.sandbox.clock import Clock, system_clock
from delegator.sandbox.endpoints_oauth import TOKEN_PATH, is_token_request, token_endpoint
from delegator.sandbox.faults import Faults
from delegator.sandbox.fixtures import load_world
from delegator.sandbox.requestlog import RequestLog
from delegator.sandbox.webhooks import Webhooks
from delegator.sandbox.world import World

DEMO_WORLD: Final = "demo.yaml"


def world_path(name: str = DEMO_WORLD) -> Path:
    """The path of a fixture shipped in ``delegator/sandbox/worlds/`` (the demo world by default)."""
    return Path(str(resources.files("delegator.sandbox").joinpath("worlds", name)))


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    api: Api

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-request is not the sandbox's failure; anything else is.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients' connection pools expect
    server_version = "delegator-sandbox"
    timeout = 30  # an idle keep-alive connection is closed after this long
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stalls
    server: _HttpServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        api = self.server.api
        if is_token_request(self.path):  # beside /api/1.0, as Asana's
            reply = token_endpoint(
                api.world, api.faults, api.log, method, dict(self.headers.items()), body
            )
        else:
            reply = api.handle(method, self.path, dict(self.headers.items()), body)
        headers = dict(reply.headers)
        if isinstance(reply.body, bytes):  # not JSON: a garbled answer (faults.garbage)
            payload = reply.body
            content_type = headers.pop("Content-Type", "application/octet-stream")
        else:
            payload = json.dumps(reply.body, indent=2 if reply.pretty else None).encode()
            content_type = "application/json; charset=UTF-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header from the world's clock, so clients reading it agree with modified_at."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return format_datetime(self.server.api.world.clock.now(), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log records every request (see RequestLog.subscribe)."""


class SandboxServer:
    """An Asana-compatible server over a :class:`World`; a context manager that starts and stops it.

    Strict by default: a request Asana's spec refuses is answered 400 (see strict.py).
    ``lenient={"html_text", ...}`` turns named checks off (``strict.CHECKS`` lists them).

    >>> with SandboxServer.demo() as sandbox:  # doctest: +SKIP
    ...     requests.get(
    ...         f"{sandbox.base_url}/users/me", headers=sandbox.auth("anna@northwind.example")
    ...     )
    """

    def __init__(
        self,
        world: World,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
        sleep: Callable[[float], None] = time.sleep,
        lenient: Iterable[str] = (),
        webhooks: Mapping[str, Any] | None = None,
    ) -> None:
        self.world = world
        # Webhook timing (webhooks.Webhooks' keywords: batch_window, heartbeat_interval, timeout,
        # retry_base, retry_max, deletion_after); sandbox.webhooks lists them and their deliveries.
        self.webhooks = Webhooks(world, **(webhooks or {}))
        self.faults = faults or Faults()
        self.requests = RequestLog()
        self.api = Api(world, self.faults, self.requests, sleep=sleep, lenient=lenient)
        self._host = host
        self._port = port
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_fixture(
        cls,
        source: str | Path | Mapping[str, Any],
        *,
        clock: Clock = system_clock,
        today: date | None = None,
        **kwargs: Any,
    ) -> SandboxServer:
        """A server over a world loaded from a fixture file or mapping (see fixtures.py)."""
        return cls(load_world(source, clock=clock, today=today), **kwargs)

    @classmethod
    def demo(cls, *, clock: Clock = system_clock, **kwargs: Any) -> SandboxServer:
        """A server over the demo world (Northwind Studio and Fischer Consulting)."""
        return cls.from_fixture(world_path(DEMO_WORLD), clock=clock, **kwargs)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _HttpServer((self._host, self._port), _Handler)
        httpd.api = self.api
        self._httpd = httpd
        self.api.base_url = self.base_url
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        self.webhooks.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        self.webhooks.stop()
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    # ------------------------------------------------------------------ addresses and people
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running: call start() or use it in a with block")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the server's root."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/1.0``: what a client uses instead of Asana's."""
        return f"{self.url}{API_PREFIX}"

    @property
    def token_url(self) -> str:
        """``http://127.0.0.1:PORT/-/oauth_token``: the OAuth token endpoint (refresh grant)."""
        return f"{self.url}{TOKEN_PATH}"

    def token(self, user: str) -> str:
        """The (first) token of a user named by gid, email or name."""
        person = self.world.user(user)
        if not person.tokens:
            raise KeyError(f"{person.email} has no token")
        return person.tokens[0]

    def auth(self, user: str) -> dict[str, str]:
        """The Authorization header of that user: ``requests.get(url, headers=sandbox.auth(...))``."""
        return {"Authorization": f"Bearer {self.token(user)}"}
