"""Commands for rule authors: check, explain, test and schema."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from delegator.asana.mapping import SnapshotError, task_from_asana
from delegator.cli._common import Subparsers
from delegator.cli.explain_view import decision_json, render_text
from delegator.core.boundedjson import JsonInputError, load_json
from delegator.core.engine import Engine
from delegator.core.model import Task
from delegator.core.rulefile import ClientFile
from delegator.core.ruletests import (
    CaseResult,
    RuleTestFile,
    directory_for,
    owner_identity,
    parse_test_file,
    run_cases,
)
from delegator.core.schema import FileHead, json_schema
from delegator.rulesource import (
    UnreadableFileError,
    expand,
    fault_message,
    read_client_file,
    read_text,
)


def register(subparsers: Subparsers) -> None:
    check = subparsers.add_parser(
        "check",
        help="validate rule files and print every error",
        description=(
            "Validate client rule files (and rule test files). Prints every error as "
            "file:line:col: key.path: message; exits 1 when there is any."
        ),
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    check.set_defaults(handler=run_check)

    explain = subparsers.add_parser(
        "explain",
        help="show the decision for one task, with every condition",
        description=(
            "Evaluate one task (as Asana's API returns it) against a rule file and show the "
            "quadrant, the rule that acts, each condition's actual and wanted value, the "
            "actions and the near misses. Nothing is read from or written to Asana."
        ),
    )
    explain.add_argument("--rules", required=True, metavar="FILE", help="the client's rule file")
    explain.add_argument(
        "--task", required=True, metavar="TASK.json", help="the task JSON (GET /tasks/{gid})"
    )
    explain.add_argument(
        "--now", metavar="ISO", help="evaluate at this time (default: now), e.g. 2026-11-27T10:00"
    )
    explain.add_argument(
        "--owner",
        metavar="GID|EMAIL",
        help="the client's Asana user when the file says owner: me (no token is used offline)",
    )
    explain.add_argument("--json", action="store_true", help="print the decision as JSON")
    explain.set_defaults(handler=run_explain)

    test = subparsers.add_parser(
        "test",
        help="run rule tests (*.test.yaml)",
        description=(
            "Run rule test files: each case is a task and the decision expected for it. "
            "Prints each case like a test runner and exits 1 when any case fails."
        ),
    )
    test.add_argument("paths", nargs="+", metavar="PATH", help="test files or folders")
    test.set_defaults(handler=run_test)

    schema = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of a rule file",
        description=(
            "Print the JSON Schema of a rule file, for editors: with the YAML language server, "
            "put '# yaml-language-server: $schema=PATH' at the top of a rule file."
        ),
    )
    schema.set_defaults(handler=run_schema)


def _summary(loaded: ClientFile) -> str:
    head = loaded.head
    assert head is not None
    shadow = sum(1 for r in loaded.rules if r.rule.mode == "shadow")
    rules = f"{len(loaded.rules)} rule{'s' if len(loaded.rules) != 1 else ''}"
    if shadow:
        rules += f" ({shadow} in shadow mode)"
    return (
        f"{loaded.source}: ok: {head.client.name}, {rules}, "
        f"{len(head.assistants)} assistant{'s' if len(head.assistants) != 1 else ''}, "
        f"{len(head.watch)} watched source{'s' if len(head.watch) != 1 else ''}, "
        f"poll every {head.poll}" + _schedules(head)
    )


def _schedules(head: FileHead) -> str:
    """When the summary and the digests go, and where, as people read a schedule."""
    parts = []
    if head.summary is not None:
        where = ", ".join(d.kind for d in head.summary.to)
        parts.append(f"summary {head.summary.cron.describe()} ({head.client.timezone}) to {where}")
    if head.digest is not None:
        where = ", ".join(d.kind for d in head.digest.to)
        parts.append(f"digests {head.digest.cron.describe()} (each assistant's time) to {where}")
    return "".join(f"; {part}" for part in parts)


def _progress(path: Path) -> Callable[[int, int], None] | None:
    """A progress line for a large file, when a person watches stderr."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        print(f"\r  {path}: checked {done:,} of {total:,} rules", end="", file=sys.stderr)

    return show


def _end_progress() -> None:
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr, flush=True)


def read_test_file(path: Path) -> tuple[RuleTestFile | None, list[str], list[int]]:
    """A rule test file, its errors as printed lines and its cases' lines; never raises."""
    try:
        text = read_text(path)
    except UnreadableFileError as exc:
        return None, [f"{path}:1:1: cannot read the file: {exc}"], []
    try:
        test_file, errors, lines = parse_test_file(text, str(path))
    except Exception as exc:  # a fault in the checker: this file is out, the others go on
        return None, [f"{path}:1:1: {fault_message(exc)}"], []
    return test_file, [str(e) for e in errors], lines


