"""The rules' static analysis: what ``delegator check`` warns about in a valid client file.

Every warning is a proof, never a guess: a rule that can never act because an earlier rule takes
all of its tasks (shadowed), conditions that can never hold together (contradiction) or that hold
for every task (always true), two rules that both take a task we can show (overlap), actions
that undo each other, and a matrix under which no task is ever in the delegate quadrant. The
proofs come from ``core.implication`` (conservative: when in doubt it proves nothing) and, for an
overlap, from a task built to match both rules and checked with the engine's own conditions.

Cost: each rule is analysed on its own, and pairs of rules only when a cheap index says a proof
may exist (``_Rule.own_keys`` and ``_Rule.needs``); each proof has a step budget, and the pairs
per rule and per file are bounded (the ``MAX_`` constants), so a file of 10,000 rules takes
seconds. Past a bound the analysis proves less; it never warns more.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from delegator.core.conditions import Check, compile_condition
from delegator.core.context import Directory, EvalContext, Identity, identity_of
from delegator.core.findings import Finding, FindingCode, Severity
from delegator.core.implication import (
    And,
    Assigned,
    Budget,
    Clash,
    Field,
    Flag,
    Formula,
    HasTag,
    InProject,
    InSection,
    Lit,
    Or,
    OutOfBudgetError,
    People,
    Text,
    conj,
    field_value,
    formula_of,
    negate,
    refute,
    satisfiable_branch,
    text_always_holds,
)
from delegator.core.matrix import compile_matrix
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef
from delegator.core.rulefile import ClientFile, NumberedRule, walk_conditions
from delegator.core.schema import (
    Action,
    AssignAction,
    CompletedCondition,
    Condition,
    DueAction,
    FileHead,
    MoveAction,
    QuadrantCondition,
    SetAction,
    TagAction,
    UntagAction,
)
from delegator.core.timeexpr import Duration
from delegator.core.yamlpos import Document, Path, format_path

STEPS = 4_000  # the budget of one proof, in literals compared
MAX_PAIRS_PER_RULE = 200  # earlier rules a rule is proved shadowed by, at most
MAX_PROOFS = 200_000  # shadowing proofs in a file, at most
MAX_OVERLAPS_PER_RULE = 16  # earlier rules a rule is shown to overlap, at most
MAX_WITNESSES = 20_000  # overlap proofs in a file, at most
NEAREST = 4 * MAX_OVERLAPS_PER_RULE  # earlier rules acting on one attribute looked at, at most
MAX_CHAIN = 64  # later rules followed from a rule with continue: true, at most
WITNESS_MOMENT = time(10, 0)  # an overlap's example task is checked at 10:00 on a Monday
MAX_INDEXED = 256  # letters of a text condition's word indexed, at most
Key = tuple[str, ...]  # what a condition is about, for the index of pairs worth a proof


def analyse(loaded: ClientFile, document: Document) -> tuple[Finding, ...]:
    """The warnings for a client file's valid rules, sorted, each once."""
    if loaded.head is None:
        return ()
    found = _Analysis(loaded, loaded.head, document).run()
    return tuple(sorted(set(found)))


# ----------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Effect:
    """What an action does to one attribute of a task: the attribute, and the value it wants."""

    key: tuple[str, ...]  # ("tag", x), ("assign",), ("move", project), ("set", field), ("due",)
    value: object
    shown: str  # the action in words
    index: int  # its place under then:


@dataclass(slots=True)
class _Rule:
    index: int
    name: str
    when: Formula
    effective: Formula  # when, and "not completed" for a rule that does not mention completed
    stops: bool  # active, without continue: a task it matches goes no further
    active: bool
    continues: bool
    effects: tuple[Effect, ...]
    own_keys: frozenset[Key]
    # per conjunct of ``effective``, the alternatives: an earlier rule can only be proved to
    # cover a later one whose keys include one alternative of each of its conjuncts
    needs: tuple[tuple[frozenset[Key], ...], ...]
    witnessable: bool  # every fact it asks for can be put in an example task
    dead: bool = False  # a contradiction, or shadowed: it never acts

    @property
    def label(self) -> str:
        return f'rules[{self.index}] "{self.name}"'


