"""A delegated task's activity, end to end over the sandbox's loopback server (strict checking).

The assistant does what an assistant does in Asana (a comment, a section move, a like, a subtask
completed), each over HTTP with their own token; `AsanaBackend.activity` then reads exactly
that in one request. `notify` @-mentions the assistant and `find_notice` finds the comment again
from the end of its plain text, whatever the mention became there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from delegator.asana import AsanaClient, BudgetRegistry, RetryPolicy
from delegator.asana.backend import AsanaBackend
from delegator.core.context import Identity
from delegator.core.expectations import StoryFact, StoryKind
from delegator.core.model import Task
from delegator.ports import GoneReason, TaskGone
from delegator.sandbox import ManualClock, SandboxServer

NORTHWIND = "1100000000000001"
WAITING = "1100000000000303"
ANNA = "anna@northwind.example"
GIULIA = "giulia@va-agency.example"
GIULIA_GID = "1100000000000102"
TASK_NAME = "Reconcile expenses for October"  # in Operations / Doing


def _client(sandbox: SandboxServer, clock: ManualClock, user: str) -> AsanaClient:
    return AsanaClient(
        sandbox.token(user),
        base_url=sandbox.base_url,
        retry=RetryPolicy(jitter=lambda ceiling: ceiling),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
        workspace_gid=NORTHWIND,
    )


@pytest.fixture
def asana(sandbox: SandboxServer, clock: ManualClock) -> Iterator[AsanaBackend]:
    """The client's backend (Anna's credentials)."""
    backend = AsanaBackend(_client(sandbox, clock, ANNA), NORTHWIND)
    yield backend
    backend.close()


@pytest.fixture
def giulia(sandbox: SandboxServer, clock: ManualClock) -> Iterator[AsanaClient]:
    """The assistant, acting in Asana with her own token."""
    client = _client(sandbox, clock, GIULIA)
    yield client
    client.close()


def test_activity_reads_what_the_assistant_did_in_one_request(
    sandbox: SandboxServer, clock: ManualClock, asana: AsanaBackend, giulia: AsanaClient
) -> None:
    world = sandbox.world
    task = world.task(TASK_NAME)
    anna, assistant = world.user(ANNA), world.user(GIULIA)
    subtask = world.create_task(
        task.workspace, "Find the missing receipts", parent=task, quiet=True
    )
    world.comment(task, "Older news", by=anna)  # before the delegation: not read back
    world.assign(task, assistant, by=anna)
    clock.advance(60)
    since = clock.now()

    clock.advance(600)
    commented = clock.now()
    giulia.comment(task.gid, "On it")
    clock.advance(600)
    moved = clock.now()
    giulia.move_to_section(task.gid, WAITING)
    clock.advance(600)
    giulia.update_task(task.gid, {"liked": True})
    clock.advance(600)
    finished = clock.now()
    giulia.update_task(subtask.gid, {"completed": True})
    clock.advance(60)
    world.update_task(task, notes="Synced from the bank")  # a change no person made: left out

    sandbox.requests.reset()
    before = asana.requests_sent
    seen = asana.activity(task.gid, since)

    assert seen.stories == (
        StoryFact(GIULIA_GID, commented, StoryKind.COMMENT, "On it"),
        StoryFact(GIULIA_GID, moved, StoryKind.CHANGE),
    )
    assert seen.likers == frozenset({GIULIA_GID})
    assert seen.subtasks_done == (finished,)
    assert seen.truncated is False
    # The cost: one HTTP request, a batch of three reads (three quota units).
    assert asana.requests_sent - before == 1
    assert [e.key for e in sandbox.requests.entries()] == ["POST /batch"]
    assert sorted(e.key for e in sandbox.requests.entries(include_batched=True)) == [
        "GET /tasks/{task_gid}",
        "GET /tasks/{task_gid}/stories",
        "GET /tasks/{task_gid}/subtasks",
        "POST /batch",
    ]
    assert sandbox.requests.quota_units() == 3
    assert sandbox.requests.refusals() == []


def test_liked_is_the_requesters_own(
    sandbox: SandboxServer, asana: AsanaBackend, giulia: AsanaClient
) -> None:
    task = sandbox.world.task(TASK_NAME)
    giulia.update_task(task.gid, {"liked": True})
    fields = ("liked", "num_likes", "likes.user")
    hers, annas = giulia.get_task(task.gid, fields), asana.client.get_task(task.gid, fields)
    assert (hers["liked"], annas["liked"]) == (True, False)
    assert hers["num_likes"] == annas["num_likes"] == 1
    assert [like["user"]["gid"] for like in annas["likes"]] == [GIULIA_GID]
    giulia.update_task(task.gid, {"liked": False})
    assert asana.client.get_task(task.gid, fields)["num_likes"] == 0
    assert sandbox.requests.refusals() == []


def test_world_like_keeps_one_like_per_person(sandbox: SandboxServer) -> None:
    world = sandbox.world
    task, assistant = world.task(TASK_NAME), world.user(GIULIA)
    stories = len(task.stories)
    assert world.like(task, by=assistant) is True
    assert world.like(task, by=assistant) is False
    assert [like.user for like in task.likes] == [assistant]
    assert len(task.stories) == stories  # a like is no story
    assert world.like(task, by=assistant, liked=False) is True
    assert task.likes == []


def test_a_notice_mentions_the_assistant_and_is_found_again(
    sandbox: SandboxServer, asana: AsanaBackend
) -> None:
    world = sandbox.world
    task = world.task(TASK_NAME)
    text = "Still open? Costs < 5 € & receipts, by Friday"
    story_gid = asana.notify(
        Task(gid=task.gid, name=TASK_NAME), text, Identity(GIULIA_GID, GIULIA, "Giulia")
    )
    story = task.stories[-1]
    assert story.gid == story_gid
    # Asana's plain text of a mention: the user's profile link (the sandbox's choice, see
    # endpoints_activity.object_url), then the words, unescaped.
    assert story.text == f"https://app.asana.com/0/profile/{GIULIA_GID} {text}"
    assert story.html_text == (
        f'<body><a data-asana-gid="{GIULIA_GID}"/> Still open? Costs &lt; 5 € &amp; receipts, '
        "by Friday</body>"
    )
    assert asana.find_notice(task.gid, text) == story_gid
    assert asana.find_notice(task.gid, "by Monday") is None
    assert sandbox.requests.refusals() == []
    hers = world.comment(
        task, f"https://app.asana.com/0/profile/{GIULIA_GID} {text}", by=world.user(GIULIA)
    )
    # The assistant's own comment with the same words is not ours.
    assert asana.find_notice(task.gid, text) == story_gid != hers.gid


def test_a_notice_to_nobody_is_plain_text(sandbox: SandboxServer, asana: AsanaBackend) -> None:
    task = sandbox.world.task(TASK_NAME)
    story_gid = asana.notify(Task(gid=task.gid, name=TASK_NAME), "Anyone?", None)
    assert task.stories[-1].text == "Anyone?"
    assert asana.find_notice(task.gid, "Anyone?") == story_gid


def test_activity_of_a_deleted_task_is_task_gone(
    sandbox: SandboxServer, clock: ManualClock, asana: AsanaBackend
) -> None:
    task = sandbox.world.task(TASK_NAME)
    sandbox.world.delete_task(task)
    with pytest.raises(TaskGone) as gone:
        asana.activity(task.gid, clock.now() - timedelta(days=1))
    assert gone.value.reason is GoneReason.DELETED
