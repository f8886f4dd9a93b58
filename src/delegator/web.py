"""The operations endpoint: ``/healthz``, ``/readyz`` and ``/metrics``.

Three small read-only answers for an orchestrator and Prometheus need no web framework: the
standard library's threading HTTP server runs in a daemon thread beside the scheduler.

- ``/healthz``: 200 while the process can answer at all (liveness).
- ``/readyz``: 200 or 503, with a JSON body: the service's checks and each client's health (see
  ``health.py`` for what makes it ready, and why one failing client does not).
- ``/metrics``: the Prometheus text format.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from delegator.health import Readiness
from delegator.logs import get_logger
from delegator.loopback import local_url
from delegator.metrics import CONTENT_TYPE, Metrics


class WebError(Exception):
    """The endpoint cannot listen where the settings say; the message says where and why."""


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    readiness: Callable[[], Readiness]
    metrics: Metrics

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A prober hanging up early is not worth a traceback; anything else is logged.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            get_logger().warning("web_request_failed", error=repr(sys.exc_info()[1]))


class _HttpServer6(_HttpServer):
    address_family = socket.AF_INET6  # for an IPv6 host such as "::"


class _Handler(BaseHTTPRequestHandler):
    server_version = "delegator"
    timeout = 10  # a prober that never finishes its request does not keep a thread
    server: _HttpServer

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/healthz":
            self._reply(200, "application/json", b'{"status": "alive"}\n', send_body)
        elif path == "/readyz":
            status, body = self._readiness()
            self._reply(status, "application/json", body, send_body)
        elif path == "/metrics":
            self._reply(200, CONTENT_TYPE, self.server.metrics.exposition(), send_body)
        else:
            missing = {"error": "not found", "paths": ["/healthz", "/readyz", "/metrics"]}
            self._reply(404, "application/json", json.dumps(missing).encode() + b"\n", send_body)

    def _readiness(self) -> tuple[int, bytes]:
        try:
            picture = self.server.readiness()
        except Exception as exc:  # never a traceback to a prober; the reason is in the body
            body = {"ready": False, "error": f"the readiness check failed: {exc}"}
            return 503, json.dumps(body).encode() + b"\n"
        answer = json.dumps(picture.as_json(), indent=2).encode() + b"\n"
        return (200 if picture.ready else 503), answer

    def _reply(self, status: int, content_type: str, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: probes every few seconds would drown the service's own lines."""


class OpsServer:
    """The endpoint on ``host:port`` (port 0 here: any free port, for tests; the ``run`` command
    does not start it at all when ``http.port`` is 0). A context manager that starts and stops."""

    def __init__(
        self, host: str, port: int, *, readiness: Callable[[], Readiness], metrics: Metrics
    ) -> None:
        self.host = host
        self._port = port
        self._readiness = readiness
        self._metrics = metrics
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Listen, or raise WebError (the port is taken, the address is not this machine's)."""
        if self._httpd is not None:
            return self
        try:
            kind = _HttpServer6 if ":" in self.host else _HttpServer
            httpd = kind((self.host, self._port), _Handler)
        except OSError as exc:
            raise WebError(
                f"cannot listen on {self.host}:{self._port} for /healthz, /readyz and /metrics: "
                f"{exc.strerror or exc} (set http.port or DELEGATOR_HTTP_PORT; 0 turns it off)"
            ) from None
        httpd.readiness = self._readiness
        httpd.metrics = self._metrics
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="ops-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the endpoint is not running: call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Where this machine reaches the endpoint (loopback when it listens everywhere)."""
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