def _mentions_completed(condition: Condition) -> bool:
    return any(isinstance(c, CompletedCondition) for c, _ in walk_conditions(condition, ()))


class _Analysis:
    def __init__(self, loaded: ClientFile, head: FileHead, document: Document) -> None:
        self.source = loaded.source
        self.head = head
        self.document = document
        self.people = People(head.client.owner, {k: a.user for k, a in head.assistants.items()})
        self.numbered = loaded.rules
        self.rules = [self._rule(r) for r in loaded.rules]
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        for rule, numbered in zip(self.rules, self.numbered, strict=True):
            self._contradiction(rule)
            self._always_true(numbered)
            self._undoes_within(rule)
        self._shadowed()
        self._chains()
        self._overlaps()
        self._nothing_delegable()
        return self.findings

    # ------------------------------------------------------------------------- helpers

    def _rule(self, numbered: NumberedRule) -> _Rule:
        rule = numbered.rule
        when = formula_of(rule.when, self.people)
        effective = when
        if not _mentions_completed(rule.when):
            effective = conj(when, Lit(Flag("completed"), False))
        conjuncts = effective.items if isinstance(effective, And) else (effective,)
        active = rule.mode == "active"
        return _Rule(
            index=numbered.index,
            name=rule.name,
            when=when,
            effective=effective,
            # A limit holds the tasks past it back for the next cycle: they still go to this
            # rule, never to a later one (docs/rules.md, `limit`).
            stops=active and not rule.continue_,
            active=active,
            continues=rule.continue_,
            effects=tuple(self._effects(rule.then)),
            own_keys=frozenset(k for lit in _literals(effective) for k in _own_keys(lit)),
            needs=tuple(
                tuple(dict.fromkeys(_requirement(lit) for lit in _literals(negate(c))))
                for c in conjuncts
            ),
            witnessable=all(not lit.positive or _buildable(lit) for lit in _literals(effective)),
        )

    def _effects(self, actions: list[Action]) -> Iterator[Effect]:
        for i, action in enumerate(actions):
            match action:
                case TagAction(tag=names):
                    for n in names:
                        yield Effect(("tag", n.casefold()), True, f"adds the tag {n}", i)
                case UntagAction(untag=names):
                    for n in names:
                        yield Effect(("tag", n.casefold()), False, f"removes the tag {n}", i)
                case AssignAction(assign=assign):
                    people = [assign.to] if assign.to is not None else list(assign.pool or ())
                    who = frozenset(self._person(p) for p in people)
                    shown = assign.to if assign.to is not None else ", ".join(people)
                    yield Effect(("assign",), who, f"assigns it to {shown}", i)
                case MoveAction(move=place) if place.section is not None:
                    yield Effect(
                        ("move", place.project.casefold()),
                        place.section.casefold(),
                        f"moves it to the section {place.section} of {place.project}",
                        i,
                    )
                case SetAction(set_=setting):
                    value = setting.value
                    shown = "empty" if value is None else str(value)
                    yield Effect(
                        ("set", setting.custom_field.casefold()),
                        ("none",) if value is None else field_value(value),
                        f'sets the field "{setting.custom_field}" to {shown}',
                        i,
                    )
                case DueAction(due=due):
                    yield Effect(("due",), str(due.in_), f"gives it a due date in {due.in_}", i)
                case _:
                    pass

    def _person(self, spec: str) -> tuple[str, str]:
        """Who ``assign`` names: an email or a gid, or unknown (owner: me)."""
        if spec == "owner":
            spec = self.head.client.owner
            if spec == "me":
                return ("unknown", "owner")
        user = self.head.assistants[spec].user if spec in self.head.assistants else spec
        identity = identity_of(user)
        return ("email", identity.email) if identity.email else ("gid", identity.gid)

    def _as_written(self, path: Path) -> Path:
        """A condition's path as the file writes it: ``when: [a, b]`` has no ``all`` key."""
        out: list[str | int] = []
        values = self.document.values
        for n, part in enumerate(path):
            written = (*out, part)
            if (
                part == "all"
                and n + 1 < len(path)
                and isinstance(path[n + 1], int)
                and tuple(out) in values
                and written not in values
                and (*out, path[n + 1]) in values
            ):
                continue
            out.append(part)
        return tuple(out)

    def _at(self, path: Path, code: FindingCode, message: str) -> None:
        path = self._as_written(path)
        position = self.document.position_of(path)
        self.findings.append(
            Finding(
                self.source,
                position.line,
                position.column,
                format_path(path),
                code,
                Severity.WARNING,
                message,
            )
        )

    def _proves(self, *formulas: Formula) -> Clash | None:
        """A reason why ``formulas`` cannot hold together, if one is found within the budget."""
        try:
            return refute(formulas, Budget(STEPS))
        except (OutOfBudgetError, RecursionError):
            return None

    def _implies(self, a: Formula, b: Formula) -> bool:
        return self._proves(a, negate(b)) is not None

    # ------------------------------------------------------------------------- one rule

    def _contradiction(self, rule: _Rule) -> None:
        clash = self._proves(rule.when)
        if clash is None:
            return
        rule.dead = True
        self._at(
            ("rules", rule.index, "when"),
            FindingCode.CONTRADICTION,
            f"{rule.label} can never act: its conditions can never all hold for one task "
            f"({_why(clash)}). Fix the condition that contradicts the others.",
        )

    def _always_true(self, numbered: NumberedRule) -> None:
        index = numbered.index
        root: Path = ("rules", index, "when")
        nodes = list(walk_conditions(numbered.rule.when, root))
        always: dict[Path, Condition] = {}
        for node, path in reversed(nodes):  # children before their parents
            if _mentions_completed(node):
                continue  # mentioning completed changes which tasks the rule sees
            formula = formula_of(node, self.people)
            if isinstance(formula, Lit) and not isinstance(formula.atom, Text):
                continue
            if self._proves(negate(formula)) is not None:
                always[path] = node
        name = numbered.rule.name
        for path, node in always.items():
            if any(other[: len(path)] == path and other != path for other in always):
                continue  # a part of it already always holds: that part is the one to fix
            self._at(
                path,
                FindingCode.ALWAYS_TRUE,
                f'rules[{index}] "{name}": this condition holds for every task'
                f"{_always_why(node, self.people)}, so it does not narrow the rule. Remove "
                "it, or write the condition you meant.",
            )

    def _undoes_within(self, rule: _Rule) -> None:
        seen: dict[tuple[str, ...], Effect] = {}
        for effect in rule.effects:
            before = seen.get(effect.key)
            if before is not None and before.index != effect.index and _differ(before, effect):
                self._at(
                    ("rules", rule.index, "then", effect.index),
                    FindingCode.UNDOES,
                    f"{rule.label}: then[{effect.index}] {effect.shown}, but then[{before.index}] "
                    f"{before.shown}: the two actions undo each other. Keep only one.",
                )
            seen.setdefault(effect.key, effect)

    # ------------------------------------------------------------------------- pairs

    def _shadowed(self) -> None:
        index: dict[Key, list[int]] = {}
        frequency: dict[Key, int] = {}
        for rule in self.rules:
            for key in rule.own_keys:
                frequency[key] = frequency.get(key, 0) + 1

        def rarest(requirement: frozenset[Key]) -> Key | None:
            return min(requirement, key=lambda k: frequency.get(k, 0), default=None)

        def cost(alternatives: tuple[frozenset[Key], ...]) -> int:
            return sum(frequency.get(rarest(r) or ("",), 0) for r in alternatives)

        for position, rule in enumerate(self.rules):
            if not rule.stops or rule.dead or not rule.needs:
                continue
            for requirement in min(rule.needs, key=cost):
                entry = rarest(requirement)
                if entry is not None:
                    index.setdefault(entry, []).append(position)
        proofs = MAX_PROOFS
        for j, later in enumerate(self.rules):
            if later.dead:
                continue
            found: set[int] = set()
            for key in later.own_keys:
                found.update(i for i in index.get(key, ()) if i < j)
            checked = 0
            for i in sorted(found):
                earlier = self.rules[i]
                own = later.own_keys
                if not all(any(r <= own for r in alts) for alts in earlier.needs):
                    continue
                checked += 1
                proofs -= 1
                if checked > MAX_PAIRS_PER_RULE or proofs < 0:
                    break
                if self._implies(later.effective, earlier.effective):
                    later.dead = True
                    self._at(
                        ("rules", later.index),
                        FindingCode.SHADOWED,
                        f"{later.label} never acts: every task it matches is also matched by "
                        f"the earlier {earlier.label}, which takes the task first (it has no "
                        f'continue: true). Move "{later.name}" above "{earlier.name}", narrow '
                        f'the conditions of "{earlier.name}", or give it continue: true.',
                    )
                    break

    def _chains(self) -> None:
        """Rules with continue: true, and a later rule every one of their tasks reaches."""
        for a_pos, first in enumerate(self.rules):
            if not (first.active and first.continues) or first.dead or not first.effects:
                continue
            for later in self.rules[a_pos + 1 : a_pos + 1 + MAX_CHAIN]:
                always = not later.dead and self._implies(first.effective, later.effective)
                if always and later.active:
                    self._undone_by(first, later)
                if later.stops and (
                    always or self._proves(first.effective, later.effective) is None
                ):
                    break  # it may take the task: the rules below it are not certain to see it

    def _undone_by(self, first: _Rule, later: _Rule) -> None:
        for effect in later.effects:
            for before in first.effects:
                if before.key == effect.key and _differ(before, effect):
                    self._at(
                        ("rules", later.index, "then", effect.index),
                        FindingCode.UNDOES,
                        f"{later.label} {effect.shown}, but every task it gets this way comes "
                        f"from {first.label} (continue: true), which {before.shown}: the second "
                        "undoes the first. Remove one of the two actions, or narrow "
                        f'"{later.name}".',
                    )
                    break

    def _overlaps(self) -> None:
        by_key: dict[tuple[str, ...], list[int]] = {}
        for position, rule in enumerate(self.rules):
            if rule.stops and not rule.dead:
                for key in {e.key for e in rule.effects}:
                    by_key.setdefault(key, []).append(position)
        witness = _Witness(self.head, self.people)
        attempts = MAX_WITNESSES
        for j, later in enumerate(self.rules):
            if not later.stops or later.dead or not later.witnessable:
                continue
            earlier_positions: set[int] = set()
            for key in {e.key for e in later.effects}:
                positions = by_key.get(key, [])
                end = bisect_left(positions, j)
                earlier_positions.update(positions[max(0, end - NEAREST) : end])
            tried = 0
            for i in sorted(earlier_positions, reverse=True):
                earlier = self.rules[i]
                conflict = _conflict(earlier, later)
                if conflict is None or not earlier.witnessable:
                    continue
                tried += 1
                attempts -= 1
                if tried > MAX_OVERLAPS_PER_RULE or attempts < 0:
                    break
                if self._implies(earlier.effective, later.effective):
                    continue  # the specific rule before the general one: as it should be
                example = witness.find(earlier, later, self.numbered[i], self.numbered[j])
                if example is None:
                    continue
                mine, theirs = conflict
                self._at(
                    ("rules", later.index),
                    FindingCode.OVERLAP,
                    f"{later.label} and the earlier {earlier.label} can both take the same "
                    f"task, for example {example}. The earlier rule takes it and "
                    f"{theirs.shown}; {later.label}, which {mine.shown}, is not tried: which "
                    "one acts depends only on their order. Put the rule that should win "
                    "first, add a condition to one of them so they no longer share tasks, or "
                    "give the first continue: true if both should act.",
                )
                break

    # ------------------------------------------------------------------------- matrix

    def _nothing_delegable(self) -> None:
        matrix = compile_matrix(self.head.matrix)
        urgent_c = matrix.urgent.condition
        important_c = matrix.important.condition
        if urgent_c is None or important_c is None:  # pragma: no cover - always compiled
            return
        urgent = formula_of(urgent_c, self.people)
        important = formula_of(important_c, self.people)
        if self._proves(urgent) is not None:
            why = "the urgent condition can never hold"
        elif self._proves(negate(important)) is not None:
            why = "the important condition holds for every task"
        elif self._proves(urgent, negate(important)) is not None:
            why = "every urgent task is also important"
        else:
            return
        wanting = [
            f'rules[{r.index}] "{r.rule.name}"'
            for r in self.numbered
            if any(_asks_delegate(c, p) for c, p in walk_conditions(r.rule.when, ()))
        ]
        if not wanting:
            return
        shown = ", ".join(wanting[:3]) + (
            f" and {len(wanting) - 3} more" if len(wanting) > 3 else ""
        )
        self._at(
            ("matrix",),
            FindingCode.NOTHING_DELEGABLE,
            f"under this matrix no task is ever in the delegate quadrant (urgent, not "
            f"important): {why}. {shown} ask for quadrant delegate and never get such a task. "
            "Fix matrix.urgent or matrix.important.",
        )


