"""Taking writes back against the sandbox over loopback: each `Revert` the Asana backend carries
out leaves the sandbox's task as it was before the service's write, as a fresh read shows.

The sandbox answers as the spec says (strict request checking on): only its author may delete a
comment, a story deleted once is a 404, and a deleted task is a 404 on every write.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from delegator.asana import AsanaClient, BudgetRegistry, RetryPolicy
from delegator.asana.backend import AsanaBackend
from delegator.core.model import Task
from delegator.core.reverts import (
    CorrectComment,
    DeleteComment,
    LeaveProject,
    PlaceBack,
    Reassign,
    RestoreDue,
    RestoreField,
    Retag,
    Unfollow,
    Untag,
)
from delegator.ports import BackendError, GoneReason, TaskGone
from delegator.sandbox import ManualClock, SandboxServer

NORTHWIND = "1100000000000001"
OPERATIONS = "1100000000000201"
CLIENT_ADMIN = "1100000000000202"
DOING = "1100000000000302"
WAITING = "1100000000000303"
URGENT = "1100000000000401"
PRIORITY = "1100000000000501"
ESTIMATE = "1100000000000502"
ANNA = "anna@northwind.example"
ANNA_GID = "1100000000000101"
LUCA = "luca@northwind.example"
TASK_NAME = "Reconcile expenses for October"  # in Operations / Doing, Anna's, Priority Medium


@pytest.fixture
def asana(sandbox: SandboxServer, clock: ManualClock) -> Iterator[AsanaBackend]:
    client = AsanaClient(
        sandbox.token(ANNA),
        base_url=sandbox.base_url,
        retry=RetryPolicy(jitter=lambda ceiling: ceiling),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
        workspace_gid=NORTHWIND,
    )
    backend = AsanaBackend(client, NORTHWIND)
    yield backend
    backend.close()


@pytest.fixture
def gid(sandbox: SandboxServer) -> str:
    return sandbox.world.task(TASK_NAME).gid


def now(asana: AsanaBackend, gid: str) -> Task:
    """The task as the backend reads it now."""
    [state] = asana.read_tasks([gid])
    assert state.task is not None, state
    return state.task


def test_reassign_gives_the_task_back_or_to_nobody(
    sandbox: SandboxServer, asana: AsanaBackend, gid: str
) -> None:
    world = sandbox.world
    world.assign(world.task(gid), world.user("giulia@va-agency.example"), by=world.user(ANNA))
    asana.revert(now(asana, gid), Reassign(ANNA_GID))
    assignee = now(asana, gid).assignee
    assert assignee is not None
    assert assignee.gid == ANNA_GID
    asana.revert(now(asana, gid), Reassign(None))
    assert now(asana, gid).assignee is None


def test_untag_and_retag_by_name(sandbox: SandboxServer, asana: AsanaBackend, gid: str) -> None:
    world = sandbox.world
    world.add_tag(world.task(gid), world.tag("urgent"))
    asana.revert(now(asana, gid), Untag("urgent"))
    assert "urgent" not in now(asana, gid).tag_names
    sent = len(sandbox.requests)
    asana.revert(now(asana, gid), Untag("urgent"))  # no longer carried: nothing to send
    asana.revert(now(asana, gid), Untag("no such tag"))  # not in the workspace: nor here
    assert [e.method for e in sandbox.requests.entries()[sent:]] == ["GET"] * 3  # reads alone
    asana.revert(now(asana, gid), Retag("Urgent"))
    assert [tag.gid for tag in now(asana, gid).tags] == [URGENT]


def test_unfollow_by_email(sandbox: SandboxServer, asana: AsanaBackend, gid: str) -> None:
    world = sandbox.world
    world.add_followers(world.task(gid), [world.user(LUCA)], by=world.user(ANNA))
    assert LUCA in {user.email for user in now(asana, gid).followers}
    asana.revert(now(asana, gid), Unfollow(LUCA))
    assert LUCA not in {user.email for user in now(asana, gid).followers}


def test_place_back_and_leave_project(
    sandbox: SandboxServer, asana: AsanaBackend, gid: str
) -> None:
    world = sandbox.world
    task = world.task(gid)
    world.move_to_section(task, world.section(OPERATIONS, "Waiting"))
    world.add_to_project(task, world.project(CLIENT_ADMIN))
    asana.revert(now(asana, gid), PlaceBack(OPERATIONS, DOING))
    asana.revert(now(asana, gid), LeaveProject(CLIENT_ADMIN))
    placed = now(asana, gid)
    assert [(m.project.gid, m.section.gid if m.section else None) for m in placed.memberships] == [
        (OPERATIONS, DOING)
    ]
    # Out of a project altogether, PlaceBack puts it back into the section.
    asana.revert(placed, LeaveProject(OPERATIONS))
    assert now(asana, gid).memberships == ()
    asana.revert(now(asana, gid), PlaceBack(OPERATIONS, WAITING))
    [membership] = now(asana, gid).memberships
    assert membership.section is not None
    assert membership.section.gid == WAITING


def test_restore_field_by_option_name_number_and_empty(asana: AsanaBackend, gid: str) -> None:
    asana.revert(now(asana, gid), RestoreField(PRIORITY, "High"))
    field = now(asana, gid).field(PRIORITY)
    assert field is not None
    assert field.enum == "High"
    asana.revert(now(asana, gid), RestoreField(ESTIMATE, 15.0))
    estimate = now(asana, gid).field(ESTIMATE)
    assert estimate is not None
    assert estimate.number == 15
    asana.revert(now(asana, gid), RestoreField(PRIORITY, None))
    emptied = now(asana, gid).field(PRIORITY)
    assert emptied is None or not emptied.is_set
    with pytest.raises(BackendError, match="no longer has the option 'Urgent'"):
        asana.revert(now(asana, gid), RestoreField(PRIORITY, "Urgent"))


def test_restore_due_day_time_and_none(asana: AsanaBackend, gid: str) -> None:
    asana.revert(now(asana, gid), RestoreDue("2026-12-10", None))
    assert now(asana, gid).due_on == date(2026, 12, 10)
    asana.revert(now(asana, gid), RestoreDue(None, "2026-12-11T15:00:00+00:00"))
    timed = now(asana, gid)
    assert timed.due_at == datetime(2026, 12, 11, 15, 0, tzinfo=UTC)
    asana.revert(timed, RestoreDue(None, None))
    cleared = now(asana, gid)
    assert (cleared.due_on, cleared.due_at) == (None, None)


def test_a_comment_is_corrected_then_deleted_once(
    sandbox: SandboxServer, asana: AsanaBackend, gid: str
) -> None:
    story = asana.revert(now(asana, gid), CorrectComment("Withdrawn: please ignore."))
    assert story is not None
    assert asana.find_comment(gid, "Withdrawn: please ignore.") == story
    assert asana.revert(now(asana, gid), DeleteComment(story)) is None
    assert story not in {s.gid for s in sandbox.world.task(gid).stories}
    assert asana.find_comment(gid, "Withdrawn: please ignore.") is None
    with pytest.raises(BackendError, match=f"comment {story} on task {gid} was not found") as gone:
        asana.revert(now(asana, gid), DeleteComment(story))
    assert not isinstance(gone.value, TaskGone)


def test_another_persons_comment_or_a_system_story_cannot_be_deleted(
    sandbox: SandboxServer, asana: AsanaBackend, gid: str
) -> None:
    world = sandbox.world
    task = world.task(gid)
    lucas = world.comment(task, "Done, see the sheet", by=world.user(LUCA))
    world.assign(task, world.user(LUCA), by=world.user(ANNA))
    system = next(s for s in task.stories if s.type == "system")
    for story in (lucas.gid, system.gid):
        with pytest.raises(BackendError, match=f"comment {story} .* cannot be deleted") as refused:
            asana.revert(now(asana, gid), DeleteComment(story))
        assert not isinstance(refused.value, TaskGone)
    assert {lucas.gid, system.gid} <= {s.gid for s in task.stories}


def test_a_deleted_task_is_task_gone(sandbox: SandboxServer, asana: AsanaBackend, gid: str) -> None:
    before = now(asana, gid)
    sandbox.world.delete_task(sandbox.world.task(gid))
    with pytest.raises(TaskGone) as raised:
        asana.revert(before, Reassign(None))
    assert raised.value.reason is GoneReason.DELETED
    assert raised.value.gid == gid
