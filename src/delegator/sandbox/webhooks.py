"""Webhooks as Asana delivers them: the handshake, signed deliveries, heartbeats, retries, faults.

- ``POST /webhooks`` checks the resource (it must exist and be visible to the caller), then,
  *inside* the request as Asana does, POSTs an empty body to the target with ``X-Hook-Secret``;
  the target must answer 200 or 204 echoing that header, else the answer is 400 and no webhook
  exists. On success the answer is 201 ``{"data": <webhook>, "X-Hook-Secret": "<secret>"}``:
  the secret in the body, next to ``data``, as the spec's 201 schema has it. The world is unlocked
  while the handshake runs, so a target may call the sandbox back.
- ``GET /webhooks?workspace=&resource=`` (compact, paginated), ``GET/PUT/DELETE /webhooks/{gid}``
  (PUT replaces ``filters``).
- Every event the world records on the webhook's resource (its stream, as ``/events`` reads it:
  a project's tasks, their stories and subtasks; a task's own) that passes a filter (any of them;
  none: everything) is queued, rendered as Asana's webhook events do (``user``, ``created_at``,
  ``action``, ``resource``, ``parent``, ``change``; resources compact without names). Events
  within ``batch_window`` seconds of the first queued one go out together as
  ``{"events": [...]}`` from a background thread, signed: ``X-Hook-Signature`` is the hex
  HMAC-SHA256 of the exact body bytes keyed with the secret.
- A heartbeat, ``{"events": []}`` signed, goes out when a webhook has sent nothing for
  ``heartbeat_interval`` seconds (None: never; :meth:`Webhooks.heartbeat` sends one now).
- A delivery fails on a non-2xx answer, a timeout (``timeout``, Asana's 10 s) or a refused
  connection; it is retried (deliveries stay in order behind it) after ``retry_base`` seconds,
  doubling up to ``retry_max``; when deliveries have failed for ``deletion_after`` seconds
  (Asana: 24 hours) the webhook is deleted (``active`` false, gone from the API).

Times here are real (monotonic) seconds, not the world's clock: deliveries are real HTTP.

Faults (``Webhooks.faults``, per webhook gid or ``ALL_WEBHOOKS``, each for the next ``count``
deliveries of event batches or heartbeats): ``lose`` (never sent), ``duplicate`` (sent twice),
``delay(seconds)`` (held back that long; later ones queue behind it), ``reorder`` (this one
and the next are swapped) and ``bad_signature`` (signed with another key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

from delegator.sandbox.errors import InvalidRequestError, NotFoundError
from delegator.sandbox.events import Event
from delegator.sandbox.records import Node, Project, Task, Workspace
from delegator.sandbox.render import render
from delegator.sandbox.routing import Call, Reply, RouteTable
from delegator.sandbox.world import World

ALL_WEBHOOKS: Final = "*"
BATCH_WINDOW: Final = 0.5
HEARTBEAT_INTERVAL: Final = 60.0
TIMEOUT: Final = 10.0
RETRY_BASE: Final = 1.0
RETRY_MAX: Final = 3600.0
DELETION_AFTER: Final = 24 * 3600.0
REORDER_HOLD: Final = 2.0  # how long a delivery to be reordered waits for a second one
FILTER_KEYS: Final = ("resource_type", "resource_subtype", "action", "fields")
HANDSHAKE_FAILED: Final = (
    "target: The remote server did not respond with the handshake secret "
    "(answer 200 or 204 with the X-Hook-Secret header it was sent)."
)

routes = RouteTable()


@dataclass(eq=False)
class Webhook(Node):
    gid: str
    resource: Node
    workspace: Workspace | None
    target: str
    filters: list[dict[str, Any]]
    secret: str
    created_at: datetime
    owner_gid: str
    active: bool = True
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_failure_content: str | None = None
    delivery_retry_count: int = 0
    next_attempt_after: datetime | None = None
    failure_deletion_timestamp: datetime | None = None

    resource_type: ClassVar[str] = "webhook"
    FULL = (
        "gid",
        "resource_type",
        "active",
        "resource",
        "target",
        "created_at",
        "last_success_at",
        "last_failure_at",
        "last_failure_content",
        "delivery_retry_count",
        "next_attempt_after",
        "failure_deletion_timestamp",
        "filters",
    )
    # GET /webhooks answers WebhookResponse records (the spec's schema), not WebhookCompact.
    COMPACT = FULL


Webhook._FIELDS = {
    name: (lambda attr: lambda w: getattr(w, attr))(name)
    for name in Webhook.FULL
    if name != "filters"
}
Webhook._FIELDS["filters"] = lambda w: [dict(f) for f in w.filters]


@dataclass
class Delivery:
    """One POST the sandbox made (or would have made) to a webhook's target."""

    webhook_gid: str
    kind: str  # "handshake", "events" or "heartbeat"
    body: bytes
    signature: str | None
    status: int | None  # None: no answer (refused, timed out) or not sent (lost)
    error: str | None = None
    fault: str | None = None  # lose, duplicate, delay, reorder, bad_signature
    attempt: int = 1
    at: float = 0.0  # time.monotonic()

    @property
    def events(self) -> list[dict[str, Any]]:
        if not self.body:
            return []
        events: list[dict[str, Any]] = json.loads(self.body)["events"]
        return events

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Outgoing:
    kind: str
    events: list[dict[str, Any]]
    attempts: int = 0
    not_before: float = 0.0
    faults: set[str] = field(default_factory=set)
    held_since: float | None = None
    faulted: bool = False


