"""The compiled decide path (core/compiled.py) reaches the interpreter's verdict on every task.

``Engine.decide`` runs generated code; ``Engine.interpret`` walks the checks that ``explain``
traces. Random rule trees (every condition kind and operator the schema has, nested in all, any,
not and lists, with unicode words) and random tasks (missing fields, unicode names, times in
other zones, every custom field type) are run both ways: each rule's match, the matrix, the
quadrant and the whole decision must be the same.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from corekit import DIRECTORY, HEAD, NOW, OWNER, client_text, engine_for
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from delegator.core import compiled
from delegator.core.engine import Decision, Engine, RuleStatus, TaskMemory
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef, ref_matches
from delegator.core.rulefile import parse_client_file
from delegator.core.schema import CONDITION_KINDS
from delegator.core.timeexpr import add_business_days

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------- vocabulary

# Words that fold in interesting ways: ß -> ss, İ -> i̇, ﬁ -> fi, final sigma, accents, CJK.
WORDS = [
    "invoice", "Invoices", "receipt", "report", "Report", "book", "Book flights", "renewal",
    "Straße", "STRASSE", "strasse", "İstanbul", "istanbul", "ﬁle", "FILE", "Σίσυφος", "ΣΊΣΥΦΟΣ",
    "naïve", "NAÏVE", "日本", "📎", " padded ", "42",
]  # fmt: skip
TAGS = ["urgent", "Urgent", "important", "admin", "keep", "Straße", "strasse", "İnbox", "ΣΊΣΥΦΟΣ"]
PROJECTS = [("201", "Client Admin"), ("202", "Operations"), ("203", "Straße"), ("204", "日本")]
SECTIONS = {
    "201": [("301", "To do"), ("302", "Invoices")],
    "202": [("311", "Inbox"), ("312", "Waiting")],
    "203": [("321", "STRASSE")],
    "204": [("331", "İdeas")],
}
USERS = [
    None,
    UserRef("100", "Anna Rossi", "anna@northwind.example"),  # the owner
    UserRef("999", "Anna, other account", "anna@northwind.example"),  # the owner by email only
    UserRef("100", "", ""),  # the owner by gid only
    UserRef("102", "Giulia Bianchi", "giulia@va-agency.example"),
    UserRef("103", "Marco Verdi", "marco@va-agency.example"),
    UserRef("104", "Luca Neri", "luca@northwind.example"),
]
ZONES = [ZoneInfo("UTC"), ZoneInfo("Europe/Rome"), ZoneInfo("America/New_York")]
PATTERNS = [
    r"\b(invoices?|receipts?)\b", "^Book", r"\d+", "report$", "straße", "İ", "日本|Σ", "^$", "ﬁ",
]  # fmt: skip

# ----------------------------------------------------------------------------- tasks

# Times of day on either side of midnight in one zone or another, and NOW's own (10:00 in Rome).
TIMES = [time(0, 0), time(0, 30), time(10, 0), time(12, 0), time(18, 30), time(23, 30)]

words = st.sampled_from(WORDS)
texts = st.builds(
    lambda pad, parts, end: pad + " ".join(parts) + end,
    st.sampled_from(["", "", " ", "\t"]),
    st.lists(words | st.text(max_size=4), max_size=4),
    st.sampled_from(["", "", " "]),
)
days = st.integers(-15, 40).map(lambda n: NOW.date() + timedelta(days=n))
# The dates rules below compare with: a moment late on the day before one, or on it, in a zone
# behind Rome's, falls on another day in Rome (the client's zone, where days are counted).
DATES = ["2026-11-20", "2026-11-27", "2026-12-01", "2027-01-15"]
EVES = [date.fromisoformat(d) - timedelta(days=n) for d in DATES for n in (0, 1)]
moments = st.one_of(
    st.builds(
        lambda day, at, zone: datetime.combine(day, at, tzinfo=zone),
        st.sampled_from(EVES),
        st.sampled_from([time(23, 30), time(18, 30), time(0, 30)]),
        st.sampled_from(ZONES),
    ),
    st.builds(  # a day near NOW and a time of day, in some zone: days apart from Rome's
        lambda n, at, zone: datetime.combine(NOW.date() + timedelta(days=n), at, tzinfo=zone),
        st.integers(-8, 8),
        st.sampled_from(TIMES),
        st.sampled_from(ZONES),
    ),
    st.builds(  # a whole number of half hours from NOW: on the bounds of durations
        lambda n, zone: (NOW + timedelta(minutes=30 * n)).astimezone(zone),
        st.integers(-48 * 120, 48 * 40),
        st.sampled_from(ZONES),
    ),
    st.builds(  # exactly on a bound the rules below name, seen from NOW
        lambda bound, zone: bound.astimezone(zone),
        st.sampled_from(
            [NOW + timedelta(minutes=m) for m in (-90, 90, 30, -30)]
            + [NOW + timedelta(hours=h) for h in (-36, 36, -24, 24)]
            + [NOW + timedelta(days=d) for d in (-14, -3, 3, 7, -1, 1)]
            + [
                datetime.combine(add_business_days(NOW.date(), n), NOW.timetz())
                for n in (-5, -2, 2, 5)
            ]
        ),
        st.sampled_from(ZONES),
    ),
)
maybe_days = st.none() | days
maybe_moments = st.none() | moments


def _ref(gid_name: tuple[str, str]) -> Ref:
    return Ref(*gid_name)


@st.composite
def custom_fields(draw: st.DrawFn) -> tuple[FieldValue, ...]:
    """Some of the task's custom fields, of every type, each set or not."""
    options = st.none() | st.sampled_from(["High", "Medium", "Low", "low", "Straße", "İ"])
    numbers = st.none() | st.sampled_from([0, 15, 60.0, 119.5, 120, 240, -3])
    labels = st.lists(
        st.sampled_from(["web", "Print", "social", "STRASSE"]), max_size=3, unique=True
    )
    out: list[FieldValue] = []
    for gid in draw(st.lists(st.sampled_from("1234567"), max_size=7, unique=True)):
        match gid:
            case "1":
                out.append(FieldValue("401", "Priority", "enum", enum=draw(options)))
            case "2":
                out.append(FieldValue("402", "Estimated time", "number", number=draw(numbers)))
            case "3":
                out.append(
                    FieldValue("403", "Labels", "multi_enum", multi_enum=tuple(draw(labels)))
                )
            case "4":
                out.append(FieldValue("404", "Deadline", "date", date=draw(maybe_days)))
            case "5":
                text, shown = draw(st.none() | texts), draw(st.none() | words)
                out.append(FieldValue("405", "Summary", "text", text=text, display=shown))
            case "6":
                out.append(FieldValue("406", "Reviewer", "people", display=draw(st.none() | words)))
            case _:
                out.append(FieldValue("407", "Straße", "enum", enum=draw(options)))
    return tuple(out)


