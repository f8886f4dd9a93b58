"""The sandbox's webhooks: handshake, signed deliveries, filters, batching, heartbeats, retries,
deletion after failing, and each delivery fault, against a tiny target server in the test."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from delegator.sandbox import Faults, ManualClock, SandboxServer
from delegator.sandbox.webhooks import ALL_WEBHOOKS

NORTHWIND = "1100000000000001"
OPERATIONS = "1100000000000201"
TASK = "Send November receipts to the accountant"

FAST = {
    "batch_window": 0.05,
    "heartbeat_interval": None,
    "timeout": 2.0,
    "retry_base": 0.05,
    "retry_max": 0.2,
    "deletion_after": 0.6,
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.body)["events"]
        return events


@dataclass
class Target:
    """A webhook receiver: echoes the handshake, records every POST, answers ``status``."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    status: int = 200
    echo: bool = True
    delay: float = 0.0  # seconds before answering a delivery
    stop: Callable[[], None] = lambda: None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def secret(self) -> str:
        return next(
            r.headers["X-Hook-Secret"] for r in self.received if "X-Hook-Secret" in r.headers
        )

    def deliveries(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if "X-Hook-Signature" in r.headers]

    def wait(self, count: int, timeout: float = 3.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries()) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.deliveries()


@pytest.fixture
def target() -> Iterator[Target]:
    state = Target()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
            secret = self.headers.get("X-Hook-Secret")
            if not secret and state.delay:
                time.sleep(state.delay)
            self.send_response(200 if secret else state.status)
            if secret and state.echo:
                self.send_header("X-Hook-Secret", secret)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/asana?client=7"
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.shutdown()
            server.server_close()
            thread.join()

    state.stop = stop
    try:
        yield state
    finally:
        stop()


@pytest.fixture
def make_sandbox(clock: ManualClock) -> Iterator[Callable[..., SandboxServer]]:
    started: list[SandboxServer] = []

    def make(**settings: Any) -> SandboxServer:
        server = SandboxServer.demo(
            clock=clock,
            faults=Faults(monotonic=clock.monotonic),
            webhooks={**FAST, **settings},
        )
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox()


def create(
    sandbox: SandboxServer, target: Target, filters: list[dict[str, Any]] | None = None
) -> requests.Response:
    data: dict[str, Any] = {"resource": OPERATIONS, "target": target.url}
    if filters is not None:
        data["filters"] = filters
    return requests.post(
        f"{sandbox.base_url}/webhooks",
        json={"data": data},
        headers=sandbox.auth("anna@northwind.example"),
        timeout=5,
    )


def signed(received: Received, secret: str) -> bool:
    expected = hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, received.headers["X-Hook-Signature"])


def change(sandbox: SandboxServer, name: str = TASK) -> None:
    world = sandbox.world
    world.comment(world.task(name), "On it", by=world.user("Luca Neri"))


def test_the_handshake_comes_first_and_the_secret_is_in_the_201(
    sandbox: SandboxServer, target: Target
) -> None:
    answer = create(sandbox, target)

    assert answer.status_code == 201
    body = answer.json()
    handshake = target.received[0]
    assert handshake.path == "/hooks/asana?client=7"  # the full target, its query kept
    assert handshake.body == b""
    assert body["X-Hook-Secret"] == handshake.headers["X-Hook-Secret"]
    assert len(body["X-Hook-Secret"]) == 64
    hook = body["data"]
    assert hook["resource"]["gid"] == OPERATIONS
    assert hook["target"] == target.url
    assert hook["active"] is True
    assert hook["resource_type"] == "webhook"
    assert [h.gid for h in sandbox.webhooks.all()] == [hook["gid"]]
    auth = sandbox.auth("anna@northwind.example")
    listed = requests.get(
        f"{sandbox.base_url}/webhooks", params={"workspace": NORTHWIND}, headers=auth, timeout=5
    ).json()["data"]
    assert [h["gid"] for h in listed] == [hook["gid"]]
    one = requests.get(f"{sandbox.base_url}/webhooks/{hook['gid']}", headers=auth, timeout=5)
    assert one.json()["data"]["filters"] == []
    put = requests.put(
        f"{sandbox.base_url}/webhooks/{hook['gid']}",
        json={"data": {"filters": [{"resource_type": "task", "action": "changed"}]}},
        headers=auth,
        timeout=5,
    )
    assert put.json()["data"]["filters"] == [{"resource_type": "task", "action": "changed"}]
    assert requests.delete(f"{sandbox.base_url}/webhooks/{hook['gid']}", headers=auth, timeout=5).ok
    assert sandbox.webhooks.all() == []
    gone = requests.get(f"{sandbox.base_url}/webhooks/{hook['gid']}", headers=auth, timeout=5)
    assert gone.status_code == 404


