"""`delegator undo`: take back what the service did to tasks, from its journal.

The client's done, active writes of a cycle, of a rule since a moment, or to one task are
planned back (`core.undo.plan_undo`) against the tasks as they are now, printed, and unless
``--dry-run`` carried out through the task backend. Each revert done is journaled as an entry
of kind ``undo``, written done once the change is made (never pending, so the service's own
reconcile never picks one up), and each task touched gets an override, so the rules leave it
alone, unless ``--allow-again``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from delegator.bootstrap import Fleet, open_store
from delegator.cli._common import Subparsers, say
from delegator.cli.console import Style, configure_one_off, dump_json, local, plain
from delegator.cli.service import UsageError, select, settings_from, unknown_client, usable_tokens
from delegator.clients import ClientEntry, load_clients
from delegator.core.model import Task
from delegator.core.reverts import CorrectComment, Reassign, Revert
from delegator.core.timeexpr import parse_duration
from delegator.core.undo import Step, TaskUndo, UndoPlan, Write, WriteKind, correction, plan_undo
from delegator.ports import (
    ActionRecord,
    BackendError,
    CommentGone,
    CommentKept,
    Override,
    StateStore,
    TaskBackend,
    TaskGone,
)
from delegator.service import ClientError
from delegator.settings import Settings, SettingsError

UNDO_KIND = "undo"
OVERRIDE_REASON = "taken back by delegator undo"
WRITE_KINDS = tuple(kind.value for kind in WriteKind)


def register(subparsers: Subparsers) -> None:
    undo = subparsers.add_parser(
        "undo",
        help="take back what the service did to tasks",
        description=(
            "Take back the service's writes to tasks, from its journal: a cycle's, a rule's since "
            "a moment, or one task's. A value a person changed since is left as it is and said. "
            "Each task touched is then left alone by the rules, unless --allow-again."
        ),
    )
    which = undo.add_mutually_exclusive_group(required=True)
    which.add_argument("--cycle", type=int, metavar="ID", help="the writes of this cycle")
    which.add_argument("--rule", metavar="NAME", help="the writes of this rule (with --since)")
    which.add_argument("--task", metavar="GID", help="the writes to this task")
    undo.add_argument(
        "--since", metavar="DURATION", help="only writes this recent (e.g. 2d); needed with --rule"
    )
    undo.add_argument("--client", metavar="NAME", help="the client (file name or client name)")
    undo.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    undo.add_argument(
        "--allow-again",
        action="store_true",
        help="let the rules act on the tasks again (no override recorded)",
    )
    undo.add_argument("--json", action="store_true", help="print the plan and results as JSON")
    undo.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    undo.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    undo.set_defaults(handler=run_undo)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one planned revert."""

    step: Step
    status: str  # planned (dry run), done, failed
    revert: Revert  # what was carried out (a refused deletion: the correcting comment)
    error: str | None = None
    story_gid: str | None = None
    gone: bool = False  # the task was deleted or can no longer be seen
    fatal: bool = False  # nothing more can be written (the token refused): the run stops


def run_undo(args: argparse.Namespace) -> int:
    """Plan and (unless --dry-run) carry out; 0 when everything planned was done, 1 when a
    revert failed or the client could not be reached, 2 for a bad command line."""
    try:
        settings = settings_from(args)
        since = _since(args)
    except (SettingsError, UsageError, ValueError) as exc:
        say(str(exc))
        return 2
    configure_one_off(settings.log_format, args)
    entries = load_clients(settings.rules_dir)
    fleet = Fleet(settings, open_store(settings), environ=dict(os.environ))
    try:
        return _undo(args, settings, fleet, entries, since)
    except UsageError as exc:  # an unknown client, or several clients' writes
        say(str(exc))
        return 2
    except (ClientError, BackendError) as exc:  # a token refused, a workspace out of reach
        say(str(exc))
        return 1
    finally:
        fleet.close()


def run_undo_with(
    args: argparse.Namespace, settings: Settings, fleet: Fleet, entries: list[ClientEntry]
) -> int:
    """``undo`` with a fleet already built (the demo's): what it prints, its exit code."""
    return _undo(args, settings, fleet, entries, _since(args))


