"""Conditions as formulas, and a conservative proof that a set of them cannot hold together.

A rule's ``when`` becomes a formula in negation normal form: ``And`` and ``Or`` of literals, a
literal being an atom (one elementary fact about a task: "the name contains 'inv'", "the task
has the tag urgent", "the due day is before 2026-12-01") or its negation. ``refute`` searches
for a reason why a conjunction of formulas can hold for no task: it collects literals, splits on
each ``Or`` (a branch per alternative) and stops at the first pair of literals that cannot hold
together. It is sound and incomplete: it answers with a reason only when certain, and gives up
(answers nothing) past its budget or on anything it does not understand (a regular expression
is only ever equal to itself).

Everything the static analysis proves is built on it: a condition never holds (refute it),
always holds (refute its negation), one condition implies another (refute ``A and not B``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import assert_never

from delegator.core.conditions import as_written
from delegator.core.context import Identity, identity_of
from delegator.core.regex import compile_pattern
from delegator.core.schema import (
    QUADRANTS,
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
    TextMatch,
)
from delegator.core.timeexpr import Duration

# ----------------------------------------------------------------------------- atoms


@dataclass(frozen=True, slots=True)
class Text:
    """The task's name or notes, compared as the engine does (folded unless case-sensitive)."""

    attr: str  # name, notes
    op: str  # contains, equals, starts_with, ends_with, matches
    value: str  # folded unless sensitive; stripped for equals
    sensitive: bool
    written: str = field(compare=False)

    def describe(self) -> str:
        verb = {"starts_with": "starts with", "ends_with": "ends with"}.get(self.op, self.op)
        return f'{self.attr} {verb} "{self.written}"'


@dataclass(frozen=True, slots=True)
class HasTag:
    name: str  # folded
    written: str = field(compare=False)

    def describe(self) -> str:
        return f"has the tag {self.written}"


@dataclass(frozen=True, slots=True)
class InProject:
    key: str  # folded name or gid
    written: str = field(compare=False)

    def describe(self) -> str:
        return f"is in the project {self.written}"


@dataclass(frozen=True, slots=True)
class InSection:
    name: str  # folded, but for a gid (digits, as Asana's gids are)
    project: str | None
    written: str = field(compare=False)

    def describe(self) -> str:
        where = f" of the project {self.project}" if self.project else ""
        return f"is in the section {self.written}{where}"


@dataclass(frozen=True, slots=True)
class Assigned:
    """Assigned to the person a rule names (``who``, as written), or to nobody.

    ``person`` is who that is as far as the file tells (an email or a gid as written, or
    unknown): two people are certainly different only when both are emails, or both gids.
    """

    who: tuple[str, str]  # ("none", ""), ("owner", ""), ("assistant", key), ("user", spec)
    person: tuple[str, str] = field(compare=False)  # ("email", x), ("gid", g), ("unknown", "")
    written: str = field(compare=False)

    def describe(self) -> str:
        if self.who[0] == "none":
            return "is assigned to nobody"
        return f"is assigned to {self.written}"


@dataclass(frozen=True, slots=True)
class Field:
    """One operator of a custom field condition, on the field named by ``key``."""

    key: str  # folded name, or gid
    op: str  # equals, set, gt, gte, lt, lte, contains
    value: object  # normalized: see _field_value
    written: str = field(compare=False)

    def describe(self) -> str:
        return f'custom field "{self.written}"'


@dataclass(frozen=True, slots=True)
class Window:
    """A due (or start) date: ``none`` (not set), ``within``, ``before`` or ``after``."""

    kind: str  # due, start
    op: str
    bound: Duration | date | None

    def describe(self) -> str:
        if self.op == "none":
            return f"has no {self.kind} date"
        return f"{self.kind} {self.op} {self.bound}"


@dataclass(frozen=True, slots=True)
class Aged:
    kind: str  # created, modified
    op: str  # older, newer
    span: Duration

    def describe(self) -> str:
        return f"{self.kind} {self.op} than {self.span}"


@dataclass(frozen=True, slots=True)
class Flag:
    """A yes-or-no fact: overdue, completed, subtask."""

    name: str

    def describe(self) -> str:
        return {"overdue": "is overdue", "completed": "is completed"}.get(self.name, "is a subtask")