def _asks_delegate(condition: Condition, path: Path) -> bool:
    negations = sum(1 for part in path if part == "not")
    return (
        isinstance(condition, QuadrantCondition)
        and "delegate" in condition.quadrant
        and negations % 2 == 0
    )


def _differ(a: Effect, b: Effect) -> bool:
    """Whether two effects on one attribute certainly want different things."""
    if a.key == ("assign",):  # different people: written alike (two emails, two gids), unequal
        if not (isinstance(a.value, frozenset) and isinstance(b.value, frozenset)):
            return False  # pragma: no cover - assign effects hold sets
        return all(
            x[0] == y[0] and x[0] in ("email", "gid") and x[1] != y[1]
            for x in a.value
            for y in b.value
        )
    if a.key[0] == "move":  # a section by name and one by gid may be the same section
        first, second = str(a.value), str(b.value)
        return first.isdigit() == second.isdigit() and first != second
    return a.value != b.value


def _conflict(earlier: _Rule, later: _Rule) -> tuple[Effect, Effect] | None:
    """An action of ``later`` and one of ``earlier`` that want different things."""
    for mine in later.effects:
        for theirs in earlier.effects:
            if mine.key == theirs.key and _differ(mine, theirs):
                return mine, theirs
    return None


def _why(clash: Clash) -> str:
    if clash.second is None:
        return clash.describe()
    return f"{clash.first.describe()}, and {clash.second.describe()}, cannot both hold"


