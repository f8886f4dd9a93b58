"""The follow-up ledger as the expectations' clock reads it, and an assistant's working calendar
from the client file: shared by the follow-up, the summaries and the commands that show a clock.

``ledger_of`` folds the stored steps of one delegation into ``core.expectations.Ledger``;
``ledgers`` does it for many at once, keyed by delegation. ``work_time`` builds the assistant's
``WorkTime`` (their hours, their zone else the client's, their time away, the client's holidays).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from delegator.core.expectations import Ledger, Step, WorkTime
from delegator.core.schema import STAGES, Expectation, FileHead, Stage
from delegator.ports import FollowUp

# The statuses of a step the clock counts: a claimed step that is pending (cut short by a crash)
# or failed is not claimed again either, so it is as good as carried out; a skipped one is not.
COUNTED = frozenset({"pending", "done", "failed"})

DelegationKey = tuple[str, datetime]  # (task gid, delegated at)


def ledger_of(followups: Iterable[FollowUp]) -> Ledger:
    """What the steps of one delegation say: the stages met (and when: the moment in the
    detail's ``at``, else when the step was recorded), reminded, escalated, and whether it was
    reassigned. Skipped steps and bounces do not count."""
    met: dict[Stage, datetime] = {}
    reminded: set[Stage] = set()
    escalated: set[Stage] = set()
    reassigned = False
    for step in followups:
        if step.status not in COUNTED:
            continue
        stage = stage_of(step.stage)
        if step.step is Step.REASSIGN:
            reassigned = True
        if stage is None:
            continue
        if step.step is Step.MET and step.status == "done":
            at = _moment(step.detail.get("at")) or step.created_at
            met[stage] = min(at, met.get(stage, at))
        elif step.step is Step.REMINDER:
            reminded.add(stage)
        elif step.step is Step.ESCALATION:
            escalated.add(stage)
    return Ledger(met, frozenset(reminded), frozenset(escalated), reassigned)


def ledgers(followups: Iterable[FollowUp]) -> dict[DelegationKey, Ledger]:
    """``ledger_of`` for each delegation the steps belong to, by (task gid, delegated at)."""
    grouped: dict[DelegationKey, list[FollowUp]] = {}
    for step in followups:
        grouped.setdefault((step.task_gid, step.delegated_at), []).append(step)
    return {key: ledger_of(steps) for key, steps in grouped.items()}


def work_time(head: FileHead, assistant: str) -> WorkTime:
    """The assistant's working calendar: their hours (every hour of a business day, when they
    have none), their time zone (else the client's), their time away and the client's holidays;
    for an assistant no longer in the file, the client's zone and business days."""
    spec = head.assistants.get(assistant)
    if spec is None:  # an assistant removed from the file since: the client's business days
        return WorkTime(ZoneInfo(head.client.timezone), None, frozenset(head.client.holidays))
    return WorkTime(
        tz=ZoneInfo(spec.timezone or head.client.timezone),
        hours=spec.hours,
        holidays=frozenset(head.client.holidays),
        away=tuple(spec.away),
    )


def expectation_of(
    rules: Iterable[tuple[str, Expectation | None]], rule: str
) -> Expectation | None:
    """The ``expect:`` of the rule with that name, among (name, expect) pairs; None when the rule
    is gone or expects nothing."""
    return next((expect for name, expect in rules if name == rule), None)


def stage_of(text: str) -> Stage | None:
    """A stored stage's name as the clock's type (None: a bounce's \"\", or unknown)."""
    return next((s for s in STAGES if s == text), None)


def _moment(value: object) -> datetime | None:
    """A moment as the store gives it back (ISO 8601 text) or as a caller holds it."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else None
    return None
