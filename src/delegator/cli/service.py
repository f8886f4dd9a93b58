"""Commands that run the service: plan, once, run, history."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from delegator.bootstrap import Fleet, one_off_ownership, open_store
from delegator.cli._common import Subparsers, read_settings, say
from delegator.cli.console import (
    Style,
    configure_one_off,
    dump_json,
    end_progress,
    local,
    plain,
    show_progress,
)
from delegator.cli.plans import (
    changes_pending,
    render_markdown,
    render_plan,
    render_summary,
    report_json,
)
from delegator.clients import ClientEntry, TokenError, UnsendableToken, check_token, load_clients
from delegator.core.language import ENGLISH
from delegator.core.suggest import did_you_mean
from delegator.core.timeexpr import parse_duration
from delegator.cycles import Count, CycleCounts, CycleError, ErrorKind
from delegator.leases import Keeper, Ownership
from delegator.ports import ActionRecord
from delegator.sandbox import FixtureError
from delegator.sandboxed import EXAMPLE_RULES, sandboxed
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
    plan.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 when nothing would change, 2 when changes are pending, 1 on an error",
    )
    _sandbox_flags(plan)
    plan.set_defaults(handler=run_plan)

    once = subparsers.add_parser(
        "once",
        help="run one cycle for each client, then exit",
        description="One delegation cycle for each client, then exit (for cron and tests).",
    )
    _common(once)
    once.add_argument("--dry-run", action="store_true", help="decide but write nothing")
    once.add_argument("--json", action="store_true", help="print each client's cycle as JSON")
    _sandbox_flags(once)
    once.set_defaults(handler=run_once)

    history = subparsers.add_parser(
        "history",
        help="what the service did and why",
        description=(
            "What the service did and why (rule, assistant, when, what was posted, overrides), "
            "from the store; times in each client's time zone."
        ),
    )
    history.add_argument("--config", metavar="FILE", help="settings file")
    history.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    history.add_argument(
        "--client", metavar="NAME", help="only this client (file name or client name)"
    )
    history.add_argument("--task", metavar="GID", help="only this task")
    history.add_argument(
        "--since", default="7d", metavar="DURATION", help="how far back (default 7d)"
    )
    history.add_argument("--json", action="store_true", help="print the history as JSON")
    history.set_defaults(handler=run_history)


def _sandbox_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="against the built-in Asana sandbox: the demo world and the examples, or with "
        "--seed your world and your rule files (each file's token variable pointed at its "
        "owner's sandbox token; a temporary store)",
    )
    parser.add_argument(
        "--seed",
        type=Path,
        metavar="WORLD",
        help="with --sandbox: the world to seed it from (a fixture file, docs/sandbox.md)",
    )


@contextlib.contextmanager
def target(
    args: argparse.Namespace, settings: Settings
) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Where a command's cycles go: Asana as the settings say, or with ``--sandbox`` a sandbox
    on loopback, said on stderr with the token variables it stands in for and the store used.
    Rule files: ``--rules``, else with ``--seed`` the configured folder, else the examples."""
    seed: Path | None = getattr(args, "seed", None)
    if not getattr(args, "sandbox", False):
        if seed is not None:
            raise UsageError("--seed needs --sandbox")
        yield settings, dict(os.environ)
        return
    if getattr(args, "rules", None):
        rules = Path(args.rules)
    else:
        rules = settings.rules_dir if seed is not None else EXAMPLE_RULES
    try:
        world = sandboxed(rules, base=settings, seed=seed)
        env = world.__enter__()
    except FixtureError as exc:
        raise UsageError(f"--seed: {exc}") from None
    try:
        say(
            f"sandbox: Asana sandbox at {env.sandbox.base_url}, world "
            f"{seed if seed is not None else 'demo'}, rules {rules}; store: {env.store}"
        )
        for mapping in env.mappings:
            if mapping.problem is not None:
                say(f"sandbox: {mapping.client}: {mapping.problem}")
            else:
                say(f"sandbox: {mapping.client}: ${mapping.variable} -> {mapping.user}")
        yield env.settings, dict(env.environ)
    finally:
        world.__exit__(None, None, None)


class UsageError(Exception):
    """A command line that cannot be run as given (exit 2)."""


def settings_from(args: argparse.Namespace) -> Settings:
    settings = read_settings(Path(args.config) if args.config else None, os.environ)
    if getattr(args, "rules", None):
        settings = dataclasses.replace(settings, rules_dir=Path(args.rules))
    return settings


