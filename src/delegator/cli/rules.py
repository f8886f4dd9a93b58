"""Commands for rule authors: check, explain, test and schema."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from delegator.asana.mapping import SnapshotError, task_from_asana
from delegator.cli._common import Subparsers, read_settings, say
from delegator.cli.console import (
    Style,
    configure_one_off,
    dump_json,
    end_progress,
    iso,
    plain,
    show_progress,
)
from delegator.cli.explain_view import decision_json, expectation_lines, render_text
from delegator.cli.junit import CaseOutcome, SuiteOutcome, junit_xml
from delegator.core.analysis import analyse
from delegator.core.boundedjson import JsonInputError, load_json
from delegator.core.conditions import ConditionTrace
from delegator.core.diagnostics import RuleError
from delegator.core.engine import Decision, Engine
from delegator.core.findings import Finding, Severity
from delegator.core.model import Task
from delegator.core.rulefile import ClientFile
from delegator.core.ruletests import (
    CaseResult,
    RuleTestFile,
    directory_for,
    iter_cases,
    owner_identity,
    parse_test_file,
)
from delegator.core.schema import FileHead, json_schema
from delegator.core.yamlpos import load
from delegator.followup import foreseen_clocks
from delegator.preflight import check_online
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
            "file:line:col: key.path: message, then warnings from the static analysis (rules "
            "that can never match, overlaps, actions that undo each other...) and, with "
            "--online, names the workspace does not have. Exits 1 when there is an error (or, "
            "with --strict, a warning), else 0."
        ),
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="rule files or folders")
    check.add_argument(
        "--strict", action="store_true", help="warnings are errors (exit 1 when there is any)"
    )
    check.add_argument(
        "--online",
        action="store_true",
        help="also resolve the file's names in the live workspace with the client's token "
        "(projects, sections, tags, custom fields and options, people, access, plan)",
    )
    check.add_argument(
        "--config",
        metavar="FILE",
        help="settings file, for --online (default config/delegator.yaml)",
    )
    check.add_argument("--json", action="store_true", help="print the results as JSON")
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
    test.add_argument(
        "-k",
        dest="keyword",
        action="append",
        metavar="PATTERN",
        help="run only the cases whose FILE::NAME contains PATTERN (case-insensitive; repeat "
        "for any of several)",
    )
    test.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    test.add_argument("--json", action="store_true", help="print the results as JSON")
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
        show_progress(f"  {path}: checked {done:,} of {total:,} rules")

    return show


def read_test_file(path: Path) -> tuple[RuleTestFile | None, list[RuleError], list[int]]:
    """A rule test file, its errors and its cases' lines; never raises."""
    try:
        text = read_text(path)
    except UnreadableFileError as exc:
        return None, [RuleError(str(path), 1, 1, "", f"cannot read the file: {exc}")], []
    try:
        test_file, errors, lines = parse_test_file(text, str(path))
    except Exception as exc:  # a fault in the checker: this file is out, the others go on
        return None, [RuleError(str(path), 1, 1, "", fault_message(exc))], []
    return test_file, list(errors), lines


@dataclass(slots=True)
class FileCheck:
    """What `check` found in one file."""

    path: Path
    kind: str  # "rules" or "tests"
    errors: list[RuleError] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""  # the one-line description of a valid client file
    client: str | None = None
    missing: bool = False  # no such file: said on stderr, as a shell command would

    def failing(self, *, strict: bool) -> list[Finding]:
        return [f for f in self.findings if strict or f.severity is Severity.ERROR]

    def as_json(self, *, strict: bool) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": self.kind,
            "client": self.client,
            "ok": not self.errors and not self.failing(strict=strict),
            "errors": [_error_json(e) for e in self.errors],
            "findings": [f.as_json() for f in self.findings],
        }


def _error_json(error: RuleError) -> dict[str, Any]:
    return {
        "file": error.file,
        "line": error.line,
        "column": error.column,
        "key_path": error.key_path,
        "message": error.message,
    }


