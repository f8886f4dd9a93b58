"""Benchmark: the rules engine against the pure-Python rule engines on PyPI, on bench/rules.py's
tasks and rules.

The peers: business-rules (venmo), panzi-json-logic (JsonLogic, imported as json_logic) and
rule-engine (zeroSteiner). They are installed for this benchmark only, into .bench-peers/ (with
pip's --target), never into the project's environment or its lock files; without the package
registry the benchmark says so and stops (exit 0).

Each peer gets the matrix and the 20 rules written in its own language, as far as it can say
them: JsonLogic has no regular expressions, so r01, r02 and r14 are left out for it and the
engines are compared on the 17 rules every peer can say as well as on all 20. A peer reads a
task as a dict of facts (names folded, tags, the due day as days from today, times as
timestamps), built per task inside the timed loop as any caller of the peer would have to; the
bounds (today + 2 business days...) are written into its rules once, as the hand-written
lambdas compute them once. Like bench/rules.py, each side puts the task in its quadrant, skips
completed and opted-out tasks, and finds the first rule that takes it; every peer's verdicts are
checked against the engine's. Prints evaluations per second for each, and the engine's rate over
the fastest peer's; the goal is at least 15x. Run with ``make bench``.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from delegator.core.model import Task
from delegator.core.timeexpr import add_business_days
from rules import DIRECTORY, NOW, OWNER, RULES, load_engine, measure_all, synthetic_tasks

CACHE = Path(__file__).resolve().parent.parent / ".bench-peers"
PEERS = ("business-rules==1.1.1", "panzi-json-logic==1.0.1", "rule-engine==5.1.0")
TASKS = 2_000  # the peers are slow: the first 2,000 of bench/rules.py's 10,000 tasks
ROUNDS = 3
GOAL = 15.0  # the engine's rate over the fastest peer's, at least
NO_REGEX = ("r01", "r02", "r14")  # what JsonLogic cannot say: it has no regular expressions

Verdict = tuple[str, str | None]  # the quadrant, and the rule that took the task (r01...)
Peer = Callable[[Task], Verdict]


# ----------------------------------------------------------------------------- installing


def install() -> bool:
    """The peers importable from .bench-peers/, installed there first if need be."""
    marker = CACHE / ".installed"
    wanted = " ".join(PEERS)
    if not (marker.is_file() and marker.read_text(encoding="utf-8") == wanted):
        print(f"installing {', '.join(PEERS)} into {CACHE.name}/ (for this benchmark only)")
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-input", "--upgrade", "--target", str(CACHE), *PEERS]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)  # noqa: S603
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"peers: not installed ({exc}): is the package registry reachable? skipped")
            return False
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
            print(f"peers: not installed: the package registry cannot be reached or refused "
                  f"({reason}); skipped")  # fmt: skip
            return False
        marker.write_text(wanted, encoding="utf-8")
    sys.path.append(str(CACHE))  # after the project's own packages: the peers shadow none
    importlib.invalidate_caches()
    return True


# ----------------------------------------------------------------------------- facts


class Bounds:
    """The moments the rules compare with, computed once, as bench/rules.py's lambdas do."""

    def __init__(self, now: datetime) -> None:
        self.today = now.date()
        self.two_bd = (add_business_days(self.today, 2) - self.today).days
        self.three_d = ((now + timedelta(days=3)).date() - self.today).days
        self.five_bd_ago = datetime.combine(add_business_days(self.today, -5), now.timetz())
        self.sixty_ago = (now - timedelta(days=60)).timestamp()
        self.five_bd_ago_ts = self.five_bd_ago.timestamp()


def facts(t: Task, today: date) -> dict[str, Any]:
    """A task as the peers read it: plain values, names folded."""
    due, start = t.due_date, t.start_on
    priority, estimate, labels = (t.fields_by_key.get(k) for k in ("priority", "estimated time",
                                                                     "labels"))  # fmt: skip
    places = [(m.project.name.casefold(), m.section.name.casefold())
              for m in t.memberships if m.section is not None]  # fmt: skip
    who = t.assignee
    number = estimate.number if estimate is not None else None
    return {
        "name": t.name,
        "name_lower": t.name_lower,
        "notes_lower": t.notes_lower,
        "tags": list(t.tag_names),
        "projects": [p.name.casefold() for p in t.projects],
        "sections": [f"{p}/{s}" for p, s in places],
        "section_names": [s for _, s in places],
        "labels": list(labels.multi_keys) if labels is not None else [],
        "priority": (priority.enum_key or "") if priority is not None else "",
        "estimated": number,
        "has_estimated": number is not None,
        "assignee_gid": who.gid if who is not None else "",
        "assignee_email": who.email if who is not None else "",
        "has_assignee": who is not None,
        "completed": t.completed,
        "subtask": t.parent is not None,
        "due_days": (due - today).days if due is not None else None,
        "has_due": due is not None,
        "start_days": (start - today).days if start is not None else None,
        "has_start": start is not None,
        "created_ts": t.created_at.timestamp() if t.created_at is not None else None,
        "has_created": t.created_at is not None,
        "modified_ts": t.modified_at.timestamp() if t.modified_at is not None else None,
        "has_modified": t.modified_at is not None,
        "quadrant": "",
    }


