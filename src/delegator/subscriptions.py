"""A client's Asana webhooks kept in step with its watched sources, and how healthy they are.

Run by the client's lease holder after each of its cycles (`Subscriber.keep_in_step`), through
the ports only: the store (`SubscriptionStore`, fenced by the lease) and the client's
`WebhookBackend`. One webhook per watched resource: a project, which also reports the changes of
its sections (a task moving to a section is an event of the project). Tags and "my tasks" have
no webhook Asana documents task events for: those sources are polled at the client's ``poll``.

Creating one: a row is written PENDING under a new unguessable key first, so that whichever
replica's receiver gets Asana's handshake (sent while ``POST /webhooks`` is in flight) finds it
and keeps the secret, sealed (first handshake wins). When the ``POST`` answers, the kept secret is
compared with the 201 answer's ``X-Hook-Secret``: a mismatch means a stranger's handshake won the
race, so the webhook is deleted and the row marked FAILED. A failure is tried again later, with
backoff (one minute, doubling up to an hour).

Checking them: at most once per ``check_every`` (the client's polling interval as it stands) the
client's webhooks are listed from Asana, one request: a webhook Asana deleted or deactivated
(after a day of failed deliveries, or by hand) is subscribed again; a webhook of ours that no row
knows (its ``POST`` answered but the process died before saving) is adopted when its handshake
was kept, else deleted. A source no longer watched loses its webhook at once.

Health (`hooks_health`, pure): a client polls at ``webhooks.safety_poll`` only while every
source has an ACTIVE subscription whose last signal (handshake, delivery or heartbeat; Asana
sends a heartbeat every eight hours) is within ``heartbeat_timeout``; otherwise at its ``poll``,
and the reason is shown by ``delegator status``, /readyz and the metrics.
"""

from __future__ import annotations

import enum
import hmac
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from delegator.logs import get_logger
from delegator.ports import (
    BackendError,
    RemoteWebhook,
    Subscription,
    SubscriptionState,
    SubscriptionStore,
    WatchedSource,
    WebhookBackend,
)
from delegator.sealing import Sealer

RECEIVER_PATH = "/webhooks/asana/"
# The events that can change a decision: a task added to, changed in, removed from, deleted or
# restored in a watched project (section moves included). Stories (comments), attachments and
# the project's own changes are left out: they change no rule's answer.
FILTERS: tuple[Mapping[str, Any], ...] = tuple(
    {"resource_type": "task", "action": action}
    for action in ("added", "changed", "removed", "deleted", "undeleted")
)
HANDSHAKE_WINDOW = timedelta(minutes=2)  # a key awaits its handshake this long after its POST
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)


def new_key() -> str:
    """An opaque, unguessable key: the target URL's last segment (192 random bits)."""
    return secrets.token_urlsafe(24)


def target_url(public_url: str, key: str) -> str:
    return public_url.rstrip("/") + RECEIVER_PATH + key


def key_of(public_url: str, target: str) -> str | None:
    """The key in a target URL of this service's receiver, or None for anybody else's URL."""
    prefix = public_url.rstrip("/") + RECEIVER_PATH
    if not target.startswith(prefix):
        return None
    key = target.removeprefix(prefix)
    return key or None


class HooksMode(enum.StrEnum):
    OFF = "off"  # no public URL: every client polls
    POLLED = "polled"  # a watched source has no webhook (a tag, my tasks): the client polls
    PENDING = "pending"  # not subscribed yet (before its first cycle, or being created)
    HEALTHY = "healthy"  # every source's webhook is live: polling only as the safety net
    DEGRADED = "degraded"  # a webhook failed, went silent or was deleted: the client polls


