"""``decide`` and ``explain`` are one walk: on any task and any rules they reach the same verdict.

Tasks are generated (names, notes, tags, projects, sections, custom fields, dates, assignees,
followers, completion, memories of earlier cycles) and run against the example rule files and
against generated rule sets; a plan with traces keeps the same outcomes and the same held-back
tasks as a plan without.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from corekit import DIRECTORY, NOW, client_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator.core.context import Directory, EvalContext
from delegator.core.engine import Decision, Engine, TaskMemory
from delegator.core.model import Task
from delegator.core.rulefile import parse_client_file
from delegator.core.ruletests import CaseTask, build_task, directory_for, owner_identity

EXAMPLES = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.yaml")
    if not p.name.endswith(".test.yaml")
)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------- tasks

WORDS = [
    "Pay", "invoice", "receipts", "expense report", "timesheet", "Book", "flights", "hotel",
    "train", "travel", "restaurant", "meeting room", "Renew", "domain", "newsletter", "Monthly",
    "report", "call", "plan", "draft", "review", "client", "reimbursement", "booking", "42",
]  # fmt: skip
TAGS = [
    "urgent", "Urgent", "important", "admin", "keep", "keep-travel", "delegated", "someday",
    "needs-follow-up", "paperwork", "inbox",
]  # fmt: skip
SECTIONS = {
    "Client Admin": ["To do", "Invoices", "Bookings"],
    "Operations": ["Inbox", "Doing", "Waiting"],
    "Strategy": ["Ideas", "Planned"],
    "Clients": ["Backlog"],
}
PEOPLE = ["none", "owner", "giulia", "marco", "sam", "luca@northwind.example", "1200000000042"]

texts = st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join)
places = st.sampled_from([(p, s) for p, sections in SECTIONS.items() for s in sections])
days = st.integers(-15, 40).map(lambda n: NOW.date() + timedelta(days=n))
moments = st.integers(-72, 24 * 40).map(lambda h: NOW + timedelta(hours=h))
fields = st.fixed_dictionaries(
    {},
    optional={
        "Priority": st.sampled_from(["High", "Medium", "Low", None]),
        "Estimated time": st.sampled_from([None, 15, 60, 120, 240]),
        "Labels": st.lists(st.sampled_from(["web", "print", "social"]), max_size=2, unique=True),
    },
)


class _NoAliases(yaml.SafeDumper):
    """Every value written out in full: the rules and the matrix are dumped apart and joined, and
    one generated value used twice would otherwise be an anchor (&id001) in both halves, which
    the joined file may not define twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(data: Any, *, sort_keys: bool = True) -> str:
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=sort_keys)


@st.composite
def case_tasks(draw: st.DrawFn) -> dict[str, Any]:
    created = draw(st.none() | st.integers(0, 150).map(lambda n: NOW - timedelta(days=n)))
    task: dict[str, Any] = {
        "name": draw(texts),
        "notes": draw(st.sampled_from(["", "See the attached PDF.", "Call back before Friday."])),
        "assignee": draw(st.sampled_from(PEOPLE)),
        "tags": draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True)),
        "projects": draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=2, unique=True)),
        "sections": [{"project": p, "section": s} for p, s in draw(st.lists(places, max_size=2))],
        "followers": draw(st.lists(st.sampled_from(PEOPLE[1:]), max_size=2, unique=True)),
        "custom_fields": draw(fields),
        "due_on": draw(st.none() | days),
        "due_at": draw(st.none() | st.none() | moments),
        "start_on": draw(st.none() | st.none() | days),
        "created_at": created,
        "modified_at": created and created + timedelta(days=draw(st.integers(0, 20))),
        "completed": draw(st.sampled_from([False, False, False, True])),
        "subtask": draw(st.booleans()),
    }
    return task


def tasks_of(cases: list[dict[str, Any]], directory: Directory) -> list[Task]:
    return [
        build_task(CaseTask.model_validate({**case, "gid": str(1000 + i)}), i, directory)
        for i, case in enumerate(cases)
    ]


@st.composite
def memories(draw: st.DrawFn, rule_names: list[str], gids: list[str]) -> dict[str, TaskMemory]:
    out = {}
    for gid in gids:
        if draw(st.booleans()):
            continue
        names = st.lists(st.sampled_from(rule_names), max_size=2) if rule_names else st.just([])
        acted = draw(names)
        out[gid] = TaskMemory(
            acted={name: NOW - timedelta(days=draw(st.integers(0, 9))) for name in acted},
            commented=frozenset(draw(names)),
            override=draw(st.none() | st.just("Anna assigned it to herself")),
        )
    return out


# ----------------------------------------------------------------------------- rule sets


