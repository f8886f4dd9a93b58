"""The engine: (rules, task snapshot, memory of past actions, now) -> decision, with its reasons.

Pure: no I/O, no clock, no logging. ``decide`` is the hot path: it runs the matrix and the rules
compiled, when the engine is built, into one generated Python function (``core.compiled``).
``explain`` walks the compiled checks instead (``Engine._walk``, ``core.conditions``), with a
tracer that records every condition of the matrix and of every rule, and the near misses: rules
that failed by exactly one of their top-level conditions. ``interpret`` is that walk with a
tracer that records nothing: the reference the compiled path is held to (the tests compare
``decide``, ``interpret`` and ``explain`` on random tasks and rule trees).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import partial
from zoneinfo import ZoneInfo

from delegator.core.actions import Planner, compile_action
from delegator.core.compiled import Decide, Program, RuleCode, compile_program
from delegator.core.conditions import Check, ConditionTrace, Test, compile_condition, explain
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
    outcome: Callable[[Task, EvalContext, TaskMemory], RuleOutcome]  # once the rule matched

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


class RuleStatus(StrEnum):
    """What a rule did with a task, as ``explain`` shows it."""

    ACTS = "acts"
    ACTS_SHADOW = "acts (shadow)"  # planned and reported, nothing written
    NOTHING_TO_DO = "nothing to do"  # matched, every action already in place (or done once)
    NO_MATCH = "no match"
    NOT_REACHED = "not reached"  # an earlier rule matched without continue
    SKIPPED = "skipped"  # the task itself is skipped (completed, opted out, overridden)


@dataclass(frozen=True, slots=True)
class RuleTrace:
    index: int
    rule: str
    status: RuleStatus
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
        self._checks = tuple((r.when.test, r.open_only, r) for r in self.rules)
        self._untraced = Tracer(self)
        self.program = self._compile()
        # The decide function bound to the last context seen (one is built per cycle).
        self._bound: tuple[EvalContext | None, Decide] = (None, _unbound)

    def _compile(self) -> Program | None:
        """The matrix and the rules as generated code; None, and decide interprets, if it fails."""
        rules = [
            RuleCode(r.when, r.open_only, not (r.rule.continue_ or r.rule.mode == "shadow"),
                     r.outcome)
            for r in self.rules
        ]  # fmt: skip
        try:
            return compile_program(
                self.matrix.urgent, self.matrix.important, rules,
                opt_out_tag=self.opt_out_tag, respect_overrides=self.respect_overrides,
                decision=Decision, skip_reason=self._skip_reason,
            )  # fmt: skip
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # pragma: no cover
            return None  # a safety net: the tests hold every file they make to a program

    def context(self, now: datetime, directory: Directory) -> EvalContext:
        """The evaluation context for a cycle starting at ``now``."""
        return EvalContext(now, self.tz, directory, self.holidays, self._durations)

    def decide(self, task: Task, ctx: EvalContext, memory: TaskMemory = NO_MEMORY) -> Decision:
        bound, run = self._bound
        if bound is not ctx:
            run = self._bind(ctx)
        decision: Decision = run(task, memory)
        return decision

    def interpret(self, task: Task, ctx: EvalContext, memory: TaskMemory = NO_MEMORY) -> Decision:
        """``decide`` on the checks instead of the generated code: the same verdict, slower."""
        return self._walk(task, ctx, memory, self._untraced)

    def _bind(self, ctx: EvalContext) -> Decide:
        """The program's decide for ``ctx`` (its values read once), kept for the next task."""
        if self.program is not None:
            run = self.program.bind(ctx)
        else:  # pragma: no cover - the program could not be compiled
            run = partial(self._interpret_in, ctx)
        self._bound = (ctx, run)
        return run

    def _interpret_in(self, ctx: EvalContext, task: Task, memory: TaskMemory) -> Decision:
        return self._walk(task, ctx, memory, self._untraced)

    def explain(self, task: Task, ctx: EvalContext, memory: TaskMemory = NO_MEMORY) -> Decision:
        """Like ``decide``, recording every condition and the near misses."""
        return self._walk(task, ctx, memory, TraceRecorder(self, task, ctx))

    def _walk(self, task: Task, ctx: EvalContext, memory: TaskMemory, tracer: Tracer) -> Decision:
        """The one walk over the matrix and the rules; ``tracer`` sees each step as it goes."""
        urgent = tracer.urgent(task, ctx)
        important = tracer.important(task, ctx)
        quadrant = _QUADRANT[urgent, important]
        ctx.quadrant = quadrant
        skipped = None
        if self.opt_out_tag in task.tag_names or memory.override is not None:
            skipped = self._skip_reason(task, memory)
        outcomes: list[RuleOutcome] = []
        if skipped is not None:
            tracer.skipped(self.rules, skipped)
        else:
            completed = task.completed
            claimed_by: str | None = None
            for test, open_only, compiled in tracer.checks:
                if open_only and completed:
                    tracer.rule(compiled, RuleStatus.SKIPPED, "the task is completed")
                    continue
                if not test(task, ctx):  # a tracer's test notes the rules that do not match
                    continue
                if claimed_by is not None:
                    note = f"rule '{claimed_by}' already took the task (continue: false)"
                    tracer.rule(compiled, RuleStatus.NOT_REACHED, note)
                    continue
                outcome = compiled.outcome(task, ctx, memory)
                outcomes.append(outcome)
                tracer.acted(compiled, outcome)
                if not (compiled.rule.continue_ or compiled.rule.mode == "shadow"):
                    if not tracer.every_rule:
                        break  # no later rule can act: nothing more to see
                    claimed_by = compiled.name
        return tracer.decision(task, quadrant, urgent, important, skipped, tuple(outcomes))

    def _skip_reason(self, task: Task, memory: TaskMemory) -> str | None:
        if self.opt_out_tag in task.tag_names:
            return f"tagged {self.head.client.opt_out_tag}: never touched"
        if memory.override is not None and self.respect_overrides:
            return f"taken back by a person: {memory.override}"
        return None

    def plan(
        self,
        tasks: Iterable[Task],
        ctx: EvalContext,
        memories: Mapping[str, TaskMemory] | None = None,
        *,
        explain: bool = False,
    ) -> Plan:
        """Decide many tasks and apply each rule's per-cycle ``limit``, in task order.

        With ``explain`` each decision carries its traces (``Engine.explain``); its outcomes are
        the plan's all the same, those held back by a limit left out.
        """
        memories = memories or {}
        walk = self.explain if explain else self.decide
        taken: dict[str, int] = {}
        limits = {r.name: r.rule.limit for r in self.rules}
        decisions: list[Decision] = []
        deferred: list[tuple[Decision, str]] = []
        for task in tasks:
            decision = walk(task, ctx, memories.get(task.gid, NO_MEMORY))
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
                decision = replace(decision, outcomes=tuple(kept))
            decisions.append(decision)
        return Plan(tuple(decisions), tuple(deferred))


