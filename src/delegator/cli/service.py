"""Commands that run the service: plan, once, run, history."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from delegator.bootstrap import Fleet, one_off_ownership, open_store
from delegator.cli._common import Subparsers, read_settings
from delegator.cli.plans import render_markdown, render_plan, render_summary, report_json
from delegator.clients import ClientEntry, TokenError, UnsendableToken, load_clients, read_token
from delegator.core.timeexpr import parse_duration
from delegator.cycles import Count, CycleCounts, CycleError, ErrorKind
from delegator.leases import Keeper, Ownership
from delegator.logs import configure
from delegator.settings import Settings, SettingsError
from delegator.store import SqlStore, StoreError
from delegator.store.exclusive import ServiceLock


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    parser.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    parser.add_argument(
        "--client", metavar="NAME", help="only this client (file name or client name)"
    )


def register(subparsers: Subparsers) -> None:
    plan = subparsers.add_parser(
        "plan",
        help="show what the service would do, without writing anything",
        description=(
            "A dry run over the whole backlog of each client: per task the quadrant, the rule "
            "that would act and each of its conditions, the assistant that would be chosen and "
            "why, the changes that would be written, and near misses. Nothing is written."
        ),
    )
    _common(plan)
    output = plan.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the plan as JSON")
    output.add_argument("--markdown", action="store_true", help="print the plan as Markdown")
    plan.set_defaults(handler=run_plan)

    once = subparsers.add_parser(
        "once",
        help="run one cycle for each client, then exit",
        description="One delegation cycle for each client, then exit (for cron and tests).",
    )
    _common(once)
    once.add_argument("--dry-run", action="store_true", help="decide but write nothing")
    once.set_defaults(handler=run_once)

    history = subparsers.add_parser(
        "history",
        help="what the service did and why",
        description="What the service did and why (rule, assistant, when, overrides), from the store.",
    )
    history.add_argument("--config", metavar="FILE", help="settings file")
    history.add_argument("--client", metavar="NAME", help="only this client (its file name)")
    history.add_argument("--task", metavar="GID", help="only this task")
    history.add_argument(
        "--since", default="7d", metavar="DURATION", help="how far back (default 7d)"
    )
    history.add_argument("--json", action="store_true", help="print JSON lines")
    history.set_defaults(handler=run_history)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = read_settings(Path(args.config) if args.config else None, os.environ)
    if getattr(args, "rules", None):
        settings = dataclasses.replace(settings, rules_dir=Path(args.rules))
    return settings


def select(entries: list[ClientEntry], wanted: str | None) -> list[ClientEntry]:
    if wanted is None:
        return entries
    return [e for e in entries if wanted in (e.key, e.name)]


def _prepare(args: argparse.Namespace) -> tuple[Settings, list[ClientEntry]] | int:
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_format, settings.log_level)
    entries = load_clients(settings.rules_dir)
    chosen = select(entries, args.client)
    if not chosen:
        where = f"client {args.client!r}" if args.client else "client files"
        print(f"delegator: no {where} in {settings.rules_dir}", file=sys.stderr)
        return 1
    for entry in chosen:
        for error in entry.errors:
            print(error, file=sys.stderr)
    return settings, chosen


def _progress(label: str, count: int) -> None:
    if sys.stderr.isatty():
        print(f"\r  reading {label}... {count} tasks so far", end="", file=sys.stderr, flush=True)


def run_plan(args: argparse.Namespace) -> int:
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    settings, entries = prepared
    entries, unusable = _usable_tokens(entries)
    fleet = Fleet(settings, open_store(settings))
    try:
        reports = [
            fleet.cycle(e, dry_run=True, full=True, explain=True, progress=_progress)
            for e in entries
        ]
    finally:
        fleet.close()
    if sys.stderr.isatty():
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    if args.json:
        print(json.dumps([report_json(r) for r in reports], indent=2, default=str))
    elif args.markdown:
        print("\n\n".join(render_markdown(r) for r in reports))
    else:
        print("\n\n".join(render_plan(r) for r in reports))
    return 1 if unusable or any(r.counts[Count.CLIENT_FAILED] for r in reports) else 0


def run_once(args: argparse.Namespace) -> int:
    """One cycle per client. Exits 1 when a client could not be served or any write failed
    (each failure is printed), else 0."""
    prepared = _prepare(args)
    if isinstance(prepared, int):
        return prepared
    settings, entries = prepared
    entries, unusable = _usable_tokens(entries)
    store = open_store(settings)
    if not args.dry_run:
        closed = store.close_abandoned_cycles(
            datetime.now(UTC), clients=[e.key for e in entries + unusable]
        )
        if closed:
            print(
                f"closed {closed} cycle(s) left unfinished by a process that was killed, "
                "as interrupted",
                file=sys.stderr,
            )
        now = datetime.now(UTC)
        for entry in unusable:  # recorded, so `delegator status` and the history say why
            cycle = store.start_cycle(entry.key, now, False)
            store.finish_cycle(
                cycle,
                now,
                CycleCounts({Count.CLIENT_FAILED: 1}),
                [CycleError(ErrorKind.TOKEN, HEADER_CHARACTER_PROBLEM)],
            )
    ownership = keeper = None
    if not args.dry_run and entries:
        # The leases of these clients, taken only where free: a client a running service holds
        # is its to serve (its report says so); kept renewed while the cycles run.
        ownership = one_off_ownership(settings, store)
        _forget_a_service_that_is_gone(store, ownership)
        ownership.claim([e.key for e in entries])
        keeper = Keeper(ownership, lambda: [e.key for e in entries], lambda _: True)
        keeper.start()
    fleet = Fleet(settings, store, ownership=ownership)
    try:
        reports = fleet.cycle_all(entries, dry_run=args.dry_run) if entries else []
    finally:
        if keeper is not None and ownership is not None:
            keeper.stop()
            ownership.leave()
        fleet.close()
    for report in reports:
        print(render_summary(report))
    failed = any(r.counts[Count.CLIENT_FAILED] or r.counts[Count.ACTIONS_FAILED] for r in reports)
    return 1 if failed or unusable else 0


def _forget_a_service_that_is_gone(store: SqlStore, ownership: Ownership) -> None:
    """On SQLite, the leases of a service that is gone are handed back now, not after they
    expire: a `delegator run` holds the file's service lock as long as it runs (the kernel lets
    go of it however the process ends), so a free lock means no replica is alive. A running
    service keeps its leases: the clients it holds are reported, not run."""
    database = store.database_file()
    if database is None:
        return  # PostgreSQL: the replicas' leases expire by themselves
    lock = ServiceLock(database)
    try:
        lock.acquire()
    except StoreError:
        return  # a service runs on this file
    try:
        ownership.join(exclusive=True)
    finally:
        lock.release()


HEADER_CHARACTER_PROBLEM = (
    "the Asana token has a character that cannot be sent in an HTTP header: copy it again"
)


def _usable_tokens(entries: list[ClientEntry]) -> tuple[list[ClientEntry], list[ClientEntry]]:
    """The clients whose token can be sent in an HTTP header, and the others, each told on
    stderr. A token with a character outside Latin-1 (a pasted typographic quote, a euro sign)
    cannot be put in the Authorization header at all: that client is left out, the rest run."""
    usable: list[ClientEntry] = []
    unusable: list[ClientEntry] = []
    for entry in entries:
        head = entry.loaded.head
        if head is None:
            usable.append(entry)  # its rule file's errors are reported by its cycle
            continue
        try:
            read_token(head.client.token, os.environ)
        except UnsendableToken as exc:
            print(f"delegator: {entry.key}: {exc}", file=sys.stderr)
            unusable.append(entry)
            continue
        except TokenError:
            pass  # the cycle reports it, as a failed client
        usable.append(entry)
    return usable, unusable


def run_history(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        since = datetime.now(UTC) - parse_duration(args.since).timedelta()
    except (SettingsError, ValueError) as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    store = open_store(settings)
    try:
        actions = store.actions(client=args.client, task_gid=args.task, since=since)
        overrides = []
        clients = [args.client] if args.client else sorted({a.client for a in actions})
        for client in clients:
            overrides.extend(store.overrides(client, since))
    finally:
        store.close()
    if args.task:
        overrides = [o for o in overrides if o.task_gid == args.task]
    if args.json:
        for action in actions:
            print(json.dumps(_record(action), default=str))
        for override in overrides:
            print(json.dumps(_record(override), default=str))
        return 0
    if not actions and not overrides:
        print(f"nothing recorded since {since.date().isoformat()}")
        return 0
    for action in actions:
        if action.kind == "rule":
            continue
        when = action.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        who = f" -> {action.assistant}" if action.assistant else ""
        result = f" ({action.result})" if action.result else ""
        description = action.detail.get("description", action.kind)
        print(
            f"{when} {action.client} {action.status:<7} {action.mode:<6} "
            f'"{action.task_name}" {description}{who} [rule "{action.rule}"]{result}'
        )
    for override in overrides:
        when = override.detected_at.astimezone().strftime("%Y-%m-%d %H:%M")
        print(f'{when} {override.client} override "{override.task_name}": {override.reason} '
              f'[rule "{override.rule}"] - never touched again')  # fmt: skip
    return 0


def _record(value: object) -> dict[str, object]:
    slots = getattr(value, "__slots__", ())
    return {name: getattr(value, name) for name in slots}