@dataclass
class _State:
    hook: Webhook
    pending: list[dict[str, Any]] = field(default_factory=list)
    pending_since: float | None = None
    outbox: deque[_Outgoing] = field(default_factory=deque)
    in_flight: bool = False
    last_sent: float = 0.0
    failing_since: float | None = None


@dataclass
class _Fault:
    remaining: int
    seconds: float = 0.0


class WebhookFaults:
    """Faults for the next deliveries of a webhook (by gid) or of all (``ALL_WEBHOOKS``)."""

    KINDS: Final = ("lose", "duplicate", "delay", "reorder", "bad_signature")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set: dict[tuple[str, str], _Fault] = {}

    def lose(self, webhook: str = ALL_WEBHOOKS, count: int = 1) -> None:
        self._add("lose", webhook, count)

    def duplicate(self, webhook: str = ALL_WEBHOOKS, count: int = 1) -> None:
        self._add("duplicate", webhook, count)

    def delay(self, seconds: float, webhook: str = ALL_WEBHOOKS, count: int = 1) -> None:
        self._add("delay", webhook, count, seconds)

    def reorder(self, webhook: str = ALL_WEBHOOKS) -> None:
        """The next delivery and the one after it are sent in the opposite order."""
        self._add("reorder", webhook, 1)

    def bad_signature(self, webhook: str = ALL_WEBHOOKS, count: int = 1) -> None:
        self._add("bad_signature", webhook, count)

    def clear(self) -> None:
        with self._lock:
            self._set.clear()

    def _add(self, kind: str, webhook: str, count: int, seconds: float = 0.0) -> None:
        if count < 1:
            raise ValueError("count is at least 1")
        with self._lock:
            self._set[(kind, webhook)] = _Fault(count, seconds)

    def take(self, webhook: str) -> tuple[set[str], float]:
        """The faults the webhook's next delivery carries (each used up once), and its delay."""
        taken: set[str] = set()
        delay = 0.0
        with self._lock:
            for kind in self.KINDS:
                fault = self._set.get((kind, webhook)) or self._set.get((kind, ALL_WEBHOOKS))
                if fault is None:
                    continue
                taken.add(kind)
                delay = max(delay, fault.seconds) if kind == "delay" else delay
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._set = {k: v for k, v in self._set.items() if v is not fault}
        return taken, delay


_REGISTRY: weakref.WeakKeyDictionary[World, Webhooks] = weakref.WeakKeyDictionary()


def sign(secret: str, body: bytes) -> str:
    """``X-Hook-Signature``: the hex HMAC-SHA256 of the body's bytes, keyed with the secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_json(event: Event) -> dict[str, Any]:
    """An event as a webhook delivers it: compact resources, no names, no ``type``."""

    def compact(node: Node | None) -> dict[str, Any] | None:
        if node is None:
            return None
        out = render(node, None, full=False)
        return {key: out[key] for key in ("gid", "resource_type", "resource_subtype") if key in out}

    body = event.to_json()
    body.pop("type", None)
    body["user"] = compact(event.user)
    body["resource"] = compact(event.resource)
    body["parent"] = compact(event.parent)
    return body


def matches(filters: list[dict[str, Any]], event: Mapping[str, Any]) -> bool:
    """Whether an event passes a webhook's filters (any one of them; no filters: all pass)."""
    if not filters:
        return True
    resource = event.get("resource") or {}
    for rule in filters:
        if "resource_type" in rule and rule["resource_type"] != resource.get("resource_type"):
            continue
        if "resource_subtype" in rule and rule["resource_subtype"] != resource.get(
            "resource_subtype"
        ):
            continue
        if "action" in rule and rule["action"] != event.get("action"):
            continue
        if rule.get("fields"):
            change = event.get("change") or {}
            if event.get("action") != "changed" or change.get("field") not in rule["fields"]:
                continue
        return True
    return False