tag_sets = st.lists(st.sampled_from(TAGS), max_size=3, unique=True)


@st.composite
def tasks(draw: st.DrawFn) -> Task:
    projects = draw(st.lists(st.sampled_from(PROJECTS), max_size=2, unique=True))
    memberships = []
    for gid, name in projects:
        section = draw(st.none() | st.sampled_from(SECTIONS[gid]))
        memberships.append(Membership(Ref(gid, name), _ref(section) if section else None))
    return Task(
        gid=str(draw(st.integers(1, 10**6))),
        name=draw(texts),
        notes=draw(texts),
        assignee=draw(st.sampled_from(USERS)),
        completed=draw(st.sampled_from([False, False, True])),
        due_on=draw(maybe_days),
        due_at=draw(st.none() | moments),
        start_on=draw(maybe_days),
        start_at=draw(st.none() | moments),
        created_at=draw(maybe_moments),
        modified_at=draw(maybe_moments),
        tags=tuple(Ref(f"5{i}", t) for i, t in enumerate(draw(tag_sets))),
        projects=tuple(Ref(gid, name) for gid, name in projects),
        memberships=tuple(memberships),
        custom_fields=draw(custom_fields()),
        parent=draw(st.none() | st.just(Ref("9", "parent"))),
    )


# ----------------------------------------------------------------------------- conditions

word_lists = st.lists(words, min_size=1, max_size=3)
durations = st.sampled_from(
    ["30m", "36h", "3d", "1w", "2 business days", "0d", "5 business days", "2w", "90m"]
)
dates = st.sampled_from(DATES)