Checks = tuple[tuple[Test, bool, CompiledRule], ...]  # (test, open_only, rule), in rule order


class Tracer:
    """What the rule walk shows a tracer: this one records nothing (``Engine.decide``).

    The walk evaluates the matrix and the rules with the tracer's tests, so a recording tracer
    sees each condition; it tells the tracer what became of every rule it reached.
    """

    every_rule = False  # walk on past the rule that took the task, to show the others

    def __init__(self, engine: Engine) -> None:
        self.urgent: Test = engine.matrix.urgent.test
        self.important: Test = engine.matrix.important.test
        self.checks: Checks = engine._checks

    def skipped(self, rules: Sequence[CompiledRule], reason: str) -> None:
        """The task is left alone: no rule is tried."""

    def rule(self, compiled: CompiledRule, status: RuleStatus, note: str) -> None:
        """A rule that does not act: skipped for this task, or not reached."""

    def acted(self, compiled: CompiledRule, outcome: RuleOutcome) -> None:
        """A rule that matched, and what it wants done."""

    def decision(
        self,
        task: Task,
        quadrant: str,
        urgent: bool,
        important: bool,
        skipped: str | None,
        outcomes: tuple[RuleOutcome, ...],
    ) -> Decision:
        """The walk's verdict, with whatever the tracer recorded."""
        return Decision(task, quadrant, urgent, important, skipped, outcomes)