def _check_rule_file(path: Path, args: argparse.Namespace) -> FileCheck:
    checked = FileCheck(path, "rules")
    if not path.exists():
        checked.errors.append(RuleError(str(path), 1, 1, "", "no such file"))
        checked.missing = True
        return checked
    loaded = read_client_file(path, None if args.json else _progress(path))
    end_progress()
    checked.errors.extend(loaded.errors)
    if loaded.head is not None:
        checked.client = loaded.head.client.name
    if not loaded.errors:
        checked.summary = _summary(loaded)
    checked.findings.extend(findings_for(path, loaded, args))
    return checked


def findings_for(path: Path, loaded: ClientFile, args: argparse.Namespace) -> list[Finding]:
    """The static analysis of a usable file, and with ``--online`` what the workspace says."""
    if loaded.head is None:
        return []
    found: list[Finding] = []
    try:
        found.extend(analyse(loaded, load(read_text(path))))
    except Exception as exc:  # a fault in the analysis: the file's errors above still stand
        say(f"{path}: the static analysis was left out ({type(exc).__name__}: {exc})")
    if args.online:
        settings = read_settings(Path(args.config) if args.config else None, os.environ)
        found.extend(check_online(path, settings, os.environ))
    return sorted(set(found))


def _check_test_file(path: Path) -> FileCheck:
    checked = FileCheck(path, "tests")
    _, errors, _ = read_test_file(path)
    checked.errors.extend(errors)
    if not errors:
        checked.summary = f"{path}: ok: rule tests"
    return checked


def run_check(args: argparse.Namespace) -> int:
    rule_files = expand(args.paths, tests=False)
    test_files = [p for p in expand(args.paths, tests=True) if p not in rule_files]
    if not rule_files and not test_files:
        say("check: no rule files found in " + ", ".join(args.paths))
        return 1
    if args.online:
        configure_one_off("auto", args)
    checks = [_check_rule_file(p, args) for p in rule_files]
    checks.extend(_check_test_file(p) for p in test_files)
    strict = bool(args.strict)
    errors = sum(len(c.errors) + len(c.failing(strict=strict)) for c in checks)
    warnings = sum(len(c.findings) - len(c.failing(strict=strict)) for c in checks)
    bad_files = sum(1 for c in checks if c.errors or c.failing(strict=strict))
    if args.json:
        dump_json(
            {
                "command": "check",
                "ok": errors == 0,
                "strict": strict,
                "online": bool(args.online),
                "errors": errors,
                "warnings": warnings,
                "files": [c.as_json(strict=strict) for c in checks],
            }
        )
        return 1 if errors else 0
    style = Style.for_stream(sys.stdout, args)
    for checked in checks:
        if checked.missing:
            print(f"{checked.path}: no such file", file=sys.stderr)
            continue
        for error in checked.errors:
            print(_painted_error(error, style))
        for finding in checked.findings:
            print(_painted_finding(finding, style, strict=strict))
        if checked.summary and not checked.failing(strict=strict):
            print(_painted_summary(checked.summary, style))
    if errors or warnings:
        parts = []
        if errors:
            parts.append(f"{errors} error{'s' if errors != 1 else ''}")
        if warnings:
            parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
        where = f" in {bad_files} file{'s' if bad_files != 1 else ''}" if errors else ""
        print(", ".join(parts) + where, file=sys.stderr)
    return 1 if errors else 0


def _painted_error(error: RuleError, style: Style) -> str:
    where = f"{error.file}:{error.line}:{error.column}:"
    rest = str(error)[len(where) :]
    return f"{style.bold(where)}{style.fail(rest)}" if style.enabled else str(error)


def _painted_finding(finding: Finding, style: Style, *, strict: bool) -> str:
    shown = finding
    if strict and finding.severity is Severity.WARNING:
        shown = replace(finding, severity=Severity.ERROR)
    if not style.enabled:
        return str(shown)
    paint = style.fail if shown.severity is Severity.ERROR else style.warn
    where = f"{shown.file}:{shown.line}:{shown.column}:"
    return f"{style.bold(where)}{paint(str(shown)[len(where) :])}"