def run_check(args: argparse.Namespace) -> int:
    rule_files = expand(args.paths, tests=False)
    test_files = [p for p in expand(args.paths, tests=True) if p not in rule_files]
    if not rule_files and not test_files:
        print("delegator check: no rule files found in " + ", ".join(args.paths), file=sys.stderr)
        return 1
    error_count = 0
    bad_files = 0
    for path in rule_files:
        if not path.exists():
            print(f"{path}: no such file", file=sys.stderr)
            error_count += 1
            bad_files += 1
            continue
        loaded = read_client_file(path, _progress(path))
        _end_progress()
        for error in loaded.errors:
            print(error)
        if loaded.errors:
            error_count += len(loaded.errors)
            bad_files += 1
        else:
            print(_summary(loaded))
    for path in test_files:
        _, test_errors, _ = read_test_file(path)
        for line in test_errors:
            print(line)
        if test_errors:
            error_count += len(test_errors)
            bad_files += 1
        else:
            print(f"{path}: ok: rule tests")
    if error_count:
        plural = "s" if error_count != 1 else ""
        files = f"{bad_files} file{'s' if bad_files != 1 else ''}"
        print(f"{error_count} error{plural} in {files}", file=sys.stderr)
        return 1
    return 0


def _parse_now(text: str | None, engine: Engine) -> datetime:
    if text is None:
        return datetime.now(UTC).astimezone(engine.tz)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=engine.tz)


def run_explain(args: argparse.Namespace) -> int:
    loaded = read_client_file(Path(args.rules))
    for error in loaded.errors:
        print(error, file=sys.stderr)
    if not loaded.usable:
        return 1
    if loaded.errors:
        print("(the rules above with errors are left out)", file=sys.stderr)
    try:
        engine = Engine(loaded)
    except Exception as exc:  # a fault in building the rules: say so, no traceback
        print(f"{args.rules}: {fault_message(exc)}", file=sys.stderr)
        return 1
    task = _read_task(args.task)
    if task is None:
        return 1
    try:
        now = _parse_now(args.now, engine)
    except ValueError:
        print(
            f"--now: invalid time {args.now!r}: use ISO 8601, e.g. 2026-11-27T10:00",
            file=sys.stderr,
        )
        return 2
    assert loaded.head is not None
    if loaded.head.client.owner == "me" and not args.owner:
        print(
            "note: the file says owner: me and no token is used offline; pass --owner GID|EMAIL "
            "so that 'assignee: owner' can match",
            file=sys.stderr,
        )
    owner = owner_identity(loaded.head, args.owner)
    try:
        ctx = engine.context(now, directory_for(loaded.head, owner))
        decision = engine.explain(task, ctx)
    except Exception as exc:  # e.g. a --now at the end of time: no traceback
        print(f"delegator: cannot evaluate the task: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(decision_json(decision, now=ctx.now), indent=2, default=str))
    else:
        print(render_text(decision, now=ctx.now, tz_name=loaded.head.client.timezone))
    return 0


def _read_task(name: str) -> Task | None:
    """The task of ``explain --task``, or None after saying, located, what is wrong with it."""
    try:
        raw = load_json(read_text(Path(name)))
    except UnreadableFileError as exc:
        print(f"{name}: cannot read the task: {exc}", file=sys.stderr)
        return None
    except JsonInputError as exc:
        print(f"{name}:{exc.line}:{exc.column}: {exc.message}", file=sys.stderr)
        return None
    try:
        return task_from_asana(raw)
    except SnapshotError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
    except Exception as exc:  # a value of an unexpected kind somewhere in the snapshot
        print(
            f"{name}: not a task as Asana returns it ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
    return None


def _print_case(path: Path, result: CaseResult) -> None:
    status = "PASS" if result.passed else "FAIL"
    print(f"{status} {path}:{result.line} {result.name}")
    for diff in result.differences:
        print(f"     {diff.key}:")
        print(f"       - expected: {json.dumps(diff.expected, default=str)}")
        print(f"       + actual:   {json.dumps(diff.actual, default=str)}")
    if not result.passed:
        decision = result.decision
        reasons = [f"quadrant {decision.quadrant}"]
        reasons.extend(
            f'rule "{m.rule}" missed only {m.failed.text} (actual {m.failed.actual})'
            for m in decision.near_misses
        )
        print("     why: " + "; ".join(str(r) for r in reasons))


def run_test(args: argparse.Namespace) -> int:
    files = expand(args.paths, tests=True)
    if not files:
        print("delegator test: no *.test.yaml files in " + ", ".join(args.paths), file=sys.stderr)
        return 1
    passed = failed = errors = 0
    for path in files:
        test_file, test_errors, lines = read_test_file(path)
        for line in test_errors:
            print(line)
        if test_file is None:
            errors += 1
            continue
        loaded = read_client_file(path.parent / test_file.rules)
        for problem in loaded.errors:
            print(problem)
        if not loaded.usable or loaded.errors:
            print(f"ERROR {path}: its rule file {test_file.rules} has errors")
            errors += 1
            continue
        try:
            results = list(run_cases(test_file, Engine(loaded), lines))
        except Exception as exc:  # a fault while running the cases: this file is out
            print(f"ERROR {path}: {fault_message(exc)}")
            errors += 1
            continue
        for result in results:
            _print_case(path, result)
            if result.passed:
                passed += 1
            else:
                failed += 1
    summary = f"{passed} passed, {failed} failed"
    if errors:
        summary += f", {errors} file{'s' if errors != 1 else ''} with errors"
    print(summary)
    return 0 if failed == 0 and errors == 0 else 1


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0