def _since(args: argparse.Namespace) -> datetime | None:
    if args.rule is not None and not args.since:
        raise UsageError("--rule needs --since: how far back to take its writes (e.g. 2d)")
    if not args.since:
        return None
    return datetime.now(UTC) - parse_duration(args.since).timedelta()


def _selected(
    args: argparse.Namespace, store: StateStore, client: str | None, since: datetime | None
) -> list[ActionRecord]:
    """The done, active writes the command line names, oldest first."""
    found = store.actions(client=client, task_gid=args.task, since=since, kinds=WRITE_KINDS)
    chosen = [
        a
        for a in found
        if a.status == "done"
        and a.mode == "active"
        and (args.cycle is None or a.cycle_id == args.cycle)
        and (args.rule is None or a.rule.casefold() == args.rule.casefold())
    ]
    return sorted(chosen, key=lambda a: (a.created_at, a.id))


def _client_of(
    args: argparse.Namespace, settings: Settings, entries: list[ClientEntry]
) -> str | None:
    if args.client is None:
        return None
    chosen = select(entries, args.client)
    if not chosen:
        raise UsageError(unknown_client(args.client, entries, settings.rules_dir))
    return chosen[0].key


def _undo(
    args: argparse.Namespace,
    settings: Settings,
    fleet: Fleet,
    entries: list[ClientEntry],
    since: datetime | None,
) -> int:
    store = fleet.store
    actions = _selected(args, store, _client_of(args, settings, entries), since)
    clients = sorted({a.client for a in actions})
    if len(clients) > 1:
        raise UsageError(
            f"writes of several clients match ({', '.join(clients)}): name one with --client"
        )
    if not clients:
        return _report(args, None, None, UndoPlan(), [], [], dry_run=bool(args.dry_run), when={})
    key = clients[0]
    entry = next((e for e in entries if e.key == key), None)
    if entry is None or entry.loaded.head is None:
        say(f"{key}: no usable client file in {settings.rules_dir} to reach its tasks with")
        return 1
    if usable_tokens([entry], fleet.environ)[1]:
        return 1  # the token cannot be sent, said on stderr
    now = datetime.now(UTC)
    runtime = fleet.runtime(entry)
    runtime.refresh(now, force=True)
    backend = runtime.backend
    gids = list(dict.fromkeys(a.task_gid for a in actions))
    tasks: dict[str, Task] = {}
    unreadable: list[str] = []
    for state in backend.read_tasks(gids):
        if state.task is not None:
            tasks[state.gid] = state.task
        elif state.gone is None:
            unreadable.append(state.gid)
            say(f"task {state.gid}: cannot be read: {state.error or 'no answer'}")
    undone = _undone(store, key, gids)
    writes = [_write(a) for a in actions if a.task_gid not in unreadable]
    plan = plan_undo(writes, tasks, runtime.directory, undone)
    by_id = {a.id: a for a in actions}
    if args.dry_run:
        outcomes = [Outcome(s, "planned", s.revert) for t in plan.tasks for s in t.steps]
        overridden: list[str] = []
    else:
        outcomes, overridden = _carry_out(
            plan, tasks, backend, store, key, by_id, now, allow_again=bool(args.allow_again)
        )
    zone = entry.loaded.head.client.timezone
    when = {a.id: a.created_at for a in actions}
    code = _report(
        args, key, zone, plan, outcomes, overridden, dry_run=bool(args.dry_run), when=when
    )
    return 1 if unreadable or code else 0


def _undone(store: StateStore, client: str, gids: Sequence[str]) -> set[int]:
    """The writes an earlier undo already took back."""
    found = store.actions(client=client, kinds=(UNDO_KIND,), task_gids=gids)
    return {
        int(a.detail["undoes"])
        for a in found
        if a.status == "done" and isinstance(a.detail.get("undoes"), int)
    }


def _write(action: ActionRecord) -> Write:
    return Write(
        id=action.id,
        task_gid=action.task_gid,
        task_name=action.task_name,
        kind=WriteKind(action.kind),
        detail=action.detail,
        done=action.status == "done",
        active=action.mode == "active",
        at=action.created_at,
        rule=action.rule,
        story_gid=action.story_gid,
    )