def _one_or_more(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return values | st.lists(values, min_size=1, max_size=3)


def _some(options: dict[str, st.SearchStrategy[Any]], most: int = 2) -> st.SearchStrategy[Any]:
    """A mapping with one to ``most`` of ``options``' keys."""
    keys = st.lists(st.sampled_from(sorted(options)), min_size=1, max_size=most, unique=True)
    return keys.flatmap(lambda ks: st.fixed_dictionaries({k: options[k] for k in ks}))


text_match = st.one_of(
    st.builds(
        lambda op, w: {op: w},
        st.sampled_from(["contains", "equals", "starts_with", "ends_with"]),
        words | word_lists,
    ),
    st.sampled_from(PATTERNS).map(lambda p: {"matches": p}),
).flatmap(
    lambda m: st.sampled_from([m, {**m, "case_sensitive": True}, {**m, "case_sensitive": False}])
)
tag_names = st.lists(st.sampled_from(TAGS), min_size=1, max_size=3)
field_key = st.sampled_from(
    [{"name": n} for n in ["Priority", "priority", "Estimated time", "Labels", "Deadline",
                           "Summary", "Reviewer", "STRASSE", "Straße", "Missing"]]
    + [{"gid": g} for g in ["401", "402", "403", "404", "405", "407", "999"]]
)  # fmt: skip
scalars = (
    st.sampled_from(
        ["High", "low", "LOW", "Straße", "strasse", "Print", "web", "60", "120", "x", "2026-12-01"]
    )
    | st.sampled_from([0, 15, 60, 119.5, 120, -3])
    | st.sampled_from([date(2026, 12, 1)])
    | st.booleans()
)
field_ops = _some(
    {
        "equals": scalars | st.lists(st.sampled_from(["web", "print", "Print", "STRASSE"]), min_size=1, max_size=2),
        "in": st.lists(scalars, min_size=1, max_size=3),
        "not_in": st.lists(scalars, min_size=1, max_size=3),
        "gt": st.sampled_from([15, 60, 119.5, -5]) | dates,
        "gte": st.sampled_from([15, 120]) | dates,
        "lt": st.sampled_from([60, 120.5]) | dates,
        "lte": st.sampled_from([0, 120]) | dates,
        "is_set": st.booleans(),
        "contains": st.sampled_from(["print", "PRINT", "straße", "igh", "日本", "x"]),
    },
)  # fmt: skip
window = st.one_of(
    _some({"within": durations, "before": durations | dates, "after": durations | dates}, 3),
    st.booleans().map(lambda b: {"none": b}),
)
age = _some({"older_than": durations, "newer_than": durations})
places = st.sampled_from([(p, s) for p, ss in SECTIONS.items() for s in ss])
# Hours from NOW to the moment of evaluation: on the bounds of durations, or anywhere.
NOW_SHIFTS = st.sampled_from([0, 0, 1, -1, 14, 24, -48, 36, 24 * 7]) | st.integers(-960, 960)

LEAVES: dict[str, st.SearchStrategy[Any]] = {
    "name": text_match,
    "notes": text_match,
    "tag": st.one_of(
        st.sampled_from(TAGS),
        tag_names,
        _some({"any": tag_names, "all": tag_names, "none": tag_names}),
    ),
    "project": _one_or_more(st.sampled_from([x for p in PROJECTS for x in p] + ["client admin", "STRASSE"])),
    "section": places.flatmap(
        lambda ps: st.sampled_from(
            [
                ps[1][1],
                ps[1][0],  # by gid
                ps[1][1].upper(),
                {"name": ps[1][1]},
                {"name": ps[1][1], "project": dict(PROJECTS)[ps[0]]},
                {"name": ps[1][0], "project": ps[0]},
                {"name": ps[1][1], "project": "Operations"},
            ]
        )
    ),
    "assignee": _one_or_more(
        st.sampled_from(
            ["owner", "none", "any", "giulia", "marco", "luca@northwind.example",
             "LUCA@northwind.example", "104", "999"]
        )
    ),
    "custom_field": st.builds(lambda k, ops: {**k, **ops}, field_key, field_ops),
    "due": window,
    "start": window,
    "overdue": st.booleans(),
    "created": age,
    "modified": age,
    "completed": st.booleans(),
    "subtask": st.booleans(),
    "quadrant": _one_or_more(st.sampled_from(["do", "schedule", "delegate", "eliminate"])),
}  # fmt: skip
COMPOUNDS = ("all", "any", "not")


def leaves(*, quadrant: bool = True) -> st.SearchStrategy[Any]:
    """One condition of any kind but all, any and not (the matrix may not use quadrant)."""
    return st.one_of(
        [st.builds(lambda k, v: {k: v}, st.just(k), s) for k, s in LEAVES.items()
         if quadrant or k != "quadrant"]
    )  # fmt: skip


def conditions(*, quadrant: bool = True) -> st.SearchStrategy[Any]:
    """A tree of conditions: all, any, not and lists of them, nested."""
    return st.recursive(
        leaves(quadrant=quadrant),
        lambda inner: st.one_of(
            st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any"]),
                      st.lists(inner, min_size=1, max_size=4)),
            inner.map(lambda c: {"not": c}),
            st.lists(inner, min_size=1, max_size=3),  # a list means all of them
        ),
        max_leaves=8,
    )  # fmt: skip


