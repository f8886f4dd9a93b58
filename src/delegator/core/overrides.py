"""Noticing that a person undid a delegation, so the service never fights them."""

from __future__ import annotations

from delegator.core.context import Directory
from delegator.core.model import Task


def override_reason(
    task: Task,
    assignee_gid: str,
    assignee_email: str,
    service_tag: str | None,
    directory: Directory,
) -> str | None:
    """Why a delegated task is no longer the service's to manage, or None when it still is.

    ``assignee_gid`` / ``assignee_email`` are who the service gave the task to; ``service_tag``
    is the tag it added along with it (if any).
    """
    current = task.assignee
    still_assigned = current is not None and (
        (assignee_gid and current.gid == assignee_gid)
        or (assignee_email and current.email == assignee_email.lower())
    )
    if not still_assigned:
        if current is None:
            return "unassigned by a person"
        who = current.name or current.email or current.gid
        if directory.owner.is_user(current):
            return f"taken back by {who}"
        return f"reassigned to {who}"
    if service_tag is not None and service_tag.casefold() not in task.tag_names:
        return f"tag {service_tag} removed"
    return None