def select(entries: list[ClientEntry], wanted: str | None) -> list[ClientEntry]:
    """The clients ``--client`` names: by file name (without .yaml) or by the client's name
    in the file, case-insensitive; every client without ``--client``."""
    if wanted is None:
        return entries
    exact = [e for e in entries if wanted in (e.key, e.name)]
    if exact:
        return exact
    folded = wanted.strip().casefold()
    return [e for e in entries if folded in (e.key.casefold(), e.name.casefold())]


def unknown_client(wanted: str, entries: list[ClientEntry], rules_dir: Path) -> str:
    """The message for a ``--client`` no file answers to, with the closest one."""
    known = [e.key for e in entries] + [e.name for e in entries]
    listed = ", ".join(e.key for e in entries) or "none"
    return f"no client {wanted!r} in {rules_dir}{did_you_mean(wanted, known)} (clients: {listed})"


def _prepare(args: argparse.Namespace, settings: Settings) -> list[ClientEntry] | int:
    configure_one_off(settings.log_format, args)
    entries = load_clients(settings.rules_dir)
    chosen = select(entries, args.client)
    if not chosen:
        if args.client:
            say(unknown_client(args.client, entries, settings.rules_dir))
        else:
            say(f"no client files in {settings.rules_dir}")
        return 1
    for entry in chosen:
        for error in entry.errors:
            print(error, file=sys.stderr)
    return chosen


def _command(
    args: argparse.Namespace,
    body: Callable[[argparse.Namespace, Settings, dict[str, str], list[ClientEntry]], int],
) -> int:
    """Settings, then where the cycles go (Asana or a sandbox), then the clients, then
    ``body``; bad settings or a bad command line exit 2."""
    try:
        settings = settings_from(args)
        with target(args, settings) as (settings_in_use, environ):
            prepared = _prepare(args, settings_in_use)
            if isinstance(prepared, int):
                return prepared
            return body(args, settings_in_use, environ, prepared)
    except (SettingsError, UsageError) as exc:
        say(str(exc))
        return 2


def _progress(label: str, count: int) -> None:
    show_progress(f"  reading {label}... {count} tasks so far")


def run_plan(args: argparse.Namespace) -> int:
    return _command(args, _plan)


def _plan(
    args: argparse.Namespace,
    settings: Settings,
    environ: dict[str, str],
    entries: list[ClientEntry],
) -> int:
    entries, unusable = usable_tokens(entries, environ)
    fleet = Fleet(settings, open_store(settings), environ=environ)
    try:
        reports = [
            fleet.cycle(e, dry_run=True, full=True, explain=True, progress=_progress)
            for e in entries
        ]
    finally:
        fleet.close()
    end_progress()
    failed = bool(unusable) or any(r.counts[Count.CLIENT_FAILED] for r in reports)
    pending = any(changes_pending(r) for r in reports)
    # each client's plan in its language (client.language / client.locale)
    voices = {e.key: e.loaded.head.client.voice for e in entries if e.loaded.head is not None}
    if args.json:
        dump_json(
            {
                "command": "plan",
                "ok": not failed,
                "changes_pending": pending,
                "unusable": [e.key for e in unusable],
                "clients": [report_json(r) for r in reports],
            }
        )
    elif args.markdown:
        print("\n\n".join(render_markdown(r, voice=voices.get(r.client, ENGLISH)) for r in reports))
    else:
        style = Style.for_stream(sys.stdout, args)
        print(
            "\n\n".join(
                render_plan(r, style=style, voice=voices.get(r.client, ENGLISH)) for r in reports
            )
        )
    if failed:
        return 1
    return 2 if args.detailed_exitcode and pending else 0


def run_once(args: argparse.Namespace) -> int:
    """One cycle per client. Exits 1 when a client could not be served or any write failed
    (each failure is printed), else 0."""
    return _command(args, _once)


