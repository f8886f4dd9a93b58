"""Benchmark: the rules engine against the same rules written by hand as Python lambdas.

10,000 synthetic Asana-shaped tasks (names, notes, tags, projects, sections, custom fields, due
dates, assignees) and 20 realistic rules (regex, tags, custom fields, due windows, quadrants,
nested all/any/not). Both sides classify each task into its quadrant with the default matrix and
find the first rule that takes it. Prints evaluations per second for each and their ratio
(hand-written / engine); the goal is a ratio of at most 1.5. ``decide`` runs the rules compiled
to Python (core/compiled.py); the interpreted walk (``Engine.interpret``, the checks that
``explain`` traces) and ``explain`` itself are measured beside it, and all must agree.
bench/peers.py runs the same tasks and rules through other Python rule engines. Run with
``make bench``.
"""

from __future__ import annotations

import gc
import random
import re
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from delegator.asana.mapping import task_from_asana
from delegator.core.conditions import is_overdue
from delegator.core.context import Directory, EvalContext, Identity
from delegator.core.engine import Decision, Engine
from delegator.core.model import Task
from delegator.core.rulefile import parse_client_file
from delegator.core.timeexpr import add_business_days

TASKS = 10_000
ROUNDS = 5
EXPLAIN_TASKS = 1_000
GOAL = 1.5  # hand-written / engine, at most
TZ = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
OWNER = Identity(gid="100", email="anna@northwind.example", name="Anna Rossi")
DIRECTORY = Directory(
    OWNER,
    {
        "giulia": Identity(email="giulia@va-agency.example", name="Giulia"),
        "marco": Identity(email="marco@va-agency.example", name="Marco"),
    },
)

RULES = r"""
version: 1
client:
  name: Bench
  workspace: "1"
  token: { env: BENCH_TOKEN }
  timezone: Europe/Rome
  owner: anna@northwind.example
watch: [my_tasks]
assistants:
  giulia: { user: giulia@va-agency.example, skills: [admin, booking] }
  marco: { user: marco@va-agency.example, skills: [admin, inbox] }
rules:
  - name: r01 invoices
    when: { all: [ { quadrant: [delegate, eliminate] }, { assignee: [owner, none] },
                   { name: { matches: "\\b(invoices?|receipts?|expenses?)\\b" } } ] }
    then: [ { assign: { pool: [giulia, marco], skill: admin } }, { tag: delegated } ]
  - name: r02 bookings
    when: { all: [ { assignee: owner }, { not: { quadrant: do } },
                   { any: [ { name: { matches: "\\b(book|flights?|hotel|train)\\b" } },
                            { section: { project: Client Admin, name: Bookings } } ] } ] }
    then: [ { assign: { pool: [giulia] } }, { tag: delegated } ]
  - name: r03 inbox
    when: { all: [ { quadrant: eliminate }, { section: { project: Operations, name: Inbox } } ] }
    then: [ { tag: inbox } ]
  - name: r04 waiting
    when: { all: [ { section: Waiting }, { modified: { older_than: 5 business days } } ] }
    then: [ { tag: nudge } ]
  - name: r05 long admin
    when: { all: [ { custom_field: { name: Estimated time, gte: 120 } }, { tag: admin } ] }
    then: [ { tag: long } ]
  - name: r06 admin tags
    when: { tag: { any: [admin, paperwork] } }
    then: [ { tag: delegated } ]
  - name: r07 overdue low
    when: { all: [ { overdue: true }, { not: { tag: important } } ] }
    then: [ { tag: late } ]
  - name: r08 newsletters
    when: { name: { contains: [newsletter, unsubscribe, webinar] } }
    then: [ { tag: inbox } ]
  - name: r09 pdf notes
    when: { notes: { contains: pdf } }
    then: [ { tag: documents } ]
  - name: r10 low priority
    when: { custom_field: { name: Priority, in: [Low] } }
    then: [ { tag: low } ]
  - name: r11 due soon unassigned
    when: { all: [ { due: { within: 3d } }, { assignee: none } ] }
    then: [ { assign: giulia } ]
  - name: r12 admin subtasks
    when: { all: [ { subtask: true }, { project: Client Admin } ] }
    then: [ { tag: sub } ]
  - name: r13 old ideas
    when: { all: [ { created: { older_than: 60d } }, { quadrant: eliminate } ] }
    then: [ { tag: someday } ]
  - name: r14 renewals
    when: { name: { matches: "\\brenew(al)?\\b" } }
    then: [ { tag: renewal } ]
  - name: r15 starting soon
    when: { start: { within: 2 business days } }
    then: [ { tag: starting } ]
  - name: r16 marketing
    when: { all: [ { project: Marketing }, { tag: { none: [keep] } } ] }
    then: [ { tag: marketing } ]
  - name: r17 reports
    when: { any: [ { name: { starts_with: report } }, { name: { ends_with: report } } ] }
    then: [ { tag: report } ]
  - name: r18 dinners
    when: { all: [ { name: { contains: dinner } }, { not: { due: { none: true } } } ] }
    then: [ { tag: social } ]
  - name: r19 print labels
    when: { custom_field: { name: Labels, contains: print } }
    then: [ { tag: print } ]
  - name: r20 shadow catch-all
    when: { all: [ { assignee: owner }, { quadrant: eliminate }, { due: { none: true } } ] }
    then: [ { tag: review } ]
    mode: shadow
"""