def _always_why(node: Condition, people: People) -> str:
    formula = formula_of(node, people)
    if not (isinstance(formula, Lit) and isinstance(formula.atom, Text)):
        return ""
    if not text_always_holds(formula.atom):
        return ""
    return f' (the pattern "{formula.atom.written}" is found in any text, even an empty one)'


# ----------------------------------------------------------------------------- the index


def _literals(formula: Formula) -> Iterator[Lit]:
    match formula:
        case Lit():
            yield formula
        case And(items=items) | Or(items=items):
            for item in items:
                yield from _literals(item)


def _bucket(lit: Lit) -> tuple[str, ...]:
    atom = lit.atom
    match atom:
        case Text():
            return ("text", atom.attr)
        case Flag(name="overdue") | Flag(name="completed"):
            return ("due",)
        case Flag():
            return ("flag", atom.name)
        case _:
            kind = type(atom).__name__
            if kind == "Window" and getattr(atom, "kind", "") == "due":
                return ("due",)
            return (kind,)


def _fine(lit: Lit) -> tuple[str, ...] | None:
    atom = lit.atom
    match atom:
        case HasTag():
            return ("tag", atom.name)
        case InProject():
            return ("project", atom.key)
        case InSection():
            return ("section", atom.name)
        case Field():
            return ("field", atom.key)
        case _:
            return None


