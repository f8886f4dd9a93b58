"""An ASGI app served by uvicorn on a background thread: `AppServer`, for the webhook receiver
and the status page alike.

`start()` binds the socket itself (so a taken port is an `AppServerError` at once, and port 0
picks a free port, reported by `port`), then runs uvicorn's ``Server`` on its own thread and
event loop; `stop()` stops accepting, lets requests in flight finish (up to
``graceful_timeout``) and joins the thread. uvicorn installs no signal handlers off the main
thread, so the service's own handling of SIGTERM is untouched.

Settings that matter for an endpoint on the internet:

* ``limit_concurrency``: connections and tasks beyond it get 503 at once, not a queue;
* ``timeout_keep_alive``: an idle keep-alive connection is closed after it;
* ``head_timeout``: a connection whose request line and headers are not complete within it is
  closed. uvicorn has no such timeout (its keep-alive timer only runs between requests), so a
  client sending nothing, or headers a byte at a time (slowloris), would hold one of the
  ``limit_concurrency`` places for ever;
* ``h11_max_incomplete_event_size``: the request line and headers are capped (16 KiB);
* no access log: a path may carry a secret (a webhook key, a signed link); the apps log what
  they need themselves. ``log_config=None`` leaves the process's logging as ``delegator.logs``
  set it (uvicorn would otherwise install its own);
* no ``Server`` header, no proxy headers trusted (``proxy_headers=False``).

TLS is expected to end in front (a load balancer or reverse proxy).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Self

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from delegator.logs import get_logger
from delegator.loopback import local_url


class AppServerError(Exception):
    """The app cannot listen, or did not start; the message says where and why."""


class _HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head is not complete within
    ``head_timeout`` seconds of the connection or of the head's first bytes (a new request on a
    kept-alive connection). tests/adapters/test_webhook_receiver.py holds this to uvicorn's
    internals (``conn``, ``loop``, ``transport``) at each upgrade."""

    head_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # the head is still incomplete
            if self._head_timer is None:
                self._arm_head_timer()
        else:
            self._disarm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


class AppServer:
    """An ASGI app on ``host:port`` (0: any free port). A context manager.

    ``purpose`` completes "cannot listen on HOST:PORT ..." (e.g. "for Asana webhooks"),
    ``name`` the app's name in messages ("the webhook receiver"), ``component`` and ``event``
    its log lines (``<event>_listening``, ``<event>_failed``), ``error`` the exception raised."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        purpose: str,
        name: str,
        component: str,
        event: str,
        error: type[AppServerError] = AppServerError,
        limit_concurrency: int = 64,
        timeout_keep_alive: int = 5,
        head_timeout: float = 10.0,
        graceful_timeout: int = 5,
        start_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self._purpose, self._name, self._component, self._event = purpose, name, component, event
        self._error = error
        self._requested_port = port
        self._limit_concurrency = limit_concurrency
        self._timeout_keep_alive = timeout_keep_alive
        self._head_timeout = head_timeout
        self._graceful_timeout = graceful_timeout
        self._start_timeout = start_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None
        self._failure: BaseException | None = None

    def start(self) -> Self:
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server((self.host, self._requested_port), family=family)
        except OSError as exc:
            raise self._error(
                f"cannot listen on {self.host}:{self._requested_port} {self._purpose}: "
                f"{exc.strerror or exc}"
            ) from None
        head_timeout = self._head_timeout

        class Protocol(_HeadTimeoutProtocol):
            pass

        Protocol.head_timeout = head_timeout
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=int(sock.getsockname()[1]),
            http=Protocol,
            loop="asyncio",
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            limit_concurrency=self._limit_concurrency,
            timeout_keep_alive=self._timeout_keep_alive,
            timeout_graceful_shutdown=self._graceful_timeout,
            h11_max_incomplete_event_size=16 * 1024,
        )
        server = uvicorn.Server(config)
        self._failure = None

        def serve() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # SystemExit from uvicorn included: reported by start
                self._failure = exc
                get_logger(component=self._component).error(
                    f"{self._event}_failed", error=repr(exc)
                )

        thread = threading.Thread(
            target=serve, name=f"{self._component}-http-{sock.getsockname()[1]}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(self._start_timeout)
                sock.close()
                raise self._error(f"{self._name} did not start on {self.host}: {self._failure!r}")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        self._port = int(sock.getsockname()[1])
        get_logger(component=self._component).info(
            f"{self._event}_listening", host=self.host, port=self._port
        )
        return self

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        if server is None:
            return
        server.should_exit = True
        if thread is not None:
            thread.join(self._graceful_timeout + 5)
            if thread.is_alive():  # still draining: stop waiting for connections
                server.force_exit = True
                thread.join(5)
        if sock is not None:
            sock.close()
        self._server = self._thread = self._socket = None
        self._port = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self._name} is not running: call start()")
        return self._port

    @property
    def url(self) -> str:
        """Where this machine reaches the app (loopback when it listens everywhere)."""
        return local_url(self.host, self.port)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
