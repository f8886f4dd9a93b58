"""Expectations on a delegated task: the clock that says by when it is acknowledged, started and
done, when the assistant is reminded, when it escalates, and what already happened.

Pure: the moment, the assistant's calendar and what was observed all come from the caller. A
clock is recomputed from the delegation's start at every look, so a change to the assistant's
hours or time away moves the deadlines still ahead.

Working time: an expectation counts the assistant's working time, never the wall clock.
  - ``m`` and ``h`` count minutes of the assistant's shifts (their ``hours``; every hour of a
    business day when they have none), less the client's holidays and the assistant's days away;
  - ``d``, ``business days`` and ``w`` (five working days) count whole working days: the
    deadline is the end of the last shift of the Nth working day after the day of delegation.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from delegator.core.language import ENGLISH, Language, Noun, Phrases, Voice
from delegator.core.schema import STAGES, Expectation, Stage
from delegator.core.timeexpr import DateRange, Duration, WorkingHours

# How far the clock looks for working time before it gives up (an assistant away for a year, or
# with no shift at all): the deadline is then unknown and nothing is sent.
HORIZON_DAYS = 400


# ----------------------------------------------------------------------------- working time


@dataclass(frozen=True, slots=True)
class WorkTime:
    """An assistant's working calendar: their shifts in their zone, the client's holidays and
    their time away."""

    tz: tzinfo
    hours: WorkingHours | None = None
    holidays: frozenset[date] = frozenset()
    away: tuple[DateRange, ...] = ()

    def _works_on(self, day: date) -> bool:
        if day in self.holidays or any(day in period for period in self.away):
            return False
        if self.hours is None:
            return day.weekday() < 5
        return any(s.weekday == day.weekday() for s in self.hours.shifts)

    def _shifts(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of one local day, in order (aware, in the assistant's zone)."""
        if not self._works_on(day):
            return []
        midnight = datetime.combine(day + timedelta(days=1), time(0), self.tz)
        if self.hours is None:
            return [(datetime.combine(day, time(0), self.tz), midnight)]
        spans = sorted(
            (
                datetime.combine(day, s.start, self.tz),
                datetime.combine(day, s.end, self.tz) if s.end is not None else midnight,
            )
            for s in self.hours.shifts
            if s.weekday == day.weekday()
        )
        # Shifts written so that they overlap ("Mon-Fri 09:00-17:00; Fri 14:00-18:00") or touch
        # are one interval: an hour is worked once, and the day ends with the latest shift.
        merged: list[tuple[datetime, datetime]] = []
        for a, b in spans:
            if merged and _utc(a) <= _utc(merged[-1][1]):
                merged[-1] = (merged[-1][0], max(merged[-1][1], b, key=_utc))
            else:
                merged.append((a, b))
        return merged

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals from ``start`` on (the first one clipped to it)."""
        local = start.astimezone(self.tz)
        for offset in range(HORIZON_DAYS):
            for a, b in self._shifts(local.date() + timedelta(days=offset)):
                if _utc(b) <= _utc(local):
                    continue
                yield max(a, local, key=_utc), b

    def intervals_back(self, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals before ``end``, latest first (the first one clipped to it)."""
        local = end.astimezone(self.tz)
        for offset in range(HORIZON_DAYS):
            for a, b in reversed(self._shifts(local.date() - timedelta(days=offset))):
                if _utc(a) >= _utc(local):
                    continue
                yield a, min(b, local, key=_utc)

    def is_working(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        return any(_utc(a) <= _utc(local) < _utc(b) for a, b in self._shifts(local.date()))

    def next_working(self, moment: datetime) -> datetime | None:
        """``moment`` when working, else the start of the next working interval."""
        return next((a for a, _ in self.intervals(moment)), None)

    def add(self, start: datetime, duration: Duration) -> datetime | None:
        """The moment ``duration`` of working time after ``start`` (None: beyond the horizon)."""
        if duration.is_calendar:
            return self._day_end(start.astimezone(self.tz).date(), _days(duration), forward=True)
        left = duration.timedelta()
        for a, b in self.intervals(start):
            span = _length(a, b)
            if left <= span:
                return _plus(a, left)
            left -= span
        return None

    def subtract(self, end: datetime, duration: Duration) -> datetime | None:
        """The moment ``duration`` of working time before ``end``."""
        if duration.is_calendar:
            day = end.astimezone(self.tz).date()
            return self._day_end(day, _days(duration), forward=False)
        left = duration.timedelta()
        for a, b in self.intervals_back(end):
            span = _length(a, b)
            if left <= span:
                return _plus(b, -left)
            left -= span
        return None

    def _day_end(self, day: date, count: int, *, forward: bool) -> datetime | None:
        """The end of the last shift of the ``count``-th working day after (or before) ``day``."""
        step = 1 if forward else -1
        for offset in range(1, HORIZON_DAYS):
            candidate = day + timedelta(days=step * offset)
            shifts = self._shifts(candidate)
            if shifts:
                count -= 1
                if count <= 0:
                    return shifts[-1][1]
        return None

    def working_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from ``start`` to ``end`` (zero when ``end`` is not later)."""
        total = timedelta()
        for a, b in self.intervals(start):
            if _utc(a) >= _utc(end):
                break
            total += _length(a, min(b, end, key=_utc))
        return total


def _days(duration: Duration) -> int:
    return duration.amount * 5 if duration.unit == "weeks" else duration.amount


def _utc(moment: datetime) -> datetime:
    """How moments are compared: two datetimes of one zone compare by their wall clock, wrong in
    the hour repeated when the clocks go back."""
    return moment.astimezone(UTC)


def _length(a: datetime, b: datetime) -> timedelta:
    return b.astimezone(UTC) - a.astimezone(UTC)


def _plus(moment: datetime, delta: timedelta) -> datetime:
    tz = moment.tzinfo
    return (moment.astimezone(UTC) + delta).astimezone(tz)


# ----------------------------------------------------------------------------- the clock


class Step(enum.StrEnum):
    """What the follow-up of a delegation records, each at most once per stage."""

    MET = "met"  # the stage was observed done
    REMINDER = "reminder"  # the assistant was reminded
    ESCALATION = "escalation"  # the stage was missed and escalated
    REASSIGN = "reassign"  # after a second miss, given to another assistant
    BOUNCE = "bounce"  # the assistant said "not for me" (stage "")


@dataclass(frozen=True, slots=True)
class Deadline:
    """By when one stage is expected, and when the assistant is reminded of it."""

    stage: Stage
    due: datetime
    remind_at: datetime | None  # None: no reminder (the expectation is shorter than the notice)
    within: Duration | None  # None: the task's due date decided

    def describe(self, voice: Voice = ENGLISH) -> str:
        """ "acknowledged within 4h", "presa in carico entro 4 ore"."""
        if voice.language is Language.EN:
            what = f"within {self.within}" if self.within is not None else "by the due date"
            return f"{self.stage} {what}"
        if self.within is None:
            return voice.say(TEXTS, "by_due_date", stage=stage_word(self.stage, voice))
        return voice.say(
            TEXTS,
            "within",
            stage=stage_word(self.stage, voice),
            within=duration_words(self.within, voice),
        )


@dataclass(frozen=True, slots=True)
class Clock:
    """The deadlines of one delegation, in stage order."""

    started: datetime
    deadlines: tuple[Deadline, ...]
    unknown: tuple[Stage, ...] = ()  # stages with no working time ahead: never due

    def deadline(self, stage: Stage) -> Deadline | None:
        return next((d for d in self.deadlines if d.stage == stage), None)


def clock(
    expect: Expectation, started: datetime, work: WorkTime, due_on: date | None = None
) -> Clock:
    """The deadlines of an expectation for a task delegated at ``started``.

    ``done`` without ``done_within`` is the task's due date, when it has one: the end of the
    assistant's last shift that day (or of the last working day before it)."""
    deadlines: list[Deadline] = []
    unknown: list[Stage] = []
    for stage in STAGES:
        within: Duration | None = getattr(expect, f"{stage}_within")
        if within is not None:
            due = work.add(started, within)
        elif stage == "done" and due_on is not None:
            due = _due_date_end(due_on, work)
            if due is not None and due <= started:
                continue  # already late when delegated: the due date expects nothing new
        else:
            continue
        if due is None:
            unknown.append(stage)
            continue
        remind = work.subtract(due, expect.remind_before)
        if remind is not None and _utc(remind) <= _utc(started):
            remind = None
        deadlines.append(Deadline(stage, due, remind, within))
    return Clock(started, tuple(deadlines), tuple(unknown))


def _due_date_end(due_on: date, work: WorkTime) -> datetime | None:
    shifts = work._shifts(due_on)
    if shifts:
        return shifts[-1][1]
    return work._day_end(due_on, 1, forward=False)


@dataclass(frozen=True, slots=True)
class Ledger:
    """What the follow-up ledger holds for one delegation."""

    met: Mapping[Stage, datetime] = field(default_factory=dict)
    reminded: frozenset[Stage] = frozenset()
    escalated: frozenset[Stage] = frozenset()
    reassigned: bool = False

    def is_met(self, stage: Stage) -> bool:
        """A stage is met when it or a later one was observed (done implies started...)."""
        index = STAGES.index(stage)
        return any(s in self.met for s in STAGES[index:])

    @property
    def misses(self) -> int:
        return len(self.escalated)


@dataclass(frozen=True, slots=True)
class Due:
    """One follow-up step due now."""

    stage: Stage
    step: Step
    deadline: Deadline


def due_now(
    clk: Clock, ledger: Ledger, now: datetime, work: WorkTime, *, reassign: bool = False
) -> list[Due]:
    """The steps due at ``now``: a reminder only while the assistant works and before the
    deadline, an escalation once the deadline passed, and after a second escalation (when the
    rule says so) a reassignment. A stage already met, reminded or escalated is not due again."""
    now = _utc(now)
    dues: list[Due] = []
    misses = ledger.misses
    for deadline in clk.deadlines:
        stage = deadline.stage
        if ledger.is_met(stage):
            continue
        if now >= deadline.due:
            if stage not in ledger.escalated:
                dues.append(Due(stage, Step.ESCALATION, deadline))
                misses += 1
                if reassign and misses >= 2 and not ledger.reassigned:
                    dues.append(Due(stage, Step.REASSIGN, deadline))
                    break  # the new assistant's clock starts over
        elif (
            deadline.remind_at is not None
            and now >= deadline.remind_at
            and stage not in ledger.reminded
            and work.is_working(now)
        ):
            dues.append(Due(stage, Step.REMINDER, deadline))
    return dues


def upcoming(clk: Clock, ledger: Ledger, now: datetime, until: datetime) -> list[Deadline]:
    """The deadlines not met yet that fall between ``now`` and ``until``: about to be late."""
    now, until = _utc(now), _utc(until)
    return [d for d in clk.deadlines if not ledger.is_met(d.stage) and now <= d.due < until]


def next_deadline(clk: Clock, ledger: Ledger) -> Deadline | None:
    """The first stage neither met nor escalated: what the assistant is working towards."""
    return next(
        (
            d
            for d in clk.deadlines
            if not ledger.is_met(d.stage) and d.stage not in ledger.escalated
        ),
        None,
    )


def status_lines(
    clk: Clock, ledger: Ledger, now: datetime, tz: tzinfo, voice: Voice = ENGLISH
) -> list[str]:
    """One line per stage, as ``explain`` and ``plan`` show the clock of an open delegation, in
    the voice's language (English by default)."""
    now = _utc(now)
    lines: list[str] = []
    say = voice.say
    for d in clk.deadlines:
        when = _short(d.due, tz, voice)
        if ledger.is_met(d.stage):
            at = ledger.met.get(d.stage)
            state = (
                say(TEXTS, "met_at", at=_short(at, tz, voice))
                if at is not None
                else say(TEXTS, "met")
            )
        elif d.stage in ledger.escalated:
            state = say(TEXTS, "escalated")
        elif now >= d.due:
            state = say(TEXTS, "escalation_pending")
        elif d.stage in ledger.reminded:
            state = say(TEXTS, "open_reminded")
        elif d.remind_at is not None:
            state = say(TEXTS, "open_reminder", at=_short(d.remind_at, tz, voice))
        else:
            state = say(TEXTS, "open")
        lines.append(say(TEXTS, "line", deadline=d.describe(voice), when=when, state=state))
    lines.extend(say(TEXTS, "no_deadline", stage=stage_word(stage, voice)) for stage in clk.unknown)
    return lines


def _short(moment: datetime | None, tz: tzinfo, voice: Voice = ENGLISH) -> str:
    if moment is None:
        return "?"
    local = moment.astimezone(tz)
    if voice.language is Language.EN:
        return local.strftime("%a %Y-%m-%d %H:%M")
    return f"{voice.day(local.date())} {local.year} {local.strftime('%H:%M')}"


# ----------------------------------------------------------------------------- the clock's words

# The texts of the clock in every language: the English ones are those the service always wrote.
TEXTS = Phrases(
    {
        "within": {
            Language.EN: "{stage} within {within}",
            Language.IT: "{stage} entro {within}",
        },
        "by_due_date": {
            Language.EN: "{stage} by the due date",
            Language.IT: "{stage} entro la scadenza",
        },
        "line": {
            Language.EN: "{deadline}: by {when} ({state})",
            Language.IT: "{deadline}: scade {when} ({state})",
        },
        "met_at": {Language.EN: "met {at}", Language.IT: "rispettata {at}"},
        "met": {Language.EN: "met", Language.IT: "rispettata"},
        "escalated": {
            Language.EN: "missed, escalated",
            Language.IT: "mancata, segnalata",
        },
        "escalation_pending": {
            Language.EN: "missed (escalation pending)",
            Language.IT: "mancata (segnalazione in arrivo)",
        },
        "open_reminded": {
            Language.EN: "open, reminded",
            Language.IT: "aperta, promemoria inviato",
        },
        "open_reminder": {
            Language.EN: "open, reminder {at}",
            Language.IT: "aperta, promemoria {at}",
        },
        "open": {Language.EN: "open", Language.IT: "aperta"},
        "no_deadline": {
            Language.EN: "{stage}: no working time ahead (no deadline)",
            Language.IT: "{stage}: nessun orario di lavoro in vista (nessuna scadenza)",
        },
    }
)

# A stage as a deadline names it: "acknowledged within 4h", "presa in carico entro 4 ore".
STAGE_WORDS = Phrases(
    {
        "acknowledged": {Language.EN: "acknowledged", Language.IT: "presa in carico"},
        "started": {Language.EN: "started", Language.IT: "iniziata"},
        "done": {Language.EN: "done", Language.IT: "completata"},
    }
)

_UNITS: Mapping[str, Noun] = {
    "minutes": Noun({Language.EN: ("min", "min"), Language.IT: ("min", "min")}),
    "hours": Noun({Language.EN: ("hour", "hours"), Language.IT: ("ora", "ore")}),
    "days": Noun(
        {
            Language.EN: ("working day", "working days"),
            Language.IT: ("giorno lavorativo", "giorni lavorativi"),
        }
    ),
    "business_days": Noun(
        {
            Language.EN: ("business day", "business days"),
            Language.IT: ("giorno lavorativo", "giorni lavorativi"),
        }
    ),
    "weeks": Noun({Language.EN: ("week", "weeks"), Language.IT: ("settimana", "settimane")}),
}


def stage_word(stage: Stage, voice: Voice = ENGLISH) -> str:
    """A stage as a deadline names it in the voice's language."""
    return voice.say(STAGE_WORDS, stage)


def duration_words(duration: Duration, voice: Voice = ENGLISH) -> str:
    """A rule's duration as the voice says it: English keeps the rule's own spelling ("4h",
    "2 business days"); Italian spells it out ("4 ore", "2 giorni lavorativi")."""
    if voice.language is Language.EN:
        return str(duration)
    return voice.plural(duration.amount, _UNITS[duration.unit])


# ----------------------------------------------------------------------------- what was observed


class StoryKind(enum.StrEnum):
    COMMENT = "comment"
    CHANGE = "change"  # any other story a person made: a section move, a field, a subtask...


@dataclass(frozen=True, slots=True)
class StoryFact:
    """One story on a task as the follow-up reads it."""

    author: str  # the author's gid ("" when Asana did not say)
    at: datetime
    kind: StoryKind
    text: str = ""  # a comment's text


@dataclass(frozen=True, slots=True)
class Activity:
    """What people did on a task since a moment: its stories, its likes and its subtasks
    completed. Read only when a deadline or a bounce is at stake."""

    stories: tuple[StoryFact, ...] = ()
    likers: frozenset[str] = frozenset()  # the gids of the people who liked the task
    subtasks_done: tuple[datetime, ...] = ()  # completion moments of completed subtasks
    truncated: bool = False  # more stories than the read's bound: the oldest were read


def observed(
    activity: Activity | None,
    assignee: str,
    since: datetime,
    *,
    completed_at: datetime | None,
    started_now: bool,
    now: datetime,
) -> dict[Stage, datetime]:
    """The stages met, and when, from what the task and its activity show.

    - done: the task completed;
    - started: ``started_when`` holds now, a change by the assignee, or a subtask completed;
    - acknowledged: a comment or a like by the assignee (or anything that counts as started).
    """
    met: dict[Stage, datetime] = {}
    if completed_at is not None:
        met["done"] = completed_at
    if started_now:
        met["started"] = now
    if activity is not None:
        mine = [s for s in activity.stories if s.author == assignee and s.at >= since]
        changes = [s.at for s in mine if s.kind is StoryKind.CHANGE]
        done_subtasks = [at for at in activity.subtasks_done if at >= since]
        first_start = min([*changes, *done_subtasks], default=None)
        if first_start is not None:
            met["started"] = min(first_start, met.get("started", first_start))
        comments = [s.at for s in mine if s.kind is StoryKind.COMMENT]
        first_ack = min(comments, default=None)
        if first_ack is None and assignee in activity.likers:
            first_ack = now  # a like carries no moment: first seen now
        if first_ack is not None:
            met["acknowledged"] = first_ack
    return met


# ----------------------------------------------------------------------------- "not for me"


@dataclass(frozen=True, slots=True)
class Bounce:
    """An assistant said a task is not for them."""

    reason: str  # the rest of the comment, or "" (a tag says no more)
    at: datetime
    by_tag: bool


def fold(text: str) -> str:
    """Casefolded, accents removed, spaces collapsed: how commands and words are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


_REASON_TRIM = " :;,.-\u2013\u2014!\t\n"  # dashes: en, em


def bounce_command(text: str, command: str) -> str | None:
    """The reason when ``text`` starts with ``command`` (case, accents and spaces ignored; a
    leading @-mention or punctuation skipped), else None."""
    words = fold(command)
    if not words:
        return None
    tokens = text.split()
    while tokens and tokens[0].startswith(("@", "http://", "https://")):
        tokens = tokens[1:]  # a mention (Asana writes it as a profile link in a story's text)
    plain = " ".join(tokens)
    folded = fold(plain)
    lead = 0
    while lead < len(folded) and folded[lead] in "#/!":
        lead += 1
    if not folded.startswith(words, lead):
        return None
    end = lead + len(words)
    if end < len(folded) and folded[end].isalnum():
        return None  # "not formal" is not "not for"
    # The reason keeps its own spelling: cut the original after as many characters as folded.
    return _original_tail(plain, end).strip(_REASON_TRIM)


def _original_tail(text: str, folded_length: int) -> str:
    """The part of ``text`` after the prefix whose folded form has ``folded_length`` chars."""
    for cut in range(len(text) + 1):
        if len(fold(text[:cut])) >= folded_length:
            return text[cut:]
    return ""


def find_bounce(
    activity: Activity | None,
    assignee: str,
    since: datetime,
    command: str | Sequence[str] | None,
    *,
    tagged: bool,
    now: datetime,
) -> Bounce | None:
    """A bounce by the assignee: the bounce tag on the task, or a comment starting with their
    comment command (one of them, when the client's language gives two)."""
    commands = (command,) if isinstance(command, str) else tuple(command or ())
    if activity is not None and commands:
        for story in activity.stories:
            if story.kind is StoryKind.COMMENT and story.author == assignee and story.at >= since:
                for words in commands:
                    reason = bounce_command(story.text, words)
                    if reason is not None:
                        return Bounce(reason, story.at, by_tag=False)
    if tagged:
        return Bounce("", now, by_tag=True)
    return None


def sorted_dues(dues: Sequence[Due]) -> list[Due]:
    order = {s: i for i, s in enumerate(STAGES)}
    return sorted(dues, key=lambda d: (order[d.stage], list(Step).index(d.step)))


def next_wake(clk: Clock, ledger: Ledger, now: datetime, work: WorkTime) -> datetime | None:
    """The first moment from ``now`` at which a step of this clock may be due (a reminder at
    the assistant's next working moment, an escalation at its deadline); None: nothing ahead.
    A stage met meanwhile only makes the look at that moment find nothing to do."""
    moments: list[datetime] = []
    for d in clk.deadlines:
        if ledger.is_met(d.stage):
            continue
        if d.stage not in ledger.escalated:
            moments.append(d.due)
        if d.remind_at is not None and d.stage not in ledger.reminded and now < d.due:
            at = work.next_working(max(d.remind_at, now))
            if at is not None and at < d.due:
                moments.append(at)
    return min(moments, default=None)