def quadrant(urgent: bool, important: bool) -> str:
    if urgent:
        return "do" if important else "delegate"
    return "schedule" if important else "eliminate"


def left_alone(t: Task) -> bool:
    """Completed and opted-out tasks: no rule is tried (as in bench/rules.py)."""
    return t.completed or "keep" in t.tag_names


# ----------------------------------------------------------------------------- rule-engine

OWNER_TEXT = f'(assignee_gid == "{OWNER.gid}" or assignee_email == "{OWNER.email}")'


def rule_engine_rules(b: Bounds) -> tuple[str, str, dict[str, str]]:
    """The matrix (urgent, important) and the rules in rule-engine's expression language."""
    overdue = "not completed and due_days != null and due_days < 0"

    def within(var: str, days: int) -> str:
        return f"{var} != null and {var} >= 0 and {var} <= {days}"

    urgent = f'({overdue}) or ({within("due_days", b.two_bd)}) or "urgent" in tags'
    important = '"important" in tags or priority == "high"'
    rules = {
        "r01": f'quadrant in ["delegate", "eliminate"] and (not has_assignee or {OWNER_TEXT}) '
               r'and name =~~ "(?i)\\b(invoices?|receipts?|expenses?)\\b"',
        "r02": f'{OWNER_TEXT} and quadrant != "do" and (name =~~ '
               r'"(?i)\\b(book|flights?|hotel|train)\\b" or "client admin/bookings" in sections)',
        "r03": 'quadrant == "eliminate" and "operations/inbox" in sections',
        "r04": f'"waiting" in section_names and modified_ts != null '
               f"and modified_ts < {b.five_bd_ago_ts!r}",
        "r05": 'estimated != null and estimated >= 120 and "admin" in tags',
        "r06": '"admin" in tags or "paperwork" in tags',
        "r07": f'{overdue} and not "important" in tags',
        "r08": '"newsletter" in name_lower or "unsubscribe" in name_lower '
               'or "webinar" in name_lower',
        "r09": '"pdf" in notes_lower',
        "r10": 'priority == "low"',
        "r11": f"{within('due_days', b.three_d)} and not has_assignee",
        "r12": 'subtask and "client admin" in projects',
        "r13": f'created_ts != null and created_ts < {b.sixty_ago!r} and quadrant == "eliminate"',
        "r14": r'name =~~ "(?i)\\brenew(al)?\\b"',
        "r15": within("start_days", b.two_bd),
        "r16": '"marketing" in projects and not "keep" in tags',
        "r17": 'name_lower =~ "report" or name_lower =~~ "report$"',
        "r18": '"dinner" in name_lower and due_days != null',
        "r19": '"print" in labels',
        "r20": f'{OWNER_TEXT} and quadrant == "eliminate" and due_days == null',
    }  # fmt: skip
    return urgent, important, rules


def rule_engine_peer(b: Bounds, names: Sequence[str]) -> Peer:
    import rule_engine

    context = rule_engine.Context(default_value=None)
    urgent_text, important_text, texts = rule_engine_rules(b)
    urgent = rule_engine.Rule(urgent_text, context=context).matches
    important = rule_engine.Rule(important_text, context=context).matches
    rules = [(name, rule_engine.Rule(texts[name], context=context).matches) for name in names]
    today = b.today

    def evaluate(t: Task) -> Verdict:
        f = facts(t, today)
        q = f["quadrant"] = quadrant(urgent(f), important(f))
        if left_alone(t):
            return q, None
        for name, matches in rules:
            if matches(f):
                return q, name
        return q, None

    return evaluate


# ----------------------------------------------------------------------------- JsonLogic