@dataclass(frozen=True, slots=True)
class InQuadrant:
    quadrant: str

    def describe(self) -> str:
        return f"is in the {self.quadrant} quadrant"


Atom = Text | HasTag | InProject | InSection | Assigned | Field | Window | Aged | Flag | InQuadrant


# ----------------------------------------------------------------------------- formulas


@dataclass(frozen=True, slots=True)
class Lit:
    atom: Atom
    positive: bool = True

    def negated(self) -> Lit:
        return Lit(self.atom, not self.positive)

    def describe(self) -> str:
        text = self.atom.describe()
        return text if self.positive else f"not ({text})"


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Formula, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Formula, ...]


Formula = Lit | And | Or
TRUE: Formula = And(())
FALSE: Formula = Or(())


def conj(*items: Formula) -> Formula:
    flat = tuple(x for i in items for x in (i.items if isinstance(i, And) else (i,)))
    return flat[0] if len(flat) == 1 else And(flat)


def disj(*items: Formula) -> Formula:
    flat = tuple(x for i in items for x in (i.items if isinstance(i, Or) else (i,)))
    return flat[0] if len(flat) == 1 else Or(flat)


def negate(formula: Formula) -> Formula:
    match formula:
        case Lit():
            return formula.negated()
        case And(items=items):
            return Or(tuple(negate(i) for i in items))
        case Or(items=items):
            return And(tuple(negate(i) for i in items))
        case _:
            assert_never(formula)


@dataclass(frozen=True, slots=True)
class People:
    """Who the file's words name: the owner and each assistant, as far as the file says."""

    owner: str  # client.owner: me, an email or a gid
    assistants: dict[str, str]  # key -> user (email or gid)

    def atom(self, spec: str) -> Assigned:
        if spec == "none":
            return Assigned(("none", ""), ("none", ""), "nobody")
        if spec == "owner":
            known = _identity_key(identity_of(self.owner)) if self.owner != "me" else None
            return Assigned(("owner", ""), known or ("unknown", ""), "the owner")
        if spec in self.assistants:
            person = _identity_key(identity_of(self.assistants[spec]))
            return Assigned(("assistant", spec), person, spec)
        return Assigned(("user", spec.lower()), _identity_key(identity_of(spec)), spec)


def _identity_key(identity: Identity) -> tuple[str, str]:
    return ("email", identity.email) if identity.email else ("gid", identity.gid)


def formula_of(condition: Condition, people: People) -> Formula:
    """The formula that holds exactly when ``condition`` does (as ``core.conditions`` tests it)."""
    match condition:
        case AllCondition(all=children):
            return conj(*(formula_of(c, people) for c in children))
        case AnyCondition(any=children):
            return disj(*(formula_of(c, people) for c in children))
        case NotCondition(not_=child):
            return negate(formula_of(child, people))
        case NameCondition(name=text):
            return _text("name", text)
        case NotesCondition(notes=text):
            return _text("notes", text)
        case TagCondition(tag=tags):
            parts: list[Formula] = []
            if tags.any is not None:
                parts.append(disj(*(Lit(HasTag(n.casefold(), n)) for n in tags.any)))
            if tags.all is not None:
                parts.extend(Lit(HasTag(n.casefold(), n)) for n in tags.all)
            if tags.none is not None:
                parts.extend(Lit(HasTag(n.casefold(), n), False) for n in tags.none)
            return conj(*parts)
        case ProjectCondition(project=projects):
            return disj(*(Lit(InProject(p.casefold(), p)) for p in projects))
        case SectionCondition(section=section):
            name, project = section.name, section.project
            return Lit(InSection(_folded(name), _folded(project) if project else None, name))
        case AssigneeCondition(assignee=specs):
            alternatives: list[Formula] = []
            for spec in specs:
                if spec == "any":
                    alternatives.append(Lit(people.atom("none"), False))
                else:
                    alternatives.append(Lit(people.atom(spec)))
            return disj(*alternatives)
        case CustomFieldCondition(custom_field=match):
            return _field(match)
        case DueCondition(due=window):
            return _window("due", window)
        case StartCondition(start=window):
            return _window("start", window)
        case OverdueCondition(overdue=want):
            return Lit(Flag("overdue"), want)
        case CreatedCondition(created=age):
            return _age("created", age)
        case ModifiedCondition(modified=age):
            return _age("modified", age)
        case CompletedCondition(completed=want):
            return Lit(Flag("completed"), want)
        case SubtaskCondition(subtask=want):
            return Lit(Flag("subtask"), want)
        case QuadrantCondition(quadrant=wanted):
            return disj(*(Lit(InQuadrant(q)) for q in dict.fromkeys(wanted)))
        case _:
            assert_never(condition)