def test_the_strategies_write_every_condition_kind() -> None:
    assert set(LEAVES) | set(COMPOUNDS) == set(CONDITION_KINDS)
    assert {next(iter(c)) for c in catalogue()} | set(COMPOUNDS) == set(CONDITION_KINDS)


# Every operator of every kind, over the vocabulary the tasks are made of: random tasks against
# all of them find a leaf that the compiler gets wrong sooner than random trees would.
def catalogue() -> list[dict[str, Any]]:
    """Conditions of one kind each (no all, any or not), every operator and variant."""
    out: list[dict[str, Any]] = []
    some = ["invoice", "REPORT", "Straße", "strasse", "İstanbul", "ﬁle", "ΣΊΣΥΦΟΣ", " padded "]
    for kind in ("name", "notes"):
        for case in ({}, {"case_sensitive": True}):
            for op in ("contains", "equals", "starts_with", "ends_with"):
                out += [{kind: {op: w, **case}} for w in [*some, some[:3], some[3:6]]]
            out += [{kind: {"matches": p, **case}} for p in PATTERNS]
    for name in TAGS:
        out += [{"tag": name}, {"tag": {"any": [name]}}, {"tag": {"all": [name]}},
                {"tag": {"none": [name]}}]  # fmt: skip
    out += [
        {"tag": ["admin", "Straße"]}, {"tag": {"any": ["urgent", "ΣΊΣΥΦΟΣ"]}},
        {"tag": {"all": ["admin", "strasse"]}}, {"tag": {"none": ["keep", "İnbox"]}},
        {"tag": {"any": ["admin"], "none": ["urgent"]}}, {"tag": {"all": ["Urgent"], "any": ["x", "admin"]}},
    ]  # fmt: skip
    for gid, name in PROJECTS:
        out += [{"project": gid}, {"project": name}, {"project": name.upper()}]
    out += [{"project": ["Operations", "204"]}, {"project": ["client admin", "STRASSE"]}]
    for project, (gid, name) in [(p, s) for p, ss in SECTIONS.items() for s in ss]:
        project_name = dict(PROJECTS)[project]
        out += [
            {"section": name}, {"section": gid}, {"section": name.upper()},
            {"section": {"name": name, "project": project_name}},
            {"section": {"name": gid, "project": project}},
            {"section": {"name": name.casefold(), "project": project_name.upper()}},
            {"section": {"name": name, "project": "Operations"}},
        ]  # fmt: skip
    specs = ["owner", "none", "any", "giulia", "marco", "luca@northwind.example",
             "LUCA@northwind.example", "104", "999"]  # fmt: skip
    out += [{"assignee": s} for s in specs] + [{"assignee": ["giulia", "none"]}]
    operators: list[dict[str, Any]] = [
        {"is_set": True}, {"is_set": False}, {"equals": "low"}, {"equals": "STRASSE"},
        {"equals": 120}, {"equals": "120"}, {"equals": ["web", "print"]}, {"equals": "2026-12-01"},
        {"equals": True}, {"in": ["High", "straße"]}, {"in": [120, "Low"]}, {"not_in": ["Medium", 60]},
        {"gt": 60}, {"gte": 120}, {"lt": 119.5}, {"lte": 0}, {"gt": "2026-11-27"},
        {"lte": "2026-12-01"}, {"contains": "print"}, {"contains": "STRASSE"}, {"contains": "igh"},
        {"is_set": True, "lt": 200}, {"not_in": ["x"], "is_set": False},
    ]  # fmt: skip
    keys = [{"name": n} for n in ["Priority", "estimated TIME", "Labels", "Deadline", "Summary",
                                  "Reviewer", "STRASSE", "Missing"]]  # fmt: skip
    keys += [{"gid": g} for g in ["401", "402", "403", "404", "405", "407", "999"]]
    out += [{"custom_field": {**k, **op}} for k in keys for op in operators]
    windows: list[dict[str, Any]] = [{"none": True}, {"none": False}]
    for span in ["30m", "36h", "0d", "3d", "1w", "2 business days", "5 business days"]:
        windows += [{"within": span}, {"before": span}, {"after": span}]
    windows += [{"before": d} for d in ["2026-11-27", "2026-12-01"]]
    windows += [{"after": "2026-11-20", "before": "2026-12-01"}, {"within": "1w", "after": "1d"}]
    out += [{kind: w} for kind in ("due", "start") for w in windows]
    out += [{k: b} for k in ("overdue", "completed", "subtask") for b in (True, False)]
    for kind in ("created", "modified"):
        for span in ["90m", "36h", "3d", "2w", "5 business days"]:
            out += [{kind: {"older_than": span}}, {kind: {"newer_than": span}}]
        out.append({kind: {"older_than": "1d", "newer_than": "2w"}})
    out += [{"quadrant": q} for q in ["do", "schedule", "delegate", "eliminate"]]
    out.append({"quadrant": ["delegate", "eliminate"]})
    return out


