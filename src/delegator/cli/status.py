"""`delegator status`: the readiness picture for a person at a terminal.

It reads the rule files and the store, not the running service, so it works whether the service
runs or not (and tells, through stale cycles, when it does not). It never changes the database:
no migration, no file created. With the leases (schema version 4), it shows which replica holds
each client and since when, and the replicas the database knows: live, or gone within a day
(two live ones with the same id are a warning: they count as one when sharing the clients).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from delegator.cli._common import Subparsers
from delegator.cli.service import settings_from
from delegator.clients import load_clients
from delegator.cycles import Count
from delegator.health import (
    LeaseState,
    client_json,
    failed_writes_threshold,
    min_free_bytes,
    span,
)
from delegator.overview import (
    ClientStatus,
    Gathered,
    Judge,
    Load,
    gather_status,
    replica_warnings,
)
from delegator.ports import ReplicaRecord
from delegator.settings import SettingsError
from delegator.store import SqlStore, StoreError, mask_url
from delegator.store.database import is_memory, parse_url
from delegator.subscriptions import ClientHooks


def register(subparsers: Subparsers) -> None:
    status = subparsers.add_parser(
        "status",
        help="each client's health: last and next cycle, errors, queue, assistants' load",
        description=(
            "The service's state per client, from the rule files and the store: the last cycle "
            "and how it went, the next one, errors, tasks waiting for a free assistant, and each "
            "assistant's open tasks against their capacity; which replica holds each client's "
            "lease and since when, and the replicas, live or gone. Exits 1 when the database "
            "cannot be read or written, has a newer schema than this delegator knows, or is "
            "running out of room, or when a client is unhealthy (the same rules as /readyz, per "
            "client: among them, a last cycle with failed writes), else 0."
        ),
    )
    status.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    status.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    status.add_argument("--json", action="store_true", help="print the picture as JSON")
    status.set_defaults(handler=run_status)


def run_status(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    entries = load_clients(settings.rules_dir)
    try:
        url = parse_url(settings.database_url)
    except StoreError as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    shown = mask_url(url)
    judge = Judge(
        settings.ready_polls,
        failed_writes_threshold(settings),
        min_free_bytes(settings),
        settings.webhooks_safety_poll,
        settings.webhooks_heartbeat_timeout,
    )
    warnings: list[str] = []
    if _missing_file(url):
        found = replace(
            gather_status(None, entries, now, judge),
            database="no database yet: the service has not run with these settings",
        )
    else:
        store = SqlStore(settings.database_url)
        try:
            found = gather_status(store, entries, now, judge, warnings)
        finally:
            store.close()
    healthy = found.database == "ok" and all(c.health.healthy for c in found.clients)
    if args.json:
        print(json.dumps(_as_json(found, shown, healthy, now, warnings), indent=2))
    else:
        print(_render(found, shown, now, str(settings.rules_dir), warnings))
    return 0 if healthy else 1


def _missing_file(url: URL) -> bool:
    """A SQLite file that does not exist: opening it would create it."""
    name = url.database or ""
    return (
        url.get_backend_name() == "sqlite"
        and not is_memory(url)
        and not name.startswith("file:")
        and not Path(name).exists()
    )


# ---------------------------------------------------------------------- output
def _when(value: datetime, now: datetime) -> str:
    shown = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    delta = value - now
    if abs(delta) < timedelta(seconds=1):
        return f"{shown} (now)"
    return f"{shown} ({'in ' + span(delta) if delta > timedelta(0) else span(-delta) + ' ago'})"


def _render(
    found: Gathered,
    url: str,
    now: datetime,
    rules_dir: str,
    warnings: Sequence[str] = (),
) -> str:
    database, clients = found.database, found.clients
    lines = [f"database  {url}: {'reachable' if database == 'ok' else database}"]
    lines.extend(f"warning   {text}" for text in warnings)
    if found.replicas is not None:
        lines.extend(_replica_lines(found.replicas, now))
    if not clients:
        lines.append(f"no client files in {rules_dir}")
    for client in clients:
        lines.append("")
        lines.extend(_client_lines(client, now))
    unhealthy = [c.health.key for c in clients if not c.health.healthy]
    if database != "ok":
        unhealthy.insert(0, "the database")
    lines.append("")
    if unhealthy:
        lines.append(f"unhealthy: {', '.join(unhealthy)}")
    else:
        lines.append(f"healthy: {len(clients)} client{'s' if len(clients) != 1 else ''}")
    return "\n".join(lines)


def _replica_lines(replicas: list[ReplicaRecord], now: datetime) -> list[str]:
    if not replicas:
        return ["replicas  none running"]
    lines = []
    for index, replica in enumerate(replicas):
        lead = "replicas  " if index == 0 else " " * 10
        lines.append(
            f"{lead}{replica.id} ({'live' if replica.live else 'gone'}): {replica.host} pid "
            f"{replica.pid}, started {_when(replica.started_at, now)}, last seen "
            f"{_when(replica.seen_at, now)}"
        )
    lines.extend(f"warning   {text}" for text in replica_warnings(replicas))
    return lines


def _lease_line(lease: LeaseState, now: datetime) -> str:
    if lease.state == "free" or lease.replica is None:
        return "  lease       free: no replica holds it"
    since = f" since {_when(lease.since, now)}" if lease.since is not None else ""
    if lease.state == "expired":
        ended = f", expired {_when(lease.expires, now)}" if lease.expires is not None else ""
        return (
            f"  lease       was held by {lease.replica}{since}{ended}: no replica has taken it "
            "over yet"
        )
    return f"  lease       held by {lease.replica}{since}"


def _hooks_line(hooks: ClientHooks, now: datetime) -> str:
    heard = (
        f", last heard {_when(hooks.last_signal_at, now)}"
        if hooks.last_signal_at is not None
        else ""
    )
    if hooks.healthy:
        return f"  webhooks    healthy: {hooks.active} of {hooks.wanted} live{heard}"
    return f"  webhooks    {hooks.mode.value}: {hooks.reason}{heard}"


def _client_lines(client: ClientStatus, now: datetime) -> list[str]:
    health, state = client.health, client.health.state
    lines = [f"{state.name} ({state.key}): {health.status.replace('_', ' ')} - {health.reason}"]
    if state.poll is None:
        return lines
    if state.lease is not None:
        lines.append(_lease_line(state.lease, now))
    if state.hooks is not None:
        lines.append(_hooks_line(state.hooks, now))
    if state.running_since is not None:
        lines.append(f"  running     since {_when(state.running_since, now)}")
    if state.last_cycle_at is not None:
        counts = state.last_counts
        lines.append(
            f"  last cycle  {_when(state.last_cycle_at, now)}, {state.last_result}: "
            f"{counts[Count.TASKS_SEEN]} tasks seen, {counts[Count.ACTIONS_DONE]} changes "
            f"made, {counts[Count.ACTIONS_FAILED]} failed"
        )
    else:
        lines.append("  last cycle  none recorded")
    if state.last_success_at is not None and state.last_result in ("failed", "interrupted"):
        lines.append(f"  last good   {_when(state.last_success_at, now)}")
    interval = state.every or state.poll
    every = span(interval)
    if state.next_cycle_at is not None:
        due = state.next_cycle_at
        late = " - overdue: is the service running?" if due < now - interval else ""
        lines.append(f"  next cycle  {_when(due, now)}, every {every}{late}")
    else:
        lines.append(f"  next cycle  when the service starts, then every {every}")
    errors = state.last_errors
    lines.append(f"  errors      {'; '.join(errors[:3]) if errors else 'none'}")
    if len(errors) > 3:
        lines.append(f"              and {len(errors) - 3} more")
    if state.queued is not None:
        lines.append(f"  queue       {state.queued} waiting for a free assistant")
    if client.assistants:
        shown = ", ".join(
            f"{a.assistant} {a.open_tasks}/{a.capacity}"
            + (" (full)" if a.open_tasks >= a.capacity else "")
            for a in client.assistants
        )
        lines.append(f"  assistants  {shown} open tasks")
    return lines


def _load_json(load: Load) -> dict[str, Any]:
    return {
        "assistant": load.assistant,
        "name": load.name,
        "open_tasks": load.open_tasks,
        "capacity": load.capacity,
    }


def _replica_json(replica: ReplicaRecord) -> dict[str, Any]:
    return {
        "id": replica.id,
        "key": replica.key,
        "host": replica.host,
        "pid": replica.pid,
        "live": replica.live,
        "started_at": replica.started_at.isoformat(),
        "last_seen_at": replica.seen_at.isoformat(),
        "expires_at": replica.expires_at.isoformat(),
    }


def _as_json(
    found: Gathered,
    url: str,
    healthy: bool,
    now: datetime,
    warnings: list[str],
) -> dict[str, Any]:
    replicas = found.replicas
    return {
        "command": "status",
        "healthy": healthy,
        "checked_at": now.isoformat(),
        "database": {"url": url, "status": found.database, "warnings": warnings},
        "replicas": [_replica_json(r) for r in replicas] if replicas is not None else None,
        "replica_warnings": replica_warnings(replicas or []),
        "clients": [
            {**client_json(c.health), "assistants": [_load_json(a) for a in c.assistants]}
            for c in found.clients
        ],
    }
