"""Shared values and helpers for the store's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from delegator.ports import ActionMode, ActionStatus
from delegator.store import SqlStore

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # a Monday morning
ROME = timezone(timedelta(hours=1))


def begin(
    store: SqlStore,
    *,
    task: str = "1201",
    rule: str = "Invoices to Anna",
    kind: str = "assign",
    mode: ActionMode = "active",
    at: datetime = T0,
    client: str = "acme",
    cycle_id: int | None = None,
    status: ActionStatus = "pending",
    detail: dict[str, Any] | None = None,
) -> int:
    """Journal an intent with everything but the interesting fields filled in."""
    return store.begin_action(
        cycle_id=cycle_id,
        client=client,
        task_gid=task,
        task_name=f"task {task}",
        rule=rule,
        kind=kind,
        detail=detail if detail is not None else {"assignee": "501"},
        assistant="anna",
        mode=mode,
        at=at,
        status=status,
    )


def act(store: SqlStore, status: ActionStatus = "done", **fields: Any) -> int:
    """An action begun and finished with ``status`` at the time it was begun."""
    action_id = begin(store, **fields)
    store.finish_action(action_id, status, fields.get("at", T0))
    return action_id