def leaves(*, quadrant: bool) -> st.SearchStrategy[Any]:
    text_ops = st.sampled_from(["contains", "equals", "starts_with", "ends_with"])
    text = st.one_of(
        st.builds(
            lambda op, w: {op: w},
            text_ops,
            st.sampled_from(WORDS) | st.lists(st.sampled_from(WORDS), min_size=1, max_size=3),
        ),
        st.sampled_from([r"\b(invoices?|receipts?)\b", "^Book", r"\d+", "report$"]).map(
            lambda p: {"matches": p}
        ),
    ).flatmap(lambda m: st.sampled_from([m, {**m, "case_sensitive": True}]))
    tag_names = st.lists(st.sampled_from(TAGS), min_size=1, max_size=3)
    choices: list[st.SearchStrategy[Any]] = [
        st.builds(lambda k, m: {k: m}, st.sampled_from(["name", "notes"]), text),
        st.one_of(
            st.sampled_from(TAGS),
            tag_names,
            st.builds(lambda op, ns: {op: ns}, st.sampled_from(["any", "all", "none"]), tag_names),
        ).map(lambda t: {"tag": t}),
        st.sampled_from([*SECTIONS, ["Strategy", "Clients"]]).map(lambda p: {"project": p}),
        places.flatmap(
            lambda ps: st.sampled_from([ps[1], {"name": ps[1]}, {"name": ps[1], "project": ps[0]}])
        ).map(lambda s: {"section": s}),
        st.sampled_from(
            ["owner", "none", "any", "giulia", ["owner", "none"], ["marco", "any"]]
        ).map(lambda a: {"assignee": a}),
        st.sampled_from(
            [
                {"name": "Priority", "in": ["High"]},
                {"name": "Priority", "equals": "low"},
                {"name": "Priority", "not_in": ["Medium"]},
                {"name": "Priority", "is_set": False},
                {"name": "Estimated time", "gte": 60},
                {"name": "Estimated time", "lt": 100, "is_set": True},
                {"name": "Labels", "contains": "print"},
                {"name": "Labels", "equals": ["web", "print"]},
            ]
        ).map(lambda f: {"custom_field": f}),
        st.builds(
            lambda k, w: {k: w},
            st.sampled_from(["due", "start"]),
            st.sampled_from(
                [
                    {"within": "3d"},
                    {"within": "2 business days"},
                    {"within": "36h"},
                    {"before": "2026-12-01"},
                    {"after": "1w"},
                    {"none": True},
                    {"none": False},
                ]
            ),
        ),
        st.builds(
            lambda k, a: {k: a},
            st.sampled_from(["created", "modified"]),
            st.sampled_from(
                [{"older_than": "5 business days"}, {"newer_than": "30d"}, {"older_than": "2w"}]
            ),
        ),
        st.builds(
            lambda k, b: {k: b}, st.sampled_from(["overdue", "completed", "subtask"]), st.booleans()
        ),
    ]
    if quadrant:
        choices.append(
            st.sampled_from(
                ["do", "schedule", "delegate", "eliminate", ["delegate", "eliminate"]]
            ).map(lambda q: {"quadrant": q})
        )
    return st.one_of(choices)


def conditions(*, quadrant: bool = True) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves(quadrant=quadrant),
        lambda inner: st.one_of(
            st.builds(
                lambda k, items: {k: items},
                st.sampled_from(["all", "any"]),
                st.lists(inner, min_size=1, max_size=3),
            ),
            inner.map(lambda c: {"not": c}),
            st.lists(inner, min_size=1, max_size=3),  # a list means all of them
        ),
        max_leaves=6,
    )


ACTIONS = st.sampled_from(
    [
        {"assign": "giulia"},
        {"assign": "owner"},
        {"assign": {"to": "marco"}},
        {"assign": {"pool": ["giulia", "marco"], "skill": "admin"}},
        {"assign": {"pool": ["marco", "giulia"], "strategy": "round_robin", "overflow": "skip"}},
        {"tag": "delegated"},
        {"tag": ["inbox", "admin"]},
        {"untag": "urgent"},
        {"follow": ["owner", "giulia"]},
        {"move": {"project": "Operations", "section": "Doing"}},
        {"move": {"project": "Strategy"}},
        {"set": {"custom_field": "Priority", "value": "Low"}},
        {"set": {"custom_field": "Estimated time", "value": None}},
        {"due": {"in": "2 business days"}},
        {"due": {"in": "3d"}},
        {"comment": "Over to you, {{ assignee.first_name }}: {{ task.name }}"},
    ]
)


