"""What a summary or digest is made of, read from the store and the task backend (never written).

The texts written here (problems, the reasons a task waits or was taken back) are in the client's
voice (``Client.voice``); a digest speaks the assistant's own ``language`` when set.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from delegator.clients import ClientEntry
from delegator.core.estimate import DEFAULT_TIME_FIELD
from delegator.core.expectations import Ledger, Step, WorkTime, clock, upcoming
from delegator.core.language import ENGLISH, Language, Noun, Phrases, Voice
from delegator.core.model import Task
from delegator.core.schema import Expectation, FileHead
from delegator.core.summary import (
    AssistantLoad,
    DeadlineSoon,
    DelegatedTask,
    DigestInputs,
    DigestTask,
    FollowUpFact,
    FollowUpKind,
    OpenTask,
    Problem,
    ProblemKind,
    StatusThresholds,
    SummaryInputs,
    TakenBack,
    WaitingTask,
)
from delegator.core.timeexpr import Duration
from delegator.cycles import Count, ErrorKind
from delegator.followups_view import ledgers, work_time
from delegator.ports import (
    ActionRecord,
    BackendError,
    CycleRecord,
    Delegation,
    FollowUp,
    StateStore,
)
from delegator.redact import redact_outgoing
from delegator.service import ClientError, ClientRuntime, error_kind, still_queued
from delegator.settings import Settings
from delegator.summaries.periods import Period, within
from delegator.summaries.reasons import queued_reason, taken_back_reason


@dataclass
class Gather:
    """Reads a client's summary inputs and an assistant's digest inputs.

    The store gives the delegations, journal, overrides, cycles and sends; the backend one read
    of the client's watched sources (the Covey matrix) and one batch read of the open delegated
    tasks (their current due dates)."""

    store: StateStore
    settings: Settings
    runtime_for: Callable[[ClientEntry], ClientRuntime]
    clock: Callable[[], datetime]
    # False: the store alone (the status page): no Covey matrix of open tasks, and due dates as
    # the delegations recorded them; nothing is asked of Asana.
    reads_asana: bool = True

    @property
    def thresholds(self) -> StatusThresholds:
        return StatusThresholds(
            at_risk_overdue=self.settings.summary_at_risk_overdue,
            off_track_overdue=self.settings.summary_off_track_overdue,
        )

    def summary_inputs(self, entry: ClientEntry, period: Period) -> SummaryInputs:
        head = entry.loaded.head
        if head is None:
            raise ClientError(f"{entry.path}: the rule file has errors")
        key = entry.key
        voice = head.client.voice
        problems: list[Problem] = []
        if entry.errors:
            left_out = ", ".join(name for _, name in entry.loaded.left_out)
            problems.append(
                Problem(
                    "rules",
                    voice.say(
                        SAY,
                        "rule_errors",
                        errors=voice.plural(len(entry.errors), ERROR),
                        file=entry.path.name,
                        left_out=left_out or voice.say(SAY, "none"),
                        first=entry.errors[0],
                    ),
                )
            )
        runtime: ClientRuntime | None = None
        try:
            if self.reads_asana:
                runtime = self.runtime_for(entry)
                runtime.refresh(self.clock())
                problems.extend(Problem("source", problem.text) for problem in runtime.problems)
        except (ClientError, BackendError) as exc:
            problems.append(Problem(_problem_kind(exc), str(exc)))
            runtime = None

        all_delegations = self.store.delegations(key, status=None)
        relevant = [
            d
            for d in all_delegations
            if d.status == "open" or within(d.delegated_at, period) or within(d.closed_at, period)
        ]
        fresh = _fresh([d.task_gid for d in relevant if d.status == "open"], runtime)
        urls = {d.task_gid: d.permalink_url for d in all_delegations if d.permalink_url}
        open_tasks: list[OpenTask] | None = None
        if runtime is not None:
            try:
                open_tasks = self._open_tasks(runtime, urls)
            except (BackendError, ClientError) as exc:
                said = voice.say(SAY, "reading_sources", error=exc)
                problems.append(Problem(_problem_kind(exc), said))
        names = _assistant_names(entry, runtime)
        delegations = [_delegated(d, fresh.get(d.task_gid), names) for d in relevant]
        problems.extend(
            Problem("task", _gone_problem(d, names, voice))
            for d in relevant
            if d.status in ("deleted", "no_access") and within(d.closed_at, period)
        )
        open_gids = {d.task_gid for d in all_delegations if d.status == "open"}
        waiting_tasks = waiting(self.store, key, period, urls, open_gids, voice)
        taken_back = [
            TakenBack(o.task_gid, o.task_name, urls.get(o.task_gid, _task_url(o.task_gid)),
                      o.rule, taken_back_reason(o.reason, voice), o.detected_at)
            for o in self.store.overrides(key, since=period.start)
            if o.detected_at < period.end
        ]  # fmt: skip
        problems.extend(cycle_problems(self.store, key, period, voice))
        problems.extend(delivery_problems(self.store, key, period, voice))
        facts = followup_facts(self.store, key, period, urls, names)
        load = self.store.assistant_load(key)
        assistants = [
            AssistantLoad(k, names.get(k, k), load.get(k, 0), a.capacity)
            for k, a in head.assistants.items()
        ]
        return SummaryInputs(
            client=head.client.name,
            timezone=head.client.timezone,
            period_start=period.start,
            period_end=period.end,
            delegations=delegations,
            waiting=waiting_tasks,
            taken_back=taken_back,
            problems=[Problem(p.what, redact_outgoing(p.text)) for p in problems],
            open_tasks=open_tasks,
            assistants=assistants,
            due_soon_days=head.summary.due_soon_days if head.summary is not None else 3,
            time_field=head.summary.time_field if head.summary is not None else DEFAULT_TIME_FIELD,
            followups=facts,
            voice=voice,
        )

    def _open_tasks(self, runtime: ClientRuntime, urls: dict[str, str]) -> list[OpenTask]:
        """Every open task of the watched sources, in its quadrant (one read per source page)."""
        engine = runtime.engine
        now = self.clock()
        ctx = engine.context(now, runtime.directory)
        owner = runtime.directory.owner.gid
        seen: dict[str, OpenTask] = {}
        for source in runtime.sources:
            for task in runtime.backend.read_open(source):
                if task.completed or task.gid in seen:
                    continue
                if task.permalink_url:
                    urls.setdefault(task.gid, task.permalink_url)
                quadrant = engine.decide(task, ctx).quadrant
                held = task.assignee is not None and task.assignee.gid == owner
                seen[task.gid] = OpenTask(
                    task.gid, task.name, task.permalink_url or _task_url(task.gid),
                    quadrant,  # type: ignore[arg-type]
                    held,
                )  # fmt: skip
        return list(seen.values())

    def digest_inputs(
        self, entry: ClientEntry, assistant: str, since: datetime, now: datetime
    ) -> DigestInputs:
        head = entry.loaded.head
        if head is None or assistant not in head.assistants:
            raise ClientError(f"{entry.key}: no assistant {assistant!r}")
        spec = head.assistants[assistant]
        runtime: ClientRuntime | None = None
        try:
            if self.reads_asana:
                runtime = self.runtime_for(entry)
                runtime.refresh(now)
        except (ClientError, BackendError):
            runtime = None
        mine = [d for d in self.store.delegations(entry.key, status="open")
                if d.assistant == assistant]  # fmt: skip
        fresh = _fresh([d.task_gid for d in mine], runtime)
        reasons = _reasons(entry)
        tasks: list[DigestTask] = []
        late_soon = _Deadlines(self.store, entry, head, assistant, now, mine)
        for d in mine:
            task = fresh.get(d.task_gid)
            if task is not None and task.completed:
                continue
            late_soon.add(d, task)
            tasks.append(
                DigestTask(
                    gid=d.task_gid,
                    name=(task.name if task is not None and task.name else d.task_name),
                    url=d.permalink_url or _task_url(d.task_gid),
                    client=head.client.name,
                    rule=d.rule,
                    reason=reasons.get(d.rule, ""),
                    delegated_at=d.delegated_at,
                    due_on=task.due_on if task is not None else d.due_on,
                )
            )
        names = _assistant_names(entry, runtime)
        return DigestInputs(
            assistant=assistant,
            name=names.get(assistant, assistant),
            timezone=spec.timezone or head.client.timezone,
            since=since,
            now=now,
            tasks=tasks,
            load=len(mine),
            capacity=spec.capacity,
            deadlines=late_soon.found,
            voice=head.client.voice.speaking(spec.language),
            own_language=spec.language is not None,
            client=head.client.name,
        )


class _Deadlines:
    """The open delegations of one assistant whose next expectation falls due before their
    next digest (or, with no digest scheduled, by the end of their next working day): read
    from the rule's ``expect:``, the assistant's working calendar and the follow-up ledger."""

    def __init__(
        self,
        store: StateStore,
        entry: ClientEntry,
        head: FileHead,
        assistant: str,
        now: datetime,
        delegations: Sequence[Delegation],
    ) -> None:
        self.entry, self.head, self.now = entry, head, now
        self.found: list[DeadlineSoon] = []
        self.expects = _expectations(entry)
        self.work = work_time(head, assistant)
        spec = head.assistants[assistant]
        tz = ZoneInfo(spec.timezone or head.client.timezone)
        self.until = _next_digest(head, self.work, tz, now)
        wanted = [d.task_gid for d in delegations if d.rule in self.expects]
        self.ledgers = ledgers(store.followups(entry.key, task_gids=wanted)) if wanted else {}

    def add(self, delegation: Delegation, task: Task | None) -> None:
        expect = self.expects.get(delegation.rule)
        if expect is None or self.until is None:
            return
        due_on = task.due_on if task is not None else delegation.due_on
        clk = clock(expect, delegation.delegated_at, self.work, due_on)
        ledger = self.ledgers.get((delegation.task_gid, delegation.delegated_at), Ledger())
        soon = upcoming(clk, ledger, self.now, self.until)
        if not soon:
            return
        first = soon[0]  # the next stage expected: the later ones follow from it
        self.found.append(
            DeadlineSoon(
                gid=delegation.task_gid,
                name=(task.name if task is not None and task.name else delegation.task_name),
                url=delegation.permalink_url or _task_url(delegation.task_gid),
                client=self.head.client.name,
                rule=delegation.rule,
                stage=first.stage,
                due=first.due,
                due_on=due_on,
            )
        )


def _expectations(entry: ClientEntry) -> dict[str, Expectation]:
    """The rules' ``expect:`` by rule name (the rules that expect something)."""
    if entry.engine is None:
        return {}
    return {r.name: r.rule.expect for r in entry.engine.rules if r.rule.expect is not None}


