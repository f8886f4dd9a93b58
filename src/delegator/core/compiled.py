"""The decide path: a client's matrix and rules compiled once into one generated Python function.

``Engine.decide`` runs for every task of every cycle. The conditions exist twice, built from the
same parsed file: as checks (``core.conditions``), which ``explain`` walks to show each condition
with its actual and wanted values, and as the Python source written here, which ``decide`` runs.
The tests hold the two to the same verdict on random tasks and rule trees
(tests/unit/test_compiled_rules.py, tests/unit/test_decide_explain_agree.py).

Why source rather than closures: in CPython a function call costs more than most conditions
themselves (a tag lookup, a substring test), and a tree of closures pays at least one call per
node. Generated source makes each rule one expression: ``all``/``any``/``not`` become ``and``/
``or``/``not`` in bytecode, short-circuiting without a call; the task attributes that several
conditions read are loaded once into locals; the context's values (now, today, the window
bounds, the owner) are bound once per context as closure cells (``bind``); the matrix and the
walk over the rules are straight code, ending in the ``Decision``. The price is this module:
each condition kind is written a second time, as code, next to its closure in conditions.py.

No text from a client file ever becomes source. Every value a rule names (words, tags, names,
patterns, dates, bounds) is put in the generated module's namespace under a made-up name
(``_k0``, ``_k1``...); the source is made of those names and fixed code only, and its builtins
are the three it calls. A condition nested deeper than ``MAX_INLINE_DEPTH`` is called as its
check's ``test``, which keeps the generated expressions far from the parser's nesting limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, assert_never

from delegator.core.conditions import (
    Check,
    any_ref,
    as_written,
    field_holds,
    in_section,
    in_section_of,
)
from delegator.core.context import EvalContext, identity_of
from delegator.core.model import FieldValue, Task
from delegator.core.regex import compile_pattern
from delegator.core.schema import (
    Age,
    AllCondition,
    AnyCondition,
    AssigneeCondition,
    CompletedCondition,
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

MAX_INLINE_DEPTH = 24  # deeper conditions are called as closures

# The only builtins the generated code may use.
_BUILTINS = {"len": len, "float": float, "str": str}

Decide = Callable[[Task, Any], Any]  # (task, memory) -> Decision, for one bound context


@dataclass(frozen=True, slots=True)
class RuleCode:
    """What the generated walk needs of one rule."""

    when: Check
    open_only: bool  # not tried on completed tasks
    stops: bool  # a match ends the walk (neither continue nor shadow)
    outcome: Callable[[Task, EvalContext, Any], Any]  # (task, context, memory) -> RuleOutcome


@dataclass(frozen=True, slots=True)
class Program:
    """The generated source, and ``bind(ctx)``: the decide function for one evaluation context."""

    source: str
    bind: Callable[[EvalContext], Decide]


def compile_program(
    urgent: Check,
    important: Check,
    rules: Sequence[RuleCode],
    *,
    opt_out_tag: str,
    respect_overrides: bool,
    decision: Callable[..., Any],
    skip_reason: Callable[[Task, Any], str | None],
) -> Program:
    """The matrix and the rules as one function of (task, memory) -> ``decision(...)``.

    It mirrors ``Engine._walk``: the quadrant first; a task tagged ``opt_out_tag`` (folded) or,
    when overrides are respected, one a person took back is skipped with ``skip_reason``; then
    the rules in order, open-only ones not tried on completed tasks, each match's
    ``outcome`` collected until a rule that ``stops`` matches.
    """
    w = _Writer()
    u = w.expr(urgent, in_matrix=True)
    i = w.expr(important, in_matrix=True)
    opt = w.const(opt_out_tag)
    tags = w.task("tag_names")
    decide = w.const(decision)
    skip = w.const(skip_reason)
    body = [
        f"u = True if {u} else False",
        f"i = True if {i} else False",
        'q = ("do" if i else "delegate") if u else ("schedule" if i else "eliminate")',
        "c.quadrant = q",
        f"if {opt} in {tags}" + (" or m.override is not None:" if respect_overrides else ":"),
        f"    return {decide}(t, q, u, i, {skip}(t, m))",
    ]
    # Runs of open-only rules sit in one "if not completed:" block; ``hits`` collects the
    # outcomes once a rule that does not end the walk comes (set before the block it is in).
    collecting = False
    block: int | None = None  # where the open block starts in ``body``
    for rule in rules:
        if rule.open_only and block is None:
            block = len(body)
            body.append(f"if not {w.task('completed')}:")
        elif not rule.open_only:
            block = None
        pad = "    " if block is not None else ""
        if not rule.stops and not collecting:
            body.insert(len(body) if block is None else block, "hits = ()")
            collecting = True
        outcome = f"{w.const(rule.outcome)}(t, c, m)"
        body.append(f"{pad}if {w.expr(rule.when)}:")
        if not rule.stops:
            body.append(f"{pad}    hits += ({outcome},)")
        elif collecting:
            body.append(f"{pad}    return {decide}(t, q, u, i, None, hits + ({outcome},))")
        else:
            body.append(f"{pad}    return {decide}(t, q, u, i, None, ({outcome},))")
    body.append(f"return {decide}(t, q, u, i, None, hits)" if collecting else
                f"return {decide}(t, q, u, i)")  # fmt: skip
    source = w.module(body)
    namespace = w.namespace
    exec(compile(source, "<delegator: compiled rules>", "exec"), namespace)  # noqa: S102 - see the module's docstring
    return Program(source, namespace["bind"])


# ----------------------------------------------------------------------------- the writer

# A task attribute, and one encoded to UTF-8: resolved once the whole body is written.
_MARK = re.compile("\x00([a-z_]+)\x00")
_UTF8 = re.compile("\x01([a-z_]+)\x01")


class _Writer:
    """Builds the generated module: its namespace of constants, the context's values, the body."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"__builtins__": _BUILTINS}
        self._bound: dict[tuple[str, object], str] = {}
        self._bind_lines: list[str] = []
        self._fresh = 0

    # --- names

    def const(self, value: object) -> str:
        """A value from the file (or a function) bound in the namespace, never written as code."""
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def local(self, prefix: str) -> str:
        self._fresh += 1
        return f"{prefix}{self._fresh}"

    def task(self, attr: str) -> str:
        """A task attribute: a local when the code reads it more than once, else read in place."""
        return f"\x00{attr}\x00"

    def utf8(self, attr: str) -> str:
        """The task's ``attr`` (a str) encoded to UTF-8, at most once per task."""
        return f"\x01{attr}\x01"

    def ctx(self, key: tuple[str, object], value: Callable[[], str]) -> str:
        """A value of the context (the code ``value()`` of ``c``), computed once per context."""
        found = self._bound.get(key)
        if found is None:
            found = self._bound[key] = self.local("x")
            self._bind_lines.append(f"{found} = {value()}")
        return found

    def now(self) -> str:
        return self.ctx(("now", None), lambda: "c.now")

    def today(self) -> str:
        return self.ctx(("today", None), lambda: "c.today")

    def tz(self) -> str:
        return self.ctx(("tz", None), lambda: "c.tz")

    def ahead(self, span: Duration) -> tuple[str, str]:
        """``now + span`` as an instant and as a day (``EvalContext.bounds``)."""
        pair = self.ctx(("ahead", span), lambda: f"c.bounds({self.const(span)})")
        at = self.ctx(("ahead_at", span), lambda: f"{pair}[0]")
        on = self.ctx(("ahead_on", span), lambda: f"{pair}[1]")
        return at, on

    def ago(self, span: Duration) -> str:
        return self.ctx(("ago", span), lambda: f"c.since({self.const(span)})")

    def person(self, spec: str) -> str:
        """``is_user`` of the person an assignee spec names (``owner``, an assistant key...)."""
        if spec == "owner":
            return self.ctx(("owner", None), lambda: "c.directory.owner.is_user")
        # An assistant key, else an email or a gid, resolved as the check resolves it.
        key, fallback = self.const(spec), self.const(identity_of(spec))
        return self.ctx(
            ("person", spec), lambda: f"(c.directory.assistants.get({key}) or {fallback}).is_user"
        )

    # --- the module

    def module(self, body: list[str]) -> str:
        """The source: ``bind(c)`` computing the context's values and returning ``decide``."""
        text = "\n".join(body)
        head: list[str] = []
        encoded: dict[str, str] = {}
        for attr in sorted(set(_UTF8.findall(text))):
            if len(re.findall(f"\x01{attr}\x01", text)) == 1:
                encoded[attr] = f"t.{attr}.encode()"
            else:  # by the first pattern that reads it
                name = f"t_{attr}_utf8"
                head.append(f"{name} = None")
                encoded[attr] = f"({name} if {name} is not None else ({name} := t.{attr}.encode()))"
        text = _UTF8.sub(lambda m: encoded[m.group(1)], text)
        uses: dict[str, int] = {}
        for attr in _MARK.findall(text):
            uses[attr] = uses.get(attr, 0) + 1
        text = _MARK.sub(
            lambda m: f"t_{m.group(1)}" if uses[m.group(1)] > 1 else f"t.{m.group(1)}", text
        )
        hoisted = [f"t_{attr} = t.{attr}" for attr in sorted(uses) if uses[attr] > 1]
        lines = ["def bind(c):"]
        lines += [f"    {line}" for line in self._bind_lines]
        lines.append("    def decide(t, m):")
        lines += [f"        {line}" for line in [*hoisted, *head, *text.split("\n")]]
        lines.append("    return decide")
        return "\n".join(lines) + "\n"

    # --- conditions

    def expr(self, check: Check, depth: int = 0, *, in_matrix: bool = False) -> str:
        """``check`` as a Python expression of ``t`` (and ``q``, the quadrant) that is a bool."""
        condition = check.condition
        if condition is None or depth > MAX_INLINE_DEPTH:
            return f"{self.const(check.test)}(t, c)"
        match condition:
            case AllCondition():
                inner = [self.expr(ch, depth + 1, in_matrix=in_matrix) for ch in check.children]
                return inner[0] if len(inner) == 1 else "(" + " and ".join(inner) + ")"
            case AnyCondition():
                inner = [self.expr(ch, depth + 1, in_matrix=in_matrix) for ch in check.children]
                return inner[0] if len(inner) == 1 else "(" + " or ".join(inner) + ")"
            case NotCondition():
                return f"(not {self.expr(check.children[0], depth + 1, in_matrix=in_matrix)})"
            case NameCondition(name=text):
                return self._text("name", text)
            case NotesCondition(notes=text):
                return self._text("notes", text)
            case TagCondition(tag=tags):
                return self._tag(tags)
            case ProjectCondition(project=keys):
                folded = frozenset(k.casefold() for k in keys)
                return f"{self.const(any_ref)}({self.task('projects')}, {self.const(folded)})"
            case SectionCondition(section=section):
                return self._section(section.name, section.project)
            case AssigneeCondition(assignee=people):
                return self._assignee(people)
            case CustomFieldCondition(custom_field=field_match):
                return self._custom_field(field_match)
            case DueCondition(due=window):
                return self._window("due", window)
            case StartCondition(start=window):
                return self._window("start", window)
            case OverdueCondition(overdue=want):
                return self._overdue() if want else f"(not {self._overdue()})"
            case CreatedCondition(created=age):
                return self._age("created_at", age)
            case ModifiedCondition(modified=age):
                return self._age("modified_at", age)
            case CompletedCondition(completed=want):
                return f"({self.task('completed')} is {want})"  # True or False
            case SubtaskCondition(subtask=want):
                return f"({self.task('parent')} is {'not ' if want else ''}None)"
            case QuadrantCondition(quadrant=wanted):
                # The matrix cannot name quadrants (the file is refused); read as the checks do.
                current = "c.quadrant" if in_matrix else "q"
                return f"({current} in {self.const(frozenset(wanted))})"
            case _:
                assert_never(condition)

    def _text(self, kind: str, match: TextMatch) -> str:
        sensitive = match.case_sensitive
        if match.matches is not None:  # on the text as written; the pattern carries (?i:)
            pattern = compile_pattern(match.matches, case_sensitive=sensitive)
            if pattern.matcher is None:
                return f"{self.const(pattern.holds)}({self.task(kind)})"
            run, anchor, null = (self.const(x) for x in pattern.matcher)
            data = self.local("b")
            return f"({run}({anchor}, ({data} := {self.utf8(kind)}), 0, len({data}))[0] != {null})"
        for operator in ("contains", "equals", "starts_with", "ends_with"):
            words = getattr(match, operator)
            if words is not None:
                break
        else:  # pragma: no cover - the schema requires one operator
            raise AssertionError("text condition without an operator")
        needles = tuple(words) if sensitive else tuple(w.casefold() for w in words)
        value = self.task(kind if sensitive else f"{kind}_lower")
        if operator == "contains":
            parts = [f"{self.const(n)} in {value}" for n in needles]
            return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"
        if operator == "equals":
            return f"({value}.strip() in {self.const(frozenset(n.strip() for n in needles))})"
        method = "startswith" if operator == "starts_with" else "endswith"
        return f"{value}.{method}({self.const(needles)})"

    def _tag(self, match: TagMatch) -> str:
        names = self.task("tag_names")
        parts: list[str] = []
        if match.any is not None:
            keys = frozenset(n.casefold() for n in match.any)
            if len(keys) == 1:
                parts.append(f"({self.const(next(iter(keys)))} in {names})")
            else:
                parts.append(f"(not {self.const(keys)}.isdisjoint({names}))")
        if match.all is not None:
            keys = frozenset(n.casefold() for n in match.all)
            parts.append(f"({self.const(keys)} <= {names})")
        if match.none is not None:
            keys = frozenset(n.casefold() for n in match.none)
            if len(keys) == 1:
                parts.append(f"({self.const(next(iter(keys)))} not in {names})")
            else:
                parts.append(f"{self.const(keys)}.isdisjoint({names})")
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def _section(self, name: str, project: str | None) -> str:
        memberships = self.task("memberships")
        named = f"{self.const(name)}, {self.const(name.casefold())}"
        if project is None:
            return f"{self.const(in_section)}({memberships}, {named})"
        within = f"{self.const(project)}, {self.const(project.casefold())}"
        return f"{self.const(in_section_of)}({memberships}, {named}, {within})"

    def _assignee(self, specs: list[str]) -> str:
        parts: list[str] = []
        for spec in specs:
            who = self.task("assignee")
            if spec == "none":
                parts.append(f"({who} is None)")
            elif spec == "any":
                parts.append(f"({who} is not None)")
            else:
                parts.append(f"{self.person(spec)}({who})")
        return parts[0] if len(parts) == 1 else "(" + " or ".join(parts) + ")"

    def _custom_field(self, match: FieldMatch) -> str:
        """The field's checks on ``v``, the task's value of the field (None when it has none)."""
        v = self.local("v")
        parts: list[tuple[str, bool]] = []  # (test of a value that is there, result when absent)
        if match.is_set is not None:
            parts.append((f"{v}.is_set" if match.is_set else f"(not {v}.is_set)", not match.is_set))
        if match.equals is not None:
            expected = self.const(match.equals)
            parts.append((f"{self.const(field_holds)}({v}, {expected})", False))
        if match.in_ is not None:
            options = tuple(match.in_)
            keys = self.const(frozenset(as_written(o).casefold() for o in options))
            holds_one = self.const(_holds_one_of(options))
            parts.append((f"({v}.enum_key in {keys} if {v}.type == 'enum' else {holds_one}({v}))",
                          False))  # fmt: skip
        if match.not_in is not None:
            parts.append((f"(not {self.const(_holds_one_of(tuple(match.not_in)))}({v}))", True))
        for op, symbol in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
            bound = getattr(match, op)
            if bound is None:
                continue
            if isinstance(bound, date):
                limit = self.const(bound)
                parts.append((f"({v}.type == 'date' and {v}.date is not None "
                               f"and {v}.date {symbol} {limit})", False))  # fmt: skip
            else:
                limit = self.const(float(bound))
                parts.append((f"({v}.type == 'number' and {v}.number is not None "
                               f"and float({v}.number) {symbol} {limit})", False))  # fmt: skip
        if match.contains is not None:
            needle = self.const(match.contains.casefold())
            shown = f"str({v}.text or {v}.display or {v}.enum or '').casefold()"
            parts.append((f"({needle} in {v}.multi_keys if {v}.type == 'multi_enum' "
                           f"else {needle} in {shown})", False))  # fmt: skip
        key = (match.gid or match.name or "") if match.gid else (match.name or "").casefold()
        lookup = f"({v} := {self.task('fields_by_key')}.get({self.const(key)}))"
        tests = " and ".join(test for test, _ in parts)
        if all(absent for _, absent in parts):
            return f"({lookup} is None or ({tests}))"
        return f"({lookup} is not None and {tests})"

    def _window(self, kind: str, window: DateWindow) -> str:
        on = self.task(f"{kind}_on")
        at = self.task(f"{kind}_at")
        parts: list[str] = []
        if window.none is not None:
            parts.append(f"({on} is None and {at} is None)" if window.none
                         else f"({on} is not None or {at} is not None)")  # fmt: skip
        if window.within is not None:
            span = window.within
            limit_at, limit_on = self.ahead(span)
            today = self.today()
            if span.is_calendar:
                timed = f"{today} <= {at}.astimezone({self.tz()}).date() <= {limit_on}"
            else:
                timed = f"{self.now()} <= {at}.astimezone({self.tz()}) <= {limit_at}"
            parts.append(f"(({on} is not None and {today} <= {on} <= {limit_on}) "
                         f"if {at} is None else ({timed}))")  # fmt: skip
        for op, symbol in (("before", "<"), ("after", ">")):
            bound = getattr(window, op)
            if bound is None:
                continue
            if isinstance(bound, Duration):
                limit_at, limit_on = self.ahead(bound)
                if bound.is_calendar:
                    timed = f"{at}.astimezone({self.tz()}).date() {symbol} {limit_on}"
                else:
                    timed = f"{at} {symbol} {limit_at}"
                day_limit = limit_on
            else:
                day_limit = self.const(bound)
                timed = f"{at}.astimezone({self.tz()}).date() {symbol} {day_limit}"
            parts.append(f"(({on} is not None and {on} {symbol} {day_limit}) "
                         f"if {at} is None else ({timed}))")  # fmt: skip
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"

    def _overdue(self) -> str:
        on, at = self.task("due_on"), self.task("due_at")
        return (
            f"(not {self.task('completed')} and (({at} < {self.now()}) if {at} is not None "
            f"else ({on} is not None and {on} < {self.today()})))"
        )

    def _age(self, attr: str, age: Age) -> str:
        parts: list[str] = []
        if age.older_than is not None:
            moment = self.task(attr)
            parts.append(f"({moment} is not None and {moment} < {self.ago(age.older_than)})")
        if age.newer_than is not None:
            moment = self.task(attr)
            parts.append(f"({moment} is not None and {moment} >= {self.ago(age.newer_than)})")
        return parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"


def _holds_one_of(options: tuple[object, ...]) -> Callable[[FieldValue], bool]:
    def holds(value: FieldValue) -> bool:
        return any(field_holds(value, o) for o in options)

    return holds
