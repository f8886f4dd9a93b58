"""`delegator suggest`: rules suggested from what the owner handed off by hand in Asana.

Reads the client's history (`ports.HistorySource`, asana/history.py), mines it
(core/rulemining.py), scores each suggestion with the rule engine and prints it, ready to paste
under ``rules:`` in shadow mode; ``--write FILE`` writes a copy of the client file with them.
The text is in the client's language (``client.language``), as are the suggested rules' names
and descriptions; ``--json`` is in English but for those (what the file would get).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from delegator.asana.backend import AsanaBackend
from delegator.asana.history import MAX_TASKS, AsanaHistory, worst_case
from delegator.bootstrap import Fleet, open_store
from delegator.cli._common import Subparsers, say
from delegator.cli.console import configure_one_off, dump_json, iso
from delegator.cli.service import UsageError, select, settings_from, target, unknown_client
from delegator.clients import ClientEntry, load_clients
from delegator.core.language import ENGLISH, Language, Phrases, Voice
from delegator.core.rulefile import parse_client_file
from delegator.core.rulemining import (
    DEFAULT_THRESHOLDS,
    AppendError,
    Mined,
    Miss,
    Suggestion,
    append_rules,
    figure,
    percent,
    stat_line,
    suggest,
)
from delegator.core.timeexpr import parse_duration
from delegator.ports import BackendError, History, HistorySource, StateStore
from delegator.sandbox import FixtureError
from delegator.service import ClientError
from delegator.settings import Settings, SettingsError

DEFAULT_SINCE = "6mo"
_MONTHS = re.compile(r"^\s*(\d+)\s*(mo|months?)\s*$", re.IGNORECASE)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "suggest",
        help="rules suggested from what the owner handed off by hand in Asana",
        description=(
            "Reads the tasks the owner gave to each assistant by hand (Asana's assignment "
            "stories) and the ones she kept and completed, and suggests rules that would have "
            "done the same, each scored on that history (precision, recall, the tasks it gets "
            "wrong), in shadow mode, ready to paste under rules:. Writes nothing to Asana."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="settings file")
    parser.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    parser.add_argument("--client", metavar="NAME", help="the client (file name or client name)")
    parser.add_argument(
        "--since",
        default=DEFAULT_SINCE,
        metavar="DURATION",
        help=f"how far back (default {DEFAULT_SINCE}: six months of 30 days; or 90d, 12w...)",
    )
    parser.add_argument(
        "--max-tasks",
        type=int,
        default=MAX_TASKS,
        metavar="N",
        help=f"tasks read per person at most (default {MAX_TASKS})",
    )
    parser.add_argument(
        "--write",
        type=Path,
        metavar="FILE",
        help="write a copy of the client file with the suggestions appended to its rules",
    )
    parser.add_argument("--json", action="store_true", help="print the suggestions as JSON")
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="against the built-in Asana sandbox (the demo world and the examples, or --seed)",
    )
    parser.add_argument(
        "--seed", type=Path, metavar="WORLD", help="with --sandbox: the world to seed it from"
    )
    parser.set_defaults(handler=run_suggest)


def since_delta(text: str) -> timedelta:
    """``6mo`` (months of 30 days), or a duration as elsewhere (``90d``, ``12w``)."""
    months = _MONTHS.match(text)
    if months:
        delta = timedelta(days=30 * int(months.group(1)))
    else:
        try:
            delta = parse_duration(text).timedelta()
        except ValueError as exc:
            raise UsageError(f"--since: {exc} (or months: '6mo')") from None
    if delta <= timedelta(0):
        raise UsageError(f"--since: {text!r} is no time at all")
    return delta


@dataclass(frozen=True)
class Result:
    """One client's suggestions and what reading its history cost."""

    entry: ClientEntry
    since: datetime
    history: History
    mined: Mined
    max_tasks: int
    written: Path | None = None
    wanted: Path | None = None  # --write, when given


def run_suggest(args: argparse.Namespace) -> int:
    try:
        if args.max_tasks < 1:
            raise UsageError("--max-tasks: at least 1")
        delta = since_delta(args.since)
        settings = settings_from(args)
        with target(args, settings) as (in_use, environ):
            return _suggest(args, in_use, environ, delta)
    except (SettingsError, UsageError) as exc:
        say(str(exc))
        return 2
    except FixtureError as exc:
        say(str(exc))
        return 2