def _trigrams(text: str) -> Iterator[str]:
    """The text's three-letter pieces, from its first ``MAX_INDEXED`` letters only: a longer
    text is indexed by fewer keys, which can only leave a pair unproved."""
    text = text[:MAX_INDEXED]
    for start in range(len(text) - 2):
        yield text[start : start + 3]


def _own_keys(lit: Lit) -> Iterator[tuple[str, ...]]:
    """Keys of a later rule's literal: an earlier rule's literal that clashes shares one."""
    yield _bucket(lit)
    fine = _fine(lit)
    if fine is not None:
        yield fine
    atom = lit.atom
    if isinstance(atom, Text) and atom.op != "matches" and lit.positive:
        sense = "cs" if atom.sensitive else "ci"
        for gram in _trigrams(atom.value):
            yield ("gram", atom.attr, sense, gram)


def _requirement(lit: Lit) -> frozenset[Key]:
    """Keys every literal that clashes with ``lit`` has (``_own_keys``), all of them."""
    atom = lit.atom
    if not lit.positive:  # clashes only with a literal that implies its atom
        fine = _fine(lit)
        if fine is not None:
            return frozenset((fine,))
        if isinstance(atom, Text) and atom.op != "matches" and len(atom.value) >= 3:
            sense = "cs" if atom.sensitive else "ci"
            return frozenset(("gram", atom.attr, sense, g) for g in _trigrams(atom.value))
    return frozenset((_bucket(lit),))