def _next_digest(head: FileHead, work: WorkTime, tz: ZoneInfo, now: datetime) -> datetime | None:
    """When the assistant hears from the service again: their next digest, else the end of
    their next working day (None: no working time ahead)."""
    if head.digest is not None:
        try:
            return head.digest.cron.next_after(now, tz)
        except ValueError:
            return None
    return work.add(now, Duration(1, "days"))


_FACT_STEPS: dict[Step, FollowUpKind] = {
    Step.REMINDER: "reminder",
    Step.ESCALATION: "escalation",
    Step.REASSIGN: "reassign",
    Step.BOUNCE: "bounce",
}


def followup_facts(
    store: StateStore,
    key: str,
    period: Period,
    urls: Mapping[str, str],
    names: Mapping[str, str],
) -> list[FollowUpFact]:
    """The follow-up steps carried out in the period (status done): reminders, escalations,
    reassignments and bounces, as the summary tells them."""
    steps = store.followups(key, since=period.start, steps=list(_FACT_STEPS), statuses=["done"])
    # An escalation whose rule left "summary" out of its escalate: steps is not told here.
    return [
        _fact(f, urls, names)
        for f in steps
        if f.created_at < period.end and f.detail.get("summary") is not False
    ]


def _fact(step: FollowUp, urls: Mapping[str, str], names: Mapping[str, str]) -> FollowUpFact:
    to = str(step.detail.get("to") or "")
    return FollowUpFact(
        gid=step.task_gid,
        name=step.task_name,
        url=urls.get(step.task_gid, _task_url(step.task_gid)),
        rule=step.rule,
        assistant=step.assistant,
        assistant_name=names.get(step.assistant, step.assistant),
        kind=_FACT_STEPS[step.step],
        stage=step.stage,
        at=step.created_at,
        reason=redact_outgoing(str(step.detail.get("reason") or "")).strip(),
        to=names.get(to, to),
    )


