"""The follow-up of a client's open delegations, once per cycle: expectations met or missed,
reminders, escalations, reassignment after a second miss, and "not for me" bounces.

Each step is claimed in the follow-up ledger before anything is written (``claim_followup``: at
most one per delegation, stage and step, whatever the replicas or restarts), carried out, then
settled together with its journal entry. A claim a crash left pending is carried on at the next
cycle: a comment it may have posted is looked for first, and the other writes (assignee, tag,
follower) are desired states, harmless to make twice.

What it costs: nothing while no deadline is near and no delegated task changed. A task is read
(batched with the others) and its activity read (``TaskBackend.activity``) only when a step is
due for it, or, when the client has a bounce command, when it was read this cycle changed since
the service last wrote to it (a comment moves a task's modified_at).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from delegator.core.assignment import Roster, choose
from delegator.core.conditions import Check, compile_condition
from delegator.core.context import Identity
from delegator.core.expectations import (
    Activity,
    Bounce,
    Clock,
    Deadline,
    Due,
    Ledger,
    Step,
    WorkTime,
    clock,
    due_now,
    find_bounce,
    next_wake,
    observed,
    status_lines,
)
from delegator.core.intents import AddTag, Assign, Follow, Intent, RemoveTag
from delegator.core.language import Language, Phrases, Voice
from delegator.core.model import Task
from delegator.core.schema import AssignAction, Expectation, Rule
from delegator.cycles import Count, ErrorKind
from delegator.effects import Writer
from delegator.followups_view import ledger_of, stage_of, work_time
from delegator.logs import get_logger
from delegator.ports import (
    BackendError,
    Delegation,
    FollowUp,
    FollowUpStatus,
    Override,
    TaskGone,
)
from delegator.redact import redact_outgoing

if TYPE_CHECKING:
    from delegator.ports import StateStore
    from delegator.service import ClientRuntime, CycleReport

# The comments the follow-up writes on a task, in every language the client may speak. The
# English ones are those the service always wrote. Each comment's end is how a comment a crash
# left posted is found again (`find_notice`): the texts end with words of their own, not with
# the mention Asana puts at the start.
TEXTS = Phrases(
    {
        "reminder": {
            Language.EN: "Reminder: this task is expected to be {verb} by {when} "
            '({deadline}, rule "{rule}").',
            Language.IT: "Promemoria: questa attività va {verb} entro {when} "
            "(regola «{rule}»: {deadline}).",
        },
        "reminder_bounce": {
            Language.EN: ' If it is not for you, reply "{command}: <why>".',
            Language.IT: " Se non fa per te, rispondi «{command}: <motivo>».",
        },
        "escalation": {
            Language.EN: "{who} {missed} this task: it was expected by {when} "
            '({deadline}, rule "{rule}").',
            Language.IT: "{who} {missed} questa attività: era attesa entro {when} "
            "(regola «{rule}»: {deadline}).",
        },
        "escalation_owner": {
            Language.EN: " Escalated to you as the task's owner.",
            Language.IT: " La segnaliamo a te come responsabile dell'attività.",
        },
        "reassigned": {
            Language.EN: "Reassigned to you: {old} missed two expectations on this task "
            '(rule "{rule}"). Its clock starts again now.',
            Language.IT: "Riassegnata a te: {old} ha mancato due scadenze su questa attività "
            "(regola «{rule}»). I tempi ripartono da adesso.",
        },
        "bounced_on": {
            Language.EN: '{name} passed this task on{because}. It is yours now (rule "{rule}").',
            Language.IT: "{name} ha passato questa attività{because}. Ora è tua (regola «{rule}»).",
        },
        "bounced_back": {
            Language.EN: "{name} says this task is not for them{because}. It is back with you, "
            'and rule "{rule}" will leave it alone.',
            Language.IT: "{name} ha restituito questa attività{because}. Torna a te e la regola "
            "«{rule}» non se ne occuperà più.",
        },
    }
)
# What the assistant is reminded to do: "this task is expected to be ...".
_VERB = Phrases(
    {
        "acknowledged": {
            Language.EN: "acknowledged (a comment or a like is enough)",
            Language.IT: "presa in carico (basta un commento o un mi piace)",
        },
        "started": {Language.EN: "started", Language.IT: "iniziata"},
        "done": {Language.EN: "done", Language.IT: "completata"},
    }
)
# What the assistant missed: "Giulia ... this task".
_MISSED = Phrases(
    {
        "acknowledged": {
            Language.EN: "has not acknowledged",
            Language.IT: "non ha ancora preso in carico",
        },
        "started": {Language.EN: "has not started", Language.IT: "non ha ancora iniziato"},
        "done": {Language.EN: "has not finished", Language.IT: "non ha ancora completato"},
    }
)


def reminder_text(
    voice: Voice, stage: str, when: str, deadline: Deadline, rule: str, command: str | None
) -> str:
    """The reminder to the assistant: by when the stage is expected, and how to bounce."""
    text = voice.say(
        TEXTS,
        "reminder",
        verb=voice.say(_VERB, stage),
        when=when,
        deadline=deadline.describe(voice),
        rule=rule,
    )
    if command:
        text += voice.say(TEXTS, "reminder_bounce", command=command)
    return redact_outgoing(text)


def escalation_text(
    voice: Voice, who: str, stage: str, when: str, deadline: Deadline, rule: str, *, owner: bool
) -> str:
    """The escalation of a missed stage (``owner``: escalated to the task's owner)."""
    text = voice.say(
        TEXTS,
        "escalation",
        who=who,
        missed=voice.say(_MISSED, stage),
        when=when,
        deadline=deadline.describe(voice),
        rule=rule,
    )
    if owner:
        text += voice.say(TEXTS, "escalation_owner")
    return redact_outgoing(text)


def reassigned_text(voice: Voice, old: str, rule: str) -> str:
    """The comment to the assistant a task is reassigned to after two misses."""
    return redact_outgoing(voice.say(TEXTS, "reassigned", old=old, rule=rule))


def bounce_text(voice: Voice, name: str, reason: str, rule: str, *, to_owner: bool) -> str:
    """The comment on a bounced task: to the next assistant, or back to the owner."""
    because = f": {reason}" if reason else ""
    key = "bounced_back" if to_owner else "bounced_on"
    return redact_outgoing(voice.say(TEXTS, key, name=name, because=because, rule=rule))


_KIND = {
    Step.REMINDER: "remind",
    Step.ESCALATION: "escalate",
    Step.REASSIGN: "reassign",
    Step.BOUNCE: "bounce",
}


@dataclass(frozen=True, slots=True)
class Foreseen:
    """The clock a task would get if a rule delegated it now to one assistant (``explain``)."""

    rule: str
    assistant: str
    deadlines: tuple[Deadline, ...]
    lines: tuple[str, ...]


def foreseen_clocks(head: Any, rules: Iterable[Rule], now: datetime, due_on: Any) -> list[Foreseen]:
    """For each rule with ``expect:``, the clock each assistant it may pick would start now;
    its lines in the client's language."""
    tz = ZoneInfo(head.client.timezone)
    voice: Voice = head.client.voice
    found: list[Foreseen] = []
    for rule in rules:
        if rule.expect is None:
            continue
        action = next((a for a in rule.then if isinstance(a, AssignAction)), None)
        if action is None:
            continue
        who = action.assign.pool or ([action.assign.to] if action.assign.to else [])
        for key in who:
            clk = clock(rule.expect, now, work_time(head, key), due_on)
            lines = status_lines(clk, Ledger(), now, tz, voice)
            found.append(Foreseen(rule.name, key, clk.deadlines, tuple(lines)))
    return found


@dataclass(frozen=True, slots=True)
class ClockView:
    """The clock of one open delegation, as ``plan`` and ``explain`` show it."""

    task_gid: str
    task_name: str
    rule: str
    assistant: str
    delegated_at: datetime
    lines: tuple[str, ...]  # in English (JSON)
    due: tuple[str, ...] = ()  # what is due now: "reminder acknowledged", "escalation done"
    said: tuple[str, ...] = ()  # the lines in the client's language (the plan's text)


@dataclass(slots=True)
class _Open:
    """One open delegation during the follow-up."""

    delegation: Delegation
    rule: Rule | None
    work: WorkTime
    rows: list[FollowUp] = field(default_factory=list)

    @property
    def expect(self) -> Expectation | None:
        return self.rule.expect if self.rule is not None else None

    def clock(self, due_on: Any = None) -> Clock | None:
        if self.expect is None:
            return None
        return clock(
            self.expect,
            self.delegation.delegated_at,
            self.work,
            due_on if due_on is not None else self.delegation.due_on,
        )

    @property
    def ledger(self) -> Ledger:
        return ledger_of(self.rows)


class FollowUps:
    """One cycle's follow-up of one client's open delegations."""

    def __init__(
        self,
        runtime: ClientRuntime,
        store: StateStore,
        report: CycleReport,
        *,
        now: datetime,
        dry_run: bool,
        checkpoint: Callable[[], None],
        notice_overrides: Callable[[Iterable[Task]], None],
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.report = report
        self.now = now
        self.dry_run = dry_run
        self.checkpoint = checkpoint
        self.notice_overrides = notice_overrides
        self.log = get_logger()
        self.head = runtime.head
        self.tz = ZoneInfo(self.head.client.timezone)
        self.voice: Voice = self.head.client.voice
        self.rules = {r.name: r.rule for r in runtime.engine.rules if r.rule.mode == "active"}
        self._started_checks: dict[str, Check] = {}
        self.handled: set[str] = set()  # tasks bounced or reassigned this cycle
        self.written: set[str] = set()  # tasks the follow-up wrote to (comments included)

    # ------------------------------------------------------------------ reading the ledger
    def _open(self, gids: Iterable[str] | None = None) -> list[_Open]:
        key = self.runtime.key
        with self.store.together():  # the delegations and their ledger, one transaction
            delegations = self.store.delegations(key, "open", task_gids=gids)
            if not delegations:
                return []
            rows = self.store.followups(key, task_gids=[d.task_gid for d in delegations])
        by_delegation: dict[tuple[str, datetime], list[FollowUp]] = defaultdict(list)
        for row in rows:
            by_delegation[(row.task_gid, row.delegated_at)].append(row)
        return [
            _Open(
                d,
                self.rules.get(d.rule),
                work_time(self.head, d.assistant),
                by_delegation.get((d.task_gid, d.delegated_at), []),
            )
            for d in delegations
        ]

    def clocks(self) -> list[ClockView]:
        """The clock of every open delegation with an expectation (no request to Asana)."""
        views: list[ClockView] = []
        for item in self._open():
            clk = item.clock()
            if clk is None:
                continue
            ledger = item.ledger
            d = item.delegation
            due = due_now(
                clk,
                ledger,
                self.now,
                item.work,
                reassign=bool(item.expect and item.expect.reassign),
            )
            views.append(
                ClockView(
                    d.task_gid,
                    d.task_name,
                    d.rule,
                    d.assistant,
                    d.delegated_at,
                    tuple(status_lines(clk, ledger, self.now, self.tz)),
                    tuple(f"{x.step.value} {x.stage}" for x in due),
                    tuple(status_lines(clk, ledger, self.now, self.tz, self.voice)),
                )
            )
        return views

    # ------------------------------------------------------------------ bounces by tag
    def tagged_bounces(self, tasks: Sequence[Task]) -> set[str]:
        """Delegated tasks the assistant tagged "not for me", among the tasks read this cycle:
        bounced before overrides are looked for, so an assistant who also hands the task back
        to the owner is a bounce, not an override. The gids handled."""
        if self.dry_run:
            return set()
        tag = self.head.bounce.tag.casefold()
        tagged = {t.gid: t for t in tasks if tag in t.tag_names}
        if not tagged:
            return set()
        for item in self._open(tagged):
            task = tagged[item.delegation.task_gid]
            if not self._still_theirs(task, item.delegation):
                continue  # someone else has it now: an override, not a bounce
            self.checkpoint()
            self._bounce(item, task, Bounce("", self.now, by_tag=True))
        return set(self.handled)

    def _still_theirs(self, task: Task, d: Delegation) -> bool:
        """Whether the task is with the assistant, or with nobody or the owner (the assistant
        handing it back along with the tag)."""
        current = task.assignee
        if current is None:
            return True
        assistant = self.runtime.directory.assistants.get(d.assistant, Identity())
        return (
            current.gid == d.assignee_gid
            or assistant.is_user(current)
            or self.runtime.directory.owner.is_user(current)
        )

    # ------------------------------------------------------------------ the follow-up
    def run(
        self,
        seen: Mapping[str, Task],
        whole: bool,
        *,
        hold: object = None,
        changed: Set[str] = frozenset(),
    ) -> None:
        """Settle what a crash left pending, then look at each open delegation whose follow-up
        has a step due, or whose task changed since it was delegated (its assistant may have
        said "not for me" in a comment).

        The moment the next step may be due is kept in memory, with the lease it was computed
        under: until then a cycle that delegated nothing reads nothing for the follow-up."""
        if self.dry_run:
            return
        runtime = self.runtime
        command = self.head.bounce_commands
        wake = runtime.followup_wake
        # A delegated task that changed may carry the assistant's comment command.
        changed = changed if command else frozenset()
        quiet = not (
            whole
            or changed
            or self.handled
            or self.report.counts[Count.MATCHED]
            or self.report.counts[Count.OUTCOMES_RESUMED]
        )
        if quiet and wake is not None and wake[0] == hold and self.now < wake[1]:
            return
        runtime.followup_wake = None  # until this look ends well
        items = [i for i in self._open() if i.delegation.task_gid not in self.handled]
        look: list[_Open] = []
        for item in items:
            clk = item.clock()
            pending = any(r.status == "pending" for r in item.rows)
            due = (
                due_now(
                    clk,
                    item.ledger,
                    self.now,
                    item.work,
                    reassign=bool(item.expect and item.expect.reassign),
                )
                if clk is not None
                else []
            )
            # A delegation made this very cycle has nothing to show yet.
            just_made = item.delegation.delegated_at >= self.now
            # At a whole read every open delegation's task is among those read (and changed).
            read_again = self._changed_since(seen, item.delegation, changed)
            if due or pending or (read_again and command and not just_made):
                look.append(item)
        if look:
            self._look(look, seen)
        runtime.followup_wake = (hold, self._next_wake())

    def _changed_since(self, seen: Mapping[str, Task], d: Delegation, changed: Set[str]) -> bool:
        """Whether a person changed the task since the service last wrote to it: the service's
        own writes (read back at the next cycle) are no reason to read its activity. What this
        process wrote is known; after a restart, a changed task is read once."""
        task = seen.get(d.task_gid)
        if d.task_gid not in changed or task is None:
            return False
        own = self.runtime.own_writes.get(d.task_gid)
        return own is None or task.modified_at is None or task.modified_at > own

    def _next_wake(self) -> datetime:
        """When a step may next be due for any open delegation (now: a claim is pending)."""
        moments: list[datetime] = []
        for item in self._open():
            if any(r.status == "pending" for r in item.rows):
                return self.now
            clk = item.clock()
            if clk is not None:
                moment = next_wake(clk, item.ledger, self.now, item.work)
                if moment is not None:
                    moments.append(moment)
        return min(moments, default=datetime.max.replace(tzinfo=self.now.tzinfo))

    def _look(self, look: list[_Open], seen: Mapping[str, Task]) -> None:
        tasks = dict(seen)
        missing = [i.delegation.task_gid for i in look if i.delegation.task_gid not in tasks]
        if missing:
            self.checkpoint()
            fresh: list[Task] = []
            for state in self.runtime.backend.read_tasks(missing):
                if state.task is not None:
                    fresh.append(state.task)
                    tasks[state.gid] = state.task
            # A task completed or taken back meanwhile closes its delegation first.
            self.notice_overrides(fresh)
        still_open = {
            d.task_gid for d in self.store.delegations(self.runtime.key, "open", task_gids=tasks)
        }
        for item in look:
            gid = item.delegation.task_gid
            task = tasks.get(gid)
            if task is None:
                continue  # unreadable now (gone is closed at the whole read): tried again
            if gid not in still_open:
                self._drop_pending(item, "the task was completed or taken back meanwhile")
                continue
            self.checkpoint()
            try:
                self._follow(item, task)
            except TaskGone as exc:
                self.report.add_error(ErrorKind.TASK, f"task {gid}: {exc}")
            except BackendError as exc:
                if exc.fatal:
                    raise
                self.report.add_error(
                    ErrorKind.WRITE, f"task {gid}: follow-up: {exc} (carried on next cycle)"
                )
                self.report.counts[Count.FOLLOWUPS_FAILED] += 1

    def _drop_pending(self, item: _Open, why: str) -> None:
        for row in item.rows:
            if row.status == "pending":
                self.store.finish_followup(row.id, "skipped", self.now, detail={"result": why})

    def _follow(self, item: _Open, task: Task) -> None:
        d = item.delegation
        command = self.head.bounce_commands
        activity: Activity | None = None
        clk = item.clock(task.due_on)
        expect = item.expect
        pending = [r for r in item.rows if r.status == "pending"]
        needs_activity = bool(command) or (
            clk is not None and any(x.stage != "done" for x in self._dues(item, clk))
        )
        if needs_activity:
            activity = self.runtime.backend.activity(d.task_gid, d.delegated_at)
            self.report.counts[Count.ACTIVITY_READS] += 1
        # A pending bounce or reassignment is carried on first: it changes who has the task.
        for row in pending:
            if row.step is Step.BOUNCE:
                self._bounce(
                    item,
                    task,
                    Bounce(str(row.detail.get("reason", "")), row.due_at, by_tag=False),
                    claim=row,
                )
                return
        bounce = find_bounce(
            activity,
            d.assignee_gid,
            d.delegated_at,
            command,
            tagged=self.head.bounce.tag.casefold() in task.tag_names,
            now=self.now,
        )
        if bounce is not None and self._still_theirs(task, d):
            self._bounce(item, task, bounce)
            return
        if clk is None or expect is None:
            return
        started_now = False
        if expect.started_when is not None:
            ctx = self.runtime.engine.context(self.now, self.runtime.directory)
            started_now = self._started_check(d.rule, expect).test(task, ctx)
        met = observed(
            activity,
            d.assignee_gid,
            d.delegated_at,
            completed_at=(task.completed_at or self.now) if task.completed else None,
            started_now=started_now,
            now=self.now,
        )
        ledger = item.ledger
        for stage, at in met.items():
            if stage in ledger.met or clk.deadline(stage) is None:
                continue
            deadline = clk.deadline(stage)
            assert deadline is not None
            at_text = {"at": at.isoformat()}
            if self._claim(item, stage, Step.MET, deadline.due, "done", at_text) is not None:
                self.report.counts[Count.EXPECTATIONS_MET] += 1
        ledger = item.ledger
        for row in pending:
            if row.step in (Step.REMINDER, Step.ESCALATION, Step.REASSIGN):
                pending_stage = stage_of(row.stage)
                if pending_stage is not None and ledger.is_met(pending_stage):
                    self.store.finish_followup(
                        row.id, "skipped", self.now, detail={"result": "met meanwhile"}
                    )
                    continue
                self._carry(item, task, row)
                if row.step is Step.REASSIGN:
                    return
        for due in self._dues(item, clk):
            self.checkpoint()
            step = self._claim_due(item, due)
            if step is None:
                continue  # claimed already, by this replica or another
            self._carry(item, task, step)
            if due.step is Step.REASSIGN:
                return

    def _dues(self, item: _Open, clk: Clock) -> list[Due]:
        expect = item.expect
        return due_now(
            clk, item.ledger, self.now, item.work, reassign=bool(expect and expect.reassign)
        )

    def _started_check(self, rule: str, expect: Expectation) -> Check:
        check = self._started_checks.get(rule)
        if check is None:
            assert expect.started_when is not None
            check = compile_condition(
                expect.started_when, ("rules", rule, "expect", "started_when")
            )
            self._started_checks[rule] = check
        return check

    # ------------------------------------------------------------------ claims
    def _claim(
        self,
        item: _Open,
        stage: str,
        step: Step,
        due_at: datetime,
        status: FollowUpStatus,
        detail: Mapping[str, Any],
    ) -> FollowUp | None:
        """Claim one step of the delegation's follow-up: its row (kept with the delegation's),
        or None when it was claimed before, by this replica or another."""
        d = item.delegation
        claimed = self.store.claim_followup(
            client=d.client, task_gid=d.task_gid, task_name=d.task_name, rule=d.rule,
            assistant=d.assistant, delegated_at=d.delegated_at, stage=stage, step=step,
            due_at=due_at, at=self.now, status=status, detail=detail,
        )  # fmt: skip
        if claimed is None:
            return None
        row = FollowUp(
            id=claimed, client=d.client, task_gid=d.task_gid, task_name=d.task_name,
            rule=d.rule, assistant=d.assistant, delegated_at=d.delegated_at, stage=stage,
            step=step, status=status, due_at=due_at, created_at=self.now, detail=dict(detail),
        )  # fmt: skip
        item.rows.append(row)
        return row

    def _claim_due(self, item: _Open, due: Due) -> FollowUp | None:
        text = self._text(item, due.step, due.stage, due.deadline)
        detail: dict[str, Any] = {"text": text} if text else {}
        return self._claim(item, due.stage, due.step, due.deadline.due, "pending", detail)

    # ------------------------------------------------------------------ texts
    def _when(self, moment: datetime, zone: Any) -> str:
        if self.voice.language is Language.EN:
            return moment.astimezone(zone).strftime("%a %d %b %H:%M")
        return self.voice.moment(moment, zone)

    def _text(self, item: _Open, step: Step, stage: str, deadline: Deadline) -> str:
        d = item.delegation
        directory = self.runtime.directory
        assistant = directory.assistants.get(d.assistant, Identity(name=d.assistant))
        who = assistant.name or d.assistant
        expect = item.expect
        commands = self.head.bounce_commands
        match step:
            case Step.REMINDER:
                when = self._when(deadline.due, item.work.tz)
                command = commands[0] if commands else None
                return reminder_text(self.voice, stage, when, deadline, d.rule, command)
            case Step.ESCALATION:
                target = expect.escalate_to if expect is not None else "owner"
                when = self._when(deadline.due, self.tz)
                owner = target == "owner" or expect is None
                return escalation_text(self.voice, who, stage, when, deadline, d.rule, owner=owner)
            case _:
                return ""

    # ------------------------------------------------------------------ carrying a step out
    def _carry(self, item: _Open, task: Task, row: FollowUp) -> None:
        match row.step:
            case Step.REMINDER:
                person = self.runtime.directory.assistants.get(item.delegation.assistant)
                story = self._notice(task, str(row.detail.get("text", "")), person)
                self._settle(item, task, row, story, "reminder sent", to=item.delegation.assistant)
                self.report.counts[Count.REMINDERS] += 1
            case Step.ESCALATION:
                self._escalate(item, task, row)
            case Step.REASSIGN:
                self._reassign(item, task, row)
            case _:
                pass

    def _notice(self, task: Task, text: str, person: Identity | None) -> str | None:
        """Post ``text`` mentioning ``person``, unless a crash already posted it."""
        if not text:
            return None
        backend = self.runtime.backend
        found = backend.find_notice(task.gid, text)
        if found is not None:
            return found
        self.written.add(task.gid)
        return backend.notify(task, text, self._with_gid(person))

    def _with_gid(self, person: Identity | None) -> Identity | None:
        if person is None or person.gid or not person.email:
            return person
        found = self.runtime.backend.person(person.email)
        return Identity(found.gid, found.email, person.name or found.name) if found else person

    def _write(
        self, item: _Open, task: Task, intent: Intent, assignee: Identity | None = None
    ) -> None:
        """One write of the follow-up (an assignee, a tag, a follower), journaled like a rule's
        own with what the task showed before, so `history` shows it and `undo` can take it
        back; BackendError propagates after the journal says it failed."""
        d = item.delegation
        writer = Writer(
            backend=self.runtime.backend, store=self.store, client_key=d.client,
            directory=self.runtime.directory, cycle_id=self.report.cycle_id, now=self.now,
        )  # fmt: skip
        entry = writer.entry(task, d.rule, intent, assistant=d.assistant, assignee=assignee)
        [action] = self.store.begin_actions([entry])
        self.written.add(task.gid)
        try:
            self.runtime.backend.write(
                task, intent, assignee=assignee, directory=self.runtime.directory
            )
        except BackendError as exc:
            self.store.finish_action(action, "failed", self.now, result=str(exc))
            raise
        self.store.finish_action(action, "done", self.now)
        self.report.counts[Count.ACTIONS_DONE] += 1

    def _escalate(self, item: _Open, task: Task, row: FollowUp) -> None:
        expect = item.expect
        steps = expect.escalate if expect is not None else ["comment", "summary"]
        target = expect.escalate_to if expect is not None else "owner"
        person = self.runtime.directory.resolve(target)
        story = None
        if "comment" in steps:
            story = self._notice(task, str(row.detail.get("text", "")), person)
        if "follow" in steps and not any(person.is_user(f) for f in task.followers):
            self._write(item, task, Follow(target))
        tag = expect.escalation_tag if expect is not None and "tag" in steps else None
        if tag is not None and tag.casefold() not in task.tag_names:
            self._write(item, task, AddTag(tag))
        shown = person.name or person.email or target
        self._settle(
            item,
            task,
            row,
            story,
            f"escalated to {shown}",
            to=target,
            extra={"summary": "summary" in steps},
        )
        self.report.counts[Count.ESCALATIONS] += 1
        self.log.info("expectation_missed", task=task.gid, stage=row.stage, to=target)

    def _next_assistant(self, item: _Open, task: Task, exclude: set[str]) -> str | None:
        rule = item.rule
        action = next((a for a in rule.then if isinstance(a, AssignAction)), None) if rule else None
        if action is None or not action.assign.pool:
            return None
        pool = tuple(p for p in action.assign.pool if p not in exclude)
        if not pool:
            return None
        key = self.runtime.key
        roster = Roster(
            self.head.assistants,
            self.tz,
            dict(self.store.assistant_load(key)),
            dict(self.store.round_robin(key)),
        )
        intent = Assign(
            pool=pool, strategy=action.assign.strategy, skill=action.assign.skill, overflow="skip"
        )
        choice = choose(intent, roster, self.now)
        return choice.assistant

    def _handed_over(self, item: _Open, task: Task, new: str) -> Delegation:
        d = item.delegation
        person = self.runtime.directory.assistants[new]
        return Delegation(
            client=d.client,
            task_gid=d.task_gid,
            task_name=task.name,
            rule=d.rule,
            assistant=new,
            assignee_gid=person.gid,
            delegated_at=self.now,
            tag=d.tag,
            permalink_url=d.permalink_url,
            due_on=task.due_on,
            minutes=d.minutes,
            minutes_from=d.minutes_from,
        )

    def _reassign(self, item: _Open, task: Task, row: FollowUp) -> None:
        d = item.delegation
        new = row.detail.get("to")
        if not isinstance(new, str) or new not in self.runtime.directory.assistants:
            new = self._next_assistant(item, task, {d.assistant})
        if new is None:
            self.store.finish_followup(
                row.id,
                "skipped",
                self.now,
                detail={"result": "no other assistant of the pool can take it"},
            )
            return
        self.store.finish_followup(row.id, "pending", self.now, detail={"to": new})
        person = self.runtime.directory.assistants[new]
        old = self.runtime.directory.assistants.get(d.assistant, Identity(name=d.assistant))
        self._write(item, task, Assign(to=new), self._with_gid(person))
        text = reassigned_text(self.voice, old.name or d.assistant, d.rule)
        story = self._notice(task, text, person)
        self._settle(
            item,
            task,
            row,
            story,
            f"reassigned to {new}",
            to=new,
            text=text,
            successor=self._handed_over(item, task, new),
            status="reassigned",
        )
        self.handled.add(task.gid)
        self.report.counts[Count.REASSIGNED] += 1

    def _bounce(
        self, item: _Open, task: Task, bounce: Bounce, *, claim: FollowUp | None = None
    ) -> None:
        d = item.delegation
        if claim is None:
            detail = {"reason": bounce.reason, "by_tag": bounce.by_tag}
            claim = self._claim(item, "", Step.BOUNCE, bounce.at, "pending", detail)
            if claim is None:
                return
        directory = self.runtime.directory
        where = (item.rule.on_bounce if item.rule is not None else None) or self.head.bounce.to
        new = claim.detail.get("to")
        if not isinstance(new, str) or new not in directory.assistants:
            new = None
            if where == "next_assistant":
                bounced_before = {
                    r.assistant
                    for r in self.store.followups(
                        self.runtime.key, task_gids=[d.task_gid], steps=[Step.BOUNCE]
                    )
                }
                new = self._next_assistant(item, task, {d.assistant, *bounced_before})
        self.store.finish_followup(claim.id, "pending", self.now, detail={"to": new or "owner"})
        old = directory.assistants.get(d.assistant, Identity(name=d.assistant))
        name = old.name or d.assistant
        successor: Delegation | None = None
        if new is not None:
            person = directory.assistants[new]
            self._write(item, task, Assign(to=new), self._with_gid(person))
            if self.head.bounce.tag.casefold() in task.tag_names:
                self._write(item, task, RemoveTag(self.head.bounce.tag))
            text = bounce_text(self.voice, name, bounce.reason, d.rule, to_owner=False)
            successor = self._handed_over(item, task, new)
            mention: Identity | None = person
            result = f"bounced by {d.assistant}, given to {new}"
        else:
            owner = directory.owner
            if not owner.is_user(task.assignee):
                self._write(item, task, Assign(to="owner"), self._with_gid(owner))
            if d.tag is not None and d.tag.casefold() in task.tag_names:
                self._write(item, task, RemoveTag(d.tag))
            text = bounce_text(self.voice, name, bounce.reason, d.rule, to_owner=True)
            mention = owner
            result = f"bounced by {d.assistant}, back to the owner"
        story = self._notice(task, text, mention)
        override = None
        if new is None:
            reason = f"bounced by {name}" + (f": {bounce.reason}" if bounce.reason else "")
            override = Override(d.client, d.task_gid, task.name, d.rule, reason, self.now)
        self._settle(
            item,
            task,
            claim,
            story,
            result,
            to=new or "owner",
            text=text,
            successor=successor,
            status="bounced",
            override=override,
        )
        self.handled.add(task.gid)
        self.report.counts[Count.BOUNCES] += 1
        self.log.info("delegation_bounced", task=task.gid, assistant=d.assistant, to=new or "owner")

    def _settle(
        self,
        item: _Open,
        task: Task,
        row: FollowUp,
        story: str | None,
        result: str,
        *,
        to: str,
        text: str | None = None,
        successor: Delegation | None = None,
        status: Any = None,
        override: Override | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """The step done: the ledger, the journal and the delegations, in one transaction."""
        d = item.delegation
        shown = text if text is not None else str(row.detail.get("text", ""))
        detail: dict[str, Any] = {"stage": row.stage, "to": to, "description": result}
        if shown:
            detail["text"] = shown
        for key in ("reason", "by_tag"):
            if key in row.detail:
                detail[key] = row.detail[key]
        store = self.store
        with store.together(write=True):
            store.finish_followup(
                row.id,
                "done",
                self.now,
                story_gid=story,
                detail={"to": to, **({"text": shown} if shown else {}), **(extra or {})},
            )
            entry = store.begin_action(
                cycle_id=self.report.cycle_id,
                client=d.client,
                task_gid=d.task_gid,
                task_name=task.name,
                rule=d.rule,
                kind=_KIND[row.step],
                detail=detail,
                assistant=d.assistant,
                mode="active",
                at=self.now,
                status="done",
            )
            store.finish_action(entry, "done", self.now, result=result, story_gid=story)
            if status is not None:
                store.close_delegation(d.client, d.task_gid, status, self.now)
            if successor is not None:
                store.record_delegation(successor)
            if override is not None and self.head.client.overrides == "respect":
                store.record_override(override)
