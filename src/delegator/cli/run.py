"""`delegator run`: the long-running service, against Asana or the built-in sandbox."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NoReturn

from delegator.appserver import AppServer, AppServerError
from delegator.bootstrap import (
    Fleet,
    Hooks,
    open_store,
    service_ownership,
    start_hooks,
    start_status_page,
    status_page_wanted,
    webhooks_wanted,
)
from delegator.cli._common import Subparsers, say
from delegator.cli.service import settings_from
from delegator.collector import tune_for_cycles
from delegator.health import (
    Readiness,
    failed_writes_threshold,
    min_free_bytes,
    with_store_checks,
)
from delegator.logs import bind_process, configure, get_logger
from delegator.metrics import Metrics
from delegator.ports import StateStore
from delegator.sandbox import FixtureError
from delegator.sandboxed import EXAMPLE_RULES, sandboxed
from delegator.scheduler import Service
from delegator.settings import Settings, SettingsError
from delegator.store import SqlStore, StoreError
from delegator.store.exclusive import ServiceLock
from delegator.store.sqlstore import StoreHealth
from delegator.web import OpsServer, WebError
from delegator.webhooks.server import WebhookServerError


def register(subparsers: Subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the service until stopped",
        description=(
            "Run the delegation service: each client's cycle at its poll interval; rule files "
            "added, changed or removed are picked up without a restart. /healthz, /readyz and "
            "/metrics are served on http.port (DELEGATOR_HTTP_PORT; 0: off). SIGTERM or Ctrl-C "
            "stops scheduling, lets the running cycles end at their next safe point and exits 0 "
            "(1 when shutdown.grace runs out first); a second signal exits at once."
        ),
    )
    run.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    run.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="against the built-in Asana sandbox: the demo world and the examples, or with "
        "--seed your world and your rule files (each file's token variable pointed at its "
        "owner's sandbox token; a temporary store)",
    )
    run.add_argument(
        "--seed",
        type=Path,
        metavar="WORLD",
        help="with --sandbox: the world to seed it from (a fixture file, docs/sandbox.md)",
    )
    run.set_defaults(handler=run_service)


def run_service(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_format, settings.log_level, to="stdout")
    if args.seed is not None and not args.sandbox:
        say("--seed needs --sandbox")
        return 2
    try:
        with _world(args, settings) as (settings_in_use, environ):
            return _serve(settings_in_use, environ, loopback=args.sandbox)
    except FixtureError as exc:
        say(f"--seed: {exc}")
        return 2


def _serve(settings: Settings, environ: dict[str, str], *, loopback: bool = False) -> int:
    """Start, serve until a signal, stop within the grace period. Start-up failures (the
    database, the endpoint's port) exit 2 before any work."""
    log = get_logger()
    metrics = Metrics()
    lock: ServiceLock | None = None
    try:
        store = open_store(settings)
        database = store.database_file()
        if database is not None:  # SQLite: one service per file
            lock = ServiceLock(database)
            lock.acquire()
        ownership = service_ownership(settings, store, observer=metrics)
        bind_process(replica=ownership.me.id)
        closed = store.close_abandoned_cycles(datetime.now(UTC))
        ownership.join(exclusive=lock is not None)
    except StoreError as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    if closed:
        log.warning("abandoned_cycles_closed", cycles=closed, result="interrupted")
    log.info(
        "replica_started",
        replica=ownership.me.id,
        store=store.backend,
        lease=settings.replica_lease.total_seconds(),
    )
    fleet = Fleet(settings, store, environ=environ, metrics=metrics, ownership=ownership)
    service = Service(fleet, settings.rules_dir)
    hooks: Hooks | None = None
    if webhooks_wanted(settings, loopback=loopback):
        try:
            hooks = start_hooks(
                settings, store, service.wake, ownership=ownership, loopback=loopback
            )
        except WebhookServerError as exc:
            fleet.close()
            print(f"delegator: {exc}", file=sys.stderr)
            return 2
        fleet.subscriber = hooks.subscriber
        running = hooks
        service.add_periodic_job(
            "webhook-metrics", lambda: metrics.webhook_requests_seen(running.totals()), 10
        )
        log.info(
            "webhooks_started",
            receiver=hooks.server.url,
            public_url=hooks.public_url,
            safety_poll=settings.webhooks_safety_poll.total_seconds(),
        )
    else:
        log.info("webhooks_off", reason="no webhooks.public_url: every client polls")
    web: OpsServer | None = None
    if settings.http_port:
        web = OpsServer(
            settings.http_host,
            settings.http_port,
            readiness=lambda: _readiness(service, store, settings),
            metrics=metrics,
        )
        try:
            web.start()
        except WebError as exc:
            if hooks is not None:
                hooks.stop()
            fleet.close()
            print(f"delegator: {exc}", file=sys.stderr)
            return 2
        log.info("web_started", url=web.url, paths=["/healthz", "/readyz", "/metrics"])
    page: AppServer | None = None
    why_not = status_page_wanted(settings)
    if why_not is None:
        try:
            page = start_status_page(
                settings, store, lambda: list(service.entries.values()), fleet.clock.now
            )
        except AppServerError as exc:
            if web is not None:
                web.stop()
            if hooks is not None:
                hooks.stop()
            fleet.close()
            print(f"delegator: {exc}", file=sys.stderr)
            return 2
        log.info("status_page_started", url=page.url)
    else:
        log.info("status_page_off", reason=why_not)
    received: list[int] = []
    stop = threading.Event()

    # A signal handler runs on the main thread between two of its steps, maybe while that
    # thread holds a lock (the log's, an Event's): it takes none. It sets a flag the main loop
    # polls without a lock; a second signal writes one line straight to the file descriptor
    # and exits.
    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if stop.is_set():  # the second signal: no more waiting
            _say_exit_now(signal.Signals(signum).name)
            os._exit(128 + signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    finished = False
    try:
        service.start()
        tune_for_cycles()  # what start-up built is frozen out of the collector's sight
        while not stop.is_set():  # is_set takes no lock; Event.wait would (see on_signal)
            time.sleep(0.2)
        log.info(
            "stopping",
            signal=signal.Signals(received[0]).name,
            grace=settings.shutdown_grace.total_seconds(),
        )
        finished = service.stop(grace=settings.shutdown_grace.total_seconds())
    finally:
        if not finished and not service.stopped.is_set():
            service.stop(wait=False)  # an error on the way: no cycle waits for it
        if page is not None:
            page.stop()
        if web is not None:
            web.stop()
        if hooks is not None:
            hooks.stop()
    if lock is not None:
        lock.release()
    if not finished:
        _exit_now(1)  # cycles still running: the journal reconciles them at the next start
    return 0


def _readiness(service: Service, store: StateStore, settings: Settings) -> Readiness:
    """The scheduler's picture, with the store's own checks (schema, writable, room left) and
    each client judged with the settings' threshold of failed writes."""
    picture = service.readiness()
    if service.stopped.is_set():  # the store is being closed: do not open it again
        return picture
    health: StoreHealth | str | None = None  # another store: its ping is the check
    if isinstance(store, SqlStore):
        try:
            health = store.health()
        except StoreError as exc:
            health = str(exc)
    return with_store_checks(
        picture,
        health,
        ready_polls=settings.ready_polls,
        failed_writes_at=failed_writes_threshold(settings),
        min_free=min_free_bytes(settings),
    )


def _say_exit_now(name: str) -> None:
    """The second signal's line, written without Python's locks (the stream's or the log's)."""
    line = {"event": "second_signal_exit_now", "signal": name, "level": "warning",
            "timestamp": datetime.now(UTC).isoformat()}  # fmt: skip
    with contextlib.suppress(OSError):
        os.write(1, (json.dumps(line) + "\n").encode())


def _exit_now(code: int) -> NoReturn:
    """Exit without waiting for worker threads (a cycle stuck in a call would hold the exit)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@contextlib.contextmanager
def _world(
    args: argparse.Namespace, settings: Settings
) -> Iterator[tuple[Settings, dict[str, str]]]:
    if not args.sandbox:
        yield settings, dict(os.environ)
        return
    if args.rules:
        rules = Path(args.rules)
    else:
        rules = settings.rules_dir if args.seed is not None else EXAMPLE_RULES
    webhooks_host: str | None = None
    webhooks_port: int | None = None
    if settings.webhooks_public_url is None:  # Asana on loopback: the receiver's own address
        webhooks_host, webhooks_port = "127.0.0.1", 0
    # The world is new each run: so may the key be.
    seal_key = settings.webhooks_seal_key or secrets.token_urlsafe(32)
    base = replace(
        settings,
        webhooks_host=webhooks_host or settings.webhooks_host,
        webhooks_port=settings.webhooks_port if webhooks_port is None else webhooks_port,
        webhooks_seal_key=seal_key,
    )
    with sandboxed(rules, base=base, seed=args.seed) as env:
        log = get_logger()
        log.info(
            "sandbox_started",
            base_url=env.sandbox.base_url,
            world=str(args.seed) if args.seed is not None else "demo",
            rules=str(rules),
            store=env.store,
        )
        for mapping in env.mappings:
            if mapping.problem is not None:
                log.warning(
                    "sandbox_token_not_mapped", client=mapping.client, reason=mapping.problem
                )
            else:
                log.info(
                    "sandbox_token_mapped",
                    client=mapping.client,
                    variable=mapping.variable,
                    user=mapping.user,
                )
        yield env.settings, dict(env.environ)