@dataclass(frozen=True, slots=True)
class ClientHooks:
    """One client's webhooks, as status, /readyz and the scheduler see them."""

    mode: HooksMode
    reason: str | None = None  # why not healthy, in words
    active: int = 0  # live subscriptions
    wanted: int = 0  # resources that should have one
    last_signal_at: datetime | None = None
    last_event_at: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.mode is HooksMode.HEALTHY


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a client's sources ask of webhooks: the resources, and the sources they cannot serve."""

    resources: tuple[str, ...]
    polled: tuple[str, ...]  # labels of the sources without a webhook

    @classmethod
    def of(cls, sources: Sequence[WatchedSource]) -> Wanted:
        resources = dict.fromkeys(s.webhook_resource for s in sources if s.webhook_resource)
        polled = tuple(s.label for s in sources if not s.webhook_resource)
        return cls(tuple(r for r in resources if r is not None), polled)


def hooks_health(
    wanted: Wanted | None,
    rows: Sequence[Subscription],
    now: datetime,
    heartbeat_timeout: timedelta,
) -> ClientHooks:
    """How a client's webhooks stand (pure): HEALTHY only when every source is served by a live
    subscription."""
    if wanted is None:
        return ClientHooks(HooksMode.PENDING, "not subscribed yet: its first cycle subscribes")
    by_resource = {row.resource: row for row in rows if row.resource in wanted.resources}
    active = [r for r in by_resource.values() if r.state is SubscriptionState.ACTIVE]
    signals = [r.last_signal_at for r in active if r.last_signal_at is not None]
    events = [r.last_event_at for r in active if r.last_event_at is not None]
    base = ClientHooks(
        HooksMode.HEALTHY,
        active=len(active),
        wanted=len(wanted.resources),
        last_signal_at=min(signals) if len(signals) == len(active) and signals else None,
        last_event_at=max(events) if events else None,
    )
    if wanted.polled:
        return replace(
            base,
            mode=HooksMode.POLLED,
            reason=f"{', '.join(wanted.polled)}: no webhook serves it, polled",
        )
    for resource in wanted.resources:
        row = by_resource.get(resource)
        if row is None:
            return replace(base, mode=HooksMode.PENDING, reason=f"{resource}: not subscribed yet")
        if row.state is SubscriptionState.FAILED:
            why = row.problem or "subscribing failed"
            return replace(base, mode=HooksMode.DEGRADED, reason=f"{resource}: {why}")
        if row.state is SubscriptionState.PENDING:
            return replace(base, mode=HooksMode.PENDING, reason=f"{resource}: being subscribed")
        last = row.last_signal_at or row.created_at
        if now - last > heartbeat_timeout:
            silent = f"{resource}: no delivery or heartbeat since {last:%Y-%m-%d %H:%M} UTC"
            return replace(base, mode=HooksMode.DEGRADED, reason=silent)
    return base


@dataclass(frozen=True, slots=True)
class HooksPolicy:
    public_url: str  # where Asana reaches the receiver (the path is added)
    heartbeat_timeout: timedelta
    handshake_window: timedelta = HANDSHAKE_WINDOW
    retry_base: timedelta = RETRY_BASE
    retry_max: timedelta = RETRY_MAX


@dataclass
class SteppedReport:
    """What one `keep_in_step` did, for the log and the tests."""

    created: list[str]
    deleted: list[str]
    recreated: list[str]
    failed: list[str]