def _folded(key: str) -> str:
    """A name as the engine compares it (folded); a gid as written."""
    return key if key.isdigit() else key.casefold()


def _text(attr: str, match: TextMatch) -> Formula:
    sensitive = match.case_sensitive
    if match.matches is not None:
        return Lit(Text(attr, "matches", match.matches, sensitive, match.matches))
    for op in ("contains", "equals", "starts_with", "ends_with"):
        words: list[str] | None = getattr(match, op)
        if words is not None:
            break
    else:  # pragma: no cover - the schema requires one operator
        return TRUE
    lits: list[Formula] = []
    for word in words:
        value = word if sensitive else word.casefold()
        if op == "equals":
            value = value.strip()
        lits.append(Lit(Text(attr, op, value, sensitive, word)))
    return disj(*lits)


def field_value(value: object) -> object:
    """What ``field_holds`` compares: the text as written (folded), lists kept apart."""
    if isinstance(value, list):
        return ("list", as_written(value).casefold())
    return ("one", as_written(value).casefold())


def _field(match: FieldMatch) -> Formula:
    key = match.gid if match.gid is not None else (match.name or "").casefold()
    shown = match.gid or match.name or ""
    parts: list[Formula] = []

    def lit(op: str, value: object, text: str, positive: bool = True) -> Lit:
        return Lit(Field(key, op, value, f"{shown}" + (f" {text}" if text else "")), positive)

    if match.is_set is not None:
        parts.append(lit("set", None, "is set", match.is_set))
    if match.equals is not None:
        parts.append(lit("equals", field_value(match.equals), f"equals {match.equals}"))
    if match.in_ is not None:
        parts.append(
            disj(*(lit("equals", field_value(v), f"equals {as_written(v)}") for v in match.in_))
        )
    if match.not_in is not None:
        parts.extend(
            lit("equals", field_value(v), f"equals {as_written(v)}", False) for v in match.not_in
        )
    for op, symbol in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
        bound = getattr(match, op)
        if bound is not None:
            parts.append(lit(op, bound, f"{symbol} {as_written(bound)}"))
    if match.contains is not None:
        parts.append(lit("contains", match.contains.casefold(), f'contains "{match.contains}"'))
    return conj(*parts)


def _window(kind: str, window: DateWindow) -> Formula:
    if window.none is not None:
        return Lit(Window(kind, "none", None), window.none)
    parts: list[Formula] = []
    for op in ("within", "before", "after"):
        bound = getattr(window, op)
        if bound is not None:
            parts.append(Lit(Window(kind, op, bound)))
    return conj(*parts)


def _age(kind: str, age: Age) -> Formula:
    parts: list[Formula] = []
    if age.older_than is not None:
        parts.append(Lit(Aged(kind, "older", age.older_than)))
    if age.newer_than is not None:
        parts.append(Lit(Aged(kind, "newer", age.newer_than)))
    return conj(*parts)


# ----------------------------------------------------------------------------- atom relations


def implies(p: Atom, q: Atom) -> bool:
    """Whether every task for which ``p`` holds is certain to satisfy ``q`` too."""
    if p == q:
        return True
    match p, q:
        case Text(), Text():
            return _text_implies(p, q)
        case InSection(), InSection():
            return q.project is None and p.name == q.name
        case Field(), Field():
            return _field_implies(p, q)
        case Window(), Window():
            return _window_implies(p, q)
        case Aged(), Aged():
            return _aged_implies(p, q)
        case _:
            return False


