"""The Asana destinations end to end: the client over loopback against the sandbox, read back
through the API. Time is one manual clock shared by the sandbox and the client, so the client's
retry waits move it instead of sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from delegator.asana import AsanaClient, BudgetRegistry, RetryPolicy
from delegator.notify import (
    AsanaComment,
    AsanaStatusUpdate,
    AsanaTask,
    DeliveryError,
    FindsPosted,
    Message,
)
from delegator.sandbox import ManualClock, SandboxServer

START = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # the clock starts here (see conftest.py)
ANNA = "anna@northwind.example"
OPERATIONS = "1100000000000201"
CLIENT_ADMIN = "1100000000000202"
GIULIA = "1100000000000102"
RECEIPTS_TASK = "Send November receipts to the accountant"
SUMMARY = Message(
    title="Northwind: week of 28 November",
    markdown=(
        "## Delegated\n- **5** to Giulia\n- [Pay invoice #2041](https://app.asana.com/0/0/1)\n\n"
        "3 overdue & 2 waiting"
    ),
    html=(
        "<body><h2>Delegated</h2><ul><li><strong>5</strong> to Giulia</li>"
        '<li><a href="https://app.asana.com/0/0/1">Pay invoice #2041</a></li></ul>'
        "3 overdue &amp; 2 waiting</body>"
    ),
    status_type="at_risk",
)


def connect(sandbox: SandboxServer, clock: ManualClock, user: str = ANNA) -> AsanaClient:
    return AsanaClient(
        sandbox.token(user),
        base_url=sandbox.base_url,
        retry=RetryPolicy(jitter=lambda ceiling: ceiling),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
    )


@pytest.fixture
def client(sandbox: SandboxServer, clock: ManualClock) -> Iterator[AsanaClient]:
    with connect(sandbox, clock) as made:
        yield made


def get(sandbox: SandboxServer, path: str, **params: Any) -> Any:
    """Read back as a person's script would: plain HTTP, Anna's token."""
    response = requests.get(
        f"{sandbox.base_url}{path}", params=params, headers=sandbox.auth(ANNA), timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def status_updates(sandbox: SandboxServer, project: str) -> list[dict[str, Any]]:
    """The project's status updates posted since the test began (the demo world has older)."""
    fields = "title,status_type,html_text,text,created_by,created_at"
    found = get(sandbox, "/status_updates", parent=project, opt_fields=fields)
    return [update for update in found if update["created_at"] >= START.isoformat()[:19]]


# ---------------------------------------------------------------------- status updates