def _suggest(
    args: argparse.Namespace, settings: Settings, environ: dict[str, str], delta: timedelta
) -> int:
    configure_one_off(settings.log_format, args)
    entries = load_clients(settings.rules_dir)
    chosen = select(entries, args.client)
    if not chosen:
        if args.client:
            say(unknown_client(args.client, entries, settings.rules_dir))
        else:
            say(f"no client files in {settings.rules_dir}")
        return 2
    if args.write is not None and len(chosen) > 1:
        raise UsageError("--write needs --client: one client's file is written")
    store = open_store(settings)
    fleet = Fleet(settings, store, environ=environ)
    results: list[Result] = []
    try:
        for entry in chosen:
            result = _one(args, entry, fleet, store, delta)
            if result is None:
                return 1
            results.append(result)
    finally:
        fleet.close()
    if args.json:
        dump_json({"command": "suggest", "ok": True, "clients": [_json(r) for r in results]})
    else:
        print("\n\n".join(render(r) for r in results))
    return 0


def history_source(fleet: Fleet, entry: ClientEntry) -> HistorySource:
    """The client's history in Asana, read with its token (and its budget)."""
    backend = fleet.runtime(entry).backend
    if not isinstance(backend, AsanaBackend):  # pragma: no cover - the fleet builds Asana's
        raise ClientError("the client's backend cannot read a history")
    return AsanaHistory(backend.client, backend.workspace)


def service_delegated(store: StateStore, client: str) -> frozenset[str]:
    """The tasks the service itself delegated (its delegations, and its journaled assignments):
    not the owner's hand-offs."""
    gids = {d.task_gid for d in store.delegations(client, status=None)}
    gids.update(a.task_gid for a in store.actions(client=client, kinds=["assign"]))
    return frozenset(gids)


def _one(
    args: argparse.Namespace,
    entry: ClientEntry,
    fleet: Fleet,
    store: StateStore,
    delta: timedelta,
) -> Result | None:
    head = entry.loaded.head
    if head is None or entry.engine is None:
        problems = "; ".join(str(e) for e in entry.errors[:3])
        say(f"{entry.key}: the rule file cannot be used: {problems}")
        return None
    text = entry.path.read_text(encoding="utf-8")
    try:
        source = history_source(fleet, entry)
        since = datetime.now(UTC) - delta
        history = source.read_history(
            head.client.owner,
            {key: a.user for key, a in head.assistants.items()},
            since,
            max_tasks=args.max_tasks,
            exclude=service_delegated(store, entry.key),
        )
        mined = suggest(
            text, str(entry.path), history.examples, now=history.read_at,
            directory=history.directory, thresholds=DEFAULT_THRESHOLDS,
        )  # fmt: skip
    except (ClientError, BackendError) as exc:
        say(f"{entry.key}: {exc}")
        return None
    except AppendError as exc:
        say(f"{entry.path}: {exc}")
        return None
    written: Path | None = None
    if args.write is not None and mined.suggestions:
        written = _write(args.write, text, mined)
        if written is None:
            return None
    return Result(entry, since, history, mined, args.max_tasks, written, args.write)


def _write(path: Path, text: str, mined: Mined) -> Path | None:
    """A copy of the client file with the suggestions appended; None after saying why not."""
    combined = append_rules(text, mined.block)
    before = {str(e).split(":", 1)[1] for e in parse_client_file(text, str(path)).errors}
    new = [
        e
        for e in parse_client_file(combined, str(path)).errors
        if str(e).split(":", 1)[1] not in before
    ]
    if new:  # never: every suggestion was compiled in this very text
        say(f"{path}: not written: the suggestions would not pass check: {new[0]}")
        return None
    try:
        path.write_text(combined, encoding="utf-8")
    except OSError as exc:
        say(f"{path}: cannot write: {exc.strerror or type(exc).__name__}")
        return None
    return path


# ----------------------------------------------------------------------------- output

