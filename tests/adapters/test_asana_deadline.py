"""The overall deadline of a request attempt, against a real server on loopback that trickles.

The server writes one byte every 0.2 s: each socket read gets a byte well within the read
timeout, so only a deadline on the whole attempt stops the client. Without one, the answer of
these tests would take 10 s or more and then succeed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from asana_fakes import START

from delegator.asana import AsanaClient, BudgetRegistry, Limits, RetryPolicy, Timeouts
from delegator.asana.errors import TransportError
from delegator.clock import ManualClock

DRIP = 0.2  # seconds between bytes
BODY = b'{"data": {"gid": "1", "name": "' + b"x" * 40 + b'"}}'
HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(
    BODY
)


@dataclass
class DripServer:
    """Answers every request with HEADERS + BODY, trickled from `drip_from` on."""

    drip_from: int  # bytes of the answer sent at once before the trickle starts
    sock: socket.socket = field(default_factory=socket.socket)
    stop: threading.Event = field(default_factory=threading.Event)
    requests: int = 0

    def __post_init__(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api/1.0"

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request (small, one read)
                self.requests += 1
                answer = HEADERS + BODY
                conn.sendall(answer[: self.drip_from])
                for index in range(self.drip_from, len(answer)):
                    if self.stop.is_set():
                        return
                    conn.sendall(answer[index : index + 1])
                    time.sleep(DRIP)
            except OSError:
                return  # the client hung up: what the deadline does


@pytest.fixture(params=["headers", "body"])
def server(request: pytest.FixtureRequest) -> Iterator[DripServer]:
    # "headers": the status line itself trickles; "body": headers at once, then the body.
    made = DripServer(drip_from=5 if request.param == "headers" else len(HEADERS))
    thread = threading.Thread(target=made.serve, daemon=True)
    thread.start()
    yield made
    made.stop.set()
    thread.join(timeout=2)
    made.sock.close()


def _client(server: DripServer, total: float) -> AsanaClient:
    clock = ManualClock(START)
    return AsanaClient(
        "0/drip-token",
        base_url=server.base_url,
        timeouts=Timeouts(connect=2.0, read=5.0, total=total),
        retry=RetryPolicy(max_attempts=2, jitter=lambda ceiling: ceiling),
        limits=Limits(requests_per_minute=1500),
        clock=clock,
        sleep=clock.sleep,  # backoff takes no real time
        budgets=BudgetRegistry(),
    )


@pytest.mark.slow
def test_an_answer_trickled_past_the_deadline_is_a_transport_error(server: DripServer) -> None:
    started = time.monotonic()
    with _client(server, total=0.6) as client, pytest.raises(TransportError) as caught:
        client.get_task("1", ("name",))
    elapsed = time.monotonic() - started

    # Two attempts of 0.6 s each, give or take a drip: not the 10 s and more the answer takes.
    assert elapsed < 2.5, f"took {elapsed:.1f} s"
    assert server.requests == 2
    error = caught.value
    assert "within 0.6 s (the deadline)" in str(error)
    assert str(error).startswith("GET /tasks/1: ")
    assert error.may_have_reached_server  # a write may have been carried out


@pytest.mark.slow
def test_a_write_past_the_deadline_may_have_been_carried_out(server: DripServer) -> None:
    with _client(server, total=0.4) as client, pytest.raises(TransportError) as caught:
        client.assign("1", "42")
    assert caught.value.may_have_executed


def test_a_quick_answer_is_unaffected_by_the_deadline() -> None:
    made = DripServer(drip_from=len(HEADERS) + len(BODY))  # everything at once
    thread = threading.Thread(target=made.serve, daemon=True)
    thread.start()
    try:
        with _client(made, total=2.0) as client:
            for _ in range(3):  # each attempt with a deadline of its own
                assert client.get_task("1", ("name",))["gid"] == "1"
    finally:
        made.stop.set()
        thread.join(timeout=2)
        made.sock.close()


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Timeouts(total=0)