def _once(
    args: argparse.Namespace,
    settings: Settings,
    environ: dict[str, str],
    entries: list[ClientEntry],
) -> int:
    entries, unusable = usable_tokens(entries, environ)
    store = open_store(settings)
    if not args.dry_run:
        closed = store.close_abandoned_cycles(
            datetime.now(UTC), clients=[e.key for e in entries + unusable]
        )
        if closed:
            say(
                f"closed {closed} cycle(s) left unfinished by a process that was killed, "
                "as interrupted"
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
    fleet = Fleet(settings, store, environ=environ, ownership=ownership)
    try:
        reports = fleet.cycle_all(entries, dry_run=args.dry_run) if entries else []
    finally:
        if keeper is not None and ownership is not None:
            keeper.stop()
            ownership.leave()
        fleet.close()
    failed = any(r.counts[Count.CLIENT_FAILED] or r.counts[Count.ACTIONS_FAILED] for r in reports)
    if args.json:
        dump_json(
            {
                "command": "once",
                "ok": not (failed or unusable),
                "dry_run": bool(args.dry_run),
                "unusable": [e.key for e in unusable],
                "clients": [report_json(r) for r in reports],
            }
        )
    else:
        style = Style.for_stream(sys.stdout, args)
        for report in reports:
            print(render_summary(report, style=style))
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


def usable_tokens(
    entries: list[ClientEntry], environ: Mapping[str, str]
) -> tuple[list[ClientEntry], list[ClientEntry]]:
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
            check_token(head.client.token, environ)
        except UnsendableToken as exc:
            say(f"{entry.key}: {exc}")
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
        say(str(exc))
        return 2
    configure_one_off(settings.log_format, args)
    entries = load_clients(settings.rules_dir)
    zones = {e.key: e.loaded.head.client.timezone for e in entries if e.loaded.head is not None}
    store = open_store(settings)
    try:
        client: str | None = None
        if args.client:
            chosen = select(entries, args.client)
            if chosen:
                client = chosen[0].key
            elif store.cycles(client=args.client, limit=1):  # a client whose file is gone
                client = args.client
            else:
                say(unknown_client(args.client, entries, settings.rules_dir))
                return 2
        actions = store.actions(client=client, task_gid=args.task, since=since)
        overrides = []
        clients = [client] if client else sorted({a.client for a in actions})
        for key in clients:
            overrides.extend(store.overrides(key, since))
    finally:
        store.close()
    if args.task:
        overrides = [o for o in overrides if o.task_gid == args.task]
    if args.json:
        dump_json(
            {
                "command": "history",
                "since": since,
                "client": client,
                "task": args.task,
                "actions": [_action_json(a) for a in actions],
                "overrides": overrides,
            }
        )
        return 0
    if not actions and not overrides:
        print(f"nothing recorded since {local(since, None)}")
        return 0
    style = Style.for_stream(sys.stdout, args)
    for action in actions:
        if action.kind == "rule":
            continue
        print(_action_line(action, zones.get(action.client), style))
        posted = action.detail.get("text") if action.kind in POSTS_TEXT else None
        if isinstance(posted, str) and posted.strip():
            for line in posted.strip().splitlines():
                print(style.dim(f"    | {line}"))
    for override in overrides:
        when = local(override.detected_at, zones.get(override.client))
        print(f'{when} {override.client} {style.warn("override")} "{override.task_name}": '
              f'{override.reason} [rule "{override.rule}"] - never touched again')  # fmt: skip
    return 0


# The journal's kinds whose entry carries a comment the service posted, shown under the line:
# a rule's comment, and the follow-up's reminders, escalations, reassignments and bounces.
POSTS_TEXT = frozenset({"comment", "remind", "escalate", "reassign", "bounce"})


def _action_line(action: ActionRecord, zone: str | None, style: Style) -> str:
    when = local(action.created_at, zone)
    who = f" -> {action.assistant}" if action.assistant else ""
    result = f" ({action.result})" if action.result else ""
    description = str(action.detail.get("description", action.kind))
    if action.kind == "comment":
        description = "comment posted" if action.status == "done" else "comment"
    description += _was(action.kind, action.detail.get("before"))
    status = f"{action.status:<7}"
    if action.status == "done":
        status = style.ok(status)
    elif action.status == "failed":
        status = style.fail(status)
    return (
        f"{when} {action.client} {status} {action.mode:<6} "
        f'"{action.task_name}" {description}{who} [rule "{action.rule}"]{result}'
    )


def _was(kind: str, before: object) -> str:
    """`` (was ...)``: what the task showed before the write, when the journal has it."""
    if not isinstance(before, dict):
        return ""
    shown: object
    if kind == "assign" and "assignee" in before:
        person = before["assignee"]
        shown = (person.get("name") or person.get("email") or person.get("gid")) if person else None
        return f" (was {shown or 'nobody'})"
    if kind == "move" and "section" in before:
        section, project = before.get("section"), before.get("project")
        if section:
            return f" (was in {section.get('name') or section.get('gid')})"
        return " (was in no section)" if project else " (was not in the project)"
    if kind == "set" and "value" in before:
        value = before["value"]
        return f" (was {value})" if value not in (None, "", []) else " (was empty)"
    if kind == "due" and "due_on" in before:
        return f" (was {before['due_at'] or before['due_on'] or 'none'})"
    return ""


def _action_json(action: ActionRecord) -> dict[str, Any]:
    """A journal entry for ``history --json``: the comment as posted under ``posted``."""
    record: dict[str, Any] = plain(action)
    posted = action.detail.get("text") if action.kind in POSTS_TEXT else None
    record["posted"] = posted if isinstance(posted, str) else None
    return record