# ----------------------------------------------------------------------------- carrying out


def _carry_out(
    plan: UndoPlan,
    tasks: dict[str, Task],
    backend: TaskBackend,
    store: StateStore,
    client: str,
    by_id: dict[int, ActionRecord],
    now: datetime,
    *,
    allow_again: bool,
) -> tuple[list[Outcome], list[str]]:
    """Each task's reverts in order, each journaled once done. The task's override (unless
    ``allow_again``) comes first, so a service running meanwhile leaves the task alone while it
    is taken back; its open delegation is closed once it was given back. A task found gone
    fails its remaining reverts; a refused token stops the run (the rest not tried, said so).
    """
    outcomes: list[Outcome] = []
    stopped: str | None = None
    overridden: list[str] = []
    for part in plan.tasks:
        task = tasks.get(part.task_gid)
        if task is None or not part.steps:
            continue
        if stopped is not None:  # not touched: no override either
            outcomes.extend(
                Outcome(step, "failed", step.revert, f"not tried: {stopped}") for step in part.steps
            )
            continue
        if not allow_again:
            rule = by_id[part.steps[0].undoes].rule
            store.record_override(
                Override(client, part.task_gid, part.task_name, rule, OVERRIDE_REASON, now)
            )
            overridden.append(part.task_gid)
        done: list[Outcome] = []
        gone: str | None = None
        for step in part.steps:
            if stopped is not None:
                outcomes.append(Outcome(step, "failed", step.revert, f"not tried: {stopped}"))
                continue
            if gone is not None:
                outcomes.append(Outcome(step, "failed", step.revert, gone))
                continue
            outcome = _revert(backend, task, step, by_id[step.undoes].rule)
            if outcome.status == "done":
                _journal(store, client, part, step, outcome, by_id[step.undoes], now)
                done.append(outcome)
            elif outcome.fatal:
                stopped = outcome.error
            elif outcome.gone:
                gone = outcome.error
            outcomes.append(outcome)
        if any(isinstance(o.revert, Reassign) for o in done):
            _given_back(store, client, part.task_gid, now)
    return outcomes, overridden


def _revert(backend: TaskBackend, task: Task, step: Step, rule: str) -> Outcome:
    try:
        story = backend.revert(task, step.revert)
        return Outcome(step, "done", step.revert, story_gid=story)
    except TaskGone as exc:
        return Outcome(step, "failed", step.revert, str(exc), gone=True)
    except CommentGone:
        # Deleted already: by a person, or by an earlier run whose answer was lost (a retried
        # DELETE answers 404). What undo wanted is so: taken back.
        return Outcome(step, "done", step.revert)
    except CommentKept:
        pass  # Asana keeps it: withdrawn by another comment instead
    except BackendError as exc:
        return Outcome(step, "failed", step.revert, str(exc), fatal=exc.fatal)
    fallback = CorrectComment(correction(rule))
    try:
        story = backend.revert(task, fallback)
    except BackendError as exc:
        return Outcome(step, "failed", fallback, f"the comment cannot be deleted, and: {exc}")
    return Outcome(step, "done", fallback, story_gid=story)


def _journal(
    store: StateStore,
    client: str,
    part: TaskUndo,
    step: Step,
    outcome: Outcome,
    write: ActionRecord,
    now: datetime,
) -> None:
    """The revert, journaled done after it was made: never pending, so the service's reconcile
    of interrupted writes never sees it."""
    detail: dict[str, Any] = plain(outcome.revert)
    detail["undoes"] = step.undoes
    detail["description"] = _label(outcome)
    if outcome.story_gid is not None:
        detail["story_gid"] = outcome.story_gid
    store.begin_action(
        cycle_id=None, client=client, task_gid=part.task_gid, task_name=part.task_name,
        rule=write.rule, kind=UNDO_KIND, detail=detail, assistant=write.assistant,
        mode="active", at=now, status="done",
    )  # fmt: skip


