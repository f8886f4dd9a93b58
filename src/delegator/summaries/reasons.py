"""Reasons the service recorded in English, said in the client's language for a summary.

Why a task waits in the queue (``core.assignment``) and why a delegation was taken back
(``core.overrides``) are written once, when they happen, and kept in the journal as they were
written. A summary reads them back: those worded as the service words them are said again in the
client's voice ("giulia at capacity (25/25)": "giulia al completo (25/25)"); anything else (an
older wording, an error) is shown as it was recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

from delegator.core.assignment import REASONS, Availability, Pick
from delegator.core.language import ENGLISH, Language, Phrases, Voice

SAY = Phrases(
    {
        "unassigned": {
            Language.EN: "unassigned by a person",
            Language.IT: "assegnazione tolta da una persona",
        },
        "taken_back_by": {Language.EN: "taken back by {who}", Language.IT: "ripresa da {who}"},
        "undone": {
            Language.EN: "taken back by delegator undo",
            Language.IT: "annullata con delegator undo",
        },
        "bounced_by": {Language.EN: "bounced by {who}", Language.IT: "restituita da {who}"},
        "bounced_by_why": {
            Language.EN: "bounced by {who}: {why}",
            Language.IT: "restituita da {who}: {why}",
        },
        "reassigned_to": {Language.EN: "reassigned to {who}", Language.IT: "riassegnata a {who}"},
        "tag_removed": {Language.EN: "tag {tag} removed", Language.IT: "tag {tag} rimosso"},
    }
)

_TAKEN_BACK: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^unassigned by a person$"), "unassigned"),
    (re.compile(r"^taken back by delegator undo$"), "undone"),
    (re.compile(r"^taken back by (?P<who>.+)$", re.DOTALL), "taken_back_by"),
    (re.compile(r"^bounced by (?P<who>[^:]+): (?P<why>.+)$", re.DOTALL), "bounced_by_why"),
    (re.compile(r"^bounced by (?P<who>[^:]+)$", re.DOTALL), "bounced_by"),
    (re.compile(r"^reassigned to (?P<who>.+)$", re.DOTALL), "reassigned_to"),
    (re.compile(r"^tag (?P<tag>.+) removed$", re.DOTALL), "tag_removed"),
)


def taken_back_reason(reason: str, voice: Voice = ENGLISH) -> str:
    """An override's reason in the voice ("reassigned to Anna": "riassegnata a Anna")."""
    if voice.language is Language.EN:
        return reason
    for pattern, key in _TAKEN_BACK:
        found = pattern.match(reason)
        if found is not None:
            return voice.say(SAY, key, **found.groupdict())
    return reason


# One assistant's state as core.assignment words it.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_A_MONDAY = date(2026, 1, 5)
_SHIFT = re.compile(r"^(?P<day>Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<time>\d\d:\d\d)$")
# The words are core.assignment's own (REASONS): this only finds which of them a text was.
_STATES: tuple[tuple[re.Pattern[str], Availability], ...] = (
    (re.compile(r"^lacks the skill (?P<detail>.+)$", re.DOTALL), Availability.LACKS_SKILL),
    (re.compile(r"^away \((?P<detail>.+)\)$", re.DOTALL), Availability.AWAY),
    (re.compile(r"^at capacity \((?P<load>\d+)/(?P<capacity>\d+)\)$"), Availability.AT_CAPACITY),
    (re.compile(r"^has no working hours$"), Availability.NO_HOURS),
    (re.compile(r"^next shift (?P<when>.+)$"), Availability.NEXT_SHIFT),
    (re.compile(r"^available$"), Availability.AVAILABLE),
    (re.compile(r"^working now$"), Availability.WORKING),
)
_NOBODY = re.compile(r"^nobody can take it: (?P<why>.+)$", re.DOTALL)
_CANNOT = re.compile(r"^(?P<who>\S+) cannot take it: (?P<why>.+)$", re.DOTALL)
_ONE = re.compile(r"^(?P<who>\S+) (?P<state>.+)$", re.DOTALL)


def _shift(when: str, voice: Voice) -> str:
    """ "Tue 09:00" (a weekday as the C locale writes it) with the voice's weekday."""
    found = _SHIFT.match(when)
    if found is None:
        return when
    # Weekday names are the same every week: any Monday's week will do.
    day = _A_MONDAY + timedelta(days=_WEEKDAYS.index(found["day"]))
    return f"{voice.day(day).split(' ')[0]} {found['time']}"


def _state(text: str, voice: Voice) -> str | None:
    for pattern, key in _STATES:
        found = pattern.match(text)
        if found is not None:
            values = found.groupdict()
            if key is Availability.NEXT_SHIFT:
                values["when"] = _shift(values["when"], voice)
            return voice.say(REASONS, key, **values)
    return None


def _each(why: str, said: Callable[[str], str | None]) -> str | None:
    """Every "; "-separated part said again, or None when one is worded otherwise."""
    parts = [said(part) for part in why.split("; ")]
    return "; ".join(p for p in parts if p is not None) if all(parts) else None


def queued_reason(reason: str, voice: Voice = ENGLISH) -> str:
    """Why a task waits for an assistant, in the voice ("nobody can take it: giulia at capacity
    (25/25)": "nessuno può prenderla: giulia al completo (25/25)")."""
    if voice.language is Language.EN:
        return reason

    def one(text: str) -> str | None:
        found = _ONE.match(text)
        state = _state(found["state"], voice) if found is not None else None
        return f"{found['who']} {state}" if found is not None and state is not None else None

    nobody = _NOBODY.match(reason)
    if nobody is not None:
        why = _each(nobody["why"], one)
        return voice.say(REASONS, Pick.NOBODY, why=why) if why is not None else reason
    cannot = _CANNOT.match(reason)
    if cannot is not None:
        state = _state(cannot["why"], voice)
        if state is not None:
            return voice.say(REASONS, Pick.NAMED_CANNOT, who=cannot["who"], why=state)
    return reason