@st.composite
def rule_sets(draw: st.DrawFn) -> str:
    rules = []
    for i in range(draw(st.integers(1, 6))):
        rule: dict[str, Any] = {
            "name": f"Rule {i}",
            "when": draw(conditions()),
            "then": draw(st.lists(ACTIONS, min_size=1, max_size=3)),
        }
        options = st.fixed_dictionaries(
            {},
            optional={
                "continue": st.booleans(),
                "mode": st.sampled_from(["active", "shadow"]),
                "limit": st.integers(1, 2),
                "repeat": st.booleans(),
            },
        )
        rule.update(draw(options))
        rules.append(rule)
    text = client_text(_dump(rules, sort_keys=False))
    matrix = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "urgent": conditions(quadrant=False),
                "important": conditions(quadrant=False),
            },
        )
    )
    if matrix:
        text = text.replace("watch:", _dump({"matrix": matrix}) + "watch:", 1)
    if draw(st.booleans()):
        text = text.replace("  owner: anna@northwind.example", "  overrides: ignore", 1)
    return text


# ----------------------------------------------------------------------------- the property


def assert_agree(engine: Engine, ctx: EvalContext, task: Task, memory: TaskMemory) -> None:
    decided = engine.decide(task, ctx, memory)
    explained = engine.explain(task, ctx, memory)
    assert verdict(explained) == verdict(decided)
    # The traces tell the same story: every rule once, in order, acting where decide acted.
    assert [t.index for t in explained.rule_traces] == [r.index for r in engine.rules]
    took = [t.rule for t in explained.rule_traces if t.status.startswith(("acts", "nothing"))]
    assert took == [o.rule for o in decided.outcomes]
    assert explained.urgent_trace is not None
    assert explained.important_trace is not None
    assert (explained.urgent_trace.matched, explained.important_trace.matched) == (
        decided.urgent,
        decided.important,
    )


def verdict(decision: Decision) -> tuple[Any, ...]:
    return (
        decision.quadrant,
        decision.urgent,
        decision.important,
        decision.skipped,
        decision.outcomes,
    )


def assert_plans_agree(
    engine: Engine, ctx: EvalContext, tasks: list[Task], memories: dict[str, TaskMemory]
) -> None:
    plain = engine.plan(tasks, ctx, memories)
    traced = engine.plan(tasks, ctx, memories, explain=True)
    assert [verdict(d) for d in traced.decisions] == [verdict(d) for d in plain.decisions]
    assert [(d.task.gid, rule) for d, rule in traced.deferred] == [
        (d.task.gid, rule) for d, rule in plain.deferred
    ]
    assert all(d.rule_traces or not engine.rules for d in traced.decisions)


@cache
def example(path: Path) -> tuple[Engine, Directory]:
    loaded = parse_client_file(path.read_text(encoding="utf-8"), str(path))
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    engine = Engine(loaded)
    assert engine.head is not None
    return engine, directory_for(engine.head, owner_identity(engine.head, None))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 2


@PROPERTY
@given(
    which=st.sampled_from(EXAMPLES),
    cases=st.lists(case_tasks(), min_size=1, max_size=8),
    now=st.integers(-24 * 7, 24 * 7).map(lambda h: NOW + timedelta(hours=h)),
    data=st.data(),
)
def test_decide_and_explain_agree_on_the_examples(
    which: Path, cases: list[dict[str, Any]], now: datetime, data: st.DataObject
) -> None:
    engine, directory = example(which)
    ctx = engine.context(now, directory)
    tasks = tasks_of(cases, directory)
    remembered = data.draw(memories([r.name for r in engine.rules], [t.gid for t in tasks]))
    for task in tasks:
        assert_agree(engine, ctx, task, remembered.get(task.gid, TaskMemory()))
    assert_plans_agree(engine, ctx, tasks, remembered)


@PROPERTY
@given(rules=rule_sets(), cases=st.lists(case_tasks(), min_size=1, max_size=6), data=st.data())
def test_decide_and_explain_agree_on_generated_rules(
    rules: str, cases: list[dict[str, Any]], data: st.DataObject
) -> None:
    loaded = parse_client_file(rules, "generated.yaml")
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    engine = Engine(loaded)
    ctx = engine.context(NOW, DIRECTORY)
    tasks = tasks_of(cases, DIRECTORY)
    remembered = data.draw(memories([r.name for r in engine.rules], [t.gid for t in tasks]))
    for task in tasks:
        assert_agree(engine, ctx, task, remembered.get(task.gid, TaskMemory()))
    assert_plans_agree(engine, ctx, tasks, remembered)


def test_a_plan_with_traces_keeps_the_limits() -> None:
    loaded = parse_client_file(
        client_text(
            """\
            - name: One a cycle
              when: { tag: admin }
              then: [ { tag: delegated } ]
              limit: 1
            """
        ),
        "limits.yaml",
    )
    engine = Engine(loaded)
    ctx = engine.context(NOW, DIRECTORY)
    tasks = tasks_of([{"name": "Admin", "tags": ["admin"]}] * 3, DIRECTORY)
    plan = engine.plan(tasks, ctx, explain=True)
    assert [len(d.outcomes) for d in plan.decisions] == [1, 0, 0]
    assert [rule for _, rule in plan.deferred] == ["One a cycle", "One a cycle"]
    assert plan.decisions[1].rule_traces[0].status == "acts"  # what the rule would have done