WORDS = [
    "call",
    "plan",
    "draft",
    "review",
    "update",
    "prepare",
    "send",
    "check",
    "client",
    "design",
    "logo",
    "website",
    "pricing",
    "agenda",
    "notes",
    "meeting",
    "proposal",
    "contract",
    "budget",
    "strategy",
    "onboarding",
    "team",
    "workshop",
]
SPECIAL = [
    "Pay invoice #{n}", "Send receipts for {m}", "Book flights to Lisbon", "Hotel for the offsite",
    "Unsubscribe from newsletter {n}", "Renew domain {n}", "Monthly report", "Report for {m}",
    "Team dinner booking", "Expenses for {m}", "Webinar follow-up {n}",
]  # fmt: skip
PROJECTS = [
    ("201", "Client Admin"),
    ("202", "Operations"),
    ("203", "Strategy"),
    ("204", "Marketing"),
]
SECTIONS = {
    "201": [("301", "To do"), ("302", "Invoices"), ("303", "Bookings")],
    "202": [("311", "Inbox"), ("312", "Doing"), ("313", "Waiting")],
    "203": [("321", "Ideas"), ("322", "Planned")],
    "204": [("331", "Backlog"), ("332", "Doing")],
}
TAGS = ["urgent", "important", "admin", "paperwork", "keep", "client", "waiting", "later"]
USERS = [
    {"gid": "100", "name": "Anna Rossi", "email": "anna@northwind.example"},
    {"gid": "102", "name": "Giulia", "email": "giulia@va-agency.example"},
    {"gid": "104", "name": "Luca Neri", "email": "luca@northwind.example"},
    None,
]


def synthetic_task(rng: random.Random, n: int) -> dict[str, Any]:
    if rng.random() < 0.3:
        name = rng.choice(SPECIAL).format(n=n, m=rng.choice(["October", "November"]))
    else:
        name = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize()
    pgid, pname = rng.choice(PROJECTS)
    sgid, sname = rng.choice(SECTIONS[pgid])
    due = NOW.date() + timedelta(days=rng.randint(-10, 30)) if rng.random() < 0.7 else None
    start = NOW.date() + timedelta(days=rng.randint(-3, 5)) if rng.random() < 0.2 else None
    created = NOW - timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 23))
    fields: list[dict[str, Any]] = [
        {
            "gid": "401", "name": "Priority", "resource_subtype": "enum",
            "enum_value": {"gid": "41", "name": rng.choice(["High", "Medium", "Low"])}
            if rng.random() < 0.6 else None,
        },
        {"gid": "402", "name": "Estimated time", "resource_subtype": "number",
         "number_value": rng.choice([None, 15, 30, 60, 120, 240])},
        {"gid": "403", "name": "Labels", "resource_subtype": "multi_enum",
         "multi_enum_values": [{"gid": str(i), "name": x} for i, x in
                               enumerate(rng.sample(["web", "print", "social"], rng.randint(0, 2)))]},
    ]  # fmt: skip
    return {
        "gid": str(10_000 + n),
        "name": name,
        "notes": rng.choice(["", "See the attached PDF.", "Call back before Friday.", "x" * 200]),
        "assignee": rng.choice(USERS),
        "completed": rng.random() < 0.05,
        "due_on": due.isoformat() if due else None,
        "start_on": start.isoformat() if start else None,
        "created_at": created.isoformat(),
        "modified_at": (created + timedelta(days=rng.randint(0, 10))).isoformat(),
        "tags": [
            {"gid": str(500 + i), "name": t} for i, t in enumerate(TAGS) if rng.random() < 0.12
        ],
        "projects": [{"gid": pgid, "name": pname}],
        "memberships": [
            {"project": {"gid": pgid, "name": pname}, "section": {"gid": sgid, "name": sname}}
        ],
        "custom_fields": fields,
        "parent": {"gid": "9", "name": "parent"} if rng.random() < 0.1 else None,
        "permalink_url": f"https://app.asana.com/0/{pgid}/{10_000 + n}",
    }


