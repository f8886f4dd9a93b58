"""Conditions compiled once into checks, each able to say what it saw and what it wanted.

A compiled ``Check`` has a ``test`` (a plain function of task and context) and an ``observe``
(the actual value, used only when explaining), and keeps the ``condition`` it was compiled from.
Compound checks (all, any, not) short-circuit when testing and evaluate every child when
explaining, so a trace shows them all. ``explain`` (and a plan with traces) walks these checks;
``decide`` runs the same conditions compiled to Python source (``core.compiled``), which calls a
check's ``test`` for what it does not inline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, assert_never

from delegator.core.context import EvalContext, identity_of
from delegator.core.model import FieldValue, Membership, Ref, Task
from delegator.core.regex import compile_pattern
from delegator.core.schema import (
    Age,
    AllCondition,
    AnyCondition,
    AssigneeCondition,
    CompletedCondition,
    Condition,
    CreatedCondition,
    CustomFieldCondition,
    DateWindow,
    DueCondition,
    FieldMatch,
    ModifiedCondition,
    NameCondition,
    NotCondition,
    NotesCondition,
    OverdueCondition,
    ProjectCondition,
    QuadrantCondition,
    SectionCondition,
    StartCondition,
    SubtaskCondition,
    TagCondition,
    TagMatch,
    TextMatch,
)
from delegator.core.timeexpr import Duration
from delegator.core.yamlpos import Path, trace_key

Test = Callable[[Task, EvalContext], bool]
Observe = Callable[[Task, EvalContext], Any]


@dataclass(frozen=True, slots=True, eq=False)
class Check:
    path: str
    kind: str
    text: str
    test: Test
    observe: Observe
    wanted: Any
    children: tuple[Check, ...] = ()
    durations: tuple[Duration, ...] = field(default=())
    condition: Condition | None = None  # what the check was compiled from (core.compiled reads it)


@dataclass(frozen=True, slots=True)
class ConditionTrace:
    """One condition's result for one task: keyed by its path in the file."""

    path: str
    kind: str
    text: str
    matched: bool
    actual: Any
    wanted: Any
    children: tuple[ConditionTrace, ...] = ()

    def failed_leaves(self) -> list[ConditionTrace]:
        if not self.children:
            return [] if self.matched else [self]
        return [leaf for child in self.children for leaf in child.failed_leaves()]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def trace_data(trace: ConditionTrace | None) -> Any:
    """A trace as plain data (JSON): what ``explain --json`` prints, what the journal keeps of
    why a rule took a task, and what the status page shows."""
    if trace is None:
        return None
    out: dict[str, Any] = {
        "path": trace.path,
        "condition": trace.text,
        "matched": trace.matched,
        "actual": _plain(trace.actual),
        "wanted": _plain(trace.wanted),
    }
    if trace.children:
        out["children"] = [trace_data(c) for c in trace.children]
    return out


def explain(check: Check, task: Task, ctx: EvalContext) -> ConditionTrace:
    """Evaluate ``check`` and all of its children, recording actual and wanted values."""
    children = tuple(explain(child, task, ctx) for child in check.children)
    if check.kind == "all":
        matched = all(c.matched for c in children)
        actual: Any = f"{sum(c.matched for c in children)} of {len(children)} hold"
    elif check.kind == "any":
        matched = any(c.matched for c in children)
        actual = f"{sum(c.matched for c in children)} of {len(children)} hold"
    elif check.kind == "not":
        matched = not children[0].matched
        actual = "holds" if children[0].matched else "does not hold"
    else:
        matched = check.test(task, ctx)
        actual = check.observe(task, ctx)
    return ConditionTrace(
        check.path, check.kind, check.text, matched, actual, check.wanted, children
    )


def compile_condition(condition: Condition, path: Path) -> Check:
    return replace(_compile(condition, path), condition=condition)


