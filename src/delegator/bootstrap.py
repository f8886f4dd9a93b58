"""The composition root: the only module that builds adapters and wires them to the service."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from delegator.appserver import AppServer
from delegator.asana import AsanaClient, BudgetRegistry, Limits, Timeouts
from delegator.asana.backend import AsanaBackend
from delegator.asana.http import TokenProvider
from delegator.asana.oauth import OAuthApp, OAuthError, RefreshingToken, token_url_for
from delegator.clients import (
    ClientEntry,
    NoOAuthApp,
    TokenError,
    check_token,
    read_refresh_token,
    read_token,
    refresh_token_label,
    token_id,
)
from delegator.clock import Clock, SystemClock
from delegator.core.schema import Client as ClientSettings
from delegator.core.schema import TokenSource
from delegator.cycles import Count, ErrorKind
from delegator.deliveries import Relay, StoredSecrets
from delegator.destinations import Destinations
from delegator.leases import LeaseObserver, LeaseTimes, Ownership, identity
from delegator.logs import bound, get_logger
from delegator.metrics import Metrics
from delegator.ports import LeaseRecord, StateStore, WebhookBackend
from delegator.redact import SECRETS, SecretRegistry
from delegator.sealing import Sealer
from delegator.service import ClientError, ClientRuntime, Cycle, CycleReport, error_kind
from delegator.settings import Settings
from delegator.statuspage.app import create_app
from delegator.statuspage.views import Site
from delegator.store import SqlStore
from delegator.subscriptions import HooksPolicy, Subscriber
from delegator.summaries import SendOutcome, Summaries
from delegator.webhooks.receiver import WebhookReceiver
from delegator.webhooks.server import WebhookServer


def open_store(settings: Settings) -> SqlStore:
    store = SqlStore(settings.database_url)
    store.migrate()
    return store


def lease_times(settings: Settings) -> LeaseTimes:
    """A lease lasts ``replica.lease``; a write needs ``asana.request_deadline`` of it left."""
    return LeaseTimes(settings.replica_lease, settings.asana_request_deadline)


def service_ownership(
    settings: Settings, store: SqlStore, *, observer: LeaseObserver | None = None
) -> Ownership:
    """The leases of a long-running replica, which shares the clients with the others."""
    me = identity(settings.replica_id, datetime.now(UTC))
    return Ownership(store, me, lease_times(settings), clock=SystemClock(), observer=observer)


def one_off_ownership(settings: Settings, store: SqlStore) -> Ownership:
    """The leases of a one-off command: only free ones, for the clients it runs."""
    me = identity(settings.replica_id, datetime.now(UTC))
    return Ownership(store, me, lease_times(settings), clock=SystemClock(), member=False)


def oauth_app(settings: Settings) -> OAuthApp | None:
    """The agency's Asana app from the settings (None when not set up); its token endpoint,
    unless set, is the one beside ``asana.base_url`` (Asana's, or a sandbox's)."""
    client_id, secret = settings.asana_oauth_client_id, settings.asana_oauth_client_secret
    if client_id is None or secret is None:
        return None
    url = settings.asana_oauth_token_url or token_url_for(settings.asana_base_url)
    return OAuthApp(client_id, secret, url)


def token_provider(
    source: TokenSource,
    environ: Mapping[str, str],
    oauth: OAuthApp | None,
    *,
    clock: Clock,
    shared: MutableMapping[str, RefreshingToken] | None = None,
    proxy: str | None = None,
) -> TokenProvider:
    """The provider of a client's current token, for its `AsanaClient`.

    A variable or a file is read again each time it is asked (after a 401, on a reload), its
    failures a ValueError. An OAuth refresh token gives a `RefreshingToken`'s provider (its
    failures an `OAuthError`, a ValueError too): `shared` keeps one `RefreshingToken` per
    refresh token, so the clients and runtimes using it wait for one exchange and share its
    access token. Raises `NoOAuthApp` for an OAuth source without ``asana.oauth_*`` settings;
    reads nothing yet."""
    if source.oauth is None:

        def token() -> str:
            try:
                return read_token(source, environ)
            except TokenError as exc:
                raise ValueError(str(exc)) from None

        return token
    if oauth is None:
        raise NoOAuthApp(
            "the client's token is an OAuth refresh token, and the agency's Asana app is not "
            "set: set asana.oauth_client_id and asana.oauth_client_secret"
        )
    key = token_id(source)
    tokens = shared.get(key) if shared is not None else None
    if tokens is None or tokens.app != oauth:

        def refresh_token() -> str:
            try:
                return read_refresh_token(source, environ)
            except TokenError as exc:
                raise OAuthError(str(exc)) from None

        tokens = RefreshingToken(
            oauth, refresh_token, label=refresh_token_label(source), clock=clock, proxy=proxy
        )
        if shared is not None:
            shared[key] = tokens
    return tokens.provider()


@dataclass
class Fleet:
    """Every client's runtime, built lazily; a client that cannot start is reported, not fatal."""

    settings: Settings
    store: StateStore
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # The time of cycles and summaries, and of every client's waits (budgets, Retry-After).
    clock: Clock = field(default_factory=SystemClock)
    # Each token's budget, shared by every client this fleet builds with that token.
    budgets: BudgetRegistry = field(default_factory=BudgetRegistry)
    # The secrets every log line and stored or sent text is redacted of: the process's one
    # (redact.SECRETS), which the log processors also read; given to what the fleet builds.
    secrets: SecretRegistry = field(default_factory=lambda: SECRETS)
    runtimes: dict[str, ClientRuntime] = field(default_factory=dict)
    # The running service's metrics (None for one-off commands).
    metrics: Metrics | None = None
    # Set when the service stops: running cycles end at their next safe point.
    stopping: threading.Event = field(default_factory=threading.Event)
    # This process's leases of clients (None: no leases, e.g. a dry run or a test): a cycle
    # that writes runs only under its client's lease, fenced by it, its Asana writes guarded.
    ownership: Ownership | None = None
    # Keeps each client's webhooks in step after its cycles (None: webhooks off, one-off runs).
    subscriber: Subscriber | None = None
    # Each client's webhooks in Asana: the same adapter as its task backend.
    hook_backends: dict[str, WebhookBackend] = field(default_factory=dict)
    # Each OAuth refresh token's access token, by its token id: shared by the clients using it.
    oauth_tokens: dict[str, RefreshingToken] = field(default_factory=dict)
    # Each client's token source and Asana client, for renewing an OAuth token before a cycle.
    _clients: dict[str, tuple[TokenSource, AsanaClient]] = field(
        default_factory=dict, init=False, repr=False
    )

    def runtime(self, entry: ClientEntry) -> ClientRuntime:
        """The runtime for a client file's current version (rebuilt when the file changed)."""
        current = self.runtimes.get(entry.key)
        if current is not None and (current.entry.path, current.entry.mtime) == (
            entry.path,
            entry.mtime,
        ):
            self._renew_if_due(entry.key)
            return current
        if entry.engine is None or entry.loaded.head is None:
            problems = "; ".join(str(e) for e in entry.errors[:5])
            raise ClientError(f"the rule file has errors: {problems}")
        head = entry.loaded.head
        source = head.client.token
        try:
            check_token(source, self.environ)
            token = token_provider(
                source, self.environ, oauth_app(self.settings), clock=self.clock,
                shared=self.oauth_tokens, proxy=self.settings.asana_proxy,
            )  # fmt: skip
        except TokenError as exc:
            raise ClientError(str(exc), kind=ErrorKind.TOKEN) from None
        try:
            client = self._client(head.client, token, entry.key)
        except OAuthError as exc:  # no access token for the client's refresh token
            raise ClientError(str(exc), kind=ErrorKind.TOKEN) from None
        if current is not None:
            current.backend.close()
        backend = AsanaBackend(client, head.client.workspace)
        runtime = ClientRuntime(entry, backend, self.store)
        self.runtimes[entry.key] = runtime
        self.hook_backends[entry.key] = backend
        self._clients[entry.key] = (source, client)
        return runtime

    def _renew_if_due(self, key: str) -> None:
        """Before a client's cycle: an OAuth access token with less than its margin left is
        renewed now, not by a 401 in the middle of the cycle; a revoked authorisation is the
        client's error."""
        source, client = self._clients.get(key, (None, None))
        if source is None or client is None or source.oauth is None:
            return
        tokens = self.oauth_tokens.get(token_id(source))
        if tokens is None or not tokens.due():
            return
        try:
            client.reload()
        except OAuthError as exc:
            raise ClientError(str(exc), kind=ErrorKind.TOKEN) from None

    def _client(self, head: ClientSettings, token: TokenProvider, key: str) -> AsanaClient:
        """The Asana client of a client file's head and token provider."""
        plan = Limits.for_plan(head.plan)
        rate = min(plan.requests_per_minute, float(self.settings.asana_requests_per_minute))
        return AsanaClient(
            token,
            base_url=self.settings.asana_base_url,
            limits=replace(plan, requests_per_minute=rate),
            reconcile_every=self.settings.reconcile_every,
            timeouts=Timeouts(total=self.settings.asana_request_deadline.total_seconds()),
            observer=self.metrics.observe_request if self.metrics is not None else None,
            token_id=token_id(head.token),
            workspace_gid=head.workspace,
            clock=self.clock,
            budgets=self.budgets,
            write_guard=self._guard(key),
            proxy=self.settings.asana_proxy,
        )

    def forget_runtime(self, key: str) -> None:
        """Build the client's runtime afresh at its next cycle: its names, people and sources
        read again. For a client this replica just took over: what it remembers from when it
        last ran the client (a tag list, say) may be older than what another replica did since,
        and a tag missing from it would be created twice. A cycle still using the old runtime
        finishes with it."""
        self.runtimes.pop(key, None)

    def _guard(self, key: str) -> Callable[[], None] | None:
        """The check before each Asana write of a client: its lease must leave room for it."""
        ownership = self.ownership
        if ownership is None:
            return None
        return lambda: ownership.check(key)

    def cycle(
        self,
        entry: ClientEntry,
        *,
        dry_run: bool = False,
        full: bool = False,
        explain: bool = False,
        progress: Callable[[str, int], None] | None = None,
        keep_tasks: bool = True,
    ) -> CycleReport:
        """One cycle of one client; any failure ends in the report, never in an exception.

        ``keep_tasks=False`` (the long-running service) returns the counts and errors only.
        """
        with bound(client=entry.key):
            return self._cycle(entry, dry_run, full, explain, progress, keep_tasks)

    def _cycle(
        self,
        entry: ClientEntry,
        dry_run: bool,
        full: bool,
        explain: bool,
        progress: Callable[[str, int], None] | None,
        keep_tasks: bool,
    ) -> CycleReport:
        now = self.clock.now()
        log = get_logger(client=entry.key)
        try:
            runtime = self.runtime(entry)
        except ClientError as exc:
            report = CycleReport(entry.key, entry.name, now, dry_run)
            report.add_error(error_kind(exc), str(exc))
            report.counts[Count.CLIENT_FAILED] = 1
            log.error("client_unavailable", reason=str(exc))
            if not dry_run:  # recorded, so `delegator status` and the history can say why
                report.cycle_id = self.store.start_cycle(entry.key, now, False)
                self.store.finish_cycle(report.cycle_id, now, report.counts, report.cycle_errors)
        else:
            report = self._leased_cycle(runtime, now, dry_run, full, explain, progress)
        seconds = self._observe(report, now)
        if not keep_tasks:
            report.tasks.clear()
        log.info(
            "cycle_finished",
            cycle=report.cycle_id,
            result=report.result,
            dry_run=dry_run,
            seconds=round(seconds, 3),
            errors=report.errors,
            **report.counts.to_mapping(),
        )
        return report

    def _leased_cycle(
        self,
        runtime: ClientRuntime,
        now: datetime,
        dry_run: bool,
        full: bool,
        explain: bool,
        progress: Callable[[str, int], None] | None,
    ) -> CycleReport:
        """The cycle, under the client's lease when this fleet keeps leases (a dry run writes
        nothing and needs none)."""
        ownership = self.ownership
        if ownership is None or dry_run:
            report = Cycle(
                runtime, now=now, dry_run=dry_run, full=full, explain=explain, progress=progress,
                should_stop=self.stopping.is_set, clock=self.clock.now,
            ).run()  # fmt: skip
            if not dry_run:
                self._keep_hooks(runtime, self.store)
            return report
        key = runtime.key
        fence = ownership.fence(key)
        if fence is None:
            report = CycleReport(key, runtime.entry.name, now, dry_run)
            report.add_error(ErrorKind.CYCLE, f"not run: {self.held_elsewhere(key)}")
            report.counts[Count.CLIENT_FAILED] = 1
            return report
        store = ownership.store_for(fence)
        report = Cycle(
            runtime, now=now, full=full, explain=explain, progress=progress,
            should_stop=self.stopping.is_set, store=store,
            lease_check=lambda: ownership.check(key), clock=self.clock.now, hold=fence,
        ).run()  # fmt: skip
        self._keep_hooks(runtime, store)
        return report

    def _keep_hooks(self, runtime: ClientRuntime, store: StateStore) -> None:
        """After a cycle, under its lease: the client's webhooks in step with its sources.
        A failure here is logged and shown in its webhooks' health; the cycle's report stands."""
        subscriber = self.subscriber
        backend = self.hook_backends.get(runtime.key)
        sources = runtime.resolved_sources
        if subscriber is None or backend is None or sources is None or self.stopping.is_set():
            return
        head = runtime.head
        healthy = subscriber.health(runtime.key)
        check_every = (
            self.settings.webhooks_safety_poll
            if healthy is not None and healthy.healthy
            else head.poll.timedelta()
        )
        try:
            subscriber.keep_in_step(
                runtime.key, backend, sources, store, self.clock.now(), check_every=check_every
            )
        except Exception as exc:  # the token, the store, the lease: the next cycle tries again
            get_logger(client=runtime.key).error("webhooks_not_kept", error=str(exc))

    def unsubscribe_client(self, key: str) -> None:
        """A client's rule file was removed: delete its webhooks (when this process ran it)."""
        subscriber, backend = self.subscriber, self.hook_backends.pop(key, None)
        if subscriber is None:
            return
        if backend is None:
            subscriber.forget_client(key)
            return  # never ran here: its holder deletes them, or Asana after failed deliveries
        ownership = self.ownership
        store: StateStore = self.store
        if ownership is not None:
            fence = ownership.fence(key)
            if fence is None:
                return
            store = ownership.store_for(fence)
        try:
            subscriber.keep_in_step(key, backend, [], store, self.clock.now(),
                                    check_every=timedelta.max)  # fmt: skip
        except Exception as exc:
            get_logger(client=key).error("webhooks_not_deleted", error=str(exc))
        subscriber.forget_client(key)

    def held_elsewhere(self, key: str) -> str:
        """Why this process does not hold a client's lease, in words."""
        try:
            lease = next((x for x in self.leases() if x.client == key), None)
        except Exception:  # StoreError: say what is known
            lease = None
        ownership = self.ownership
        if ownership is not None and key in ownership.held():
            return (
                "this replica's lease of the client has less time left than a write may take "
                "(its renewals are not going through: is the database reachable?)"
            )
        if lease is None or not lease.live or lease.expires_at is None:
            return "this process does not hold the client's lease (the database did not grant it)"
        return (
            f"replica {lease.replica} holds the client's lease (until "
            f"{lease.expires_at:%Y-%m-%d %H:%M:%S} UTC, renewed while it runs): it serves this "
            "client"
        )

    def leases(self) -> list[LeaseRecord]:
        ownership = self.ownership
        return ownership.store.leases() if ownership is not None else []

    def _observe(self, report: CycleReport, started: datetime) -> float:
        """The cycle's duration, counted in the metrics (when the service keeps them)."""
        finished = self.clock.now()
        seconds = (finished - started).total_seconds()
        if self.metrics is not None and not report.dry_run:
            self.metrics.observe_cycle(report, seconds, finished)
        return seconds

    def cycle_all(
        self,
        entries: Iterable[ClientEntry],
        *,
        dry_run: bool = False,
        full: bool = False,
        workers: int | None = None,
        keep_tasks: bool = True,
    ) -> list[CycleReport]:
        """One cycle for each client, several at a time: a slow or rate-limited client waits
        while the others go on."""
        items = list(entries)
        if not items:
            return []
        at_once = workers if workers is not None else self.settings.worker_concurrency
        with ThreadPoolExecutor(max_workers=max(1, min(at_once, len(items)))) as pool:
            return list(
                pool.map(
                    lambda e: self.cycle(e, dry_run=dry_run, full=full, keep_tasks=keep_tasks),
                    items,
                )
            )

    def summaries(self, on_send: Callable[[SendOutcome], None] | None = None) -> Summaries:
        """Summaries and digests of this fleet's clients, over the same runtimes and store."""
        metrics = self.metrics
        if on_send is None and metrics is not None:

            def on_send(outcome: SendOutcome) -> None:
                kind = outcome.destination.split(":", 1)[0]
                metrics.summary_sent(outcome.client, outcome.kind, kind, outcome.status)

        destinations = Destinations(
            self.settings, self.environ, self.runtime, self.clock, secrets=self.secrets
        )
        return Summaries(
            self.store, self.settings, self.runtime, destinations, self.clock.now, on_send=on_send
        )

    def close(self) -> None:
        for runtime in self.runtimes.values():
            runtime.backend.close()
        self.store.close()