def combined_digest_inputs(parts: Sequence[DigestInputs]) -> DigestInputs:
    """One assistant's digests from several clients as one: every client's tasks, the earliest
    start, the latest end, the loads and capacities added up. In one voice: the assistant's own
    ``language`` where a client file sets it, else the first client's in name order (each in
    client name order)."""
    by_name = sorted(parts, key=lambda p: (p.client.casefold(), p.client))
    own = [p for p in by_name if p.own_language]
    chosen = (own or by_name)[0]
    return DigestInputs(
        assistant=parts[0].assistant,
        name=parts[0].name,
        timezone=parts[0].timezone,
        since=min(p.since for p in parts),
        now=max(p.now for p in parts),
        tasks=[t for p in parts for t in p.tasks],
        load=sum(p.load for p in parts),
        capacity=sum(p.capacity for p in parts),
        deadlines=[d for p in parts for d in p.deadlines],
        voice=chosen.voice,
        own_language=chosen.own_language,
        client=chosen.client,
    )


def waiting(
    store: StateStore,
    key: str,
    period: Period,
    urls: Mapping[str, str],
    delegated: set[str],
    voice: Voice = ENGLISH,
) -> list[WaitingTask]:
    """Tasks in the queue at the period's end, and what shadow rules would have done in it.
    ``delegated``: the tasks with an open delegation (no longer waiting)."""
    found: list[WaitingTask] = []
    for gid, action in still_queued(store, key, period.end).items():
        if gid in delegated:
            continue
        reason = queued_reason(str(action.result or action.detail.get("reason", "")), voice)
        found.append(
            WaitingTask(gid, action.task_name, urls.get(gid, _task_url(gid)), action.rule,
                        "queued", reason, action.created_at)
        )  # fmt: skip
    shadows: dict[str, ActionRecord] = {}
    # A shadow rule journals each change it would have made (mode "shadow", never sent).
    for action in store.actions(client=key, since=period.start):
        if action.mode == "shadow" and action.created_at < period.end:
            shadows.setdefault(action.task_gid, action)
    for gid, action in shadows.items():
        found.append(
            WaitingTask(gid, action.task_name, urls.get(gid, _task_url(gid)), action.rule,
                        "shadow", voice.say(SAY, "shadow", rule=action.rule), action.created_at)
        )  # fmt: skip
    return found


