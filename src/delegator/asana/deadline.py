"""An overall deadline per HTTP attempt: the connection, the request and the whole answer.

``requests``' timeouts bound each socket operation, not the request: an answer trickled a byte
at a time never trips a read timeout, and can hold a cycle (and its client's lock) for as long as
the other end likes. Here each attempt runs under a `Deadline`: the transport's sessions use
connection classes that tell the attempt's deadline (kept per thread) which connection is theirs
and which socket the answer is read from; when the time is up a timer shuts that socket down,
which ends a blocked or trickling read at once, and the transport reports the attempt as a
`TransportError` (the request may have reached Asana).

One watchdog thread serves every attempt of the process (a thread started per request cost more
CPU than the rest of an idle request): a heap of the armed deadlines and a condition variable,
started on first use, a daemon. Arming is a push (the watchdog is woken only when the new
deadline is earlier than the one it sleeps towards), an attempt that ends in time only marks its
entry done, and the watchdog skips done entries without waking for them more than once per
sleep. It touches a connection only while the attempt still owns it, so a connection handed back
to the pool and taken by another thread is never shut down by a late expiry. It is armed only
when a real connection is used (a mocked adapter costs nothing).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
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


class _Entry:
    """An armed deadline in the watchdog's heap; `deadline` None once done (ended or fired)."""

    __slots__ = ("deadline", "ends", "order")

    def __init__(self, ends: float, order: int, deadline: Deadline) -> None:
        self.ends = ends
        self.order = order  # ties broken by arming order
        self.deadline: Deadline | None = deadline

    def __lt__(self, other: _Entry) -> bool:
        return self.ends < other.ends or (self.ends == other.ends and self.order < other.order)


class Watchdog:
    """One daemon thread that expires the deadlines whose time has come, earliest first."""

    #: Done entries are swept out of the heap once they are this many and half of it.
    SWEEP_AT = 64

    def __init__(self, name: str = "asana-deadline") -> None:
        self.name = name
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[_Entry] = []
        self._done = 0  # entries in the heap no longer armed
        self._order = itertools.count()
        # When the watchdog will next look at the heap by itself: an earlier deadline wakes it.
        # -inf while it is not waiting (it looks at the heap before it waits again).
        self._wakes_at = -math.inf
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # the current thread's

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def __len__(self) -> int:
        """Entries in the heap, done ones not yet swept included (tests)."""
        with self._cond:
            return len(self._heap)

    def arm(self, ends: float, deadline: Deadline) -> _Entry:
        """Expire `deadline` (call its ``_expire``) at monotonic time `ends` unless disarmed."""
        entry = _Entry(ends, next(self._order), deadline)
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name=self.name, daemon=True
                )
                self._thread.start()
            elif ends < self._wakes_at:
                self._cond.notify()
        return entry

    def disarm(self, entry: _Entry) -> None:
        """The attempt is over: its deadline will not be expired (a no-op once it was)."""
        with self._cond:
            if entry.deadline is None:
                return
            entry.deadline = None
            self._done += 1
            if self._done >= self.SWEEP_AT and self._done * 2 >= len(self._heap):
                self._heap = [e for e in self._heap if e.deadline is not None]
                heapq.heapify(self._heap)
                self._done = 0

    def close(self) -> None:
        """Stop the thread (tests; the process's watchdog runs as long as the process). Armed
        deadlines are kept: the next `arm` starts a thread again, which expires them."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=5)

    def _run(self, stop: threading.Event) -> None:
        cond, pop = self._cond, heapq.heappop
        while True:
            due: list[Deadline] = []
            with cond:
                if stop.is_set():
                    return
                heap = self._heap
                now = time.monotonic()
                while heap and (heap[0].deadline is None or heap[0].ends <= now):
                    entry = pop(heap)
                    if entry.deadline is None:
                        self._done -= 1
                    else:
                        due.append(entry.deadline)
                        entry.deadline = None
                if not due:
                    self._wakes_at = heap[0].ends if heap else math.inf
                    cond.wait(None if not heap else heap[0].ends - now)
                    self._wakes_at = -math.inf
                    continue
            for deadline in due:  # outside the heap's lock: expiring takes the owners' lock
                deadline._expire()


WATCHDOG = Watchdog()
# A child process has none of its parent's threads: it starts its own watchdog when needed.
os.register_at_fork(after_in_child=WATCHDOG._reset)


class Deadline:
    """The time one attempt may take, from its start to the last byte of the answer."""

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("a deadline is a positive number of seconds")
        self.seconds = seconds
        self._ends = time.monotonic() + seconds
        self._entry: _Entry | None = None  # armed with the watchdog
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
            entry, self._entry = self._entry, None
            if self._connection is not None and _owner(self._connection) is self:
                self._connection._delegator_deadline = None
            self._connection = self._socket = None
        if entry is not None:
            WATCHDOG.disarm(entry)

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
        """`connection` starts reading the answer from `sock`: arm the watchdog."""
        remaining = self._ends - time.monotonic()
        with _owners_lock:
            if _owner(connection) is not self:
                return
            self._socket = sock
            if remaining <= 0:
                self.expired = True
            elif self._entry is None:
                self._entry = WATCHDOG.arm(self._ends, self)
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
