"""Asana behind the task backend port: what reaches the service is the port's data and errors.

Each test feeds the adapter an Asana answer (mocked with `responses`) and checks what the
service would see: snapshots, `TaskState`s with the reason a task is gone, `BackendError`s with
``fatal`` only for a refused token, poison records reported and skipped.
"""

from __future__ import annotations

import json

import pytest
import responses
from asana_fakes import BASE

from delegator.asana import AsanaClient
from delegator.asana.backend import AsanaBackend
from delegator.core.context import Directory, Identity
from delegator.core.intents import Follow, SetField
from delegator.core.model import FieldValue, Task
from delegator.core.schema import WatchSource
from delegator.ports import (
    BackendError,
    GoneReason,
    NotInWorkspace,
    TaskBackend,
    TaskGone,
    TokenRefused,
    WatchedSource,
)

WORKSPACE = "77"


@pytest.fixture
def backend(client: AsanaClient) -> AsanaBackend:
    return AsanaBackend(client, WORKSPACE)


def _batch_reply(*items: tuple[int, object]) -> list[dict[str, object]]:
    return [{"status_code": status, "headers": {}, "body": body} for status, body in items]


def test_the_adapter_is_a_task_backend(backend: AsanaBackend) -> None:
    port: TaskBackend = backend  # proved by mypy
    assert port.requests_sent == 0


def test_tasks_read_by_gid_say_which_were_deleted_and_which_are_hidden(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(
        f"{BASE}/batch",
        json={
            "data": _batch_reply(
                (200, {"data": {"gid": "1", "name": "Pay rent", "completed": False}}),
                (404, {"errors": [{"message": "task: Unknown object: 2"}]}),
                (403, {"errors": [{"message": "Forbidden"}]}),
                (200, {"data": {"gid": "4", "memberships": 5}}),
                (500, {"errors": [{"message": "Server Error", "phrase": "a sad squid"}]}),
            )
        },
    )
    states = backend.read_tasks(["1", "2", "3", "4", "5"])
    assert [s.gid for s in states] == ["1", "2", "3", "4", "5"]
    assert states[0].task is not None
    assert states[0].task.name == "Pay rent"
    assert states[1].gone is GoneReason.DELETED
    assert states[1].task is None
    assert states[2].gone is GoneReason.NO_ACCESS
    assert states[2].task is None
    # A poison record and a failed action are errors for that task alone.
    assert states[3].task is None
    assert states[3].gone is None
    assert "task 4" in (states[3].error or "")
    assert states[4].gone is None
    assert states[4].error


def test_one_task_read_alone_reports_its_deletion(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/tasks/9", status=404, json={"errors": [{"message": "Unknown object: 9"}]})
    [state] = backend.read_tasks(["9"])
    assert state.gone is GoneReason.DELETED


def test_a_refused_token_is_fatal_and_other_failures_are_not(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/users/me", status=401, json={"errors": [{"message": "Not Authorized"}]})
    with pytest.raises(TokenRefused) as refused:
        backend.me()
    assert refused.value.fatal


def test_a_write_on_a_deleted_task_is_task_gone(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(
        f"{BASE}/tasks/5/addFollowers",
        status=404,
        json={"errors": [{"message": "task: Unknown object: 5"}]},
    )
    task = Task(gid="5", name="Gone")
    with pytest.raises(TaskGone) as gone:
        backend.write(task, Follow("12"), directory=Directory())
    assert gone.value.reason is GoneReason.DELETED
    assert not gone.value.fatal


def test_a_source_read_skips_poison_records_and_reports_them(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(
        f"{BASE}/projects/300/tasks",
        json={
            "data": [
                {"gid": "1", "name": "Fine"},
                {"gid": "2", "name": "Poison", "memberships": 5},
                {"gid": "3", "name": "Also poison", "followers": 7, "custom_fields": "x"},
                {"gid": "4", "name": "Fine too", "due_on": None},
            ],
            "next_page": None,
        },
        headers={"Date": "Fri, 27 Nov 2026 09:00:00 GMT"},
    )
    read = backend.read(WatchedSource("project Ops", "project:300"), None)
    assert [t.gid for t in read.tasks] == ["1", "4"]
    assert read.whole
    assert len(read.problems) == 2
    assert all(p.startswith("project Ops: task ") for p in read.problems)


def test_a_watch_entry_naming_nothing_is_not_in_workspace(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/workspaces/77/projects", json={"data": [], "next_page": None})
    watch = WatchSource.model_validate({"project": "Nowhere"})
    with pytest.raises(NotInWorkspace, match="no project called 'Nowhere'"):
        backend.watched(watch, Identity(gid="1"))


def test_a_people_field_is_written_as_user_gids(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.put(f"{BASE}/tasks/8", json={"data": {"gid": "8"}})
    field = FieldValue(gid="555", name="Reviewer", type="people")
    task = Task(gid="8", name="Contract", custom_fields=(field,))
    directory = Directory(
        owner=Identity("100", "anna@example.com", "Anna"),
        assistants={"giulia": Identity("200", "giulia@example.com", "Giulia")},
    )
    backend.write(task, SetField("Reviewer", ["giulia", "owner"]), directory=directory)
    sent = json.loads(api.calls[-1].request.body or b"{}")
    assert sent["data"]["custom_fields"] == {"555": ["200", "100"]}


def test_errors_reaching_the_service_are_the_ports(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/projects/300/tasks", status=400, json={"errors": [{"message": "bad"}]})
    with pytest.raises(BackendError) as failed:
        backend.read(WatchedSource("project Ops", "project:300"), None)
    assert not failed.value.fatal
    assert type(failed.value) is BackendError