def test_a_refused_handshake_is_400_and_no_webhook(sandbox: SandboxServer, target: Target) -> None:
    target.echo = False

    answer = create(sandbox, target)

    assert answer.status_code == 400
    assert "handshake" in answer.json()["errors"][0]["message"]
    assert len(target.received) == 1
    assert sandbox.webhooks.all() == []


def test_deliveries_are_signed_over_their_exact_bytes(
    sandbox: SandboxServer, target: Target
) -> None:
    create(sandbox, target)

    change(sandbox)
    sandbox.webhooks.flush()

    (delivery,) = target.wait(1)
    assert signed(delivery, target.secret)
    event = delivery.events[0]
    assert set(event) == {"user", "created_at", "action", "resource", "parent"}  # no change: added
    assert event["action"] == "added"
    assert event["resource"]["resource_type"] == "story"
    assert event["parent"]["resource_type"] == "task"
    assert sandbox.webhooks.deliveries(kind="events")[0].status == 200


def test_filters_pass_only_matching_events(sandbox: SandboxServer, target: Target) -> None:
    create(sandbox, target, filters=[{"resource_type": "task", "action": "changed"}])
    world = sandbox.world
    task = world.task(TASK)

    change(sandbox)  # a story: filtered out
    world.complete(task, by=world.user("Luca Neri"))  # a task changed: passes
    sandbox.webhooks.flush()

    events = [e for d in target.wait(1) for e in d.events]
    assert events
    assert {(e["resource"]["resource_type"], e["action"]) for e in events} == {("task", "changed")}


def test_fields_filter_a_changed_event_by_its_field(sandbox: SandboxServer, target: Target) -> None:
    create(sandbox, target, filters=[{"action": "changed", "fields": ["due_on"]}])
    world = sandbox.world
    world.complete(world.task(TASK), by=world.user("Luca Neri"))
    sandbox.webhooks.flush()
    time.sleep(0.1)

    assert target.deliveries() == []


def test_events_close_together_come_in_one_batch(
    make_sandbox: Callable[..., SandboxServer], target: Target
) -> None:
    sandbox = make_sandbox(batch_window=0.4)
    create(sandbox, target)

    for _ in range(3):  # 0.1 s apart: within the window of the first
        change(sandbox)
        time.sleep(0.1)
    time.sleep(0.4)
    change(sandbox)  # after the window closed: the next batch
    sandbox.webhooks.flush()

    deliveries = target.wait(2)
    assert [len(d.events) for d in deliveries] == [3, 1]


def test_a_change_does_not_wait_for_its_delivery(
    make_sandbox: Callable[..., SandboxServer], target: Target
) -> None:
    sandbox = make_sandbox(timeout=10.0)
    create(sandbox, target)
    target.delay = 3.0  # a delivery answered this late: the change must not wait for it
    world = sandbox.world
    task = world.task(TASK).gid

    started = time.monotonic()
    answer = requests.post(
        f"{sandbox.base_url}/tasks/{task}/stories",
        json={"data": {"text": "Sent"}},
        headers=sandbox.auth("anna@northwind.example"),
        timeout=5,
    )
    elapsed = time.monotonic() - started

    assert answer.status_code == 201
    assert elapsed < 2.0  # well under the delivery's 3 s, however loaded the machine
    assert len(target.wait(1)) == 1


def test_a_heartbeat_is_an_empty_signed_delivery(
    make_sandbox: Callable[..., SandboxServer], target: Target
) -> None:
    sandbox = make_sandbox(heartbeat_interval=0.2)
    create(sandbox, target)

    beats = target.wait(2)

    assert len(beats) >= 2
    assert all(b.body == b'{"events":[]}' and signed(b, target.secret) for b in beats)
    before = len(target.deliveries())
    sandbox.webhooks.heartbeat()
    assert len(target.wait(before + 1)) >= before + 1