def exclusive(p: Atom, q: Atom) -> bool:
    """Whether ``p`` and ``q`` can never hold for the same task."""
    return _exclusive(p, q) or _exclusive(q, p)


def _exclusive(p: Atom, q: Atom) -> bool:
    match p, q:
        case Text(), Text():
            return _text_exclusive(p, q)
        case Assigned(), Assigned():
            return p.who != q.who and _different_people(p.person, q.person)
        case Field(), Field():
            return _field_exclusive(p, q)
        case Window(), Window():
            return _window_exclusive(p, q)
        case Aged(), Aged():
            return (
                p.kind == q.kind
                and p.op == "older"
                and q.op == "newer"
                and _span_order(q.span, p.span) in ("<", "=")
            )
        case Flag(name="overdue"), Flag(name="completed"):
            return True
        case Flag(name="overdue"), Window(kind="due"):
            return q.op == "none" or (
                isinstance(q.bound, Duration)
                and (q.op == "after" or (q.op == "within" and not q.bound.is_calendar))
            )
        case InQuadrant(), InQuadrant():
            return p.quadrant != q.quadrant
        case _:
            return False


def _different_people(a: tuple[str, str], b: tuple[str, str]) -> bool:
    if a[0] == "none" or b[0] == "none":
        return a != b
    return (
        a[0] == b[0] and a[0] in ("email", "gid") and a[1] != b[1]
    )  # one user has one email and one gid


def _edges_solid(word: str) -> bool:
    return bool(word) and word == word.strip()


def _text_implies(p: Text, q: Text) -> bool:
    if p.attr != q.attr or p.sensitive != q.sensitive or q.op == "matches" or p.op == "matches":
        return False
    a, b = p.value, q.value
    match p.op, q.op:
        case "contains", "contains":
            return b in a
        case "equals", "contains":
            return b in a
        case "equals", "equals":
            return a == b
        case "starts_with", "starts_with":
            return a.startswith(b)
        case "ends_with", "ends_with":
            return a.endswith(b)
        case (("starts_with" | "ends_with"), "contains"):
            return b in a
        case _:
            return False


def _text_exclusive(p: Text, q: Text) -> bool:
    if p.attr != q.attr or p.sensitive != q.sensitive:
        return False
    a, b = p.value, q.value
    match p.op, q.op:
        case "equals", "equals":
            return a != b
        case "equals", "contains":
            # the text is the word with spaces around it: a word without spaces at its ends
            # can only be found inside it
            return _edges_solid(b) and b not in a
        case "equals", "starts_with":
            return _edges_solid(b) and not a.startswith(b)
        case "equals", "ends_with":
            return _edges_solid(b) and not a.endswith(b)
        case "starts_with", "starts_with":
            return not (a.startswith(b) or b.startswith(a))
        case "ends_with", "ends_with":
            return not (a.endswith(b) or b.endswith(a))
        case _:
            return False


_LOWER = ("gt", "gte")
_UPPER = ("lt", "lte")


def _comparable(a: object, b: object) -> bool:
    return isinstance(a, date) == isinstance(b, date) and isinstance(a, float | int | date)


def _field_implies(p: Field, q: Field) -> bool:
    if p.key != q.key:
        return False
    if p.op in (*_LOWER, *_UPPER) and q.op == "set":
        return True  # a comparison needs a number or a date
    if not _comparable(p.value, q.value):
        return False
    a, b = p.value, q.value
    if p.op in _LOWER and q.op in _LOWER:
        return bool(a > b or (a == b and (p.op == "gt" or q.op == "gte")))  # type: ignore[operator]
    if p.op in _UPPER and q.op in _UPPER:
        return bool(a < b or (a == b and (p.op == "lt" or q.op == "lte")))  # type: ignore[operator]
    return False


def _field_exclusive(p: Field, q: Field) -> bool:
    if p.key != q.key or p.op not in (*_LOWER, *_UPPER) or q.op not in (*_LOWER, *_UPPER):
        return False
    if isinstance(p.value, date) != isinstance(q.value, date):
        return True  # one value cannot be a number and a date
    if p.op not in _LOWER or q.op not in _UPPER:
        return False
    low, high = p.value, q.value
    if isinstance(low, date) and isinstance(high, date):  # whole days: the first and last
        first = low if p.op == "gte" else low + timedelta(days=1)
        last = high if q.op == "lte" else high - timedelta(days=1)
        return first > last
    lo, hi = float(low), float(high)  # type: ignore[arg-type]
    return lo > hi or (lo == hi and (p.op == "gt" or q.op == "lt"))