def json_logic_rules(b: Bounds) -> tuple[Any, Any, dict[str, Any]]:
    """The matrix and the rules as JsonLogic; the ones it cannot say (regexes) left out."""

    def v(name: str) -> dict[str, str]:
        return {"var": name}

    def has(tag: str) -> dict[str, Any]:
        return {"in": [tag, v("tags")]}

    def within(var: str, days: int) -> dict[str, Any]:
        return {"and": [{"!==": [v(var), None]}, {"<=": [0, v(var), days]}]}

    def q_is(name: str) -> dict[str, Any]:
        return {"==": [v("quadrant"), name]}

    owner = {"or": [{"==": [v("assignee_gid"), OWNER.gid]},
                    {"==": [v("assignee_email"), OWNER.email]}]}  # fmt: skip
    overdue = {"and": [{"!": v("completed")}, {"!==": [v("due_days"), None]},
                       {"<": [v("due_days"), 0]}]}  # fmt: skip
    urgent = {"or": [overdue, within("due_days", b.two_bd), has("urgent")]}
    important = {"or": [has("important"), {"==": [v("priority"), "high"]}]}
    rules = {
        "r03": {"and": [q_is("eliminate"), {"in": ["operations/inbox", v("sections")]}]},
        "r04": {"and": [{"in": ["waiting", v("section_names")]}, {"!==": [v("modified_ts"), None]},
                        {"<": [v("modified_ts"), b.five_bd_ago_ts]}]},
        "r05": {"and": [{"!==": [v("estimated"), None]}, {">=": [v("estimated"), 120]}, has("admin")]},
        "r06": {"or": [has("admin"), has("paperwork")]},
        "r07": {"and": [overdue, {"!": has("important")}]},
        "r08": {"or": [{"in": [w, v("name_lower")]} for w in ("newsletter", "unsubscribe", "webinar")]},
        "r09": {"in": ["pdf", v("notes_lower")]},
        "r10": {"==": [v("priority"), "low"]},
        "r11": {"and": [within("due_days", b.three_d), {"!": v("has_assignee")}]},
        "r12": {"and": [v("subtask"), {"in": ["client admin", v("projects")]}]},
        "r13": {"and": [{"!==": [v("created_ts"), None]}, {"<": [v("created_ts"), b.sixty_ago]},
                        q_is("eliminate")]},
        "r15": within("start_days", b.two_bd),
        "r16": {"and": [{"in": ["marketing", v("projects")]}, {"!": has("keep")}]},
        "r17": {"or": [{"==": [{"substr": [v("name_lower"), 0, 6]}, "report"]},
                       {"==": [{"substr": [v("name_lower"), -6]}, "report"]}]},
        "r18": {"and": [{"in": ["dinner", v("name_lower")]}, {"!==": [v("due_days"), None]}]},
        "r19": {"in": ["print", v("labels")]},
        "r20": {"and": [owner, q_is("eliminate"), {"===": [v("due_days"), None]}]},
    }  # fmt: skip
    return urgent, important, rules


def json_logic_peer(b: Bounds, names: Sequence[str]) -> Peer:
    from json_logic import jsonLogic

    urgent, important, logic = json_logic_rules(b)
    rules = [(name, logic[name]) for name in names]
    today = b.today

    def evaluate(t: Task) -> Verdict:
        f = facts(t, today)
        q = f["quadrant"] = quadrant(bool(jsonLogic(urgent, f)), bool(jsonLogic(important, f)))
        if left_alone(t):
            return q, None
        for name, rule in rules:
            if jsonLogic(rule, f):
                return q, name
        return q, None

    return evaluate


# ----------------------------------------------------------------------------- business-rules