@cache
def catalogue_engine() -> Engine:
    rules = [
        {"name": f"Rule {i}", "when": {"all": [when, {"any": [{"completed": True}, {"completed": False}]}]},
         "then": [{"tag": "x"}], "continue": True}
        for i, when in enumerate(catalogue())
    ]  # fmt: skip
    return engine_of(rules)


@settings(PROPERTY, max_examples=50)
@given(cases=st.lists(tasks(), min_size=5, max_size=10), hours=NOW_SHIFTS)
def test_every_operator_holds_alike_compiled_and_interpreted(cases: list[Task], hours: int) -> None:
    engine = catalogue_engine()
    ctx = engine.context(NOW + timedelta(hours=hours), DIRECTORY)
    for task in cases:
        if "keep" in task.tag_names:  # opted out: no rule is tried
            continue
        compiled_ = [o.index for o in engine.decide(task, ctx).outcomes]
        interpreted = [o.index for o in engine.interpret(task, ctx).outcomes]
        assert compiled_ == interpreted, [catalogue()[i] for i in set(compiled_) ^ set(interpreted)]


def _dump(data: Any) -> str:
    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(data, Dumper=NoAliases, sort_keys=False, allow_unicode=True)


def engine_of(rules: list[dict[str, Any]], matrix: dict[str, Any] | None = None,
              head: str = HEAD) -> Engine:  # fmt: skip
    text = client_text(_dump(rules), head)
    if matrix:
        text = text.replace("watch:", _dump({"matrix": matrix}) + "watch:", 1)
    loaded = parse_client_file(text, "generated.yaml")
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    engine = Engine(loaded)
    assert engine.program is not None  # compiled, not left to the interpreter
    return engine


def verdict(decision: Decision) -> tuple[Any, ...]:
    return (
        decision.quadrant,
        decision.urgent,
        decision.important,
        decision.skipped,
        decision.outcomes,
    )


# ----------------------------------------------------------------------------- properties