def _painted_summary(summary: str, style: Style) -> str:
    if not style.enabled or ": ok:" not in summary:
        return summary
    head, rest = summary.split(": ok:", 1)
    return f"{head}: {style.ok('ok')}:{rest}"


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
    acting = {o.rule for o in decision.outcomes if not o.shadow}
    clocks = foreseen_clocks(
        loaded.head, [r.rule for r in engine.rules if r.name in acting], ctx.now, task.due_on
    )
    if args.json:
        found = decision_json(decision, now=ctx.now)
        found["expectations"] = [
            {
                "rule": c.rule,
                "assistant": c.assistant,
                "deadlines": [
                    {
                        "stage": d.stage,
                        "due": iso(d.due),
                        "remind_at": iso(d.remind_at) if d.remind_at is not None else None,
                    }
                    for d in c.deadlines
                ],
            }
            for c in clocks
        ]
        dump_json({"command": "explain", **found})
    else:
        voice = loaded.head.client.voice
        shown = expectation_lines(clocks, voice)
        zone = loaded.head.client.timezone
        print(render_text(decision, now=ctx.now, tz_name=zone, expectations=shown, voice=voice))
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


def _selected(path: Path, name: str, patterns: list[str] | None) -> bool:
    """``-k``: a case runs when any pattern is in ``FILE::CASE NAME`` (case-insensitive)."""
    if not patterns:
        return True
    label = f"{path}::{name}".casefold()
    return any(p.casefold() in label for p in patterns)


def deciding(trace: ConditionTrace | None) -> list[ConditionTrace]:
    """The leaves of a matrix condition that decided its result: for a condition that held,
    the ones that made it hold (every part of an ``all``, the parts of an ``any`` that held);
    for one that did not, the ones that failed."""
    if trace is None:
        return []
    if not trace.children:
        return [trace]
    if trace.kind == "not":
        return [leaf for child in trace.children for leaf in deciding(child)]
    if trace.kind == "any" and trace.matched:
        return [leaf for c in trace.children if c.matched for leaf in deciding(c)]
    if trace.kind == "all" and not trace.matched:
        return [leaf for c in trace.children if not c.matched for leaf in deciding(c)]
    return [leaf for child in trace.children for leaf in deciding(child)]


def _leaf_text(trace: ConditionTrace) -> str:
    actual = trace.actual
    if isinstance(actual, (list, tuple)):
        actual = ", ".join(map(str, actual)) or "none"
    return f"{trace.text} (actual: {actual})"


def quadrant_reasons(decision: Decision) -> str:
    """Why the task landed in its quadrant, in the matrix's own conditions."""
    parts = []
    for word, held, trace in (
        ("urgent", decision.urgent, decision.urgent_trace),
        ("important", decision.important, decision.important_trace),
    ):
        leaves = deciding(trace)
        because = "; ".join(_leaf_text(t) for t in leaves if t.matched == held)
        label = word if held else f"not {word}"
        parts.append(f"{label}" + (f" because {because}" if because else ""))
    return f"quadrant {decision.quadrant}: " + ", ".join(parts)


def _case_details(result: CaseResult) -> list[str]:
    lines = []
    for diff in result.differences:
        lines.append(f"{diff.key}:")
        lines.append(f"  - expected: {json.dumps(diff.expected, default=str)}")
        lines.append(f"  + actual:   {json.dumps(diff.actual, default=str)}")
    if not result.passed:
        decision = result.decision
        reasons = [quadrant_reasons(decision)]
        reasons.extend(
            f'rule "{m.rule}" missed only {m.failed.text} (actual {m.failed.actual})'
            for m in decision.near_misses
        )
        lines.append("why: " + "; ".join(reasons))
    return lines


def _case_message(result: CaseResult) -> str:
    return "; ".join(
        f"{d.key}: expected {json.dumps(d.expected, default=str)}, "
        f"got {json.dumps(d.actual, default=str)}"
        for d in result.differences
    )