CLOCK_MARGIN = timedelta(hours=2)  # more than any clock change


def _family(span: Duration) -> str:
    """Durations compared with each other only within a family of units."""
    if span.unit in ("minutes", "hours"):
        return "clock"
    if span.unit in ("days", "weeks"):
        return "days"
    return "business"


def _span_order(a: Duration, b: Duration) -> str | None:
    """<, = or > between two durations of one family, else None."""
    if _family(a) != _family(b):
        return None
    if a.unit == "business_days" or b.unit == "business_days":
        return "<" if a.amount < b.amount else "=" if a.amount == b.amount else ">"
    x, y = a.timedelta(), b.timedelta()
    if x == y:
        return "="
    # now +/- a clock duration is wall-clock arithmetic: across a clock change the instants
    # of two durations less than the change apart may swap, so only a wide gap counts
    margin = CLOCK_MARGIN if _family(a) == "clock" else timedelta(0)
    if x + margin < y:
        return "<"
    if x > y + margin:
        return ">"
    return None


def _bound_order(a: Duration | date | None, b: Duration | date | None) -> str | None:
    if isinstance(a, Duration) and isinstance(b, Duration):
        return _span_order(a, b)
    if isinstance(a, date) and isinstance(b, date):
        return "<" if a < b else "=" if a == b else ">"
    return None


def _window_implies(p: Window, q: Window) -> bool:
    if p.kind != q.kind or p.op != q.op or p.op == "none":
        return False
    order = _bound_order(p.bound, q.bound)
    if order is None:
        return False
    if p.op in ("within", "before"):
        return order in ("<", "=")
    return order in (">", "=")


def _window_exclusive(p: Window, q: Window) -> bool:
    if p.kind != q.kind:
        return False
    if p.op == "none":
        return q.op != "none"  # every other key needs the date
    if (p.op, q.op) not in (("before", "after"), ("within", "after")):
        return False
    a, b = p.bound, q.bound
    if isinstance(a, date) and isinstance(b, date):
        return p.op == "before" and (a - b).days <= 1  # no whole day strictly between
    if not (isinstance(a, Duration) and isinstance(b, Duration)):
        return False
    order = _span_order(a, b)
    if order is None:
        return False
    if p.op == "within" or _family(a) != "days":
        return order in ("<", "=")  # up to now + a, and after now + b >= now + a
    days = (a.timedelta() - b.timedelta()).days  # calendar days: a day strictly between?
    return days <= 1


def _aged_implies(p: Aged, q: Aged) -> bool:
    if p.kind != q.kind or p.op != q.op:
        return False
    order = _span_order(p.span, q.span)
    if order is None:
        return False
    return order in (">", "=") if p.op == "older" else order in ("<", "=")


# ----------------------------------------------------------------------------- regexes


def text_always_holds(atom: Text) -> bool:
    """Whether a text condition holds for every text (a pattern found in any text)."""
    if atom.op != "matches":
        return False
    pattern = atom.value
    body = pattern[1:] if pattern.startswith("^") else pattern
    if any(mark in body for mark in ("^", "$", "\\b", "\\B", "\\A", "\\z")):
        return False  # an anchor or a boundary depends on the text around the match
    try:
        compiled = compile_pattern(pattern, case_sensitive=atom.sensitive)
    except ValueError:  # pragma: no cover - the file was validated
        return False
    # found in the empty text, with nothing but a leading ^: found at the start of any text
    return compiled.holds("")


# ----------------------------------------------------------------------------- refutation


class OutOfBudgetError(Exception):
    """The search took more steps than it may: no answer."""


@dataclass(slots=True)
class Budget:
    steps: int

    def spend(self) -> None:
        self.steps -= 1
        if self.steps < 0:
            raise OutOfBudgetError