def business_rules_rules(b: Bounds) -> tuple[Any, Any, dict[str, Any]]:
    """The matrix and the rules as business-rules conditions (variables, operators, values).

    It has no "not": a negation is the negated operator (is_false, shares_no_elements_with) or
    the other quadrants; numbers are read only after the flag saying they are there.
    """

    def c(name: str, operator: str, value: Any = None) -> dict[str, Any]:
        return {"name": name, "operator": operator, "value": value}

    def every(*conditions: Any) -> dict[str, Any]:
        return {"all": list(conditions)}

    def some(*conditions: Any) -> dict[str, Any]:
        return {"any": list(conditions)}

    def within(var: str, flag: str, days: int) -> dict[str, Any]:
        return every(c(flag, "is_true"), c(var, "greater_than_or_equal_to", 0),
                     c(var, "less_than_or_equal_to", days))  # fmt: skip

    def has(tag: str) -> dict[str, Any]:
        return c("tags", "contains_all", [tag])

    def q_in(*names: str) -> dict[str, Any]:
        return some(*(c("quadrant", "equal_to", n) for n in names))

    owner = some(c("assignee_gid", "equal_to", OWNER.gid),
                 c("assignee_email", "equal_to", OWNER.email))  # fmt: skip
    overdue = every(c("completed", "is_false"), c("has_due", "is_true"),
                    c("due_days", "less_than", 0))  # fmt: skip
    urgent = some(overdue, within("due_days", "has_due", b.two_bd), has("urgent"))
    important = some(has("important"), c("priority", "equal_to", "high"))
    rules = {
        "r01": every(q_in("delegate", "eliminate"), some(c("has_assignee", "is_false"), owner),
                     c("name", "matches_regex", r"(?i)\b(invoices?|receipts?|expenses?)\b")),
        "r02": every(owner, q_in("schedule", "delegate", "eliminate"),
                     some(c("name", "matches_regex", r"(?i)\b(book|flights?|hotel|train)\b"),
                          c("sections", "contains_all", ["client admin/bookings"]))),
        "r03": every(q_in("eliminate"), c("sections", "contains_all", ["operations/inbox"])),
        "r04": every(c("section_names", "contains_all", ["waiting"]), c("has_modified", "is_true"),
                     c("modified_ts", "less_than", b.five_bd_ago_ts)),
        "r05": every(c("has_estimated", "is_true"),
                     c("estimated", "greater_than_or_equal_to", 120), has("admin")),
        "r06": c("tags", "shares_at_least_one_element_with", ["admin", "paperwork"]),
        "r07": every(overdue, c("tags", "shares_no_elements_with", ["important"])),
        "r08": some(*(c("name_lower", "contains", w) for w in ("newsletter", "unsubscribe", "webinar"))),
        "r09": c("notes_lower", "contains", "pdf"),
        "r10": c("priority", "equal_to", "low"),
        "r11": every(within("due_days", "has_due", b.three_d), c("has_assignee", "is_false")),
        "r12": every(c("subtask", "is_true"), c("projects", "contains_all", ["client admin"])),
        "r13": every(c("has_created", "is_true"), c("created_ts", "less_than", b.sixty_ago),
                     q_in("eliminate")),
        "r14": c("name", "matches_regex", r"(?i)\brenew(al)?\b"),
        "r15": within("start_days", "has_start", b.two_bd),
        "r16": every(c("projects", "contains_all", ["marketing"]),
                     c("tags", "shares_no_elements_with", ["keep"])),
        "r17": some(c("name_lower", "starts_with", "report"), c("name_lower", "ends_with", "report")),
        "r18": every(c("name_lower", "contains", "dinner"), c("has_due", "is_true")),
        "r19": c("labels", "contains_all", ["print"]),
        "r20": every(owner, q_in("eliminate"), c("has_due", "is_false")),
    }  # fmt: skip
    return urgent, important, rules


def business_rules_peer(b: Bounds, names: Sequence[str]) -> Peer:
    # Installed by install(), in .bench-peers/.
    from business_rules import run_all
    from business_rules.actions import BaseActions, rule_action
    from business_rules.engine import check_conditions_recursively
    from business_rules.fields import FIELD_TEXT
    from business_rules.variables import (
        BaseVariables,
        boolean_rule_variable,
        numeric_rule_variable,
        select_multiple_rule_variable,
        string_rule_variable,
    )

    def variable(kind: Callable[..., Any], key: str) -> Any:
        return kind(label=key)(lambda self: self.facts[key])

    kinds = {
        string_rule_variable: ["name", "name_lower", "notes_lower", "priority", "assignee_gid",
                               "assignee_email", "quadrant"],
        select_multiple_rule_variable: ["tags", "projects", "sections", "section_names", "labels"],
        numeric_rule_variable: ["estimated", "due_days", "start_days", "created_ts", "modified_ts"],
        boolean_rule_variable: ["has_estimated", "has_assignee", "completed", "subtask", "has_due",
                                "has_start", "has_created", "has_modified"],
    }  # fmt: skip
    members: dict[str, Any] = {
        "__init__": lambda self, facts: setattr(self, "facts", facts),
        **{key: variable(kind, key) for kind, keys in kinds.items() for key in keys},
    }
    variables = type("TaskVariables", (BaseVariables,), members)

    class Took(BaseActions):
        rule: str | None = None

        @rule_action(params={"rule": FIELD_TEXT})
        def take(self, rule: str) -> None:
            self.rule = rule

    urgent, important, conditions = business_rules_rules(b)
    rules = [{"conditions": conditions[name], "actions": [{"name": "take", "params": {"rule": name}}]}
             for name in names]  # fmt: skip
    today = b.today

    def evaluate(t: Task) -> Verdict:
        f = facts(t, today)
        seen = variables(f)
        f["quadrant"] = q = quadrant(check_conditions_recursively(urgent, seen),
                                     check_conditions_recursively(important, seen))  # fmt: skip
        if left_alone(t):
            return q, None
        took = Took()
        run_all(rules, seen, took, stop_on_first_trigger=True)
        return q, took.rule

    return evaluate