class Webhooks:
    """The webhooks of one world, and the thread that delivers their events."""

    def __init__(
        self,
        world: World,
        *,
        batch_window: float = BATCH_WINDOW,
        heartbeat_interval: float | None = HEARTBEAT_INTERVAL,
        timeout: float = TIMEOUT,
        retry_base: float = RETRY_BASE,
        retry_max: float = RETRY_MAX,
        deletion_after: float = DELETION_AFTER,
    ) -> None:
        self.world = world
        self.batch_window = batch_window
        self.heartbeat_interval = heartbeat_interval
        self.timeout = timeout
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.deletion_after = deletion_after
        self.faults = WebhookFaults()
        self._cond = threading.Condition()
        self._states: dict[str, _State] = {}
        self._deleted: list[Webhook] = []
        self._deliveries: list[Delivery] = []
        self._flushing = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        _REGISTRY[world] = self
        world.events.subscribe(self._on_event)

    @classmethod
    def of(cls, world: World) -> Webhooks:
        found = _REGISTRY.get(world)
        return found if found is not None else cls(world)

    # ------------------------------------------------------------------ for tests
    def all(self) -> list[Webhook]:
        """The webhooks that exist (deleted ones are in :meth:`deleted`)."""
        with self._cond:
            return [state.hook for state in self._states.values()]

    def deleted(self) -> list[Webhook]:
        """Webhooks deleted after failing for ``deletion_after`` (``active`` false)."""
        with self._cond:
            return list(self._deleted)

    def deliveries(self, webhook: str | None = None, kind: str | None = None) -> list[Delivery]:
        """Every POST made to targets, oldest first (handshakes too), optionally one webhook's."""
        with self._cond:
            return [
                d
                for d in self._deliveries
                if (webhook is None or d.webhook_gid == webhook)
                and (kind is None or d.kind == kind)
            ]

    def heartbeat(self, webhook: str | None = None) -> None:
        """Queue a heartbeat now for one webhook (or all)."""
        with self._cond:
            for gid, state in self._states.items():
                if webhook is None or gid == webhook:
                    state.outbox.append(_Outgoing("heartbeat", []))
            self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Send what is queued now (no batching wait) and wait until nothing is due or in flight.
        A delivery waiting for a retry or a delay does not hold this up. False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flushing += 1
            try:
                self._cond.notify_all()
                while True:
                    now = time.monotonic()
                    busy = any(
                        state.pending
                        or state.in_flight
                        or (state.outbox and self._ready(state, state.outbox[0], now))
                        for state in self._states.values()
                    )
                    if not busy:
                        return True
                    if now >= deadline:
                        return False
                    self._cond.wait(min(0.05, deadline - now))
            finally:
                self._flushing -= 1

    def start(self) -> None:
        """Deliver again after :meth:`stop` (the thread starts by itself with the first webhook)."""
        with self._cond:
            if self._states:
                self._start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.timeout + 1)
        with self._cond:
            self._stopping = False

    # ------------------------------------------------------------------ the API
    def create(
        self, resource: Node, target: str, filters: list[dict[str, Any]], owner_gid: str
    ) -> Webhook:
        """Handshake with the target (the caller must not hold the world's lock), then add."""
        secret = secrets.token_hex(32)
        gid = self.world.new_gid()
        status, echoed, error = self._post(target, b"", {"X-Hook-Secret": secret})
        with self._cond:
            self._deliveries.append(
                Delivery(gid, "handshake", b"", None, status, error, at=time.monotonic())
            )
        if status not in (200, 204) or echoed != secret:
            raise InvalidRequestError(HANDSHAKE_FAILED)
        hook = Webhook(
            gid=gid,
            resource=resource,
            workspace=self.world.workspace_of(resource),
            target=target,
            filters=filters,
            secret=secret,
            created_at=self.world.clock.now(),
            owner_gid=owner_gid,
        )
        with self._cond:
            self._states[gid] = _State(hook, last_sent=time.monotonic())
            self._start()
            self._cond.notify_all()
        return hook

    def get(self, gid: str) -> Webhook:
        with self._cond:
            state = self._states.get(gid)
        if state is None:
            raise NotFoundError(f"webhook: Unknown object: {gid}")
        return state.hook

    def delete(self, gid: str) -> None:
        with self._cond:
            if self._states.pop(gid, None) is None:
                raise NotFoundError(f"webhook: Unknown object: {gid}")
            self._cond.notify_all()

    # ------------------------------------------------------------------ delivering
    def _on_event(self, event: Event) -> None:
        with self._cond:
            if not self._states:
                return
            body: dict[str, Any] | None = None
            now = time.monotonic()
            for state in self._states.values():
                if state.hook.resource.value("gid") not in event.streams:
                    continue
                body = body or event_json(event)
                if not matches(state.hook.filters, body):
                    continue
                if not state.pending:
                    state.pending_since = now
                state.pending.append(body)
            self._cond.notify_all()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def _ready(self, state: _State, out: _Outgoing, now: float) -> bool:
        if out.not_before > now:
            return False
        if "reorder" in out.faults and len(state.outbox) < 2:
            held = out.held_since if out.held_since is not None else now
            return now - held >= REORDER_HOLD
        return True

    def _due(self, now: float) -> list[tuple[_State, _Outgoing]]:
        """What to send now (called with the condition held); marks each in flight."""
        due = []
        for state in list(self._states.values()):
            since = state.pending_since
            if state.pending and (
                self._flushing or (since is not None and now - since >= self.batch_window)
            ):
                state.outbox.append(_Outgoing("events", state.pending))
                state.pending, state.pending_since = [], None
            if (
                self.heartbeat_interval is not None
                and not state.outbox
                and not state.pending
                and now - state.last_sent >= self.heartbeat_interval
            ):
                state.outbox.append(_Outgoing("heartbeat", []))
            if not state.outbox or state.in_flight:
                continue
            head = state.outbox[0]
            if not head.faulted:
                head.faulted = True
                head.faults, delay = self.faults.take(state.hook.gid)
                if delay:
                    head.not_before = now + delay
                if "reorder" in head.faults:
                    head.held_since = now
            if not self._ready(state, head, now):
                continue
            if "reorder" in head.faults and len(state.outbox) >= 2:
                head.faults.discard("reorder")
                state.outbox.popleft()
                state.outbox.insert(1, head)
                head = state.outbox[0]
                if not head.faulted:
                    head.faulted = True
                    head.faults, _ = self.faults.take(state.hook.gid)
                    head.faults.discard("delay")
                    head.faults.add("reorder")
            state.in_flight = True
            due.append((state, head))
        return due

    def _wake_in(self, now: float) -> float:
        waits = [0.5]
        for state in self._states.values():
            if state.pending_since is not None:
                waits.append(state.pending_since + self.batch_window - now)
            if self.heartbeat_interval is not None:
                waits.append(state.last_sent + self.heartbeat_interval - now)
            if state.outbox:
                waits.append(state.outbox[0].not_before - now)
                waits.append(0.05)  # a reorder hold
        return max(0.005, min(waits))

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = time.monotonic()
                due = self._due(now)
                if not due:
                    self._cond.wait(self._wake_in(now))
                    continue
            for state, out in due:
                self._deliver(state, out)

    def _deliver(self, state: _State, out: _Outgoing) -> None:
        hook = state.hook
        body = json.dumps({"events": out.events}, separators=(",", ":")).encode()
        faults = out.faults if out.attempts == 0 else set()
        key = "not-the-secret-" + hook.secret if "bad_signature" in faults else hook.secret
        signature = sign(key, body)
        fault = ",".join(sorted(faults)) or None
        out.attempts += 1
        results: list[tuple[int | None, str | None, str | None]]
        if "lose" in faults:
            results = [(None, None, "lost (injected)")]
        else:
            sends = 2 if "duplicate" in faults else 1
            results = [
                self._post(hook.target, body, {"X-Hook-Signature": signature}) for _ in range(sends)
            ]
        with self._cond:
            now = time.monotonic()
            for status, _, error in results:
                self._deliveries.append(
                    Delivery(
                        hook.gid, out.kind, body, signature, status, error, fault, out.attempts, now
                    )
                )
            state.in_flight = False
            status, _, error = results[-1]
            if "lose" in faults or (status is not None and 200 <= status < 300):
                self._succeeded(state, out, now)
            else:
                self._failed(state, out, now, status, error)
            self._cond.notify_all()

    def _succeeded(self, state: _State, out: _Outgoing, now: float) -> None:
        hook = state.hook
        if state.outbox and state.outbox[0] is out:
            state.outbox.popleft()
        state.last_sent = now
        state.failing_since = None
        hook.last_success_at = self.world.clock.now()
        hook.delivery_retry_count = 0
        hook.next_attempt_after = None
        hook.failure_deletion_timestamp = None

    def _failed(
        self, state: _State, out: _Outgoing, now: float, status: int | None, error: str | None
    ) -> None:
        hook = state.hook
        clock_now = self.world.clock.now()
        if state.failing_since is None:
            state.failing_since = now
            hook.failure_deletion_timestamp = clock_now + timedelta(seconds=self.deletion_after)
        hook.last_failure_at = clock_now
        hook.last_failure_content = error or f"{status}"
        if now - state.failing_since >= self.deletion_after:
            hook.active = False
            self._states.pop(hook.gid, None)
            self._deleted.append(hook)
            return
        hook.delivery_retry_count += 1
        wait = min(self.retry_max, self.retry_base * 2 ** (out.attempts - 1))
        out.not_before = now + wait
        hook.next_attempt_after = clock_now + timedelta(seconds=wait)

    def _post(
        self, target: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None, str | None]:
        """(status, X-Hook-Secret answered, error) of one POST to a target."""
        request = urllib.request.Request(  # noqa: S310 - http(s) only: create_webhook checks
            target,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
                return response.status, response.headers.get("X-Hook-Secret"), None
        except urllib.error.HTTPError as exc:
            text = exc.read()[:200].decode(errors="replace")
            return exc.code, None, f"{exc.code} {exc.reason}\n\n{text}"
        except (OSError, ValueError) as exc:  # refused, timed out, not a URL
            return None, None, f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------- handlers
def _filters(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = data.get("filters")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise InvalidRequestError("filters: Value is not an array of objects")
    return [{key: item[key] for key in FILTER_KEYS if key in item} for item in raw]


class _Unlocked:
    """The world's lock released for a block (a handshake), and taken again after."""

    def __init__(self, world: World) -> None:
        self._lock = world.lock
        self._released = False

    def __enter__(self) -> None:
        try:
            self._lock.release()
            self._released = True
        except RuntimeError:
            self._released = False

    def __exit__(self, *exc: object) -> None:
        if self._released:
            self._lock.acquire()


@routes.post("/webhooks")
def create_webhook(call: Call) -> Reply:
    data = call.data()
    resource_gid = data.get("resource")
    target = data.get("target")
    if not resource_gid:
        raise InvalidRequestError("resource: Missing input")
    if not isinstance(target, str) or not target:
        raise InvalidRequestError("target: Missing input")
    if not target.startswith(("http://", "https://")):
        raise InvalidRequestError(f"target: Not a valid URL: {target}")
    resource = call.world.find(str(resource_gid))
    if resource is None:
        raise NotFoundError(f"resource: Unknown object: {resource_gid}")
    call.world.check_access(call.user, resource)
    filters = _filters(data)
    if not isinstance(resource, Project | Task) and not filters:
        raise InvalidRequestError("filters: Webhooks on higher-level resources require filters")
    registry = Webhooks.of(call.world)
    with _Unlocked(call.world):
        hook = registry.create(resource, target, filters, call.user.gid)
    reply = call.one(hook, status=201)
    reply.body["X-Hook-Secret"] = hook.secret
    return reply


@routes.get("/webhooks")
def get_webhooks(call: Call) -> Reply:
    workspace = call.lookup(call.required("workspace"), Workspace, "workspace")
    resource = call.query.get("resource")
    hooks = [
        hook
        for hook in Webhooks.of(call.world).all()
        if hook.workspace is workspace
        and hook.owner_gid == call.user.gid
        and (not resource or hook.resource.value("gid") == resource)
    ]
    return call.many(hooks)


def _own(call: Call) -> Webhook:
    hook = Webhooks.of(call.world).get(call.params["webhook_gid"])
    if hook.owner_gid != call.user.gid:
        raise NotFoundError(f"webhook: Unknown object: {hook.gid}")
    return hook


@routes.get("/webhooks/{webhook_gid}")
def get_webhook(call: Call) -> Reply:
    return call.one(_own(call))


@routes.put("/webhooks/{webhook_gid}")
def update_webhook(call: Call) -> Reply:
    hook = _own(call)
    hook.filters = _filters(call.data())
    return call.one(hook)


@routes.delete("/webhooks/{webhook_gid}")
def delete_webhook(call: Call) -> Reply:
    hook = _own(call)
    Webhooks.of(call.world).delete(hook.gid)
    return call.empty()