def _buildable(lit: Lit) -> bool:
    """Whether an example task can be given this fact (``_Witness._task``)."""
    atom = lit.atom
    match atom:
        case Text(attr="name", op=op):
            return op != "matches"
        case HasTag() | InProject() | Assigned():
            return True
        case InSection(project=project):
            return project is not None
        case Field(op="equals", value=("one", _)):
            return True
        case Flag(name=name):
            return name in ("completed", "subtask")
        case _:
            return False


# ----------------------------------------------------------------------------- witnesses


class _Witness:
    """A task both of two rules match, built from their conditions and checked for real."""

    def __init__(self, head: FileHead, people: People) -> None:
        self.head = head
        self.people = people
        self.tz = ZoneInfo(head.client.timezone)
        owner = (
            identity_of(head.client.owner)
            if head.client.owner != "me"
            else Identity(gid="0", name="the owner")
        )
        assistants = {k: identity_of(a.user, a.name or k) for k, a in head.assistants.items()}
        self.directory = Directory(owner, assistants)
        self.matrix = compile_matrix(head.matrix)
        self.opt_out = head.client.opt_out_tag.casefold()
        monday = datetime(2026, 1, 5, WITNESS_MOMENT.hour, tzinfo=self.tz)
        self.now = monday
        self.checks: dict[int, Check] = {}

    def find(self, a: _Rule, b: _Rule, ra: NumberedRule, rb: NumberedRule) -> str | None:
        try:
            lits = satisfiable_branch((a.effective, b.effective), Budget(STEPS))
        except (OutOfBudgetError, RecursionError):
            return None
        if lits is None:
            return None
        task = self._task([lit for lit in lits if lit.positive])
        if task is None or self.opt_out in task.tag_names:
            return None
        checks = [self._check(ra), self._check(rb)]
        durations = [d for c in (*checks, self.matrix.urgent, self.matrix.important)
                     for d in _durations(c)]  # fmt: skip
        ctx = EvalContext(self.now, self.tz, self.directory, frozenset(self.head.client.holidays),
                          durations)  # fmt: skip
        urgent = self.matrix.urgent.test(task, ctx)
        important = self.matrix.important.test(task, ctx)
        ctx.quadrant = _QUADRANT[urgent, important]
        if not all(check.test(task, ctx) for check in checks):
            return None
        return _describe(task)

    def _check(self, numbered: NumberedRule) -> Check:
        check = self.checks.get(numbered.index)
        if check is None:
            check = compile_condition(numbered.rule.when, ("rules", numbered.index, "when"))
            self.checks[numbered.index] = check
        return check

    def _task(self, lits: list[Lit]) -> Task | None:
        name: dict[str, list[str]] = {"equals": [], "starts_with": [], "contains": [],
                                      "ends_with": []}  # fmt: skip
        tags: list[str] = []
        projects: list[str] = []
        sections: list[tuple[str, str]] = []
        assignee: UserRef | None = None
        fields: list[FieldValue] = []
        flags: set[str] = set()
        for lit in lits:
            atom = lit.atom
            match atom:
                case Text(attr="name", op=op) if op != "matches":
                    name[op].append(atom.written.strip() if op == "equals" else atom.written)
                case Text():
                    return None
                case HasTag():
                    tags.append(atom.written)
                case InProject():
                    projects.append(atom.written)
                case InSection(project=project) if project is not None:
                    sections.append((project, atom.written))
                case Assigned(who=who) if who[0] != "none":
                    spec = {"assistant": who[1], "owner": "owner"}.get(who[0], atom.written)
                    person = self.directory.resolve(spec)
                    assignee = UserRef(person.gid or "1", person.name, person.email)
                case Field(op="equals", value=("one", str() as option)):
                    fields.append(FieldValue(atom.key, atom.key, "enum", enum=option))
                case Flag(name=flag) if flag in ("completed", "subtask"):
                    flags.add(flag)
                case Assigned() | Flag():
                    pass
                case _:
                    return None
        if name["equals"]:
            title = name["equals"][0]
        else:
            title = " ".join([*name["starts_with"], *name["contains"], *name["ends_with"]])
        refs = [Ref(str(900 + i), p) for i, p in enumerate(projects)]
        memberships = [
            Membership(Ref(str(800 + i), p), Ref(str(700 + i), s))
            for i, (p, s) in enumerate(sections)
        ]
        return Task(
            gid="1",
            name=title,
            assignee=assignee,
            completed="completed" in flags,
            tags=tuple(Ref(str(600 + i), t) for i, t in enumerate(tags)),
            projects=tuple(refs + [m.project for m in memberships]),
            memberships=tuple(memberships),
            custom_fields=tuple(fields),
            parent=Ref("2", "parent") if "subtask" in flags else None,
        )


_QUADRANT = {
    (True, True): "do",
    (False, True): "schedule",
    (True, False): "delegate",
    (False, False): "eliminate",
}


def _durations(check: Check) -> list[Duration]:
    return [*check.durations, *(d for child in check.children for d in _durations(child))]


def _describe(task: Task) -> str:
    parts = [f'a task named "{task.name}"' if task.name else "a task"]
    if task.tags:
        parts.append("tagged " + ", ".join(t.name for t in task.tags))
    if task.projects:
        parts.append("in " + ", ".join(p.name for p in task.projects))
    if task.assignee is not None:
        parts.append(
            f"assigned to {task.assignee.name or task.assignee.email or task.assignee.gid}"
        )
    parts.extend(f'with "{value.name}" set to {value.enum}' for value in task.custom_fields)
    if task.completed:
        parts.append("completed")
    return " ".join(parts[:1]) + (", " + ", ".join(parts[1:]) if parts[1:] else "")