def test_failures_are_retried_then_the_webhook_is_deleted(
    sandbox: SandboxServer, target: Target
) -> None:
    gid = create(sandbox, target).json()["data"]["gid"]
    target.status = 500

    change(sandbox)
    deadline = time.monotonic() + 3
    while sandbox.webhooks.all() and time.monotonic() < deadline:
        time.sleep(0.02)

    attempts = [d for d in sandbox.webhooks.deliveries(gid) if d.kind == "events"]
    assert len(attempts) >= 3
    assert all(d.status == 500 for d in attempts)
    gaps = [b.at - a.at for a, b in itertools.pairwise(attempts)]
    # Backing off: each wait at least the doubled one (0.05, 0.1, 0.2 s). Lower bounds only, as
    # a loaded machine can only make a wait longer.
    for n, gap in enumerate(gaps[:2]):
        assert gap >= FAST["retry_base"] * 2**n * 0.9, gaps
    assert sandbox.webhooks.all() == []
    (deleted,) = sandbox.webhooks.deleted()
    assert deleted.active is False
    assert deleted.last_failure_content is not None


@pytest.mark.parametrize("failure", ["refused", "timeout"])
def test_a_refused_or_slow_target_fails_the_delivery(
    make_sandbox: Callable[..., SandboxServer], target: Target, failure: str
) -> None:
    sandbox = make_sandbox(timeout=0.2, deletion_after=0.3)
    create(sandbox, target)
    if failure == "refused":
        target.stop()
    else:
        target.delay = 0.5

    change(sandbox)
    deadline = time.monotonic() + 3
    while sandbox.webhooks.all() and time.monotonic() < deadline:
        time.sleep(0.02)

    attempts = sandbox.webhooks.deliveries(kind="events")
    assert len(attempts) >= 2
    assert all(d.status is None and d.error for d in attempts)
    assert sandbox.webhooks.all() == []


def test_a_failed_delivery_succeeds_on_retry(sandbox: SandboxServer, target: Target) -> None:
    create(sandbox, target)
    target.status = 503

    change(sandbox)
    time.sleep(0.08)
    target.status = 200

    deliveries = target.wait(2)
    assert len(deliveries) >= 2
    assert deliveries[-1].body == deliveries[0].body  # the same events, sent again
    # The sandbox records the success once the answer is back: after the target saw the request.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        (hook,) = sandbox.webhooks.all()
        if hook.last_success_at is not None and hook.delivery_retry_count == 0:
            break
        time.sleep(0.02)
    assert hook.delivery_retry_count == 0
    assert hook.last_success_at is not None


def test_a_lost_delivery_never_arrives(sandbox: SandboxServer, target: Target) -> None:
    create(sandbox, target)
    sandbox.webhooks.faults.lose()

    change(sandbox)
    sandbox.webhooks.flush()
    change(sandbox)
    sandbox.webhooks.flush()

    deliveries = target.wait(1)
    assert len(deliveries) == 1
    assert [d.fault for d in sandbox.webhooks.deliveries(kind="events")] == ["lose", None]


def test_a_duplicated_delivery_arrives_twice(sandbox: SandboxServer, target: Target) -> None:
    gid = create(sandbox, target).json()["data"]["gid"]
    sandbox.webhooks.faults.duplicate(gid)

    change(sandbox)
    sandbox.webhooks.flush()

    first, second = target.wait(2)
    assert first.body == second.body
    assert signed(second, target.secret)


def test_a_delayed_delivery_arrives_late(sandbox: SandboxServer, target: Target) -> None:
    create(sandbox, target)
    sandbox.webhooks.faults.delay(0.4)

    change(sandbox)
    sandbox.webhooks.flush()
    assert target.deliveries() == []

    assert len(target.wait(1, timeout=2)) == 1


def test_two_deliveries_reordered(sandbox: SandboxServer, target: Target) -> None:
    create(sandbox, target)
    sandbox.webhooks.faults.reorder(ALL_WEBHOOKS)
    world = sandbox.world

    change(sandbox)
    sandbox.webhooks.flush(timeout=0.3)
    world.complete(world.task(TASK), by=world.user("Luca Neri"))
    sandbox.webhooks.flush()

    first, second = target.wait(2)
    assert first.events[0]["resource"]["resource_type"] == "task"  # the later change first
    assert second.events[0]["resource"]["resource_type"] == "story"


def test_a_bad_signature(sandbox: SandboxServer, target: Target) -> None:
    create(sandbox, target)
    sandbox.webhooks.faults.bad_signature()

    change(sandbox)
    sandbox.webhooks.flush()
    change(sandbox)
    sandbox.webhooks.flush()

    bad, good = target.wait(2)
    assert not signed(bad, target.secret)
    assert signed(good, target.secret)


def test_deliveries_resume_after_the_sandbox_restarts(
    sandbox: SandboxServer, target: Target
) -> None:
    create(sandbox, target)
    sandbox.stop()
    sandbox.start()

    change(sandbox)

    assert len(target.wait(1)) == 1
