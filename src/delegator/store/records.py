"""Rows to the records of ``delegator.ports``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy.engine import Row

from delegator.core.expectations import Step
from delegator.cycles import CycleCounts, error_kinds_from_stored
from delegator.ports import (
    ActionMode,
    ActionRecord,
    ActionStatus,
    CycleRecord,
    Delegation,
    DelegationStatus,
    FollowUp,
    FollowUpStatus,
    LinkKind,
    LinkRecord,
    Override,
    SendKind,
    SendRecord,
    SendStatus,
    Subscription,
    SubscriptionState,
    SyncPosition,
)

# Written into an unfinished cycle's counts (replaced when it finishes): which process runs it,
# so a start-up closes only the cycles of processes that are gone. Never shown in a record.
OWNER_KEYS = ("owner_host", "owner_pid", "owner_start")


def cycle(row: Row[Any]) -> CycleRecord:
    errors = tuple(str(error) for error in (row.errors or ()))
    return CycleRecord(
        id=row.id,
        client=row.client,
        started_at=row.started_at,
        finished_at=row.finished_at,
        dry_run=bool(row.dry_run),
        counts=CycleCounts.from_mapping(
            {key: value for key, value in (row.counts or {}).items() if key not in OWNER_KEYS}
        ),
        errors=errors,
        error_kinds=error_kinds_from_stored(row.error_kinds, len(errors)),
    )


def sync_position(row: Row[Any]) -> SyncPosition:
    return SyncPosition(
        source=row.source,
        high_water=row.high_water,
        sync_token=row.sync_token,
        last_full_read=row.last_full_read,
    )


def action(row: Row[Any]) -> ActionRecord:
    return ActionRecord(
        id=row.id,
        cycle_id=row.cycle_id,
        client=row.client,
        task_gid=row.task_gid,
        task_name=row.task_name,
        rule=row.rule,
        kind=row.kind,
        detail=dict(row.detail or {}),
        assistant=row.assistant,
        mode=cast(ActionMode, row.mode),
        status=cast(ActionStatus, row.status),
        created_at=row.created_at,
        completed_at=row.completed_at,
        result=row.result,
        story_gid=row.story_gid,
    )


def delegation(row: Row[Any]) -> Delegation:
    return Delegation(
        client=row.client,
        task_gid=row.task_gid,
        task_name=row.task_name,
        rule=row.rule,
        assistant=row.assistant,
        assignee_gid=row.assignee_gid,
        delegated_at=row.delegated_at,
        tag=row.tag,
        status=cast(DelegationStatus, row.status),
        closed_at=row.closed_at,
        permalink_url=row.permalink_url,
        due_on=row.due_on,
        minutes=row.minutes,
        minutes_from=row.minutes_from,
    )


def followup(row: Row[Any]) -> FollowUp:
    return FollowUp(
        id=int(row.id),
        client=row.client,
        task_gid=row.task_gid,
        task_name=row.task_name,
        rule=row.rule,
        assistant=row.assistant,
        delegated_at=row.delegated_at,
        stage=row.stage,
        step=Step(row.step),
        status=cast(FollowUpStatus, row.status),
        due_at=row.due_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        story_gid=row.story_gid,
        detail=dict(row.detail or {}),
    )


def send(row: Row[Any]) -> SendRecord:
    return SendRecord(
        id=int(row.id),
        client=row.client,
        kind=cast(SendKind, row.kind),
        recipient=row.recipient,
        destination=row.destination,
        period=row.period,
        period_start=row.period_start,
        status=cast(SendStatus, row.status),
        attempts=int(row.attempts),
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        receipt=row.receipt,
        created_at=row.created_at,
        sent_at=row.sent_at,
    )


def subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        key=row.key,
        client=row.client,
        resource=row.resource,
        state=SubscriptionState(row.state),
        created_at=row.created_at,
        webhook=row.webhook,
        sealed_secret=row.sealed_secret,
        last_signal_at=row.last_signal_at,
        last_event_at=row.last_event_at,
        failures=int(row.failures),
        retry_at=row.retry_at,
        problem=row.problem,
        dirty_at=row.dirty_at,
    )


def link(row: Row[Any]) -> LinkRecord:
    return LinkRecord(
        id=row.id,
        kind=cast(LinkKind, row.kind),
        client=row.client,
        assistant=row.assistant,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        note=row.note or "",
    )


def override(row: Row[Any]) -> Override:
    return Override(
        client=row.client,
        task_gid=row.task_gid,
        task_name=row.task_name,
        rule=row.rule,
        reason=row.reason,
        detected_at=row.detected_at,
    )


def override_note(reason: str, detected_at: datetime) -> str:
    """How the engine and the plan show a standing override: "<reason> (<date detected>)"."""
    return f"{reason} ({detected_at.date().isoformat()})"