def _compile(condition: Condition, path: Path) -> Check:
    key = trace_key(path)
    match condition:
        case AllCondition(all=children):
            return _compound("all", children, path, key)
        case AnyCondition(any=children):
            return _compound("any", children, path, key)
        case NotCondition(not_=child):
            return _negation(child, path, key)
        case NameCondition(name=text):
            return _text("name", text, key)
        case NotesCondition(notes=text):
            return _text("notes", text, key)
        case TagCondition(tag=tags):
            return _tag(tags, key)
        case ProjectCondition(project=projects):
            return _project(projects, key)
        case SectionCondition(section=section):
            return _section(section.name, section.project, key)
        case AssigneeCondition(assignee=people):
            return _assignee(people, key)
        case CustomFieldCondition(custom_field=field_match):
            return _custom_field(field_match, key)
        case DueCondition(due=window):
            return _window("due", window, key)
        case StartCondition(start=window):
            return _window("start", window, key)
        case OverdueCondition(overdue=want):
            return _overdue(want, key)
        case CreatedCondition(created=age):
            return _age("created", age, key)
        case ModifiedCondition(modified=age):
            return _age("modified", age, key)
        case CompletedCondition(completed=want):
            return Check(key, "completed", f"completed is {_yes(want)}",
                         lambda t, c: t.completed is want, lambda t, c: t.completed, want)  # fmt: skip
        case SubtaskCondition(subtask=want):
            return Check(key, "subtask", f"subtask is {_yes(want)}",
                         lambda t, c: t.is_subtask is want, lambda t, c: t.is_subtask, want)  # fmt: skip
        case QuadrantCondition(quadrant=wanted):
            quadrants = frozenset(wanted)
            return Check(
                key, "quadrant", f"quadrant in {_list(wanted)}",
                lambda t, c: c.quadrant in quadrants, lambda t, c: c.quadrant, list(wanted),
            )  # fmt: skip
        case _:
            assert_never(condition)


def _yes(value: bool) -> str:
    return "true" if value else "false"


