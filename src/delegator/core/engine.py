"""The engine: (rules, task snapshot, memory of past actions, now) -> decision, with its reasons.

Pure: no I/O, no clock, no logging. ``decide`` is the hot path (no traces); ``explain`` records
every condition of the matrix and of every rule, and the near misses: rules that failed by exactly
one of their top-level conditions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from delegator.core.actions import Planner, compile_action
from delegator.core.conditions import Check, ConditionTrace, compile_condition, explain
from delegator.core.context import Directory, EvalContext
from delegator.core.intents import Intent
from delegator.core.matrix import Matrix, compile_matrix
from delegator.core.model import Task
from delegator.core.rulefile import ClientFile, walk_conditions
from delegator.core.schema import CompletedCondition, DueAction, FileHead, Rule
from delegator.core.timeexpr import Duration


@dataclass(frozen=True, slots=True)
class TaskMemory:
    """What the service remembers about a task: which rules acted, commented, and overrides."""

    acted: Mapping[str, datetime] = field(default_factory=dict)  # rule name -> first action
    commented: frozenset[str] = frozenset()
    override: str | None = None  # why a person's decision now stands (set by the worker)


NO_MEMORY = TaskMemory()


@dataclass(frozen=True, slots=True)
class CompiledRule:
    index: int
    rule: Rule
    when: Check
    conjuncts: tuple[Check, ...]  # the top-level conditions, for near misses
    planners: tuple[Planner, ...]
    open_only: bool  # acts on incomplete tasks only, unless the rule mentions `completed`

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def path(self) -> str:
        return f"rules/{self.index}"


@dataclass(slots=True)  # not frozen: built once per task on the hot path; never mutated
class RuleOutcome:
    """A rule that matched a task, and what it wants done to it."""

    rule: str
    index: int
    mode: str
    intents: tuple[Intent, ...]
    already_acted: datetime | None = None

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"


@dataclass(frozen=True, slots=True)
class RuleTrace:
    index: int
    rule: str
    status: str  # acts | nothing to do | no match | not reached | skipped
    note: str
    when: ConditionTrace | None


@dataclass(frozen=True, slots=True)
class NearMiss:
    rule: str
    index: int
    failed: ConditionTrace


@dataclass(slots=True)  # not frozen: built once per task on the hot path; never mutated
class Decision:
    """The engine's verdict on one task."""

    task: Task
    quadrant: str
    urgent: bool
    important: bool
    skipped: str | None = None
    outcomes: tuple[RuleOutcome, ...] = ()
    urgent_trace: ConditionTrace | None = None
    important_trace: ConditionTrace | None = None
    rule_traces: tuple[RuleTrace, ...] = ()
    near_misses: tuple[NearMiss, ...] = ()

    @property
    def rule(self) -> str | None:
        """The first rule acting on the task (the one that won it), if any."""
        return self.outcomes[0].rule if self.outcomes else None

    @property
    def intents(self) -> tuple[Intent, ...]:
        return tuple(i for outcome in self.outcomes for i in outcome.intents)