class TraceRecorder(Tracer):
    """A tracer for one task that records every condition, rule by rule (``Engine.explain``).

    Its tests evaluate a condition with all of its children (``conditions.explain``); a rule
    that does not match is noted there, with the near miss when one top-level condition failed.
    """

    every_rule = True

    def __init__(self, engine: Engine, task: Task, ctx: EvalContext) -> None:
        self.task, self.ctx = task, ctx
        self._matrix = engine.matrix
        self.urgent_trace: ConditionTrace | None = None
        self.important_trace: ConditionTrace | None = None
        self.rule_traces: list[RuleTrace] = []
        self.near_misses: list[NearMiss] = []
        self._last: ConditionTrace | None = None  # of the rule the walk is at
        self.urgent = self._urgent
        self.important = self._important
        self.checks = tuple(
            (partial(self._holds, compiled), open_only, compiled)
            for _, open_only, compiled in engine._checks
        )

    def _urgent(self, task: Task, ctx: EvalContext) -> bool:
        trace = self.urgent_trace = explain(self._matrix.urgent, task, ctx)
        return trace.matched

    def _important(self, task: Task, ctx: EvalContext) -> bool:
        trace = self.important_trace = explain(self._matrix.important, task, ctx)
        return trace.matched

    def _holds(self, compiled: CompiledRule, task: Task, ctx: EvalContext) -> bool:
        trace = self._last = explain(compiled.when, task, ctx)
        if not trace.matched:
            self.rule_traces.append(
                RuleTrace(compiled.index, compiled.name, RuleStatus.NO_MATCH, "", trace)
            )
            top = _top_level(trace)
            failed = [c for c in top if not c.matched]
            if len(failed) == 1 and len(top) > 1:
                self.near_misses.append(NearMiss(compiled.name, compiled.index, failed[0]))
        return trace.matched

    def skipped(self, rules: Sequence[CompiledRule], reason: str) -> None:
        for compiled in rules:
            self.rule(compiled, RuleStatus.SKIPPED, reason)

    def rule(self, compiled: CompiledRule, status: RuleStatus, note: str) -> None:
        trace = self._last if status is RuleStatus.NOT_REACHED else None
        if trace is None:
            trace = explain(compiled.when, self.task, self.ctx)
        self.rule_traces.append(RuleTrace(compiled.index, compiled.name, status, note, trace))

    def acted(self, compiled: CompiledRule, outcome: RuleOutcome) -> None:
        if outcome.already_acted is not None and not outcome.intents:
            status = RuleStatus.NOTHING_TO_DO
            note = f"already acted on {outcome.already_acted.date().isoformat()} (repeat: false)"
        elif not outcome.intents:
            status, note = RuleStatus.NOTHING_TO_DO, "every action is already in place"
        else:
            status = RuleStatus.ACTS if not outcome.shadow else RuleStatus.ACTS_SHADOW
            note = "shadow mode: planned and reported, nothing written" if outcome.shadow else ""
        self.rule_traces.append(RuleTrace(compiled.index, compiled.name, status, note, self._last))

    def decision(
        self,
        task: Task,
        quadrant: str,
        urgent: bool,
        important: bool,
        skipped: str | None,
        outcomes: tuple[RuleOutcome, ...],
    ) -> Decision:
        return Decision(
            task, quadrant, urgent, important, skipped, outcomes,
            self.urgent_trace, self.important_trace, tuple(self.rule_traces),
            tuple(self.near_misses),
        )  # fmt: skip


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


def _unbound(task: Task, memory: TaskMemory) -> Decision:  # pragma: no cover - never called
    raise AssertionError("decide before a context was bound")


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
    outcome = _outcome(index, rule, planners)
    return CompiledRule(index, rule, when, conjuncts, planners, not mentions_completed, outcome)


def _outcome(
    index: int, rule: Rule, planners: tuple[Planner, ...]
) -> Callable[[Task, EvalContext, TaskMemory], RuleOutcome]:
    """What a rule that matched a task wants done to it, given what was done before."""
    name, mode, repeat = rule.name, rule.mode, rule.repeat

    def outcome(task: Task, ctx: EvalContext, memory: TaskMemory) -> RuleOutcome:
        acted = memory.acted.get(name)
        if acted is not None and not repeat:
            return RuleOutcome(name, index, mode, (), acted)
        intents: list[Intent] = []
        for planner in planners:
            intents.extend(planner(task, ctx, memory.commented))
        return RuleOutcome(name, index, mode, tuple(intents), acted)

    return outcome