# ----------------------------------------------------------------------------- the run


def rules_without(names: Sequence[str]) -> str:
    """bench/rules.py's rule file without the rules whose names start with one of ``names``."""
    document = yaml.safe_load(RULES)
    document["rules"] = [r for r in document["rules"] if r["name"].split()[0] not in names]
    return yaml.safe_dump(document, sort_keys=False)


def compare(title: str, rule_names: list[str], peers: dict[str, Peer | None],
            tasks: list[Task], engine_text: str) -> tuple[float, int]:  # fmt: skip
    """Measure the engine and the peers on these rules: the engine's rate over the fastest
    peer's, and the verdicts of the peers unlike the engine's."""
    engine = load_engine(engine_text)
    assert [r.name.split()[0] for r in engine.rules] == rule_names
    ctx = engine.context(NOW, DIRECTORY)

    def engine_verdict(t: Task) -> Verdict:
        d = engine.decide(t, ctx)
        return d.quadrant, d.outcomes[0].rule.split()[0] if d.outcomes else None

    print(f"\n{title}: {len(rule_names)} rules ({', '.join(rule_names)})")
    expected = [engine_verdict(t) for t in tasks]
    runs: list[tuple[str, Callable[[], object]]] = [
        ("engine (decide)", lambda: [engine.decide(t, ctx) for t in tasks])
    ]
    wrong = 0
    for label, peer in peers.items():
        if peer is None:
            print(f"  {label}: cannot say {', '.join(NO_REGEX)} (no regular expressions): not run")
            continue
        unlike = sum(1 for t, want in zip(tasks, expected, strict=True) if peer(t) != want)
        print(f"  {label} and the engine disagree on: {unlike} of {len(tasks):,} tasks")
        wrong += unlike
        runs.append((label, lambda peer=peer: [peer(t) for t in tasks]))
    rates = measure_all(runs, len(tasks), ROUNDS)
    fastest = max(range(1, len(rates)), key=lambda i: rates[i])
    ratio = rates[0] / rates[fastest]
    print(
        f"engine / fastest peer ({runs[fastest][0]}): {ratio:.1f}x   (goal: at least {GOAL:.0f}x)"
    )
    return ratio, wrong


def main() -> int:
    if not install():
        return 0
    tasks = synthetic_tasks()[:TASKS]
    bounds = Bounds(NOW.astimezone(load_engine().tz))
    today = bounds.today
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for t in tasks:
            facts(t, today)
    per_task = (time.perf_counter() - started) / ROUNDS / len(tasks)
    print(f"tasks: {len(tasks):,} of bench/rules.py's   rounds: best of {ROUNDS}")
    print("rules a peer cannot say: business-rules none, rule-engine none, "
          f"panzi-json-logic {', '.join(NO_REGEX)} (JsonLogic has no regular expressions)")  # fmt: skip
    print(f"building a task's facts for a peer: {per_task * 1e6:.1f} µs (in the peers' figures)")

    every = [f"r{i:02d}" for i in range(1, 21)]
    common = [name for name in every if name not in NO_REGEX]
    overall, wrong = compare(
        "all rules",
        every,
        {
            "business-rules": business_rules_peer(bounds, every),
            "panzi-json-logic": None,
            "rule-engine": rule_engine_peer(bounds, every),
        },
        tasks,
        RULES,
    )
    subset, wrong_too = compare(
        "the rules every peer can say",
        common,
        {
            "business-rules": business_rules_peer(bounds, common),
            "panzi-json-logic": json_logic_peer(bounds, common),
            "rule-engine": rule_engine_peer(bounds, common),
        },
        tasks,
        rules_without(NO_REGEX),
    )
    print(f"\nratio (engine / fastest peer): {overall:.1f}x on all rules, "
          f"{subset:.1f}x on the rules every peer can say   (goal: at least {GOAL:.0f}x)")  # fmt: skip
    return 1 if wrong or wrong_too else 0


if __name__ == "__main__":
    raise SystemExit(main())