def _given_back(store: StateStore, client: str, task_gid: str, now: datetime) -> None:
    """The service's open delegation of a task given back, closed: the assistant no longer has
    it, and the service does not take the change for a person's override."""
    for delegation in store.delegations(client, "open", task_gids=[task_gid]):
        store.close_delegation(client, delegation.task_gid, "overridden", now)


def _label(outcome: Outcome) -> str:
    if outcome.revert is outcome.step.revert:
        return outcome.step.label
    return "post a comment withdrawing it (it cannot be deleted)"


# ----------------------------------------------------------------------------- the report


def _report(
    args: argparse.Namespace,
    client: str | None,
    zone: str | None,
    plan: UndoPlan,
    outcomes: list[Outcome],
    overridden: list[str],
    *,
    dry_run: bool,
    when: dict[int, datetime],
) -> int:
    failed = [o for o in outcomes if o.status == "failed"]
    if args.json:
        dump_json(_document(args, client, plan, outcomes, overridden, when, dry_run=dry_run))
    else:
        style = Style.for_stream(sys.stdout, args)
        _print(client, zone, plan, outcomes, when, dry_run=dry_run, style=style)
    return 1 if failed else 0


def _selection(args: argparse.Namespace) -> dict[str, Any]:
    return {"cycle": args.cycle, "rule": args.rule, "task": args.task, "since": args.since}


def _document(
    args: argparse.Namespace,
    client: str | None,
    plan: UndoPlan,
    outcomes: list[Outcome],
    overridden: list[str],
    when: dict[int, datetime],
    *,
    dry_run: bool,
) -> dict[str, Any]:
    by_step = {id(o.step): o for o in outcomes}
    tasks = []
    for part in plan.tasks:
        reverts = []
        for step in part.steps:
            outcome = by_step.get(id(step))
            reverts.append(
                {
                    "undoes": step.undoes,
                    "written_at": when[step.undoes],
                    "label": _label(outcome) if outcome else step.label,
                    "change": plain(outcome.revert if outcome else step.revert),
                    "status": outcome.status if outcome else "not_reached",
                    "error": outcome.error if outcome else None,
                    "story_gid": outcome.story_gid if outcome else None,
                }
            )
        tasks.append(
            {
                "gid": part.task_gid,
                "name": part.task_name,
                "reverts": reverts,
                "left": [{**plain(left), "written_at": when[left.entry]} for left in part.left],
            }
        )
    return {
        "command": "undo",
        "ok": not any(o.status == "failed" for o in outcomes),
        "dry_run": dry_run,
        "client": client,
        "selection": _selection(args),
        "tasks": tasks,
        "overrides": overridden,
        "counts": {
            "reverted": sum(o.status == "done" for o in outcomes),
            "failed": sum(o.status == "failed" for o in outcomes),
            "left": plan.left,
        },
    }


def _print(
    client: str | None,
    zone: str | None,
    plan: UndoPlan,
    outcomes: list[Outcome],
    when: dict[int, datetime],
    *,
    dry_run: bool,
    style: Style,
) -> None:
    if client is None:
        print("nothing to undo: no done, active write of the service matches")
        return
    by_step = {id(o.step): o for o in outcomes}
    head = f"undo for {client}" + (" (dry run: nothing written)" if dry_run else "")
    print(style.bold(head))
    for part in plan.tasks:
        print(f'"{part.task_name}" ({part.task_gid})')
        for step in part.steps:
            outcome = by_step.get(id(step))
            label = _label(outcome) if outcome else step.label
            if outcome is None or outcome.status == "planned":
                status = style.dim("would") if dry_run else style.dim("skipped")
            elif outcome.status == "done":
                status = style.ok("done")
            else:
                status = style.fail("failed")
            error = f": {outcome.error}" if outcome is not None and outcome.error else ""
            written = local(when[step.undoes], zone)
            print(f"  {status} {label} (undoes #{step.undoes} of {written}){error}")
        for left in part.left:
            written = local(when[left.entry], zone)
            print(f"  {style.warn('left')} {left.what}: {left.note} (#{left.entry} of {written})")
    done = sum(o.status == "done" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    if dry_run:
        print(f"would take back {plan.steps}, leave {plan.left} as it is")
    else:
        print(f"took back {done}, failed {failed}, left {plan.left} as it is")