@dataclass(frozen=True, slots=True)
class Clash:
    """Why a set of conditions cannot hold together: two facts, or a fact that cannot hold."""

    first: Lit
    second: Lit | None = None

    def describe(self) -> str:
        if self.second is None:
            return f"a task never {self.first.describe()}"
        return f"no task {self.first.describe()} and {self.second.describe()}"


def _clash(a: Lit, b: Lit) -> bool:
    if a.positive and b.positive:
        return exclusive(a.atom, b.atom)
    if a.positive and not b.positive:
        return implies(a.atom, b.atom)
    if b.positive and not a.positive:
        return implies(b.atom, a.atom)
    return False


def _never(lit: Lit) -> bool:
    return not lit.positive and isinstance(lit.atom, Text) and text_always_holds(lit.atom)


def _bucket(atom: Atom) -> str:
    """Literals that may clash share a bucket."""
    match atom:
        case Text():
            return f"text:{atom.attr}"
        case Flag(name="overdue") | Flag(name="completed") | Window(kind="due"):
            return "due"
        case Flag():
            return atom.name
        case _:
            return type(atom).__name__


class _Facts:
    """Literals known to hold, by bucket; adding one that clashes names the clash."""

    __slots__ = ("buckets", "quadrants")

    def __init__(self) -> None:
        self.buckets: dict[str, list[Lit]] = {}
        self.quadrants: frozenset[str] = frozenset(QUADRANTS)

    def copy(self) -> _Facts:
        other = _Facts()
        other.buckets = {k: list(v) for k, v in self.buckets.items()}
        other.quadrants = self.quadrants
        return other

    def add(self, lit: Lit, budget: Budget) -> Clash | None:
        if _never(lit):
            return Clash(lit)
        key = _bucket(lit.atom)
        known = self.buckets.setdefault(key, [])
        for other in known:
            budget.spend()
            if _clash(other, lit):
                return Clash(other, lit)
        known.append(lit)
        if isinstance(lit.atom, InQuadrant):
            q = lit.atom.quadrant
            self.quadrants = self.quadrants & {q} if lit.positive else self.quadrants - {q}
            if not self.quadrants:
                return Clash(lit, known[0] if known[0] is not lit else None)
        return None


def refute(formulas: tuple[Formula, ...], budget: Budget) -> Clash | None:
    """A reason why ``formulas`` cannot all hold for one task, or None when none was found.

    Raises OutOfBudgetError when the search is too long (callers treat it as no reason found).
    """
    return _refute(list(formulas), _Facts(), budget)


def _refute(pending: list[Formula], facts: _Facts, budget: Budget) -> Clash | None:
    splits: list[Or] = []
    while pending:
        item = pending.pop()
        budget.spend()
        match item:
            case Lit():
                clash = facts.add(item, budget)
                if clash is not None:
                    return clash
            case And(items=items):
                pending.extend(items)
            case Or(items=items):
                if not items:
                    return Clash(Lit(Flag("never")))  # pragma: no cover - any: [] is refused
                if len(items) == 1:
                    pending.append(items[0])
                else:
                    splits.append(item)
    if not splits:
        return None
    first, rest = min(splits, key=lambda s: len(s.items)), splits
    others = [s for s in rest if s is not first]
    reason: Clash | None = None
    for branch in first.items:
        clash = _refute([*others, branch], facts.copy(), budget)
        if clash is None:
            return None
        reason = reason or clash
    return reason


def satisfiable_branch(formulas: tuple[Formula, ...], budget: Budget) -> list[Lit] | None:
    """The literals of one way the formulas may all hold (no clash found), or None."""
    return _branch(list(formulas), _Facts(), [], budget)


def _branch(
    pending: list[Formula], facts: _Facts, chosen: list[Lit], budget: Budget
) -> list[Lit] | None:
    splits: list[Or] = []
    while pending:
        item = pending.pop()
        budget.spend()
        match item:
            case Lit():
                if facts.add(item, budget) is not None:
                    return None
                chosen.append(item)
            case And(items=items):
                pending.extend(items)
            case Or(items=items):
                splits.append(item)
    if not splits:
        return chosen
    first = splits[0]
    for branch in first.items:
        found = _branch([*splits[1:], branch], facts.copy(), list(chosen), budget)
        if found is not None:
            return found
    return None