def _list(values: Sequence[object]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _negation(condition: Condition, path: Path, key: str) -> Check:
    child = compile_condition(condition, (*path, "not"))
    inner = child.test
    return Check(key, "not", "not", lambda t, c: not inner(t, c), lambda t, c: None,
                 "the condition does not hold", (child,), child.durations)  # fmt: skip


def _compound(kind: str, conditions: Sequence[Condition], path: Path, key: str) -> Check:
    children = tuple(compile_condition(item, (*path, kind, i)) for i, item in enumerate(conditions))
    tests = tuple(child.test for child in children)
    durations = tuple(d for child in children for d in child.durations)
    if kind == "all":
        return Check(key, "all", "all of", conjunction(tests), lambda t, c: None,
                     "every one holds", children, durations)  # fmt: skip
    return Check(key, "any", "any of", disjunction(tests), lambda t, c: None,
                 "at least one holds", children, durations)  # fmt: skip


# The hot path: combinations of checks are unrolled for the common small sizes, because a
# generator inside all()/any() costs more than the checks themselves.
def conjunction(tests: Sequence[Test]) -> Test:
    """A test that holds when every one of ``tests`` holds (short-circuit, in order)."""
    match tuple(tests):
        case (only,):
            return only
        case (a, b):
            return lambda t, c: a(t, c) and b(t, c)
        case (a, b, d):
            return lambda t, c: a(t, c) and b(t, c) and d(t, c)
        case (a, b, d, e):
            return lambda t, c: a(t, c) and b(t, c) and d(t, c) and e(t, c)
    frozen = tuple(tests)

    def every(t: Task, c: EvalContext) -> bool:
        for test in frozen:  # noqa: SIM110 - a plain loop beats all() with a generator here
            if not test(t, c):
                return False
        return True

    return every


def disjunction(tests: Sequence[Test]) -> Test:
    """A test that holds when at least one of ``tests`` holds (short-circuit, in order)."""
    match tuple(tests):
        case (only,):
            return only
        case (a, b):
            return lambda t, c: a(t, c) or b(t, c)
        case (a, b, d):
            return lambda t, c: a(t, c) or b(t, c) or d(t, c)
        case (a, b, d, e):
            return lambda t, c: a(t, c) or b(t, c) or d(t, c) or e(t, c)
    frozen = tuple(tests)

    def some(t: Task, c: EvalContext) -> bool:
        for test in frozen:  # noqa: SIM110 - a plain loop beats any() with a generator here
            if test(t, c):
                return True
        return False

    return some


def _clip(text: str, size: int = 80) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _text(kind: str, match: TextMatch, key: str) -> Check:
    sensitive = match.case_sensitive
    attr = kind if sensitive else f"{kind}_lower"

    def value(t: Task) -> str:
        text: str = getattr(t, attr)
        return text

    def observe(t: Task, c: EvalContext) -> Any:
        return _clip(getattr(t, kind))

    if match.matches is not None:
        pattern = compile_pattern(match.matches, case_sensitive=sensitive)
        holds = pattern.holds
        return Check(
            key, kind, f'{kind} matches "{match.matches}"',
            (lambda t, c: holds(t.name)) if kind == "name" else (lambda t, c: holds(t.notes)),
            observe,
            f'matches "{match.matches}"',
        )  # fmt: skip
    for operator in ("contains", "equals", "starts_with", "ends_with"):
        words = getattr(match, operator)
        if words is not None:
            break
    else:  # pragma: no cover - the schema requires one operator
        raise AssertionError("text condition without an operator")
    needles = tuple(words) if sensitive else tuple(w.casefold() for w in words)
    shown = words[0] if len(words) == 1 else " or ".join(words)
    wanted = f'{operator.replace("_", " ")} "{shown}"'
    text = f"{kind} {wanted}"
    if operator == "contains":
        test: Test = disjunction([_contains(attr, n) for n in needles])
    elif operator == "equals":
        wanted_set = frozenset(n.strip() for n in needles)
        test = lambda t, c: value(t).strip() in wanted_set  # noqa: E731
    elif operator == "starts_with":
        test = lambda t, c: value(t).startswith(needles)  # noqa: E731
    else:
        test = lambda t, c: value(t).endswith(needles)  # noqa: E731
    return Check(key, kind, text, test, observe, wanted)


def _contains(attr: str, needle: str) -> Test:
    if attr == "name_lower":
        return lambda t, c: needle in t.name_lower
    if attr == "notes_lower":
        return lambda t, c: needle in t.notes_lower
    return lambda t, c: needle in getattr(t, attr)


def _tag(match: TagMatch, key: str) -> Check:
    any_of = frozenset(n.casefold() for n in match.any or ())
    all_of = frozenset(n.casefold() for n in match.all or ())
    none_of = frozenset(n.casefold() for n in match.none or ())
    parts: list[str] = []
    tests: list[Test] = []
    if match.any is not None:
        parts.append(f"any of {_list(match.any)}")
        tests.append(lambda t, c: not any_of.isdisjoint(t.tag_names))
    if match.all is not None:
        parts.append(f"all of {_list(match.all)}")
        tests.append(lambda t, c: all_of <= t.tag_names)
    if match.none is not None:
        parts.append(f"none of {_list(match.none)}")
        tests.append(lambda t, c: none_of.isdisjoint(t.tag_names))
    test = conjunction(tests)
    wanted = " and ".join(parts)
    return Check(key, "tag", f"tag {wanted}", test, lambda t, c: sorted(x.name for x in t.tags),
                 wanted)  # fmt: skip


def _project(keys: list[str], key: str) -> Check:
    wanted_keys = frozenset(k.casefold() for k in keys)

    def test(t: Task, c: EvalContext) -> bool:
        return any_ref(t.projects, wanted_keys)

    wanted = keys[0] if len(keys) == 1 else f"any of {_list(keys)}"
    return Check(key, "project", f"project is {wanted}", test,
                 lambda t, c: [p.name or p.gid for p in t.projects], wanted)  # fmt: skip


def any_ref(refs: Sequence[Ref], folded_keys: frozenset[str]) -> bool:
    """Whether one of ``refs`` has its gid or its folded name among ``folded_keys``."""
    for ref in refs:  # noqa: SIM110 - a plain loop beats any() with a generator here
        if ref.gid in folded_keys or ref.folded in folded_keys:
            return True
    return False


def in_section(memberships: Sequence[Membership], name: str, name_key: str) -> bool:
    """Whether the task is in a section named ``name`` (``name_key`` folded), in any project."""
    for m in memberships:
        section = m.section
        if section is not None and (section.gid == name or section.folded == name_key):
            return True
    return False


def in_section_of(
    memberships: Sequence[Membership], name: str, name_key: str, project: str, project_key: str
) -> bool:
    """Whether the task is in the section ``name`` of the project ``project`` (keys folded)."""
    for m in memberships:
        section = m.section
        if (
            section is not None
            and (section.gid == name or section.folded == name_key)
            and (m.project.gid == project or m.project.folded == project_key)
        ):
            return True
    return False


def _section(name: str, project: str | None, key: str) -> Check:
    # ref_matches, with the rule's side folded once here and the task's once per task (Ref)
    name_key = name.casefold()
    if project is None:

        def test(t: Task, c: EvalContext) -> bool:
            return in_section(t.memberships, name, name_key)

    else:
        within, project_key = project, project.casefold()

        def test(t: Task, c: EvalContext) -> bool:
            return in_section_of(t.memberships, name, name_key, within, project_key)

    wanted = f"{name} in {project}" if project else name
    return Check(
        key, "section", f"section is {wanted}", test,
        lambda t, c: [
            f"{m.section.name or m.section.gid} in {m.project.name or m.project.gid}"
            for m in t.memberships if m.section is not None
        ],
        wanted,
    )  # fmt: skip


def _assignee(specs: list[str], key: str) -> Check:
    def one(spec: str) -> Test:
        if spec == "none":
            return lambda t, c: t.assignee is None
        if spec == "any":
            return lambda t, c: t.assignee is not None
        if spec == "owner":
            return lambda t, c: c.directory.owner.is_user(t.assignee)

        def person(t: Task, c: EvalContext) -> bool:
            who = c.directory.assistants.get(spec)
            return (who or identity_of(spec)).is_user(t.assignee)

        return person

    test = disjunction([one(s) for s in specs])

    def observe(t: Task, c: EvalContext) -> Any:
        if t.assignee is None:
            return "nobody"
        labels = [t.assignee.name or t.assignee.email or t.assignee.gid]
        if c.directory.owner.is_user(t.assignee):
            labels.append("(owner)")
        assistant = c.directory.assistant_of(t.assignee)
        if assistant:
            labels.append(f"(assistant {assistant})")
        return " ".join(labels)

    wanted = specs[0] if len(specs) == 1 else f"any of {_list(specs)}"
    return Check(key, "assignee", f"assignee is {wanted}", test, observe, wanted)


def as_written(expected: object) -> str:
    """A value as the person wrote it: YAML's 1 (read as 1.0) is "1", a date is YYYY-MM-DD."""
    if isinstance(expected, float) and expected.is_integer():
        return str(int(expected))
    if isinstance(expected, date):
        return expected.isoformat()
    return str(expected)


def field_holds(value: FieldValue, expected: object) -> bool:
    """Whether a custom field holds ``expected`` (option names compare ignoring case)."""
    if value.type == "enum":
        return value.enum is not None and value.enum.casefold() == as_written(expected).casefold()
    if value.type == "multi_enum":
        options = {v.casefold() for v in value.multi_enum}
        if isinstance(expected, list):
            return options == {as_written(e).casefold() for e in expected}
        return as_written(expected).casefold() in options
    if value.type == "number":
        if isinstance(expected, str):
            try:
                expected = float(expected)
            except ValueError:
                return False
        if isinstance(expected, bool) or not isinstance(expected, int | float):
            return False
        return value.number is not None and value.number == float(expected)
    if value.type == "date":
        if isinstance(expected, str):
            try:
                expected = date.fromisoformat(expected.strip())
            except ValueError:
                return False
        return value.date is not None and value.date == expected
    shown = value.text if value.text is not None else value.display
    return shown is not None and shown.strip().casefold() == as_written(expected).strip().casefold()


def _order(value: FieldValue) -> float | date | None:
    if value.type == "number":
        return value.number
    if value.type == "date":
        return value.date
    return None


def _custom_field(match: FieldMatch, key: str) -> Check:
    field_key = match.gid or match.name or ""
    checks: list[tuple[str, Callable[[FieldValue | None], bool]]] = []
    if match.is_set is not None:
        want = match.is_set
        checks.append((f"is_set {_yes(want)}", lambda v: (v is not None and v.is_set) is want))
    if match.equals is not None:
        expected = match.equals
        checks.append((f"equals {expected}", lambda v: v is not None and field_holds(v, expected)))
    if match.in_ is not None:
        options = match.in_
        option_keys = frozenset(as_written(o).casefold() for o in options)

        def is_in(v: FieldValue | None) -> bool:
            if v is None:
                return False
            if v.type == "enum":  # the common case, without a loop
                return v.enum_key in option_keys
            return any(field_holds(v, o) for o in options)

        checks.append((f"in {_list(options)}", is_in))
    if match.not_in is not None:
        excluded = match.not_in
        checks.append(
            (
                f"not in {_list(excluded)}",
                lambda v: v is None or not any(field_holds(v, o) for o in excluded),
            )
        )
    for op, symbol in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
        bound = getattr(match, op)
        if bound is not None:
            checks.append((f"{symbol} {bound}", _comparison(op, bound)))
    if match.contains is not None:
        needle = match.contains.casefold()
        checks.append(
            (
                f'contains "{match.contains}"',
                lambda v: (
                    v is not None
                    and (
                        needle in v.multi_keys
                        if v.type == "multi_enum"
                        else needle in str(v.text or v.display or v.enum or "").casefold()
                    )
                ),
            )
        )
    predicates = tuple(p for _, p in checks)
    wanted = " and ".join(text for text, _ in checks)
    lookup = field_key if match.gid else field_key.casefold()

    if len(predicates) == 1:
        [predicate] = predicates

        def test(t: Task, c: EvalContext) -> bool:
            return predicate(t.fields_by_key.get(lookup))

    else:

        def test(t: Task, c: EvalContext) -> bool:
            value = t.fields_by_key.get(lookup)
            return all(p(value) for p in predicates)

    def observe(t: Task, c: EvalContext) -> Any:
        value = t.field(field_key)
        if value is None:
            return "no such field on the task"
        shown = value.value
        return shown if shown not in (None, []) else "not set"

    return Check(key, "custom_field", f'custom field "{field_key}" {wanted}', test, observe, wanted)


def _comparison(op: str, bound: float | date) -> Callable[[FieldValue | None], bool]:
    def compare(v: FieldValue | None) -> bool:
        if v is None:
            return False
        current = _order(v)
        if current is None or isinstance(current, date) != isinstance(bound, date):
            return False
        left: Any = current
        right: Any = bound
        if not isinstance(current, date):
            left, right = float(current), float(bound)  # type: ignore[arg-type]
        match op:
            case "gt":
                return bool(left > right)
            case "gte":
                return bool(left >= right)
            case "lt":
                return bool(left < right)
            case _:
                return bool(left <= right)

    return compare


def _window(kind: str, window: DateWindow, key: str) -> Check:
    day_attr, time_attr = ("due_on", "due_at") if kind == "due" else ("start_on", "start_at")

    def moment(t: Task) -> tuple[date | None, datetime | None]:
        at: datetime | None = getattr(t, time_attr)
        on: date | None = getattr(t, day_attr)
        if on is None and at is not None:
            on = at.date()
        return on, at

    tests: list[Test] = []
    parts: list[str] = []
    durations: list[Duration] = []
    if window.none is not None:
        want_none = window.none
        parts.append("none" if want_none else "is set")
        tests.append(lambda t, c: (moment(t)[0] is None) is want_none)
    if window.within is not None:
        span = window.within
        durations.append(span)
        parts.append(f"within {span}")

        def within(t: Task, c: EvalContext) -> bool:
            on, at = moment(t)
            if on is None:
                return False
            limit_at, limit_on = c.ahead[span]
            if at is not None and not span.is_calendar:
                return c.now <= at.astimezone(c.tz) <= limit_at
            return c.today <= (at.astimezone(c.tz).date() if at else on) <= limit_on

        tests.append(within)
    for op in ("before", "after"):
        bound = getattr(window, op)
        if bound is None:
            continue
        parts.append(f"{op} {bound}")
        if isinstance(bound, Duration):
            durations.append(bound)
        tests.append(_bound_test(op, bound, moment))
    wanted = " and ".join(parts)
    test = conjunction(tests)

    def observe(t: Task, c: EvalContext) -> Any:
        on, at = moment(t)
        if at is not None:
            return at.astimezone(c.tz).isoformat(timespec="minutes")
        return on.isoformat() if on else "no date"

    return Check(key, kind, f"{kind} {wanted}", test, observe, wanted, (), tuple(durations))


def _bound_test(
    op: str,
    bound: date | Duration,
    moment: Callable[[Task], tuple[date | None, datetime | None]],
) -> Test:
    def test(t: Task, c: EvalContext) -> bool:
        on, at = moment(t)
        if on is None:
            return False
        if isinstance(bound, Duration):
            limit_at, limit_on = c.ahead[bound]
            if at is not None and not bound.is_calendar:
                return at < limit_at if op == "before" else at > limit_at
            day = at.astimezone(c.tz).date() if at is not None else on
            return day < limit_on if op == "before" else day > limit_on
        day = at.astimezone(c.tz).date() if at is not None else on
        return day < bound if op == "before" else day > bound

    return test


def is_overdue(t: Task, c: EvalContext) -> bool:
    """Past its due time (due_at) or its due day (due_on) and not completed."""
    if t.completed:
        return False
    if t.due_at is not None:
        return t.due_at < c.now
    return t.due_on is not None and t.due_on < c.today


def _overdue(want: bool, key: str) -> Check:
    def observe(t: Task, c: EvalContext) -> Any:
        if t.due_at is not None:
            return f"due {t.due_at.astimezone(c.tz).isoformat(timespec='minutes')}"
        return f"due {t.due_on}" if t.due_on else "no due date"

    return Check(key, "overdue", f"overdue is {_yes(want)}",
                 lambda t, c: is_overdue(t, c) is want, observe, want)  # fmt: skip


def _age(kind: str, age: Age, key: str) -> Check:
    attr = "created_at" if kind == "created" else "modified_at"
    tests: list[Test] = []
    parts: list[str] = []
    durations: list[Duration] = []
    if age.older_than is not None:
        older = age.older_than
        durations.append(older)
        parts.append(f"older than {older}")

        def older_test(t: Task, c: EvalContext) -> bool:
            moment: datetime | None = getattr(t, attr)
            return moment is not None and moment < c.ago[older]

        tests.append(older_test)
    if age.newer_than is not None:
        newer = age.newer_than
        durations.append(newer)
        parts.append(f"newer than {newer}")

        def newer_test(t: Task, c: EvalContext) -> bool:
            moment: datetime | None = getattr(t, attr)
            return moment is not None and moment >= c.ago[newer]

        tests.append(newer_test)
    test = conjunction(tests)
    wanted = " and ".join(parts)

    def observe(t: Task, c: EvalContext) -> Any:
        moment: datetime | None = getattr(t, attr)
        return moment.astimezone(c.tz).isoformat(timespec="minutes") if moment else "unknown"

    return Check(key, kind, f"{kind} {wanted}", test, observe, wanted, (), tuple(durations))
