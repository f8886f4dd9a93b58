"""Asana webhooks in: ``POST /webhooks/asana/{webhook_key}``, as an ASGI app (Starlette).

Why Starlette under uvicorn and not the standard library's server, which ``web.py`` uses: this
endpoint faces the internet (Asana needs a public HTTPS target), so it deserves a production-grade
HTTP server: strict request parsing (h11), timeouts, a cap on concurrent connections, HTTP/1.1
keep-alive, graceful shutdown. uvicorn and Starlette are the established, well-kept choice for
that. The stdlib server stays for the private ops endpoints (/healthz, /readyz, /metrics), where
none of this matters.

``webhook_key`` is an opaque id the service chose when it subscribed (and put in the target URL),
so a delivery names the subscription it is for without the receiver trusting anything in the
body. The service's subscriptions are reached only through the `WebhookSecrets` port.

What Asana does (API-NOTES 2.6, Asana's webhooks guide):

* **Handshake**: while ``POST /webhooks`` is in flight, Asana POSTs to the target with an
  ``X-Hook-Secret`` header (and no ``X-Hook-Signature``). The target answers 200 echoing the
  header, and keeps the secret. Here that is only done for a key the port says is expecting a
  handshake (`WebhookSecrets.expecting_handshake`); any other key answers **404**, nothing stored:
  the same answer as a key nobody knows, so a prober learns nothing about which keys exist (403
  would confirm the key), and for Asana any answer but 200/204 fails the subscription anyway.
* **Deliveries**: ``{"events": [...]}`` with ``X-Hook-Signature``, the hex HMAC-SHA256 of the
  exact body bytes keyed with the secret. The signature is checked (`hmac.compare_digest`) over
  the bytes as received **before anything in the body is parsed**; an unsigned or forged
  delivery is 401 and never reaches JSON. A **heartbeat** is an empty ``events`` list (at the
  handshake and then every eight hours; unanswered for 24 hours, Asana deletes the webhook): it
  is counted, answered and handed on with 0 events (the service tells a live webhook by it).
* **Asana's budget is 10 seconds**: an answer later than that is a failure, retried for up to 24
  hours and then the webhook is deleted. So the receiver never does slow work: ``on_delivery``
  must only mark the client dirty (due for a cycle) and return. The port's calls may read the
  store on a cache miss, so they run on a worker thread, never on the event loop. The cycle reads what changed
  through the Asana API, as it does on a timer, so a duplicate or reordered delivery is harmless
  by design: it marks dirty what may already be dirty. The receiver keeps nothing but counts.

Answers: 200 (handshake, delivery), 400 (valid signature, body not ``{"events": [...]}``), 401
(no or a wrong signature), 404 (unknown key, unexpected handshake), 408 (the body did not arrive
in time), 413 (the body is over the limit: reading stops there, nothing more is buffered), 415
(not JSON), 503 (the callback failed: Asana retries). Never 500 for anything a client sends.

Secrets and bodies are never logged; each secret is registered with `delegator.redact` as soon
as it is seen (handshake or lookup), and keys appear in log lines only as a short fingerprint.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from delegator.logs import get_logger
from delegator.redact import register_secret

DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB: Asana's compact events are far smaller
DEFAULT_BODY_TIMEOUT = 5.0  # seconds for the whole body to arrive (within Asana's 10 s budget)
PATH = "/webhooks/asana/{webhook_key}"


class WebhookSecrets(Protocol):
    """The service's webhook subscriptions, as the receiver sees them (the port it needs).

    What an implementation owes the receiver's safety: keys are unguessable (``secrets.
    token_urlsafe(16)`` or more: a key is all a stranger needs to attempt a handshake); a key
    expects a handshake only while its ``POST /webhooks`` is in flight, and `accept_handshake`
    ends the expectation (the first handshake wins: a second one is 404); once the ``POST``
    returns, the secret kept is checked against the ``X-Hook-Secret`` of its 201 answer, and the
    subscription dropped when they differ or the ``POST`` failed (a stranger's handshake won).
    Called on a worker thread (never the event loop): a call may read the store, briefly.
    """

    def expecting_handshake(self, key: str) -> bool:
        """Whether a subscription with this key is being created and awaits Asana's handshake."""
        ...

    def accept_handshake(self, key: str, secret: str) -> bool:
        """Keep ``secret`` for ``key``: later deliveries are signed with it. False when another
        handshake for the key won meanwhile (nothing kept: the answer is 404)."""
        ...

    def secret(self, key: str) -> str | None:
        """The secret of an established subscription, or None for a key nobody knows."""
        ...


# on_delivery(key, events_count, received_at), 0 events for a heartbeat: must only mark dirty (or
# note the heartbeat) and return, within Asana's 10 s budget. Called on the event loop.
OnDelivery = Callable[[str, int, datetime], None]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One accepted, signed delivery (a heartbeat when ``events_count`` is 0)."""

    key: str
    events_count: int
    received_at: datetime

    @property
    def heartbeat(self) -> bool:
        return self.events_count == 0


@dataclass(frozen=True, slots=True)
class ReceiverCounts:
    """What the receiver has seen since it started (for /metrics later)."""

    handshakes: int = 0
    deliveries: int = 0  # signed deliveries with events
    events: int = 0
    heartbeats: int = 0
    bad_signatures: int = 0  # missing or forged
    too_large: int = 0
    unknown: int = 0  # unknown key, or a handshake nobody expected
    malformed: int = 0  # signed, but not {"events": [...]}, or not JSON at all
    callback_failures: int = 0
    last_delivery: Delivery | None = None


def signature(secret: str, body: bytes) -> str:
    """Asana's ``X-Hook-Signature``: the hex HMAC-SHA256 of ``body`` keyed with ``secret``."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def fingerprint(key: str) -> str:
    """A key as log lines show it: enough to tell keys apart, not enough to post to one."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


class _TooLargeError(Exception):
    pass


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _json_answer(status: int, error: str, **headers: str) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers=headers or None)


class WebhookReceiver:
    """The receiver's state (counts) and its ASGI app, `app`."""

    def __init__(
        self,
        secrets: WebhookSecrets,
        on_delivery: OnDelivery,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        if max_body <= 0:
            raise ValueError("max_body must be positive")
        self._secrets = secrets
        self._on_delivery = on_delivery
        self.max_body = max_body
        self._body_timeout = body_timeout
        self._now = now
        self._lock = threading.Lock()
        self._counts = ReceiverCounts()
        self.app = Starlette(routes=[Route(PATH, self._endpoint, methods=["POST"])])

    @property
    def _log(self) -> Any:
        # Fetched at each line, not kept: logging may be configured after the receiver is built.
        return get_logger(component="webhooks")

    def counts(self) -> ReceiverCounts:
        with self._lock:
            return self._counts

    def _count(self, last_delivery: Delivery | None = None, **increments: int) -> None:
        with self._lock:
            counts = self._counts
            changes: dict[str, Any] = {
                name: getattr(counts, name) + by for name, by in increments.items()
            }
            if last_delivery is not None:
                changes["last_delivery"] = last_delivery
            self._counts = dataclasses.replace(counts, **changes)

    async def _endpoint(self, request: Request) -> Response:
        key = str(request.path_params["webhook_key"])
        headers = request.headers
        hook_secret = headers.get("x-hook-secret")
        hook_signature = headers.get("x-hook-signature")
        try:
            if hook_secret is not None and hook_signature is None:
                return await self._handshake(request, key, hook_secret)
            return await self._delivery(request, key, hook_signature)
        except _TooLargeError:
            self._count(too_large=1)
            self._log.warning("webhook_refused", key=fingerprint(key), status=413)
            # Connection: close: the rest of the body is never read, so the connection cannot
            # carry another request.
            return _json_answer(413, "body too large", connection="close")
        except TimeoutError:
            self._log.warning("webhook_refused", key=fingerprint(key), status=408)
            return _json_answer(408, "the body did not arrive in time", connection="close")
        except ClientDisconnect:
            return Response(status_code=400)
        except Exception as exc:  # the port failed (its store is unreachable): Asana retries
            self._count(callback_failures=1)
            self._log.error("webhook_port_failed", key=fingerprint(key), error=repr(exc))
            return _json_answer(503, "not taken: retry")

    async def _handshake(self, request: Request, key: str, secret: str) -> Response:
        await self._read_body(request)  # within the limit, and then dropped: nothing is in it
        # Registered with the redactor only once accepted: a stranger's header is no secret, and
        # registering it would let anyone grow the registry or blank out words in log lines.
        if (
            not secret
            or not await run_in_threadpool(self._secrets.expecting_handshake, key)
            or not await run_in_threadpool(self._secrets.accept_handshake, key, secret)
        ):
            self._count(unknown=1)
            self._log.warning("webhook_handshake_refused", key=fingerprint(key), status=404)
            return _json_answer(404, "no subscription awaits a handshake here")
        register_secret(secret)
        self._count(handshakes=1)
        self._log.info("webhook_handshake_accepted", key=fingerprint(key))
        return Response(status_code=200, headers={"X-Hook-Secret": secret})

    async def _delivery(self, request: Request, key: str, hook_signature: str | None) -> Response:
        secret = await run_in_threadpool(self._secrets.secret, key)
        if not secret:
            self._count(unknown=1)
            self._log.warning("webhook_refused", key=fingerprint(key), status=404)
            return _json_answer(404, "unknown webhook")
        register_secret(secret)
        if not hook_signature:
            self._count(bad_signatures=1)
            self._log.warning("webhook_refused", key=fingerprint(key), status=401)
            return _json_answer(401, "missing X-Hook-Signature")
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            self._log.warning("webhook_refused", key=fingerprint(key), status=415)
            return _json_answer(415, "expected application/json")
        body = await self._read_body(request)
        expected = signature(secret, body).encode("ascii")
        # Header values are latin-1 (ASGI): bytes, so compare_digest never sees non-ASCII text.
        if not hmac.compare_digest(expected, hook_signature.strip().encode("latin-1")):
            self._count(bad_signatures=1)
            self._log.warning("webhook_refused", key=fingerprint(key), status=401)
            return _json_answer(401, "bad X-Hook-Signature")
        events = _events(body)
        if events is None:
            self._count(malformed=1)
            self._log.warning("webhook_refused", key=fingerprint(key), status=400)
            return _json_answer(400, 'expected {"events": [...]}')
        received_at = self._now()
        delivery = Delivery(key=key, events_count=len(events), received_at=received_at)
        try:
            self._on_delivery(key, len(events), received_at)
        except Exception as exc:
            self._count(callback_failures=1)
            self._log.error("webhook_callback_failed", key=fingerprint(key), error=repr(exc))
            return _json_answer(503, "not taken: retry")
        if delivery.heartbeat:
            self._count(heartbeats=1, last_delivery=delivery)
            self._log.info("webhook_heartbeat", key=fingerprint(key))
            return Response(status_code=200)
        self._count(deliveries=1, events=len(events), last_delivery=delivery)
        self._log.info("webhook_delivery", key=fingerprint(key), events=len(events))
        return Response(status_code=200)

    async def _read_body(self, request: Request) -> bytes:
        """The body, or _TooLargeError as soon as it is over the limit (never buffering more)."""
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_body:
                    raise _TooLargeError
            except ValueError:
                pass  # the server's parser refuses a malformed Content-Length before we run
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(self._body_timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_body:
                    raise _TooLargeError
                chunks.append(chunk)
        return b"".join(chunks)


def _events(body: bytes) -> list[Any] | None:
    """The ``events`` list of a signed body, or None when it is not ``{"events": [...]}``."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(payload, dict):
        return None
    events = payload.get("events")
    if not isinstance(events, list):
        return None
    return events


def build_app(
    secrets: WebhookSecrets,
    on_delivery: OnDelivery,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    now: Callable[[], datetime] = _utcnow,
) -> WebhookReceiver:
    """A receiver (its ASGI app is ``.app``) over the subscriptions port and the callback."""
    return WebhookReceiver(secrets, on_delivery, max_body=max_body, now=now)