@dataclass
class Hooks:
    """The webhook side of a running service: the receiver, its relay, the subscriber."""

    server: WebhookServer
    relay: Relay
    secrets: StoredSecrets
    subscriber: Subscriber

    @property
    def public_url(self) -> str:
        return self.subscriber.policy.public_url

    def totals(self) -> dict[str, int]:
        """The receiver's running totals by result (for the metrics)."""
        counts = self.server.receiver.counts()
        return {
            "delivery": counts.deliveries,
            "heartbeat": counts.heartbeats,
            "handshake": counts.handshakes,
            "bad_signature": counts.bad_signatures,
            "unknown": counts.unknown,
            "too_large": counts.too_large,
            "malformed": counts.malformed,
            "failed": counts.callback_failures,
        }

    def stop(self) -> None:
        self.server.stop()
        self.relay.stop()


def status_page_wanted(settings: Settings) -> str | None:
    """None when the status page runs; else why not, for the log."""
    if not settings.status_port:
        return "status.port is 0"
    if settings.status_secret is None:
        return "no status.secret to sign its links and sessions with"
    return None


def start_status_page(
    settings: Settings,
    store: SqlStore,
    entries: Callable[[], list[ClientEntry]],
    clock: Callable[[], datetime],
) -> AppServer:
    """The status page on ``status.host:status.port``, over the store and the rule files the
    service runs; `AppServerError` when it cannot listen."""
    site = Site(settings, store, entries, clock)
    app = create_app(site, store.link_revoked)
    return AppServer(
        app, settings.status_host, settings.status_port, purpose="for the status page",
        name="the status page", component="status_page", event="status_page",
    ).start()  # fmt: skip