TEXTS = Phrases(
    {
        "head": {
            Language.EN: "Suggested rules for {name} ({key}), from the history {since}: "
            "{handed}, {kept}.",
            Language.IT: "Regole suggerite per {name} ({key}), dallo storico {since}: "
            "{handed}, {kept}.",
        },
        "since": {Language.EN: "since {day}", Language.IT: "dal {day}"},
        "since_vowel": {Language.EN: "since {day}", Language.IT: "dall'{day}"},
        "handed": {
            Language.EN: "{count} tasks handed off by hand",
            Language.IT: "{count} attività passate a mano",
        },
        "handed_one": {
            Language.EN: "{count} tasks handed off by hand",
            Language.IT: "{count} attività passata a mano",
        },
        "kept": {
            Language.EN: "{count} kept by the owner",
            Language.IT: "{count} tenute dal titolare",
        },
        "kept_one": {
            Language.EN: "{count} kept by the owner",
            Language.IT: "{count} tenuta dal titolare",
        },
        "truncated": {
            Language.EN: "  (only the first {count} tasks of {who} were read: --max-tasks)",
            Language.IT: "  (lette solo le prime {count} attività per {who}: --max-tasks)",
        },
        "owner": {Language.EN: "owner", Language.IT: "il titolare"},
        "and": {Language.EN: ", ", Language.IT: " e "},
        "words": {
            Language.EN: "Words that tell them apart:",
            Language.IT: "Parole che le distinguono:",
        },
        "none": {
            Language.EN: "No rule to suggest: no word, project, section, tag, field or due-date "
            "habit covers at least {support} hand-offs with a precision of {precision} or more.",
            Language.IT: "Nessuna regola da suggerire: nessuna parola, progetto, sezione, tag, "
            "campo o abitudine di scadenza copre almeno {support} attività passate a mano con "
            "una precisione di almeno {precision}.",
        },
        "kept_by_owner": {
            Language.EN: "   would delegate, kept by the owner: {names}",
            Language.IT: "   le delegherebbe, ma il titolare le ha tenute: {names}",
        },
        "went_to_another": {
            Language.EN: "   would give to {who}, went to another: {names}",
            Language.IT: "   le darebbe a {who}, ma sono andate ad altri: {names}",
        },
        "would_miss": {
            Language.EN: "   would miss: {names}",
            Language.IT: "   non prenderebbe: {names}",
        },
        "taken": {
            Language.EN: "   ({count} more hand-offs to {who}: the other suggestions)",
            Language.IT: "   (altre {count} attività passate a {who}: le prendono le altre "
            "regole suggerite)",
        },
        "taken_one": {
            Language.EN: "   ({count} more hand-offs to {who}: the other suggestions)",
            Language.IT: "   (ancora {count} attività passata a {who}: la prende un'altra "
            "regola suggerita)",
        },
        "and_more": {
            Language.EN: "{names} and {count} more",
            Language.IT: "{names} e altre {count}",
        },
        "paste": {
            Language.EN: "Paste under rules: (shadow mode: the summary says how often they would "
            "have\nacted; turn one on with mode: active):",
            Language.IT: "Da incollare sotto rules: (in prova, mode: shadow: il riepilogo dice "
            "quante volte\navrebbero agito; per attivarne una, mode: active):",
        },
        "wrote": {
            Language.EN: "wrote {path}: the client file with the suggestions appended",
            Language.IT: "scritto {path}: il file del cliente con le regole suggerite in fondo",
        },
        "nothing_written": {
            Language.EN: "nothing written to {path}: no suggestion",
            Language.IT: "niente scritto in {path}: nessuna regola da suggerire",
        },
        "cost": {
            Language.EN: "read {tasks} tasks in {requests} requests ({units} quota units)",
            Language.IT: "lette {tasks} attività in {requests} richieste ({units} unità di quota)",
        },
        "cost_one_request": {
            Language.EN: "read {tasks} tasks in {requests} requests ({units} quota units)",
            Language.IT: "lette {tasks} attività in {requests} richiesta ({units} unità di quota)",
        },
    }
)


def voice_of(entry: ClientEntry) -> Voice:
    """The client's voice (English for a file that cannot be read)."""
    head = entry.loaded.head
    return head.client.voice if head is not None else ENGLISH


def cost_line(history: History, voice: Voice = ENGLISH) -> str:
    number = figure(voice)
    return voice.say(
        TEXTS,
        "cost_one_request" if history.requests == 1 else "cost",
        tasks=number(history.tasks_read),
        requests=number(history.requests),
        units=number(history.quota_units),
    )


def _miss(miss: Miss, voice: Voice) -> str:
    name = " ".join(miss.name.split())  # a name's line breaks would start a line of their own
    return f'"{name}"' if voice.language is Language.EN else f"«{name}»"


def _names(misses: list[Miss], voice: Voice, *, shown: int = 5) -> str:
    names = ", ".join(_miss(m, voice) for m in misses[:shown])
    if len(misses) <= shown:
        return names
    return voice.say(TEXTS, "and_more", names=names, count=figure(voice)(len(misses) - shown))


def suggestion_lines(
    index: int, suggestion: Suggestion, others: frozenset[str], voice: Voice = ENGLISH
) -> list[str]:
    """A suggestion's name, score and the tasks it gets wrong; ``others``: the tasks the other
    suggestions match (a hand-off one of them takes is not listed as missed)."""
    score = suggestion.score
    who = suggestion.target.said(voice)
    shown_name = f'"{suggestion.name}"' if voice.language is Language.EN else f"«{suggestion.name}»"
    lines = [f"{index}. {shown_name}", f"   {score.said(voice)}"]
    kept = [m for m in score.wrong if m.went_to is None]
    other = [m for m in score.wrong if m.went_to is not None]
    if kept:
        lines.append(voice.say(TEXTS, "kept_by_owner", names=_names(kept, voice)))
    if other:
        shown = ", ".join(f"{_miss(m, voice)} ({m.went_to})" for m in other[:5])
        lines.append(voice.say(TEXTS, "went_to_another", who=who, names=shown))
    missed = [m for m in score.missed if m.gid not in others]
    taken = len(score.missed) - len(missed)
    if missed:
        lines.append(voice.say(TEXTS, "would_miss", names=_names(missed, voice)))
    if taken:
        key = "taken_one" if taken == 1 else "taken"
        lines.append(voice.say(TEXTS, key, count=figure(voice)(taken), who=who))
    return lines