class Engine:
    """A client's rules, compiled once; evaluate any number of tasks against them."""

    def __init__(self, client_file: ClientFile) -> None:
        if client_file.head is None:
            raise ValueError(f"{client_file.source}: the file cannot be used: fix its errors first")
        head: FileHead = client_file.head
        self.source = client_file.source
        self.head = head
        self.tz = ZoneInfo(head.client.timezone)
        self.holidays = frozenset(head.client.holidays)
        self.opt_out_tag = head.client.opt_out_tag.casefold()
        self.respect_overrides = head.client.overrides == "respect"
        self.matrix: Matrix = compile_matrix(head.matrix)
        self.rules = tuple(_compile_rule(r.index, r.rule) for r in client_file.rules)
        durations: list[Duration] = [*self.matrix.durations]
        for compiled in self.rules:
            durations.extend(_durations(compiled.when))
        durations.extend(
            a.due.in_ for r in self.rules for a in r.rule.then if isinstance(a, DueAction)
        )
        self._durations = tuple(dict.fromkeys(durations))
        # The hot path reads these instead of walking attributes for every task and rule.
        self._urgent = self.matrix.urgent.test
        self._important = self.matrix.important.test
        self._checks = tuple((r.when.test, r.open_only, r) for r in self.rules)

    def context(self, now: datetime, directory: Directory) -> EvalContext:
        """The evaluation context for a cycle starting at ``now``."""
        return EvalContext(now, self.tz, directory, self.holidays, self._durations)

    def decide(self, task: Task, ctx: EvalContext, memory: TaskMemory = NO_MEMORY) -> Decision:
        urgent = self._urgent(task, ctx)
        important = self._important(task, ctx)
        quadrant = _QUADRANT[urgent, important]
        ctx.quadrant = quadrant
        if self.opt_out_tag in task.tag_names or memory.override is not None:
            skipped = self._skip_reason(task, memory)
            if skipped is not None:
                return Decision(task, quadrant, urgent, important, skipped)
        outcomes: list[RuleOutcome] = []
        completed = task.completed
        for test, open_only, compiled in self._checks:
            if (open_only and completed) or not test(task, ctx):
                continue
            outcomes.append(self._outcome(compiled, task, ctx, memory))
            if not (compiled.rule.continue_ or compiled.rule.mode == "shadow"):
                break
        return Decision(task, quadrant, urgent, important, None, tuple(outcomes))

    def explain(self, task: Task, ctx: EvalContext, memory: TaskMemory = NO_MEMORY) -> Decision:
        """Like ``decide``, recording every condition and the near misses."""
        urgent_trace = explain(self.matrix.urgent, task, ctx)
        important_trace = explain(self.matrix.important, task, ctx)
        urgent, important = urgent_trace.matched, important_trace.matched
        quadrant = _QUADRANT[urgent, important]
        ctx.quadrant = quadrant
        skipped = self._skip_reason(task, memory)
        outcomes: list[RuleOutcome] = []
        traces: list[RuleTrace] = []
        near: list[NearMiss] = []
        claimed_by: str | None = None
        for compiled in self.rules:
            trace = explain(compiled.when, task, ctx)
            name = compiled.name
            if skipped is not None:
                traces.append(RuleTrace(compiled.index, name, "skipped", skipped, trace))
                continue
            if compiled.open_only and task.completed:
                traces.append(
                    RuleTrace(compiled.index, name, "skipped", "the task is completed", trace)
                )
                continue
            if not trace.matched:
                traces.append(RuleTrace(compiled.index, name, "no match", "", trace))
                failed = [c for c in _top_level(trace) if not c.matched]
                if len(failed) == 1 and len(_top_level(trace)) > 1:
                    near.append(NearMiss(name, compiled.index, failed[0]))
                continue
            if claimed_by is not None:
                traces.append(
                    RuleTrace(
                        compiled.index,
                        name,
                        "not reached",
                        f"rule '{claimed_by}' already took the task (continue: false)",
                        trace,
                    )
                )
                continue
            outcome = self._outcome(compiled, task, ctx, memory)
            outcomes.append(outcome)
            if outcome.already_acted is not None and not outcome.intents:
                status = "nothing to do"
                note = (
                    f"already acted on {outcome.already_acted.date().isoformat()} (repeat: false)"
                )
            elif not outcome.intents:
                status, note = "nothing to do", "every action is already in place"
            else:
                status = "acts" if not outcome.shadow else "acts (shadow)"
                note = (
                    "shadow mode: planned and reported, nothing written" if outcome.shadow else ""
                )
            traces.append(RuleTrace(compiled.index, name, status, note, trace))
            if not (compiled.rule.continue_ or compiled.rule.mode == "shadow"):
                claimed_by = name
        return Decision(
            task, quadrant, urgent, important, skipped, tuple(outcomes),
            urgent_trace, important_trace, tuple(traces), tuple(near),
        )  # fmt: skip

    def _skip_reason(self, task: Task, memory: TaskMemory) -> str | None:
        if self.opt_out_tag in task.tag_names:
            return f"tagged {self.head.client.opt_out_tag}: never touched"
        if memory.override is not None and self.respect_overrides:
            return f"taken back by a person: {memory.override}"
        return None

    def _outcome(
        self, compiled: CompiledRule, task: Task, ctx: EvalContext, memory: TaskMemory
    ) -> RuleOutcome:
        rule = compiled.rule
        acted = memory.acted.get(rule.name)
        if acted is not None and not rule.repeat:
            return RuleOutcome(rule.name, compiled.index, rule.mode, (), acted)
        intents: list[Intent] = []
        for planner in compiled.planners:
            intents.extend(planner(task, ctx, memory.commented))
        return RuleOutcome(rule.name, compiled.index, rule.mode, tuple(intents), acted)

    def plan(
        self,
        tasks: Iterable[Task],
        ctx: EvalContext,
        memories: Mapping[str, TaskMemory] | None = None,
    ) -> Plan:
        """Decide many tasks and apply each rule's per-cycle ``limit``, in task order."""
        memories = memories or {}
        taken: dict[str, int] = {}
        limits = {r.name: r.rule.limit for r in self.rules}
        decisions: list[Decision] = []
        deferred: list[tuple[Decision, str]] = []
        for task in tasks:
            decision = self.decide(task, ctx, memories.get(task.gid, NO_MEMORY))
            kept: list[RuleOutcome] = []
            for outcome in decision.outcomes:
                limit = limits.get(outcome.rule)
                if outcome.intents and limit is not None:
                    if taken.get(outcome.rule, 0) >= limit:
                        deferred.append((decision, outcome.rule))
                        continue
                    taken[outcome.rule] = taken.get(outcome.rule, 0) + 1
                kept.append(outcome)
            if len(kept) != len(decision.outcomes):
                decision = Decision(
                    decision.task, decision.quadrant, decision.urgent, decision.important,
                    decision.skipped, tuple(kept),
                )  # fmt: skip
            decisions.append(decision)
        return Plan(tuple(decisions), tuple(deferred))


@dataclass(frozen=True, slots=True)
class Plan:
    """Decisions for a batch of tasks; ``deferred`` are outcomes held back by a rule's limit."""

    decisions: tuple[Decision, ...]
    deferred: tuple[tuple[Decision, str], ...] = ()


_QUADRANT = {
    (True, True): "do",
    (False, True): "schedule",
    (True, False): "delegate",
    (False, False): "eliminate",
}


def _top_level(trace: ConditionTrace) -> Sequence[ConditionTrace]:
    return trace.children if trace.kind == "all" else (trace,)


def _durations(check: Check) -> list[Duration]:
    return [*check.durations, *(d for child in check.children for d in _durations(child))]


def _compile_rule(index: int, rule: Rule) -> CompiledRule:
    path = ("rules", index, "when")
    when = compile_condition(rule.when, path)
    conjuncts = when.children if when.kind == "all" else (when,)
    mentions_completed = any(
        isinstance(c, CompletedCondition) for c, _ in walk_conditions(rule.when, path)
    )
    planners = tuple(compile_action(action, rule.name) for action in rule.then)
    return CompiledRule(index, rule, when, conjuncts, planners, not mentions_completed)