def cycle_problems(
    store: StateStore, key: str, period: Period, voice: Voice = ENGLISH
) -> list[Problem]:
    """The period's cycle errors, alike ones grouped, after one line on the writes that failed
    (from the cycles' counts, so none goes unsaid)."""
    failed, cycles_failing = 0, 0
    by_kind: dict[str, int] = {}
    groups: dict[tuple[ProblemKind, str], list[str]] = {}
    for cycle in store.cycles(key, limit=500):
        if not within(cycle.started_at, period):
            continue
        count = cycle.counts[Count.ACTIONS_FAILED]
        if count:
            failed += count
            cycles_failing += 1
            for kind, value in cycle.counts.failed_by_kind().items():
                by_kind[kind] = by_kind.get(kind, 0) + value
        for index, error in enumerate(cycle.errors):
            text = redact_outgoing(error.strip())
            if text:
                what = _stored_kind(cycle, index, text)
                groups.setdefault((what, _error_group(text)), []).append(text)
    problems: list[Problem] = []
    if failed:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(by_kind.items()))
        problems.append(
            Problem(
                "write",
                voice.say(
                    SAY,
                    "writes_failed",
                    changes=voice.plural(failed, CHANGE_FAILED),
                    cycles=voice.plural(cycles_failing, CYCLE),
                    kinds=f" ({kinds})" if kinds else "",
                ),
            )
        )
    for (what, group), texts in groups.items():
        distinct = list(dict.fromkeys(texts))
        shown = distinct[0] if len(distinct) == 1 else group
        if len(texts) > 1:
            shown = voice.say(SAY, "times", text=shown, count=voice.number(len(texts)))
        problems.append(Problem(what, shown))
    return problems[:10]


