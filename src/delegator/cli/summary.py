"""`delegator summary`: a client's summary (and its assistants' digests) as it would be sent."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import timedelta
from typing import Any

from delegator.bootstrap import Fleet, open_store
from delegator.cli._common import Subparsers
from delegator.cli.service import select, settings_from
from delegator.clients import load_clients
from delegator.core.summary_render import Rendered
from delegator.core.timeexpr import parse_duration
from delegator.logs import configure
from delegator.redact import redact_outgoing
from delegator.service import ClientError
from delegator.settings import SettingsError
from delegator.summaries import Period, SendOutcome, Summaries


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "summary",
        help="preview (or send) each client's summary and its assistants' digests",
        description=(
            "Prints each client's summary as it would be sent: what was delegated, done, late "
            "and waiting, what was taken back, problems, time given back and the Covey matrix. "
            "Nothing is sent unless --send is given. Reads the store and the client's watched "
            "sources (a few read requests); writes nothing to tasks."
        ),
    )
    parser.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    parser.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    parser.add_argument(
        "--client", metavar="NAME", help="only this client (file name or client name)"
    )
    parser.add_argument(
        "--period",
        metavar="DURATION",
        help="the period to cover, up to now (default: since the previous scheduled summary, "
        "or 7d without a schedule)",
    )
    parser.add_argument("--digests", action="store_true", help="also print each assistant's digest")
    parser.add_argument(
        "--format",
        choices=("markdown", "asana", "json"),
        default="markdown",
        help="markdown (Slack and email), asana (Asana rich text) or json (the data)",
    )
    parser.add_argument(
        "--send",
        action="store_true",
        help="send the summary now to every destination of the client's summary: block",
    )
    parser.set_defaults(handler=run_summary)


def run_summary(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        length = _period(args.period)
    except (SettingsError, ValueError) as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_format, settings.log_level)
    chosen = select(load_clients(settings.rules_dir), args.client)
    if not chosen:
        where = f"client {args.client!r}" if args.client else "client files"
        print(f"delegator: no {where} in {settings.rules_dir}", file=sys.stderr)
        return 1
    fleet = Fleet(settings, open_store(settings))
    summaries = fleet.summaries()
    status = 0
    try:
        for entry in chosen:
            if entry.loaded.head is None:
                print(f"{entry.path}: cannot be used:", file=sys.stderr)
                for error in entry.errors:
                    print(f"  {error}", file=sys.stderr)
                status = 1
                continue
            period = summaries.preview_period(entry, length)
            try:
                if args.send:
                    outcomes = summaries.send_now(entry, period)
                    status = max(status, _print_outcomes(entry.key, outcomes))
                    continue
                _print_summary(summaries, entry, period, args.format)
                if args.digests:
                    for assistant in entry.loaded.head.assistants:
                        _print_digest(summaries, entry, assistant, period, args.format)
            except ClientError as exc:
                print(f"delegator: {entry.key}: {exc}", file=sys.stderr)
                status = 1
    finally:
        fleet.close()
    return status


def _period(text: str | None) -> timedelta | None:
    if text is None:
        return None
    duration = parse_duration(text)
    if duration.unit == "business_days":
        raise ValueError("--period: use minutes, hours or days (e.g. 7d)")
    return duration.timedelta()


def _print_summary(summaries: Summaries, entry: Any, period: Period, fmt: str) -> None:
    if fmt == "json":
        data = summaries.summary(entry, period)
        print(json.dumps({"client": entry.key, "summary": _plain(data)}, indent=2, default=str))
        return
    _print_rendered(summaries.render_summary(entry, period), fmt)


def _print_digest(
    summaries: Summaries, entry: Any, assistant: str, period: Period, fmt: str
) -> None:
    if fmt == "json":
        data = summaries.digest(entry, assistant, period.start, period.end)
        print(json.dumps({"client": entry.key, "assistant": assistant, "digest": _plain(data)},
                         indent=2, default=str))  # fmt: skip
        return
    print()
    _print_rendered(summaries.render_digest(entry, assistant, period), fmt)


def _print_rendered(rendered: Rendered, fmt: str) -> None:
    if fmt == "asana":
        print(rendered.title)
        print(rendered.html)
    else:
        print(f"# {rendered.title}\n")
        print(rendered.markdown.rstrip())


def _print_outcomes(client: str, outcomes: list[SendOutcome]) -> int:
    if not outcomes:
        print(f"{client}: no destinations (add a summary: block with to: to the client file)")
        return 1
    status = 0
    for outcome in outcomes:
        print(
            f"{client}: {outcome.status} -> {outcome.destination}: {redact_outgoing(outcome.detail)}"
        )
        if outcome.status != "sent":
            status = 1
    return status


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