def hand_written(ctx: EvalContext) -> Callable[[Task], tuple[str, int | None]]:
    """The same matrix and 20 rules as plain Python, written the efficient way."""
    today = ctx.today
    two_bd = add_business_days(today, 2)
    three_d = (NOW + timedelta(days=3)).date()
    five_bd_ago = datetime.combine(add_business_days(today, -5), NOW.timetz())
    sixty_ago = NOW - timedelta(days=60)
    invoices = re.compile(r"\b(invoices?|receipts?|expenses?)\b", re.IGNORECASE)
    bookings = re.compile(r"\b(book|flights?|hotel|train)\b", re.IGNORECASE)
    renewals = re.compile(r"\brenew(al)?\b", re.IGNORECASE)
    owner = OWNER.is_user

    def field(t: Task, name: str) -> Any:
        return t.fields_by_key.get(name)

    def section(t: Task, name: str, project: str | None = None) -> bool:
        return any(
            m.section is not None and m.section.name.casefold() == name.casefold()
            and (project is None or m.project.name.casefold() == project.casefold())
            for m in t.memberships
        )  # fmt: skip

    def due_within(t: Task, last: date) -> bool:
        day = t.due_date
        return day is not None and today <= day <= last

    rules: list[Callable[[Task, str], bool]] = [
        lambda t, q: q in ("delegate", "eliminate") and (t.assignee is None or owner(t.assignee))
        and invoices.search(t.name) is not None,
        lambda t, q: owner(t.assignee) and q != "do"
        and (bookings.search(t.name) is not None or section(t, "Bookings", "Client Admin")),
        lambda t, q: q == "eliminate" and section(t, "Inbox", "Operations"),
        lambda t, q: section(t, "Waiting")
        and t.modified_at is not None and t.modified_at < five_bd_ago,
        lambda t, q: (f := field(t, "estimated time")) is not None and f.number is not None
        and f.number >= 120 and "admin" in t.tag_names,
        lambda t, q: not t.tag_names.isdisjoint(("admin", "paperwork")),
        lambda t, q: is_overdue(t, ctx) and "important" not in t.tag_names,
        lambda t, q: any(w in t.name_lower for w in ("newsletter", "unsubscribe", "webinar")),
        lambda t, q: "pdf" in t.notes_lower,
        lambda t, q: (f := field(t, "priority")) is not None and f.enum is not None
        and f.enum.casefold() == "low",
        lambda t, q: due_within(t, three_d) and t.assignee is None,
        lambda t, q: t.parent is not None and any(p.name.casefold() == "client admin" for p in t.projects),
        lambda t, q: t.created_at is not None and t.created_at < sixty_ago and q == "eliminate",
        lambda t, q: renewals.search(t.name) is not None,
        lambda t, q: t.start_on is not None and today <= t.start_on <= two_bd,
        lambda t, q: any(p.name.casefold() == "marketing" for p in t.projects) and "keep" not in t.tag_names,
        lambda t, q: t.name_lower.startswith("report") or t.name_lower.endswith("report"),
        lambda t, q: "dinner" in t.name_lower and t.due_date is not None,
        lambda t, q: (f := field(t, "labels")) is not None and "print" in (o.casefold() for o in f.multi_enum),
        lambda t, q: owner(t.assignee) and q == "eliminate" and t.due_date is None,
    ]  # fmt: skip

    def evaluate(t: Task) -> tuple[str, int | None]:
        urgent = is_overdue(t, ctx) or due_within(t, two_bd) or "urgent" in t.tag_names
        priority = field(t, "priority")
        important = "important" in t.tag_names or (
            priority is not None
            and priority.enum is not None
            and priority.enum.casefold() == "high"
        )
        q = (
            ("do" if important else "delegate")
            if urgent
            else ("schedule" if important else "eliminate")
        )
        if t.completed or "keep" in t.tag_names:  # completed and opted-out tasks are left alone
            return q, None
        for index, rule in enumerate(rules):
            if rule(t, q):
                return q, index
        return q, None

    return evaluate