def _stored_kind(cycle: CycleRecord, index: int, text: str) -> ProblemKind:
    """The problem kind of a cycle's error: the kind the cycle recorded for it."""
    kind = cycle.error_kind(index)
    if kind is not None:
        return _PROBLEM_KINDS[kind]
    # A row written before cycles recorded their errors' kinds (or one of a kind this version
    # does not know): classified by its text, as it was when the row was written.
    if _WRITE_ERROR.match(text):
        return "write"
    return _text_kind(text)


def delivery_problems(
    store: StateStore, key: str, period: Period, voice: Voice = ENGLISH
) -> list[Problem]:
    """The sends of the period that failed or were given up (the ledger's last error)."""
    return [
        Problem(
            "delivery",
            redact_outgoing(
                voice.say(
                    SAY,
                    "delivery",
                    kind=voice.say(SAY, s.kind) if s.kind in _SEND_KINDS else s.kind,
                    destination=s.destination,
                    error=s.last_error or s.status,
                )
            ),
        )
        for s in store.sends(key, statuses=("failed", "gave_up"), limit=20)
        if s.created_at >= period.start
    ]


def _assistant_names(entry: ClientEntry, runtime: ClientRuntime | None) -> dict[str, str]:
    head = entry.loaded.head
    assert head is not None
    known = runtime.directory.assistants if runtime is not None else {}
    names: dict[str, str] = {}
    for key, assistant in head.assistants.items():
        person = known.get(key)
        names[key] = assistant.name or (person.name if person is not None else "") or key
    return names


def _fresh(gids: Sequence[str], runtime: ClientRuntime | None) -> dict[str, Task]:
    """The current state of open delegated tasks: ten per batch request."""
    if not gids or runtime is None:
        return {}
    try:
        states = runtime.backend.read_tasks(list(gids), brief=True)
    except BackendError:
        return {}
    return {state.gid: state.task for state in states if state.task is not None}


def _delegated(
    delegation: Delegation, task: Task | None, names: Mapping[str, str]
) -> DelegatedTask:
    status = delegation.status
    closed_at = delegation.closed_at
    due_on: date | None = delegation.due_on
    name = delegation.task_name
    if task is not None:
        due_on = task.due_on
        name = task.name or name
        if task.completed and status == "open":
            status, closed_at = "done", task.completed_at
    minutes_from = delegation.minutes_from
    return DelegatedTask(
        gid=delegation.task_gid,
        name=name,
        url=delegation.permalink_url or _task_url(delegation.task_gid),
        rule=delegation.rule,
        assistant=delegation.assistant,
        assistant_name=names.get(delegation.assistant, delegation.assistant),
        delegated_at=delegation.delegated_at,
        due_on=due_on,
        status=status,
        closed_at=closed_at,
        minutes=delegation.minutes,
        minutes_from=minutes_from if minutes_from in ("field", "rule") else None,  # type: ignore[arg-type]
    )


def _reasons(entry: ClientEntry) -> dict[str, str]:
    if entry.engine is None:
        return {}
    return {r.name: (r.rule.description or "").strip() for r in entry.engine.rules}


# A write that failed, as the service words it: "task 1234: tag failed (...): why".
_WRITE_ERROR = re.compile(r"^task \d+: \w+ failed\b")
_TASK_PREFIX = re.compile(r"^task \d+: ")
_LONG_NUMBER = re.compile(r"\b\d{6,}\b")


def _error_group(text: str) -> str:
    """What alike errors share: the text without the task and the gids it names."""
    return _LONG_NUMBER.sub("…", _TASK_PREFIX.sub("", text))


