"""`delegator prune`: delete the history older than the journal's retention, by hand.

The running service does the same once a day (``journal.retention``, 90 days by default); this
command is for a one-off clean-up, a different age, or a look first (``--dry-run``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from delegator.bootstrap import open_store
from delegator.cli._common import Subparsers
from delegator.cli.service import settings_from
from delegator.core.timeexpr import parse_duration
from delegator.settings import SettingsError


def register(subparsers: Subparsers) -> None:
    prune = subparsers.add_parser(
        "prune",
        help="delete the history older than journal.retention",
        description=(
            "Delete the journal entries, finished cycles and closed delegations older than "
            "journal.retention (or --older-than). Kept whatever their age: pending intents, "
            "what the rules remember a task by (a rule's completed outcome, a posted comment), "
            "open delegations, the override ledger and the summaries sent. The service does "
            "this daily by itself."
        ),
    )
    prune.add_argument("--config", metavar="FILE", help="settings file")
    prune.add_argument(
        "--older-than",
        metavar="DURATION",
        help="prune what is older than this (default: the journal.retention setting)",
    )
    prune.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    prune.add_argument("--json", action="store_true", help="print the counts as JSON")
    prune.set_defaults(handler=run_prune)


def run_prune(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        kept = (
            parse_duration(args.older_than).timedelta()
            if args.older_than
            else settings.journal_retention
        )
    except (SettingsError, ValueError) as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    if kept <= timedelta(0):
        print(
            "journal.retention is 0: the history is kept for ever; "
            "give --older-than to prune anyway"
        )
        return 0
    before = datetime.now(UTC) - kept
    store = open_store(settings)
    try:
        pruned = store.prune(before, dry_run=args.dry_run)
    finally:
        store.close()
    if args.json:
        print(json.dumps({
            "command": "prune", "before": before.isoformat(), "dry_run": args.dry_run, "actions": pruned.actions,
            "cycles": pruned.cycles, "delegations": pruned.delegations,
            "followups": pruned.followups,
        }))  # fmt: skip
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"{verb} {pruned.actions:,} journal entries, {pruned.cycles:,} cycles, "
        f"{pruned.delegations:,} closed delegations and {pruned.followups:,} follow-up steps "
        f"older than {before:%Y-%m-%d %H:%M} UTC"
    )
    return 0