def _case_json(path: Path, result: CaseResult, seconds: float) -> dict[str, Any]:
    decision = result.decision
    return {
        "name": result.name,
        "file": str(path),
        "line": result.line,
        "passed": result.passed,
        "seconds": round(seconds, 6),
        "differences": [
            {"key": d.key, "expected": plain(d.expected), "actual": plain(d.actual)}
            for d in result.differences
        ],
        "decision": {
            "quadrant": decision.quadrant,
            "urgent": decision.urgent,
            "important": decision.important,
            "rule": decision.rule,
            "skipped": decision.skipped,
            "actions": [intent.kind for intent in decision.intents],
            "why": quadrant_reasons(decision),
        },
    }


def run_test(args: argparse.Namespace) -> int:
    files = expand(args.paths, tests=True)
    if not files:
        say("test: no *.test.yaml files in " + ", ".join(args.paths))
        return 1
    started = datetime.now(UTC)
    style = Style.for_stream(sys.stdout, args)
    human = not args.json
    suites: list[SuiteOutcome] = []
    cases_json: list[dict[str, Any]] = []
    passed = failed = deselected = 0
    for path in files:
        suite = SuiteOutcome(path)
        suites.append(suite)
        clock = time.perf_counter()
        results, problems = _run_file(path)
        if problems:
            suite.errors.extend(problems)
            if human:
                for line in problems:
                    print(style.fail(f"ERROR {line}"))
            continue
        for result, seconds in results:
            if not _selected(path, result.name, args.keyword):
                suite.deselected += 1
                deselected += 1
                continue
            details = _case_details(result)
            suite.cases.append(
                CaseOutcome(
                    result.name,
                    result.line,
                    result.passed,
                    seconds,
                    _case_message(result),
                    "\n".join(details),
                )
            )
            cases_json.append(_case_json(path, result, seconds))
            passed += result.passed
            failed += not result.passed
            if human:
                mark = style.ok("PASS") if result.passed else style.fail("FAIL")
                print(f"{mark} {path}:{result.line} {result.name}")
                for line in details:
                    print(f"     {line}")
        suite.seconds = time.perf_counter() - clock
    errors = sum(1 for s in suites if s.errors)
    if args.junit:
        try:
            Path(args.junit).write_bytes(junit_xml(suites, started=started))
        except OSError as exc:
            say(f"test: cannot write the JUnit report {args.junit}: {exc.strerror or exc}")
            return 2
    ok = failed == 0 and errors == 0
    if args.json:
        dump_json(
            {
                "command": "test",
                "ok": ok,
                "started_at": started,
                "passed": passed,
                "failed": failed,
                "deselected": deselected,
                "file_errors": [
                    {"file": str(s.path), "errors": s.errors} for s in suites if s.errors
                ],
                "cases": cases_json,
            }
        )
    else:
        summary = f"{passed} passed, {failed} failed"
        if deselected:
            summary += f", {deselected} deselected"
        if errors:
            summary += f", {errors} file{'s' if errors != 1 else ''} with errors"
        print(style.ok(summary) if ok else style.fail(summary))
    return 0 if ok else 1


def _run_file(path: Path) -> tuple[list[tuple[CaseResult, float]], list[str]]:
    """The cases of one test file with each one's time, or the problems that kept it from
    running (as printed lines)."""
    test_file, test_errors, lines = read_test_file(path)
    if test_file is None or test_errors:
        return [], [str(e) for e in test_errors]
    loaded = read_client_file(path.parent / test_file.rules)
    if not loaded.usable or loaded.errors:
        problems = [str(e) for e in loaded.errors]
        return [], [*problems, f"{path}: its rule file {test_file.rules} has errors"]
    try:
        cases = iter_cases(test_file, Engine(loaded), lines)
        results: list[tuple[CaseResult, float]] = []
        while True:
            clock = time.perf_counter()
            result = next(cases, None)
            if result is None:
                break
            results.append((result, time.perf_counter() - clock))
    except Exception as exc:  # a fault while running the cases: this file is out
        return [], [f"{path}: {fault_message(exc)}"]
    return results, []


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0
