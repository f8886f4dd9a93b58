"""`delegator summary`: a client's summary (and its assistants' digests) as it would be sent."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from delegator.bootstrap import Fleet, open_store
from delegator.cli._common import Subparsers, say
from delegator.cli.console import Style, configure_one_off, dump_json
from delegator.cli.service import select, settings_from, unknown_client
from delegator.clients import ClientEntry, load_clients
from delegator.core.summary_render import Rendered
from delegator.core.timeexpr import parse_duration
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
    parser.add_argument(
        "--digests",
        action="store_true",
        help="also each assistant's digest (printed, or with --send sent to the digest: block's "
        "destinations)",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "asana", "json"),
        default="markdown",
        help="markdown (Slack and email), asana (Asana rich text) or json (the data)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the data (or what was sent) as JSON"
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
        say(str(exc))
        return 2
    if args.json:
        args.format = "json"
    configure_one_off(settings.log_format, args)
    entries = load_clients(settings.rules_dir)
    chosen = select(entries, args.client)
    if not chosen:
        if args.client:
            say(unknown_client(args.client, entries, settings.rules_dir))
        else:
            say(f"no client files in {settings.rules_dir}")
        return 1
    fleet = Fleet(settings, open_store(settings))
    summaries = fleet.summaries()
    status = 0
    documents: list[dict[str, Any]] = []
    sent: list[SendOutcome] = []
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
                    status = max(status, _send(summaries, entry, period, args, sent))
                    continue
                if args.format == "json":
                    documents.append(_data(summaries, entry, period, digests=args.digests))
                    continue
                _print_rendered(summaries.render_summary(entry, period), args.format)
                if args.digests:
                    for assistant in entry.loaded.head.assistants:
                        print()
                        rendered = summaries.render_digest(entry, assistant, period)
                        _print_rendered(rendered, args.format)
            except ClientError as exc:
                say(f"{entry.key}: {exc}")
                status = 1
    finally:
        fleet.close()
    if args.send and args.json:
        dump_json(
            {
                "command": "summary",
                "sent": True,
                "ok": status == 0,
                "outcomes": [_outcome_json(o) for o in sent],
            }
        )
    elif args.format == "json":
        dump_json({"command": "summary", "sent": False, "ok": status == 0, "clients": documents})
    return status


def _data(
    summaries: Summaries, entry: ClientEntry, period: Period, *, digests: bool
) -> dict[str, Any]:
    """One client's summary (and digests) as data."""
    head = entry.loaded.head
    assert head is not None
    document: dict[str, Any] = {
        "client": entry.key,
        "name": head.client.name,
        "period": {"start": period.start, "end": period.end},
        "summary": summaries.summary(entry, period),
    }
    if digests:
        document["digests"] = [
            {
                "assistant": assistant,
                "digest": summaries.digest(entry, assistant, period.start, period.end),
            }
            for assistant in head.assistants
        ]
    return document


def _send(
    summaries: Summaries,
    entry: ClientEntry,
    period: Period,
    args: argparse.Namespace,
    sent: list[SendOutcome],
) -> int:
    """``--send``: the summary to its destinations, and with ``--digests`` each assistant's
    digest to the digest's; each outcome said (on stdout, or gathered for ``--json``)."""
    head = entry.loaded.head
    assert head is not None
    outcomes = summaries.send_now(entry, period)
    status = 0
    if not outcomes:
        status = _nothing_sent(entry, "summary", args)
    if args.digests:
        digests = summaries.send_digests_now(entry, period)
        if not digests:
            status = max(status, _nothing_sent(entry, "digest", args))
        outcomes = [*outcomes, *digests]
    sent.extend(outcomes)
    if not args.json:
        style = Style.for_stream(sys.stdout, args)
        for outcome in outcomes:
            print(_outcome_line(outcome, style))
    if any(o.status != "sent" for o in outcomes):
        status = 1
    return status


def _nothing_sent(entry: ClientEntry, kind: str, args: argparse.Namespace) -> int:
    block = "summary" if kind == "summary" else "digest"
    message = (
        f"{entry.key}: no {kind} sent: no destinations (add a {block}: block with to: to the "
        "client file)"
    )
    if args.json:
        say(message)
    else:
        print(message)
    return 1


def _outcome_line(outcome: SendOutcome, style: Style) -> str:
    status = style.ok(outcome.status) if outcome.status == "sent" else style.fail(outcome.status)
    who = f" for {outcome.recipient}" if outcome.recipient else ""
    return (
        f"{outcome.client}: {outcome.kind}{who} {status} -> {outcome.destination}: "
        f"{redact_outgoing(outcome.detail)}"
    )


def _outcome_json(outcome: SendOutcome) -> dict[str, Any]:
    return {
        "client": outcome.client,
        "kind": outcome.kind,
        "recipient": outcome.recipient or None,
        "destination": outcome.destination,
        "status": str(outcome.status),
        "detail": redact_outgoing(outcome.detail),
    }


def _period(text: str | None) -> timedelta | None:
    if text is None:
        return None
    duration = parse_duration(text)
    if duration.unit == "business_days":
        raise ValueError("--period: use minutes, hours or days (e.g. 7d)")
    return duration.timedelta()


def _print_rendered(rendered: Rendered, fmt: str) -> None:
    if fmt == "asana":
        print(rendered.title)
        print(rendered.html)
    else:
        print(f"# {rendered.title}\n")
        print(rendered.markdown.rstrip())