_PROBLEM_KINDS: dict[ErrorKind, ProblemKind] = {
    ErrorKind.TOKEN: "token",
    ErrorKind.SOURCE: "source",
    ErrorKind.TASK: "task",
    ErrorKind.WRITE: "write",
    ErrorKind.CYCLE: "cycle",
}


def _problem_kind(exc: Exception) -> ProblemKind:
    """What an error raised while reading for a summary is, from its type: an error that ends
    the client's reads (a refused token, Asana out of reach) keeps the summary from being
    whole, like a refused token."""
    if isinstance(exc, BackendError) and exc.fatal:
        return "token"
    return _PROBLEM_KINDS[error_kind(exc)]


def _text_kind(text: str) -> Literal["token", "source", "cycle"]:
    """The kind of a stored error without a recorded kind, by its words (rows written before
    kinds were recorded)."""
    lowered = text.lower()
    if "token" in lowered or "401" in lowered or "not authorized" in lowered:
        return "token"
    if lowered.startswith(("project", "section", "tag", "my tasks", "watch")):
        return "source"
    return "cycle"


def _gone_problem(delegation: Delegation, names: Mapping[str, str], voice: Voice = ENGLISH) -> str:
    who = names.get(delegation.assistant, delegation.assistant)
    key = "gone_deleted" if delegation.status == "deleted" else "gone_hidden"
    return voice.say(SAY, key, name=delegation.task_name, who=who, rule=delegation.rule)


_SEND_KINDS = frozenset({"summary", "digest"})

# The texts written here, in every language.
SAY = Phrases(
    {
        "rule_errors": {
            Language.EN: "{errors} in {file}; rules left out: {left_out}; first: {first}",
            Language.IT: "{errors} in {file}; regole escluse: {left_out}; il primo: {first}",
        },
        "none": {Language.EN: "none", Language.IT: "nessuna"},
        "reading_sources": {
            Language.EN: "reading the sources: {error}",
            Language.IT: "lettura delle fonti: {error}",
        },
        "writes_failed": {
            Language.EN: "{changes} to tasks failed in {cycles}{kinds}; each is tried again at "
            "the next cycle",
            Language.IT: "{changes} alle attività in {cycles}{kinds}; ognuna sarà ritentata al "
            "prossimo ciclo",
        },
        "times": {Language.EN: "{text} ({count} times)", Language.IT: "{text} ({count} volte)"},
        "delivery": {
            Language.EN: "{kind} to {destination}: {error}",
            Language.IT: "{kind} a {destination}: {error}",
        },
        "summary": {Language.EN: "summary", Language.IT: "riepilogo"},
        "digest": {Language.EN: "digest", Language.IT: "riepilogo dell'assistente"},
        "gone_deleted": {
            Language.EN: '"{name}" (delegated to {who} by rule "{rule}") was deleted in Asana; '
            "it no longer counts against their capacity",
            Language.IT: '"{name}" (delegata a {who} dalla regola "{rule}") è stata eliminata '
            "in Asana; non conta più nel suo carico",
        },
        "gone_hidden": {
            Language.EN: '"{name}" (delegated to {who} by rule "{rule}") is no longer visible '
            "to the service's token; it no longer counts against their capacity",
            Language.IT: '"{name}" (delegata a {who} dalla regola "{rule}") non è più visibile '
            "al token del servizio; non conta più nel suo carico",
        },
        "shadow": {
            Language.EN: "rule {rule} is in shadow mode",
            Language.IT: "la regola {rule} è in prova",
        },
    }
)

ERROR = Noun({Language.EN: ("error(s)", "error(s)"), Language.IT: ("errore", "errori")})
CHANGE_FAILED = Noun(
    {
        Language.EN: ("change", "changes"),
        Language.IT: ("modifica non riuscita", "modifiche non riuscite"),
    }
)
CYCLE = Noun({Language.EN: ("cycle", "cycles"), Language.IT: ("ciclo", "cicli")})


def _task_url(gid: str) -> str:
    return f"https://app.asana.com/0/0/{gid}/f"