def _people(keys: tuple[str, ...], voice: Voice) -> str:
    """Whose tasks reached --max-tasks: ``owner, giulia``; ``il titolare e giulia``."""
    named = [voice.say(TEXTS, "owner") if key == "owner" else key for key in keys]
    if len(named) < 2:
        return "".join(named)
    return ", ".join(named[:-1]) + voice.say(TEXTS, "and") + named[-1]


def _since(day: datetime, voice: Voice) -> str:
    if voice.language is Language.EN:
        return voice.say(TEXTS, "since", day=f"{day:%Y-%m-%d}")
    written = f"{day.day} {voice.month(day)} {day.year}"
    return voice.say(TEXTS, "since_vowel" if day.day in (1, 8, 11) else "since", day=written)


def render(result: Result) -> str:
    mined, history = result.mined, result.history
    voice = voice_of(result.entry)
    number = figure(voice)
    name = result.entry.name or result.entry.key
    lines = [
        voice.say(
            TEXTS,
            "head",
            name=name,
            key=result.entry.key,
            since=_since(result.since, voice),
            handed=voice.say(
                TEXTS,
                "handed_one" if mined.delegated == 1 else "handed",
                count=number(mined.delegated),
            ),
            kept=voice.say(
                TEXTS, "kept_one" if mined.kept == 1 else "kept", count=number(mined.kept)
            ),
        )
    ]
    if history.truncated:
        lines.append(
            voice.say(
                TEXTS,
                "truncated",
                count=number(result.max_tasks),
                who=_people(history.truncated, voice),
            )
        )
    if mined.words:
        lines += ["", voice.say(TEXTS, "words")]
        lines += [f"  {stat_line(w, mined.delegated, mined.kept, voice)}" for w in mined.words]
    lines.append("")
    if not mined.suggestions:
        t = DEFAULT_THRESHOLDS
        lines.append(
            voice.say(
                TEXTS,
                "none",
                support=number(t.support(mined.delegated)),
                precision=percent(t.min_precision, voice),
            )
        )
    else:
        for index, suggestion in enumerate(mined.suggestions, 1):
            others = frozenset(
                gid
                for s in mined.suggestions
                if s is not suggestion
                for gid in s.score.matched_gids
            )
            lines.extend(suggestion_lines(index, suggestion, others, voice))
            lines.append("")
        lines.extend(voice.say(TEXTS, "paste").splitlines())
        lines.append("")
        lines.extend(f"  {line}" for line in mined.block.splitlines())
        lines.append("")
    if result.written is not None:
        lines.append(voice.say(TEXTS, "wrote", path=result.written))
    elif result.wanted is not None:
        lines.append(voice.say(TEXTS, "nothing_written", path=result.wanted))
    lines.append(cost_line(history, voice))
    return "\n".join(lines)


def _json(result: Result) -> dict[str, Any]:
    mined, history = result.mined, result.history
    bound = worst_case(len(history.directory.assistants), result.max_tasks)
    return {
        "client": result.entry.key,
        "name": result.entry.name,
        "since": iso(result.since),
        "delegated": mined.delegated,
        "kept": mined.kept,
        "words": [{"word": w.word, "delegated": w.delegated, "kept": w.kept} for w in mined.words],
        "suggestions": [
            {
                "name": s.name,
                "assign": list(s.target.assistants),
                "yaml": s.yaml,
                "matched": s.score.matched,
                "right": s.score.right,
                "handed": s.score.handed,
                "precision": round(s.score.precision, 4),
                "recall": round(s.score.recall, 4),
                "wrong": [_miss_json(m) for m in s.score.wrong],
                "missed": [_miss_json(m) for m in s.score.missed],
            }
            for s in mined.suggestions
        ],
        "cost": {
            "tasks_read": history.tasks_read,
            "requests": history.requests,
            "quota_units": history.quota_units,
            "truncated": list(history.truncated),
            "unread": history.unread,
            "worst_case": {"requests": bound.requests, "quota_units": bound.quota_units},
        },
        "written": str(result.written) if result.written is not None else None,
    }


def _miss_json(miss: Miss) -> dict[str, Any]:
    return {"gid": miss.gid, "name": miss.name, "went_to": miss.went_to}
