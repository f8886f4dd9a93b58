"""The Asana webhook receiver (delegator.webhooks), on a real uvicorn server on loopback, spoken
to with `requests` (and a raw socket where `requests` cannot lie): handshakes, signatures over
the exact bytes, the body limit, the answers for what a stranger sends, and a property that
nothing a client sends makes the app answer 500 or raise."""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator import logs
from delegator.redact import is_registered
from delegator.webhooks import (
    DEFAULT_MAX_BODY,
    WebhookReceiver,
    WebhookServer,
    WebhookServerError,
    signature,
)
from delegator.webhooks import receiver as receiver_module

KEY = "k-3f9a1c"  # an established subscription
PENDING = "k-pending-77"  # a subscription being created: awaits its handshake
SECRET = "asana-hook-secret-0123456789abcdef"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SMALL_LIMIT = 1024


class Subscriptions:
    """The port, in memory: which keys await a handshake, the secrets kept."""

    def __init__(self) -> None:
        self.pending: set[str] = {PENDING}
        self.secrets: dict[str, str] = {KEY: SECRET}
        self.accepted: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def expecting_handshake(self, key: str) -> bool:
        with self.lock:
            return key in self.pending

    def accept_handshake(self, key: str, secret: str) -> bool:
        with self.lock:
            if key not in self.pending:  # another handshake won meanwhile
                return False
            self.pending.discard(key)
            self.secrets[key] = secret
            self.accepted.append((key, secret))
            return True

    def secret(self, key: str) -> str | None:
        with self.lock:
            return self.secrets.get(key)


class Calls:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, datetime]] = []

    def __call__(self, key: str, events_count: int, received_at: datetime) -> None:
        self.calls.append((key, events_count, received_at))


@pytest.fixture
def subscriptions() -> Subscriptions:
    return Subscriptions()


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def receiver(subscriptions: Subscriptions, calls: Calls) -> WebhookReceiver:
    return WebhookReceiver(subscriptions, calls, now=lambda: NOW)


class _Dispatch:
    """One uvicorn server for the module (starting and stopping one costs 0.2 s), its app
    handing each request to the receiver of the test running."""

    def __init__(self) -> None:
        self.current: WebhookReceiver | None = None

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.current is not None
        await self.current.app(scope, receive, send)


@dataclass(frozen=True)
class Endpoint:
    """The shared server as one test sees it: its address and that test's receiver."""

    url: str
    port: int
    receiver: WebhookReceiver


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[_Dispatch, WebhookServer]]:
    dispatch = _Dispatch()
    with WebhookServer(dispatch, "127.0.0.1", 0) as running:  # type: ignore[arg-type]
        yield dispatch, running


def _endpoint(shared: tuple[_Dispatch, WebhookServer], made: WebhookReceiver) -> Iterator[Endpoint]:
    dispatch, running = shared
    dispatch.current = made
    yield Endpoint(running.url, running.port, made)
    dispatch.current = None


@pytest.fixture
def server(
    shared: tuple[_Dispatch, WebhookServer], receiver: WebhookReceiver
) -> Iterator[Endpoint]:
    yield from _endpoint(shared, receiver)


@pytest.fixture
def small(
    shared: tuple[_Dispatch, WebhookServer], subscriptions: Subscriptions, calls: Calls
) -> Iterator[Endpoint]:
    """The server with a receiver taking bodies of at most SMALL_LIMIT bytes."""
    made = WebhookReceiver(subscriptions, calls, max_body=SMALL_LIMIT, now=lambda: NOW)
    yield from _endpoint(shared, made)


def url(server: Endpoint | WebhookServer, key: str = KEY) -> str:
    return f"{server.url}/webhooks/asana/{key}"