class Subscriber:
    """Keeps each client's webhooks in step; one per process, used by the lease holders."""

    def __init__(
        self,
        policy: HooksPolicy,
        sealer: Sealer,
        *,
        forget: Callable[[str], None] = lambda key: None,
    ) -> None:
        self.policy = policy
        self.sealer = sealer
        self._forget = forget  # drop a key from the receiver's cache
        self._lock = threading.Lock()
        self._wanted: dict[str, Wanted] = {}
        self._checked: dict[str, datetime] = {}
        self._health: dict[str, ClientHooks] = {}

    def health(self, client: str) -> ClientHooks | None:
        """How the client's webhooks stood at the last `judge`."""
        with self._lock:
            return self._health.get(client)

    def judge(
        self, clients: Sequence[str], rows: Sequence[Subscription], now: datetime
    ) -> dict[str, ClientHooks]:
        """Every client's webhooks' health from the store's rows (one read for all)."""
        by_client: dict[str, list[Subscription]] = {}
        for row in rows:
            by_client.setdefault(row.client, []).append(row)
        judged = {
            client: hooks_health(
                self.wanted(client),
                by_client.get(client, []),
                now,
                self.policy.heartbeat_timeout,
            )
            for client in clients
        }
        with self._lock:
            self._health = judged
        return judged

    def wanted(self, client: str) -> Wanted | None:
        with self._lock:
            return self._wanted.get(client)

    def forget_client(self, client: str) -> None:
        with self._lock:
            self._wanted.pop(client, None)
            self._checked.pop(client, None)

    def keep_in_step(
        self,
        client: str,
        backend: WebhookBackend,
        sources: Sequence[WatchedSource],
        store: SubscriptionStore,
        now: datetime,
        *,
        check_every: timedelta,
    ) -> SteppedReport:
        """Subscribe what is watched and not subscribed, unsubscribe what is no longer watched,
        and (once per ``check_every``) resubscribe what Asana deleted. Raises only a fatal
        BackendError (the token) and store errors; other failures are recorded on the rows."""
        wanted = Wanted.of(sources)
        with self._lock:
            self._wanted[client] = wanted
            last_check = self._checked.get(client)
        report = SteppedReport([], [], [], [])
        rows = store.subscriptions(client)
        for row in rows:
            if row.resource not in wanted.resources:
                self._drop(row, backend, store, report.deleted)
        rows = [row for row in rows if row.resource in wanted.resources]
        if last_check is None or now - last_check >= check_every:
            rows = self._check(client, backend, store, rows, now, report)
            with self._lock:
                self._checked[client] = now
        live = {row.resource: row for row in rows if self._live(row, now)}
        failed = {row.resource: row for row in rows if row.state is SubscriptionState.FAILED}
        for resource in wanted.resources:
            if resource in live:
                continue
            earlier = failed.get(resource)
            if earlier is not None and earlier.retry_at is not None and now < earlier.retry_at:
                continue
            for stale in rows:  # a failed or abandoned attempt: replaced by this one
                if stale.resource == resource and stale.key not in {r.key for r in live.values()}:
                    self._drop(stale, backend, store, [])
            self._subscribe(client, resource, backend, store, now, earlier, report)
        log = get_logger(client=client)
        if report.created or report.deleted or report.recreated or report.failed:
            log.info(
                "webhooks_in_step",
                created=report.created,
                deleted=report.deleted,
                recreated=report.recreated,
                failed=report.failed,
            )
        return report

    def _live(self, row: Subscription, now: datetime) -> bool:
        """Serving (its secret unseals: not after a change of seal key), or being created."""
        if row.state is SubscriptionState.PENDING:
            return self._awaiting(row, now)
        return (
            row.state is SubscriptionState.ACTIVE
            and row.sealed_secret is not None
            and self.sealer.unseal(row.sealed_secret) is not None
        )

    def _awaiting(self, row: Subscription, now: datetime) -> bool:
        return now - row.created_at <= self.policy.handshake_window

    def _check(
        self,
        client: str,
        backend: WebhookBackend,
        store: SubscriptionStore,
        rows: list[Subscription],
        now: datetime,
        report: SteppedReport,
    ) -> list[Subscription]:
        """Compare the rows with Asana's list; the rows still standing."""
        try:
            remote = backend.webhooks()
        except BackendError as exc:
            if exc.fatal:
                raise
            get_logger(client=client).warning("webhooks_not_listed", error=str(exc))
            return rows
        ours: dict[str, RemoteWebhook] = {}
        for hook in remote:
            key = key_of(self.policy.public_url, hook.target)
            if key is not None:
                ours[key] = hook
        standing: list[Subscription] = []
        known = {row.key for row in rows}
        for row in rows:
            found = ours.get(row.key)
            if row.state is SubscriptionState.ACTIVE and (found is None or not found.active):
                get_logger(client=client).warning(
                    "webhook_gone", resource=row.resource, webhook=row.webhook
                )
                self._drop(row, backend, store, [])
                report.recreated.append(row.resource)
                continue
            if (
                row.state is SubscriptionState.PENDING
                and not self._awaiting(row, now)
                and found is not None
                and found.active
                and row.sealed_secret is not None
                and self.sealer.unseal(row.sealed_secret) is not None
            ):  # its POST succeeded, but the answer was never saved: adopted
                adopted = replace(row, state=SubscriptionState.ACTIVE, webhook=found.gid)
                store.save_subscription(adopted)
                standing.append(adopted)
                continue
            standing.append(row)
        for key, hook in ours.items():
            # A webhook with this service's target that no row knows (not even another client's
            # sharing the token): its POST answered after its row was dropped. Deleted.
            if key not in known and store.subscription(key) is None:
                self._delete_remote(hook.gid, backend)
        return standing

    def _subscribe(
        self,
        client: str,
        resource: str,
        backend: WebhookBackend,
        store: SubscriptionStore,
        now: datetime,
        earlier: Subscription | None,
        report: SteppedReport,
    ) -> None:
        key = new_key()
        pending = Subscription(
            key=key,
            client=client,
            resource=resource,
            state=SubscriptionState.PENDING,
            created_at=now,
            failures=earlier.failures if earlier is not None else 0,
        )
        store.save_subscription(pending)
        try:
            answer = backend.subscribe(resource, target_url(self.policy.public_url, key), FILTERS)
        except BackendError as exc:
            if exc.fatal:
                store.remove_subscription(key)
                raise
            self._failed(pending, store, now, str(exc), report)
            return
        kept = store.subscription(key)
        secret = (
            self.sealer.unseal(kept.sealed_secret)
            if kept is not None and kept.sealed_secret is not None
            else None
        )
        problem: str | None = None
        if secret is None:
            problem = "Asana's handshake did not reach this service's receiver"
        elif answer.secret is not None and not hmac.compare_digest(
            secret.encode("utf-8"), answer.secret.encode("utf-8")
        ):
            problem = "the handshake kept was not Asana's (its secret differs): subscribed again"
        if problem is not None:
            self._delete_remote(answer.webhook, backend)
            self._failed(replace(pending, webhook=None), store, now, problem, report)
            return
        assert kept is not None
        store.save_subscription(
            replace(
                kept,
                state=SubscriptionState.ACTIVE,
                webhook=answer.webhook,
                failures=0,
                retry_at=None,
                problem=None,
            )
        )
        report.created.append(resource)

    def _failed(
        self,
        pending: Subscription,
        store: SubscriptionStore,
        now: datetime,
        problem: str,
        report: SteppedReport,
    ) -> None:
        failures = pending.failures + 1
        wait = min(self.policy.retry_base * 2 ** (failures - 1), self.policy.retry_max)
        row = store.subscription(pending.key) or pending
        store.save_subscription(
            replace(
                row,
                state=SubscriptionState.FAILED,
                sealed_secret=None,
                failures=failures,
                retry_at=now + wait,
                problem=problem,
            )
        )
        self._forget(pending.key)
        report.failed.append(pending.resource)
        get_logger(client=pending.client).warning(
            "webhook_subscribe_failed",
            resource=pending.resource,
            problem=problem,
            retry_in=wait.total_seconds(),
        )

    def _drop(
        self,
        row: Subscription,
        backend: WebhookBackend,
        store: SubscriptionStore,
        done: list[str],
    ) -> None:
        if row.webhook is not None:
            self._delete_remote(row.webhook, backend)
        store.remove_subscription(row.key)
        self._forget(row.key)
        done.append(row.resource)

    def _delete_remote(self, webhook: str, backend: WebhookBackend) -> None:
        try:
            backend.unsubscribe(webhook)
        except BackendError as exc:
            if exc.fatal:
                raise
            # Left behind: Asana stops it after a day of refused deliveries (the key is gone,
            # so the receiver answers 404), or the next check deletes it.
            get_logger().warning("webhook_not_deleted", webhook=webhook, error=str(exc))