def webhooks_wanted(settings: Settings, *, loopback: bool = False) -> bool:
    """Whether the service runs webhooks: a public URL is set, or the sandbox on loopback."""
    return settings.webhooks_seal_key is not None and (
        settings.webhooks_public_url is not None or loopback
    )


def start_hooks(
    settings: Settings,
    store: StateStore,
    wake: Callable[[str, datetime], None],
    *,
    ownership: Ownership | None = None,
    loopback: bool = False,
) -> Hooks:
    """Start the webhook receiver and its relay; the subscriber for the fleet. Without a public
    URL (``loopback``: the sandbox) Asana is told the receiver's own loopback address. Raises
    `WebhookServerError` when the receiver cannot listen."""
    key = settings.webhooks_seal_key
    assert key is not None, "webhooks_wanted() first"
    sealer = Sealer(key)
    secrets = StoredSecrets(store, sealer, lambda: datetime.now(UTC))

    def held() -> list[str]:
        return list(ownership.held()) if ownership is not None else []

    def others_alive() -> bool:
        last = ownership.last_round if ownership is not None else None
        return last is not None and len(last.replicas) > 1

    relay = Relay(store, secrets, wake, held=held, others_alive=others_alive)
    server = WebhookServer(
        WebhookReceiver(secrets, relay), settings.webhooks_host, settings.webhooks_port
    ).start()
    public_url = settings.webhooks_public_url or (server.url if loopback else None)
    assert public_url is not None, "webhooks_wanted() first"
    policy = HooksPolicy(public_url, settings.webhooks_heartbeat_timeout)
    relay.start()
    return Hooks(server, relay, secrets, Subscriber(policy, sealer, forget=secrets.forget))