def assert_each_rule_agrees(
    whens: list[Any], matrix: dict[str, Any], cases: list[Task], hours: int
) -> None:
    """Each condition, as a rule of its own, matches a task compiled iff interpreted."""
    # Every rule goes on to the next (continue), and mentions completed so it is tried on
    # completed tasks too: every rule's own match shows in the decision.
    rules = [
        {"name": f"Rule {i}", "when": {"all": [when, {"any": [{"completed": True}, {"completed": False}]}]},
         "then": [{"tag": "x"}], "continue": True}
        for i, when in enumerate(whens)
    ]  # fmt: skip
    engine = engine_of(rules, matrix)
    ctx = engine.context(NOW + timedelta(hours=hours), DIRECTORY)
    for task in cases:
        decided = engine.decide(task, ctx)
        interpreted = engine.interpret(task, ctx)
        explained = engine.explain(task, ctx)
        assert verdict(decided) == verdict(interpreted) == verdict(explained)
        assert explained.urgent_trace is not None
        assert explained.important_trace is not None
        assert (decided.urgent, decided.important) == (
            explained.urgent_trace.matched,
            explained.important_trace.matched,
        )
        if decided.skipped is not None:  # tagged keep: no rule is tried
            continue
        matched = {o.index for o in decided.outcomes}
        for trace in explained.rule_traces:
            assert trace.when is not None
            assert (trace.index in matched) == trace.when.matched, (trace.rule, task)


@PROPERTY
@given(
    whens=st.lists(leaves(), min_size=4, max_size=12),
    matrix=st.fixed_dictionaries(
        {}, optional={"urgent": leaves(quadrant=False), "important": leaves(quadrant=False)}
    ),
    cases=st.lists(tasks(), min_size=1, max_size=8),
    hours=NOW_SHIFTS,
)
@example(  # the section of a project, by names that fold apart from their spelling
    whens=[{"section": {"name": "strasse", "project": "STRASSE"}}],
    matrix={},
    cases=[Task("1", memberships=(Membership(Ref("203", "Straße"), Ref("321", "STRASSE")),))],
    hours=0,
)
def test_each_kind_of_condition_holds_alike_compiled_and_interpreted(
    whens: list[Any], matrix: dict[str, Any], cases: list[Task], hours: int
) -> None:
    assert_each_rule_agrees(whens, matrix, cases, hours)


@PROPERTY
@given(
    whens=st.lists(conditions(), min_size=1, max_size=5),
    matrix=st.fixed_dictionaries(
        {}, optional={"urgent": conditions(quadrant=False), "important": conditions(quadrant=False)}
    ),
    cases=st.lists(tasks(), min_size=1, max_size=6),
    hours=NOW_SHIFTS,
)
def test_nested_conditions_hold_alike_compiled_and_interpreted(
    whens: list[Any], matrix: dict[str, Any], cases: list[Task], hours: int
) -> None:
    assert_each_rule_agrees(whens, matrix, cases, hours)


@PROPERTY
@given(
    rules=st.lists(
        st.fixed_dictionaries(
            {"when": conditions()},
            optional={
                "continue": st.booleans(),
                "mode": st.sampled_from(["active", "shadow"]),
                "repeat": st.booleans(),
            },
        ),
        min_size=1,
        max_size=6,
    ),
    cases=st.lists(tasks(), min_size=1, max_size=6),
    opt_out=st.booleans(),
    respect=st.booleans(),
    data=st.data(),
)
def test_the_walk_decides_alike_compiled_and_interpreted(
    rules: list[dict[str, Any]],
    cases: list[Task],
    opt_out: bool,
    respect: bool,
    data: st.DataObject,
) -> None:
    written = [
        {"name": f"Rule {i}", **r, "then": [{"tag": "x"}, {"comment": "Hi {{ task.name }}"}]}
        for i, r in enumerate(rules)
    ]
    head = HEAD if respect else HEAD.replace("  owner: anna", "  overrides: ignore\n  owner: anna")
    if opt_out:
        head = head.replace("  owner: anna", "  opt_out_tag: Straße\n  owner: anna")
    engine = engine_of(written, head=head)
    assert engine.respect_overrides is respect
    ctx = engine.context(NOW, DIRECTORY)
    names = [r["name"] for r in written]
    for task in cases:
        memory = TaskMemory(
            acted={n: NOW - timedelta(days=1) for n in data.draw(st.lists(st.sampled_from(names)))},
            commented=frozenset(data.draw(st.lists(st.sampled_from(names)))),
            override=data.draw(st.none() | st.just("Anna took it back")),
        )
        decided = engine.decide(task, ctx, memory)
        assert verdict(decided) == verdict(engine.interpret(task, ctx, memory))
        explained = engine.explain(task, ctx, memory)
        assert verdict(decided) == verdict(explained)
        took = [t.rule for t in explained.rule_traces
                if t.status in (RuleStatus.ACTS, RuleStatus.ACTS_SHADOW, RuleStatus.NOTHING_TO_DO)]  # fmt: skip
        assert took == [o.rule for o in decided.outcomes]


