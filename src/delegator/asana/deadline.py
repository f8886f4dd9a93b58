"""An overall deadline per HTTP attempt: the connection, the request and the whole answer.

``requests``' timeouts bound each socket operation, not the request: an answer trickled a byte
at a time never trips a read timeout, and can hold a cycle (and its client's lock) for as long as
the other end likes. Here each attempt runs under a `Deadline`: the transport's sessions use
connection classes that tell the attempt's deadline (kept per thread) which connection is theirs
and which socket the answer is read from; when the time is up a timer shuts that socket down,
which ends a blocked or trickling read at once, and the transport reports the attempt as a
`TransportError` (the request may have reached Asana).

The timer is started only when a real connection is used (a mocked adapter costs nothing), and
it touches a connection only while the attempt still owns it, so a connection handed back to the
pool and taken by another thread is never shut down by a late timer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

_current = threading.local()
_owners_lock = threading.Lock()


class Deadline:
    """The time one attempt may take, from its start to the last byte of the answer."""

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("a deadline is a positive number of seconds")
        self.seconds = seconds
        self._ends = time.monotonic() + seconds
        self._timer: threading.Timer | None = None
        self._connection: Any = None  # the urllib3 connection this attempt is using
        self._socket: socket.socket | None = None  # the socket its answer is read from
        self.expired = False

    def __enter__(self) -> Deadline:
        self._ends = time.monotonic() + self.seconds
        _current.deadline = self
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.deadline = None
        with _owners_lock:
            timer, self._timer = self._timer, None
            if self._connection is not None and _owner(self._connection) is self:
                self._connection._delegator_deadline = None
            self._connection = self._socket = None
        if timer is not None:
            timer.cancel()

    # ------------------------------------------------------------ called by the connections
    def claim(self, connection: Any) -> None:
        """`connection` is about to send this attempt's request."""
        with _owners_lock:
            previous = self._connection
            if previous is not None and _owner(previous) is self:
                previous._delegator_deadline = None
            connection._delegator_deadline = self
            self._connection = connection
            self._socket = None

    def reading(self, connection: Any, sock: socket.socket | None) -> None:
        """`connection` starts reading the answer from `sock`: arm the timer."""
        remaining = self._ends - time.monotonic()
        with _owners_lock:
            if _owner(connection) is not self:
                return
            self._socket = sock
            if remaining <= 0:
                self.expired = True
            elif self._timer is None:
                self._timer = threading.Timer(remaining, self._expire)
                self._timer.daemon = True
                self._timer.start()
        if remaining <= 0 and sock is not None:
            _shutdown(sock)

    def _expire(self) -> None:
        with _owners_lock:
            self.expired = True
            connection, sock = self._connection, self._socket
            if connection is None or _owner(connection) is not self:
                return
        if sock is not None:
            _shutdown(sock)


def _owner(connection: Any) -> Deadline | None:
    owner = getattr(connection, "_delegator_deadline", None)
    return owner if isinstance(owner, Deadline) else None


def _current_deadline() -> Deadline | None:
    deadline = getattr(_current, "deadline", None)
    return deadline if isinstance(deadline, Deadline) else None


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for TLS: ends a read blocked in another thread without
    # touching the TLS object that thread is using. Already closed: nothing is waiting on it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _claim(connection: HTTPConnection) -> None:
    deadline = _current_deadline()
    if deadline is not None:
        deadline.claim(connection)


def _reading(connection: HTTPConnection) -> None:
    deadline = _current_deadline()
    if deadline is not None:
        # Kept now: http.client drops the connection's socket when the answer takes it over.
        deadline.reading(connection, connection.sock)


class WatchedHTTPConnection(HTTPConnection):
    """Reports to the attempt's deadline: the request is this attempt's, the answer is read."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        _claim(self)
        super().request(*args, **kwargs)

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        _reading(self)
        return super().getresponse()


class WatchedHTTPSConnection(HTTPSConnection):
    """`WatchedHTTPConnection` over TLS."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        _claim(self)
        super().request(*args, **kwargs)

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        _reading(self)
        return super().getresponse()


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


_POOLS = {"http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections honour the attempt's `Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