def test_a_status_update_appears_on_the_project_with_its_title_and_status(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    destination = AsanaStatusUpdate(client, OPERATIONS)

    gid = destination.deliver(SUMMARY)

    (posted,) = status_updates(sandbox, OPERATIONS)
    assert posted["gid"] == gid
    assert posted["title"] == "Northwind: week of 28 November"
    assert posted["status_type"] == "at_risk"
    assert posted["html_text"] == SUMMARY.html
    # Asana requires text beside html_text: the summary's plain rendering.
    assert posted["text"] == (
        "Delegated\n\n- 5 to Giulia\n- Pay invoice #2041 (https://app.asana.com/0/0/1)\n\n"
        "3 overdue & 2 waiting"
    )
    assert posted["created_by"]["gid"] == client.me_gid()
    assert isinstance(destination, FindsPosted)
    assert destination.describe == f"status update on project {OPERATIONS}"


def test_a_message_without_a_status_type_is_on_track_and_gets_a_body(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    AsanaStatusUpdate(client, OPERATIONS).deliver(Message("Quiet week", "", "Nothing new."))

    (posted,) = status_updates(sandbox, OPERATIONS)
    assert (posted["status_type"], posted["html_text"]) == ("on_track", "<body>Nothing new.</body>")


def test_a_posted_status_update_is_found_again_by_its_title(
    client: AsanaClient, sandbox: SandboxServer, clock: ManualClock
) -> None:
    destination = AsanaStatusUpdate(client, OPERATIONS)
    claimed_at = clock.now()
    clock.advance(seconds=2)
    gid = destination.deliver(SUMMARY)

    assert destination.find_posted(SUMMARY.title, claimed_at) == gid
    assert destination.find_posted("Northwind: week of 5 December", claimed_at) is None
    assert destination.find_posted(SUMMARY.title, claimed_at + timedelta(hours=1)) is None


def test_a_status_update_by_someone_else_is_not_taken_for_ours(
    client: AsanaClient, sandbox: SandboxServer, clock: ManualClock
) -> None:
    with connect(sandbox, clock, "giulia@va-agency.example") as giulia:
        AsanaStatusUpdate(giulia, OPERATIONS).deliver(SUMMARY)

    assert AsanaStatusUpdate(client, OPERATIONS).find_posted(SUMMARY.title, START) is None


def test_a_status_update_answered_500_after_it_was_made_is_posted_once(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    sandbox.faults.fail_next(sandbox.token(ANNA), 1, after_apply=True)

    gid = AsanaStatusUpdate(client, OPERATIONS).deliver(SUMMARY)

    assert [posted["gid"] for posted in status_updates(sandbox, OPERATIONS)] == [gid]


def test_an_unknown_project_needs_a_person(client: AsanaClient) -> None:
    with pytest.raises(DeliveryError) as failed:
        AsanaStatusUpdate(client, "1100000000009999").deliver(SUMMARY)

    assert failed.value.retryable is False
    assert str(failed.value).startswith(
        "status update on project 1100000000009999: POST /status_updates: 404 Not Found"
    )


def test_an_unknown_status_type_needs_a_person(client: AsanaClient, sandbox: SandboxServer) -> None:
    sideways = Message("t", "", "<body>x</body>", status_type="sideways")

    with pytest.raises(DeliveryError, match="status_type 'sideways'") as failed:
        AsanaStatusUpdate(client, OPERATIONS).deliver(sideways)

    assert failed.value.retryable is False
    assert status_updates(sandbox, OPERATIONS) == []


def test_a_revoked_token_needs_a_person_and_is_not_shown(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    sandbox.faults.revoke(sandbox.token(ANNA))

    with pytest.raises(DeliveryError) as failed:
        AsanaStatusUpdate(client, OPERATIONS).deliver(SUMMARY)

    assert failed.value.retryable is False
    assert "401" in str(failed.value)
    assert sandbox.token(ANNA) not in str(failed.value)


def test_asana_failing_past_the_clients_retries_is_retryable_later(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    sandbox.faults.fail_next(sandbox.token(ANNA), 50)

    with pytest.raises(DeliveryError) as failed:
        AsanaStatusUpdate(client, OPERATIONS).deliver(SUMMARY)

    assert failed.value.retryable is True
    assert "500" in str(failed.value)
    sandbox.faults.clear()
    assert status_updates(sandbox, OPERATIONS) == []


# ---------------------------------------------------------------------- comments


def test_a_comment_appears_in_the_tasks_stories_opening_with_the_title(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    task = sandbox.world.task(RECEIPTS_TASK).gid
    destination = AsanaComment(client, task)

    gid = destination.deliver(SUMMARY)

    stories = get(sandbox, f"/tasks/{task}/stories", opt_fields="html_text,text,resource_subtype")
    (comment,) = [story for story in stories if story["gid"] == gid]
    assert comment["resource_subtype"] == "comment_added"
    assert comment["html_text"] == (
        "<body><strong>Northwind: week of 28 November</strong>\n"
        + SUMMARY.html.removeprefix("<body>")
    )
    assert comment["text"].startswith("Northwind: week of 28 November\n")
    assert destination.find_posted(SUMMARY.title, START) == gid
    assert destination.find_posted("Another title", START) is None


def test_a_comment_answered_500_after_it_was_posted_is_posted_once(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    task = sandbox.world.task(RECEIPTS_TASK)
    before = len(task.stories)
    sandbox.faults.fail_next(sandbox.token(ANNA), 1, after_apply=True)

    gid = AsanaComment(client, task.gid).deliver(SUMMARY)

    assert len(task.stories) == before + 1
    assert task.stories[-1].gid == gid


def test_a_comment_on_a_missing_task_needs_a_person(client: AsanaClient) -> None:
    with pytest.raises(DeliveryError) as failed:
        AsanaComment(client, "1100000000009999").deliver(SUMMARY)

    assert failed.value.retryable is False
    assert "comment on task 1100000000009999: POST /tasks/1100000000009999/stories: 404" in str(
        failed.value
    )


# ---------------------------------------------------------------------- tasks


def test_a_task_appears_in_the_project_assigned_with_the_summary_as_description(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    destination = AsanaTask(client, CLIENT_ADMIN, GIULIA, workspace_gid="1100000000000001")

    gid = destination.deliver(SUMMARY)

    tasks = get(sandbox, f"/projects/{CLIENT_ADMIN}/tasks", opt_fields="name,assignee,notes")
    (made,) = [task for task in tasks if task["gid"] == gid]
    assert made["name"] == SUMMARY.title
    assert made["assignee"]["gid"] == GIULIA
    assert made["notes"].startswith("Delegated5 to Giulia")
    assert destination.describe == f"task in project {CLIENT_ADMIN}"
    assert destination.find_posted(SUMMARY.title, START) == gid
    assert destination.find_posted("Another title", START) is None


def test_a_task_answered_500_after_it_was_made_is_made_once(
    client: AsanaClient, sandbox: SandboxServer
) -> None:
    sandbox.faults.fail_next(sandbox.token(ANNA), 1, after_apply=True)

    gid = AsanaTask(client, CLIENT_ADMIN).deliver(SUMMARY)

    named = [
        task["gid"]
        for task in get(sandbox, f"/projects/{CLIENT_ADMIN}/tasks", opt_fields="name")
        if task["name"] == SUMMARY.title
    ]
    assert named == [gid]