def measure(
    label: str, run: Callable[[], object], count: int = TASKS, rounds: int = ROUNDS
) -> float:
    """Evaluations per second of ``run`` (``count`` of them), the best of ``rounds``; printed."""
    return measure_all([(label, run)], count, rounds)[0]


def measure_all(
    runs: list[tuple[str, Callable[[], object]]], count: int = TASKS, rounds: int = ROUNDS
) -> list[float]:
    """Like ``measure`` for several, their rounds taken in turn: a busy moment of the machine
    slows them alike rather than the one it happens to fall on."""
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for i, (_, run) in enumerate(runs):
            started = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - started)
    for (label, _), seconds in zip(runs, best, strict=True):
        print(f"{label:<28} {count / seconds:>12,.0f} evaluations/s   "
              f"({seconds * 1000:.1f} ms per {count:,} tasks)")  # fmt: skip
    return [count / seconds for seconds in best]


def synthetic_tasks(count: int = TASKS) -> list[Task]:
    """The benchmark's tasks: the same ones on every run (a seeded generator)."""
    rng = random.Random(20261127)
    return [task_from_asana(synthetic_task(rng, n)) for n in range(count)]


def load_engine(text: str = RULES) -> Engine:
    loaded = parse_client_file(text, "bench/rules.yaml")
    if loaded.errors:
        raise SystemExit("\n".join(str(e) for e in loaded.errors))
    return Engine(loaded)


def verdict(decision: Decision) -> tuple[str, int | None]:
    """The quadrant and the index of the rule that took the task, if one did."""
    return decision.quadrant, decision.outcomes[0].index if decision.outcomes else None


def main() -> int:
    tasks = synthetic_tasks()
    engine = load_engine()
    ctx = engine.context(NOW, DIRECTORY)
    hand = hand_written(ctx)

    engine_results = [verdict(engine.decide(t, ctx)) for t in tasks]
    hand_results = [hand(t) for t in tasks]
    interpreted = [verdict(engine.interpret(t, ctx)) for t in tasks]
    mismatches = sum(1 for a, b in zip(engine_results, hand_results, strict=True) if a != b)
    unlike = sum(1 for a, b in zip(engine_results, interpreted, strict=True) if a != b)
    matched = sum(1 for _, rule in engine_results if rule is not None)
    print(f"tasks: {TASKS:,}   rules: {len(engine.rules)}   tasks taken by a rule: {matched:,}")
    print(f"engine and hand-written disagree on: {mismatches} tasks")
    print(f"decide and the interpreted walk disagree on: {unlike} tasks")
    engine_rate, hand_rate = measure_all(
        [
            ("engine (decide)", lambda: [engine.decide(t, ctx) for t in tasks]),
            ("hand-written lambdas", lambda: [hand(t) for t in tasks]),
        ]
    )
    measure(
        "engine (interpreted walk)", lambda: [engine.interpret(t, ctx) for t in tasks], rounds=2
    )
    gc.collect()  # the results above stay alive: start the traced run from a clean collector
    started = time.perf_counter()
    for t in tasks[:EXPLAIN_TASKS]:
        engine.explain(t, ctx)
    traced = EXPLAIN_TASKS / (time.perf_counter() - started)
    print(
        f"{'engine (explain, traced)':<28} {traced:>12,.0f} evaluations/s   (for plans and explain)"
    )
    explained = [verdict(engine.explain(t, ctx)) for t in tasks[:EXPLAIN_TASKS]]
    untold = sum(1 for d, e in zip(engine_results, explained, strict=False) if d != e)
    print(f"decide and explain disagree on: {untold} of {EXPLAIN_TASKS:,} tasks")
    print(f"ratio: {hand_rate / engine_rate:.2f}   (goal: at most {GOAL})")
    return 1 if mismatches or unlike or untold else 0


if __name__ == "__main__":
    raise SystemExit(main())