# ----------------------------------------------------------------------------- examples


def test_a_context_is_bound_afresh_when_it_changes() -> None:
    engine = engine_for(
        """\
        - name: Soon
          when: { due: { within: 2d } }
          then: [ { tag: soon } ]
        - name: Mine
          when: { assignee: giulia }
          then: [ { tag: mine } ]
        """
    )
    task = Task("1", due_on=NOW.date() + timedelta(days=5), assignee=USERS[4])
    early, late = engine.context(NOW, DIRECTORY), engine.context(NOW + timedelta(days=4), DIRECTORY)
    assert engine.decide(task, early).rule == "Mine"
    assert engine.decide(task, late).rule == "Soon"
    assert engine.decide(task, early).rule == "Mine"
    # Another directory, where giulia is someone else: the assistant is looked up per context.
    elsewhere = engine.context(NOW, type(DIRECTORY)(OWNER, {"giulia": OWNER}))
    assert engine.decide(task, elsewhere).rule is None


def test_no_text_of_the_file_becomes_code() -> None:
    hostile = "'); import os; os.system('echo pwned') #"
    engine = engine_for(
        f"""\
        - name: Hostile
          when:
            any:
              - {{ name: {{ contains: "{hostile}" }} }}
              - {{ tag: "{hostile}" }}
              - {{ custom_field: {{ name: "{hostile}", equals: "{hostile}" }} }}
              - {{ section: {{ name: "{hostile}", project: "Straße" }} }}
          then: [ {{ tag: x }} ]
        """
    )
    assert engine.program is not None
    source = engine.program.source
    for text in (hostile, "pwned", "Straße", "strasse", "Hostile", "import"):
        assert text not in source
    ctx = engine.context(NOW, DIRECTORY)
    assert engine.decide(Task("1", name=f"a {hostile} b"), ctx).rule == "Hostile"
    assert engine.decide(Task("2", name="harmless"), ctx).rule is None


def test_conditions_nested_past_the_inlining_depth_are_called_as_checks() -> None:
    depth = compiled.MAX_INLINE_DEPTH + 6
    when: Any = {"tag": "admin"}
    for _ in range(depth):
        when = {"not": {"not": when}}
    engine = engine_of([{"name": "Deep", "when": when, "then": [{"tag": "x"}]}])
    assert engine.program is not None
    assert "(t, c)" in engine.program.source  # the part past the depth: its check's test
    ctx = engine.context(NOW, DIRECTORY)
    admin, other = Task("1", tags=(Ref("5", "Admin"),)), Task("2")
    assert engine.decide(admin, ctx).rule == "Deep"
    assert engine.decide(other, ctx).rule is None
    assert verdict(engine.decide(admin, ctx)) == verdict(engine.explain(admin, ctx))


def test_a_refs_name_is_folded_once() -> None:
    ref = Ref("321", "Straße")
    assert ref.folded == "strasse"  # folded, not just lower case
    assert ref_matches(ref, "STRASSE")
    assert ref_matches(ref, "321")
    assert not ref_matches(ref, "32")
    assert ref == Ref("321", "Straße")
    assert repr(ref) == "Ref(gid='321', name='Straße')"


def test_a_completed_task_is_tried_only_by_rules_that_mention_completed() -> None:
    engine = engine_for(
        """\
        - name: Open ones
          when: { tag: admin }
          then: [ { tag: x } ]
          continue: true
        - name: Done ones
          when: { all: [ { tag: admin }, { completed: true } ] }
          then: [ { tag: archived } ]
        """
    )
    ctx = engine.context(NOW, DIRECTORY)
    done = Task("1", tags=(Ref("5", "admin"),), completed=True)
    open_ = Task(
        "2", tags=(Ref("5", "admin"),), due_at=datetime(2026, 11, 27, 9, tzinfo=ZoneInfo("UTC"))
    )
    assert [o.rule for o in engine.decide(done, ctx).outcomes] == ["Done ones"]
    assert [o.rule for o in engine.decide(open_, ctx).outcomes] == ["Open ones"]
    for task in (done, open_):
        assert verdict(engine.decide(task, ctx)) == verdict(engine.interpret(task, ctx))