def events(count: int) -> bytes:
    payload = {
        "events": [
            {"action": "changed", "resource": {"gid": str(1000 + n), "resource_type": "task"}}
            for n in range(count)
        ]
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def deliver(
    server: Endpoint | WebhookServer,
    body: bytes,
    *,
    key: str = KEY,
    secret: str = SECRET,
    sig: str | None = "sign",
    content_type: str = "application/json; charset=utf-8",
) -> requests.Response:
    headers = {"Content-Type": content_type}
    if sig is not None:
        headers["X-Hook-Signature"] = signature(secret, body) if sig == "sign" else sig
    return requests.post(url(server, key), data=body, headers=headers, timeout=10)


def raw(server: Endpoint | WebhookServer, data: bytes) -> bytes:
    """Send ``data`` as is and read the first answer (head and Content-Length body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                return answer
            answer += chunk
        head, _, rest = answer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return head + b"\r\n\r\n" + rest


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


# ---------------------------------------------------------------- handshake


def test_a_handshake_for_a_pending_key_is_stored_and_echoed(
    server: Endpoint, subscriptions: Subscriptions
) -> None:
    answer = requests.post(
        url(server, PENDING), headers={"X-Hook-Secret": "s3cr3t-from-asana"}, timeout=10
    )
    assert answer.status_code == 200
    assert answer.headers["X-Hook-Secret"] == "s3cr3t-from-asana"
    assert subscriptions.accepted == [(PENDING, "s3cr3t-from-asana")]
    assert is_registered("s3cr3t-from-asana")
    assert server.receiver.counts().handshakes == 1


@pytest.mark.parametrize("key", ["k-nobody-knows", KEY])
def test_a_handshake_nobody_expects_is_refused_and_nothing_stored(
    server: Endpoint, subscriptions: Subscriptions, key: str
) -> None:
    answer = requests.post(
        url(server, key), headers={"X-Hook-Secret": "an-attackers-secret"}, timeout=10
    )
    assert answer.status_code == 404
    assert "X-Hook-Secret" not in answer.headers
    assert subscriptions.accepted == []
    assert subscriptions.secrets == {KEY: SECRET}  # the established secret is not replaced
    assert not is_registered("an-attackers-secret")
    assert server.receiver.counts().unknown == 1


def test_a_handshake_that_loses_the_race_is_refused(
    server: Endpoint, subscriptions: Subscriptions
) -> None:
    """Expected when asked, but another handshake for the key was kept before this one."""

    class Raced(Subscriptions):
        def accept_handshake(self, key: str, secret: str) -> bool:
            return False

    raced = Raced()
    server.receiver._secrets = raced  # the port, swapped for this test
    answer = requests.post(
        url(server, PENDING), headers={"X-Hook-Secret": "the-second-secret"}, timeout=10
    )
    assert answer.status_code == 404
    assert "X-Hook-Secret" not in answer.headers
    assert not is_registered("the-second-secret")
    assert server.receiver.counts().handshakes == 0


def test_a_failing_port_is_503_so_asana_retries(server: Endpoint) -> None:
    """The subscriptions' store is unreachable: neither a 500 nor a 404, a retry."""

    class Down(Subscriptions):
        def secret(self, key: str) -> str | None:
            raise OSError("the database is down")

        def expecting_handshake(self, key: str) -> bool:
            raise OSError("the database is down")

    server.receiver._secrets = Down()  # the port, swapped for this test
    assert deliver(server, events(1)).status_code == 503
    handshake = requests.post(url(server, PENDING), headers={"X-Hook-Secret": "s"}, timeout=10)
    assert handshake.status_code == 503
    assert server.receiver.counts().callback_failures == 2


# ---------------------------------------------------------------- signatures


def test_a_delivery_signed_over_its_exact_bytes_is_taken(server: Endpoint, calls: Calls) -> None:
    answer = deliver(server, events(3))
    assert answer.status_code == 200
    assert calls.calls == [(KEY, 3, NOW)]
    counts = server.receiver.counts()
    assert (counts.deliveries, counts.events, counts.bad_signatures) == (1, 3, 0)
    assert counts.last_delivery is not None
    assert counts.last_delivery.events_count == 3


def test_the_same_json_serialised_differently_is_refused(server: Endpoint, calls: Calls) -> None:
    body = events(2)
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    assert json.loads(reserialised) == json.loads(body)
    answer = deliver(server, reserialised, sig=signature(SECRET, body))
    assert answer.status_code == 401
    assert calls.calls == []


@pytest.mark.parametrize(
    "sig",
    [None, "", "0" * 64, "signed-with-another-secret", "é-not-ascii"],
    ids=["missing", "empty", "zeros", "other-secret", "non-ascii"],
)
def test_a_forged_or_missing_signature_is_401_and_nothing_is_parsed(
    server: Endpoint, calls: Calls, monkeypatch: pytest.MonkeyPatch, sig: str | None
) -> None:
    parsed: list[bytes] = []
    real_loads = json.loads

    def spying_loads(text: Any, **kwargs: Any) -> Any:
        parsed.append(text)
        return real_loads(text, **kwargs)

    monkeypatch.setattr(receiver_module.json, "loads", spying_loads)
    body = events(1)
    if sig == "signed-with-another-secret":
        sig = signature("another-secret", body)
    headers = {"Content-Type": "application/json"}
    if sig is not None:
        headers["X-Hook-Signature"] = sig
    answer = requests.post(
        url(server), data=body, headers={k: v.encode() for k, v in headers.items()}, timeout=10
    )
    assert answer.status_code == 401
    assert calls.calls == []
    assert parsed == []
    assert server.receiver.counts().bad_signatures == 1


def test_signatures_are_compared_with_compare_digest(
    server: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body = events(1)
    assert deliver(server, body).status_code == 200
    assert deliver(server, body, sig="0" * 64).status_code == 401
    assert len(compared) == 2
    assert compared[0][0] == signature(SECRET, body).encode()


def test_a_valid_signature_over_malformed_json_is_400(server: Endpoint, calls: Calls) -> None:
    for body in (b"{not json", b"[]", b'{"events": 3}', b'{"data": []}', b"\xff\xfe"):
        assert deliver(server, body).status_code == 400, body
    assert calls.calls == []
    assert server.receiver.counts().malformed == 5


# ---------------------------------------------------------------- what else a stranger sends


def test_an_unknown_key_is_404(server: Endpoint, calls: Calls) -> None:
    answer = deliver(server, events(1), key="k-nobody-knows")
    assert answer.status_code == 404
    assert calls.calls == []
    assert server.receiver.counts().unknown == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(server: Endpoint, calls: Calls, content_type: str) -> None:
    answer = deliver(server, events(1), content_type=content_type)
    assert answer.status_code == 415
    assert calls.calls == []


def test_other_methods_and_paths_are_not_served(server: Endpoint) -> None:
    assert requests.get(url(server), timeout=10).status_code == 405
    assert requests.post(f"{server.url}/webhooks/asana", timeout=10).status_code == 404
    assert requests.post(f"{server.url}/healthz", timeout=10).status_code == 404


# ---------------------------------------------------------------- the body limit


def test_the_default_limit_is_one_mebibyte(receiver: WebhookReceiver) -> None:
    assert receiver.max_body == DEFAULT_MAX_BODY == 1024 * 1024


def test_a_body_at_the_limit_is_read_and_one_byte_more_is_413(
    small: Endpoint, calls: Calls
) -> None:
    at_limit = b'{"events":[]' + b" " * (SMALL_LIMIT - 13) + b"}"
    assert len(at_limit) == SMALL_LIMIT
    assert deliver(small, at_limit).status_code == 200
    over = at_limit + b" "
    assert deliver(small, over).status_code == 413
    assert small.receiver.counts().too_large == 1


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_sent(
    server: Endpoint,
) -> None:
    # Headers only: the answer comes without one byte of the 2 MiB it announces.
    head = (
        f"POST /webhooks/asana/{KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Hook-Signature: {'0' * 64}\r\nContent-Length: {2 * DEFAULT_MAX_BODY}\r\n\r\n"
    )
    assert status_of(raw(server, head.encode())) == 413
    assert server.receiver.counts().too_large == 1


def test_a_chunked_body_over_the_limit_is_413_before_it_ends(small: Endpoint, calls: Calls) -> None:
    # No Content-Length to check: the reading stops at the limit, without waiting for the
    # chunked body's end (which never comes here).
    head = (
        f"POST /webhooks/asana/{KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Hook-Signature: {'0' * 64}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunks = b"".join(b"100\r\n" + b" " * 256 + b"\r\n" for _ in range(8))  # 2 KiB, unfinished
    assert status_of(raw(small, head + chunks)) == 413
    assert calls.calls == []


def test_a_chunked_body_over_the_limit_from_requests_is_413(small: Endpoint) -> None:
    def body() -> Iterator[bytes]:
        yield from (b" " * 256 for _ in range(6))

    answer = requests.post(
        url(small),
        data=body(),
        headers={"Content-Type": "application/json", "X-Hook-Signature": "0" * 64},
        timeout=10,
    )
    assert answer.status_code == 413


def test_a_lying_content_length_cannot_carry_more_than_it_declares(
    small: Endpoint, calls: Calls
) -> None:
    # Content-Length says 10; what follows is no part of the body: the signature over the whole
    # payload does not match the ten bytes read, and the rest is refused as a second request.
    body = b'{"events":[' + b"{}," * 600 + b"{}]}"
    head = (
        f"POST /webhooks/asana/{KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Hook-Signature: {signature(SECRET, body)}\r\nContent-Length: 10\r\n\r\n"
    ).encode()
    answer = raw(small, head + body)
    assert status_of(answer) == 401
    assert b"HTTP/1.1 200" not in answer
    assert calls.calls == []


def test_a_body_that_stalls_is_408(subscriptions: Subscriptions, calls: Calls) -> None:
    made = WebhookReceiver(subscriptions, calls, body_timeout=0.5)
    head = (
        f"POST /webhooks/asana/{KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Hook-Signature: {'0' * 64}\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    with WebhookServer(made) as running:
        started = time.monotonic()
        assert status_of(raw(running, head + b'{"events"')) == 408  # 9 of the 100 bytes
        assert time.monotonic() - started < 3
    assert calls.calls == []


# ---------------------------------------------------------------- heartbeats and repeats


def test_a_heartbeat_is_counted_and_handed_on_as_no_events(server: Endpoint, calls: Calls) -> None:
    assert deliver(server, b'{"events":[]}').status_code == 200
    counts = server.receiver.counts()
    assert (counts.heartbeats, counts.deliveries) == (1, 0)
    assert counts.last_delivery is not None
    assert counts.last_delivery.heartbeat
    assert [(key, count) for key, count, _ in calls.calls] == [(KEY, 0)]


def test_duplicates_and_reordering_are_harmless(server: Endpoint, calls: Calls) -> None:
    first, second = events(1), events(2)
    for body in (second, first, second, second, first):
        assert deliver(server, body).status_code == 200
    assert [count for _, count, _ in calls.calls] == [2, 1, 2, 2, 1]
    assert server.receiver.counts().deliveries == 5


def test_a_failing_callback_is_503_so_asana_retries(
    subscriptions: Subscriptions,
) -> None:
    def broken(key: str, events_count: int, received_at: datetime) -> None:
        raise RuntimeError("the scheduler is gone")

    made = WebhookReceiver(subscriptions, broken)
    with WebhookServer(made) as running:
        assert deliver(running, events(1)).status_code == 503
    assert made.counts().callback_failures == 1


# ---------------------------------------------------------------- logs


def test_no_secret_body_or_key_is_logged(server: Endpoint) -> None:
    stream = io.StringIO()
    logs.configure("json", "debug", stream)
    requests.post(url(server, PENDING), headers={"X-Hook-Secret": "hs-secret-1234"}, timeout=10)
    deliver(server, events(1))
    deliver(server, b'{"events":[{"marker":"body-text-9876"}]}', sig="0" * 64)
    deliver(server, events(1), key="k-nobody-knows")
    text = stream.getvalue()
    assert "webhook_delivery" in text
    assert "webhook_handshake_accepted" in text
    for leaked in ("hs-secret-1234", SECRET, "body-text-9876", KEY, PENDING, "k-nobody-knows"):
        assert leaked not in text


def test_a_secret_looked_up_is_registered_with_the_redactor(server: Endpoint) -> None:
    # After a restart the secrets come from the store, not from a handshake: registered at use.
    assert not is_registered(SECRET)
    assert deliver(server, events(1)).status_code == 200
    assert is_registered(SECRET)


# ---------------------------------------------------------------- the server


def test_port_zero_picks_a_free_port_and_stop_closes_it(receiver: WebhookReceiver) -> None:
    running = WebhookServer(receiver, "127.0.0.1", 0).start()
    port = running.port
    assert port > 0
    assert requests.post(url(running), timeout=10).status_code == 401
    running.stop()
    assert not [t for t in threading.enumerate() if t.name == f"webhooks-http-{port}"]
    with pytest.raises(requests.ConnectionError):
        requests.post(f"http://127.0.0.1:{port}/webhooks/asana/{KEY}", timeout=2)
    with pytest.raises(RuntimeError):
        _ = running.port


def test_a_taken_port_is_a_clear_error(server: Endpoint, receiver: WebhookReceiver) -> None:
    with pytest.raises(WebhookServerError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        WebhookServer(receiver, "127.0.0.1", server.port).start()


def test_keep_alive_carries_several_deliveries(server: Endpoint, calls: Calls) -> None:
    with requests.Session() as session:
        for _ in range(3):
            body = events(1)
            headers = {
                "Content-Type": "application/json",
                "X-Hook-Signature": signature(SECRET, body),
            }
            assert session.post(url(server), data=body, headers=headers, timeout=10).ok
    assert len(calls.calls) == 3


def test_connections_beyond_the_limit_get_503_at_once(receiver: WebhookReceiver) -> None:
    with (
        WebhookServer(receiver, limit_concurrency=1) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as first,
    ):
        # The first connection holds the only place (open, its request half sent).
        first.sendall(f"POST /webhooks/asana/{KEY} HTTP/1.1\r\nHost: x\r\n".encode())
        time.sleep(0.2)
        assert deliver(running, events(1)).status_code == 503


def test_an_idle_keep_alive_connection_is_closed(receiver: WebhookReceiver) -> None:
    with WebhookServer(receiver, timeout_keep_alive=1) as running:
        body = events(1)
        request = (
            f"POST /webhooks/asana/{KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            f"\r\nX-Hook-Signature: {signature(SECRET, body)}\r\nContent-Length: {len(body)}"
            "\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            sock.sendall(request + body)
            started = time.monotonic()
            received = b""
            while chunk := sock.recv(65536):  # until the server closes the idle connection
                received += chunk
            assert received.startswith(b"HTTP/1.1 200")
            assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /webhooks/asana/k HTTP/1.1\r\nHost: x\r\n"],
    ids=["nothing", "half-a-head"],
)
def test_a_connection_whose_head_never_completes_is_closed(
    receiver: WebhookReceiver, sent: bytes
) -> None:
    # Slowloris: without a deadline for the head, such connections fill limit_concurrency.
    with (
        WebhookServer(receiver, head_timeout=0.5) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock,
    ):
        started = time.monotonic()
        sock.sendall(sent)
        time.sleep(0.2)
        sock.sendall(b"X-Slow: 1\r\n" if sent else b"")
        assert sock.recv(1024) == b""  # closed by the server, no answer
        assert time.monotonic() - started < 3


def test_the_head_deadline_does_not_cut_a_slow_body_or_a_kept_alive_connection(
    receiver: WebhookReceiver, calls: Calls
) -> None:
    body = events(1)
    head = (
        f"POST /webhooks/asana/{KEY} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-Hook-Signature: {signature(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with (
        WebhookServer(receiver, head_timeout=0.3, timeout_keep_alive=5) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock,
    ):
        for _ in range(2):  # two requests on one connection, each past the head deadline
            sock.sendall(head)
            for piece in (body[:5], body[5:10], body[10:]):  # the body is allowed its 5 s
                time.sleep(0.15)
                sock.sendall(piece)
            answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200"), answer
            time.sleep(0.4)
    assert len(calls.calls) == 2


# ---------------------------------------------------------------- property: never a 500


def _asgi(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> int:
    """One request straight to the ASGI app; its status (an exception propagates)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks or [b""])
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1
    return int(starts[0]["status"])


_header_value = st.one_of(
    st.binary(max_size=80).filter(lambda b: b"\r" not in b and b"\n" not in b)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from([KEY, PENDING, "k-nobody-knows", "%2e%2e", "x" * 300]),
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT"]),
    secret_header=st.one_of(st.none(), _header_value),
    sig_mode=st.sampled_from(["none", "valid", "random"]),
    random_sig=_header_value,
    content_type=st.one_of(
        st.none(), st.sampled_from([b"application/json", b"APPLICATION/JSON; x=1"]), _header_value
    ),
    content_length=st.one_of(st.none(), st.sampled_from(["match", "-1", "abc", "99999999999"])),
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(["events", "x"]), inner, max_size=3)
            ),
            max_leaves=10,
        ).map(lambda v: json.dumps(v).encode()),
    ),
    split=st.integers(min_value=0, max_value=300),
)
def test_nothing_a_client_sends_makes_the_app_answer_500_or_raise(
    key: str,
    method: str,
    secret_header: bytes | None,
    sig_mode: str,
    random_sig: bytes,
    content_type: bytes | None,
    content_length: str | None,
    body: bytes,
    split: int,
) -> None:
    made = WebhookReceiver(Subscriptions(), Calls(), max_body=256, body_timeout=5)
    headers: list[tuple[bytes, bytes]] = []
    if secret_header is not None:
        headers.append((b"x-hook-secret", secret_header))
    if sig_mode == "valid":
        headers.append((b"x-hook-signature", signature(SECRET, body).encode()))
    elif sig_mode == "random":
        headers.append((b"x-hook-signature", random_sig))
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if content_length == "match":
        headers.append((b"content-length", str(len(body)).encode()))
    elif content_length is not None:
        headers.append((b"content-length", content_length.encode()))
    chunks = [body[:split], body[split:]]
    status = _asgi(made.app, method, f"/webhooks/asana/{key}", headers, chunks)
    assert status in {200, 400, 401, 404, 405, 408, 413, 415}
