"""Taking back a write of the service: each `Revert` is one Asana request with the right body.

Each test mocks Asana with `responses` and checks what the backend sends for one kind of change,
and how Asana's refusals reach the caller: a task's 404 / 403 is `TaskGone`, a refused token
`TokenRefused`, a comment Asana will not delete a `BackendError` saying so.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import responses
from asana_fakes import BASE, TOKEN, path, query
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator.asana import AsanaClient
from delegator.asana.backend import AsanaBackend
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef
from delegator.core.reverts import (
    CorrectComment,
    DeleteComment,
    LeaveProject,
    PlaceBack,
    Reassign,
    RestoreDue,
    RestoreField,
    Retag,
    Revert,
    Unfollow,
    Untag,
)
from delegator.ports import BackendError, GoneReason, NotInWorkspace, TaskGone, TokenRefused

WORKSPACE = "77"
TASK = Task(
    gid="1",
    name="Pay rent",
    assignee=UserRef("201", "Lena Fischer", "lena@example.com"),
    tags=(Ref("31", "delegated"),),
    projects=(Ref("41", "Operations"), Ref("42", "Finance")),
    memberships=(Membership(Ref("41", "Operations"), Ref("51", "Doing")),),
    followers=(UserRef("202", "Anna Rossi", "anna@example.com"),),
    custom_fields=(
        FieldValue("61", "Priority", "enum", enum="High"),
        FieldValue("62", "Minutes", "number", number=30.0),
        FieldValue("63", "Labels", "multi_enum", multi_enum=("Red",)),
    ),
)
_FIELDS = [
    {
        "gid": "61",
        "name": "Priority",
        "resource_subtype": "enum",
        "enum_options": [
            {"gid": "611", "name": "High", "enabled": True},
            {"gid": "612", "name": "Low", "enabled": True},
        ],
    },
    {
        "gid": "63",
        "name": "Labels",
        "resource_subtype": "multi_enum",
        "enum_options": [{"gid": "631", "name": "Red"}, {"gid": "632", "name": "Blue"}],
    },
    {"gid": "64", "name": "Started", "resource_subtype": "date"},
]


@pytest.fixture
def backend(client: AsanaClient) -> AsanaBackend:
    return AsanaBackend(client, WORKSPACE)


def _sent(api: responses.RequestsMock, index: int = -1) -> tuple[str, str, object]:
    call = api.calls[index]
    raw = call.request.body
    sent = json.loads(raw) if raw else None
    return str(call.request.method), path(call), sent


def _fields(api: responses.RequestsMock) -> None:
    api.get(f"{BASE}/workspaces/{WORKSPACE}/custom_fields", json={"data": _FIELDS})


def _task_put(api: responses.RequestsMock) -> None:
    api.put(f"{BASE}/tasks/1", json={"data": {"gid": "1", "modified_at": "2026-11-27T09:00:00Z"}})


# ----------------------------------------------------------------------------- each kind


@pytest.mark.parametrize(
    ("to", "expected"), [("203", "203"), (None, None)], ids=["to-someone", "to-nobody"]
)
def test_reassign_puts_the_assignee_back(
    backend: AsanaBackend, api: responses.RequestsMock, to: str | None, expected: str | None
) -> None:
    _task_put(api)
    assert backend.revert(TASK, Reassign(to)) is None
    assert _sent(api) == ("PUT", "/tasks/1", {"data": {"assignee": expected}})


def test_untag_by_gid_removes_the_tag_the_task_carries(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/removeTag", json={"data": {}})
    assert backend.revert(TASK, Untag("31")) is None
    assert _sent(api) == ("POST", "/tasks/1/removeTag", {"data": {"tag": "31"}})


def test_untag_by_name_resolves_the_tag_on_the_task(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/removeTag", json={"data": {}})
    backend.revert(TASK, Untag("Delegated"))
    assert _sent(api) == ("POST", "/tasks/1/removeTag", {"data": {"tag": "31"}})


def test_untag_by_name_looks_in_the_workspace_when_the_task_shows_no_names(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    unnamed = Task(gid="1", tags=(Ref("31"),))
    api.get(
        f"{BASE}/workspaces/{WORKSPACE}/tags", json={"data": [{"gid": "31", "name": "delegated"}]}
    )
    api.post(f"{BASE}/tasks/1/removeTag", json={"data": {}})
    backend.revert(unnamed, Untag("delegated"))
    assert _sent(api) == ("POST", "/tasks/1/removeTag", {"data": {"tag": "31"}})


def test_untag_of_a_tag_the_task_no_longer_carries_sends_nothing(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.get(f"{BASE}/workspaces/{WORKSPACE}/tags", json={"data": [{"gid": "39", "name": "urgent"}]})
    assert backend.revert(TASK, Untag("urgent")) is None
    assert backend.revert(TASK, Untag("waiting")) is None  # not in the workspace either
    assert backend.revert(TASK, Untag("99")) is None
    assert [path(call) for call in api.calls] == [f"/workspaces/{WORKSPACE}/tags"]


def test_retag_by_name_resolves_the_workspace_tag(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    bare = Task(gid="1")
    api.get(f"{BASE}/workspaces/{WORKSPACE}/tags", json={"data": [{"gid": "39", "name": "urgent"}]})
    api.post(f"{BASE}/tasks/1/addTag", json={"data": {}})
    backend.revert(bare, Retag("Urgent"))
    assert _sent(api) == ("POST", "/tasks/1/addTag", {"data": {"tag": "39"}})


def test_retag_by_gid_adds_it_and_a_carried_tag_needs_nothing(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/addTag", json={"data": {}})
    backend.revert(Task(gid="1"), Retag("39"))
    assert _sent(api) == ("POST", "/tasks/1/addTag", {"data": {"tag": "39"}})
    backend.revert(TASK, Retag("31"))
    assert len(api.calls) == 1


@pytest.mark.parametrize("user", ["202", "anna@example.com"])
def test_unfollow_removes_the_follower_by_gid(
    backend: AsanaBackend, api: responses.RequestsMock, user: str
) -> None:
    if "@" in user:
        api.get(
            f"{BASE}/users/{user}",
            json={
                "data": {
                    "gid": "202",
                    "email": user,
                    "name": "Anna Rossi",
                    "workspaces": [{"gid": WORKSPACE}],
                }
            },
        )
    api.post(f"{BASE}/tasks/1/removeFollowers", json={"data": {"gid": "1"}})
    backend.revert(TASK, Unfollow(user))
    method, where, sent = _sent(api)
    assert (method, where, sent) == (
        "POST",
        "/tasks/1/removeFollowers",
        {"data": {"followers": ["202"]}},
    )


def test_place_back_moves_within_a_project_the_task_is_in(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/sections/52/addTask", json={"data": {}})
    backend.revert(TASK, PlaceBack("41", "52"))
    assert _sent(api) == ("POST", "/sections/52/addTask", {"data": {"task": "1"}})


def test_place_back_into_a_project_the_task_left_adds_it_there(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/addProject", json={"data": {}})
    backend.revert(TASK, PlaceBack("43", "53"))
    assert _sent(api) == (
        "POST",
        "/tasks/1/addProject",
        {"data": {"project": "43", "section": "53"}},
    )


def test_leave_project_removes_the_task_from_it(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/removeProject", json={"data": {}})
    backend.revert(TASK, LeaveProject("42"))
    assert _sent(api) == ("POST", "/tasks/1/removeProject", {"data": {"project": "42"}})
    backend.revert(TASK, LeaveProject("49"))  # not in it: nothing to do
    assert len(api.calls) == 1


def test_restore_field_sends_the_option_gid_of_an_enum_name(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _fields(api)
    _task_put(api)
    backend.revert(TASK, RestoreField("61", "Low"))
    assert _sent(api) == ("PUT", "/tasks/1", {"data": {"custom_fields": {"61": "612"}}})


def test_restore_field_of_a_multi_enum_sends_a_list_of_option_gids(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _fields(api)
    _task_put(api)
    backend.revert(TASK, RestoreField("63", "blue"))
    assert _sent(api) == ("PUT", "/tasks/1", {"data": {"custom_fields": {"63": ["632"]}}})


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("62", 45.0, 45.0), ("62", None, None), ("61", None, None), ("63", None, [])],
    ids=["number", "number-cleared", "enum-cleared", "multi-enum-cleared"],
)
def test_restore_field_sends_plain_values_as_they_are(
    backend: AsanaBackend,
    api: responses.RequestsMock,
    field: str,
    value: float | None,
    expected: object,
) -> None:
    if field != "62":
        _fields(api)
    _task_put(api)
    backend.revert(TASK, RestoreField(field, value))
    assert _sent(api) == ("PUT", "/tasks/1", {"data": {"custom_fields": {field: expected}}})


def test_restore_field_the_task_no_longer_shows_uses_the_workspace_definition(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _fields(api)
    _task_put(api)
    backend.revert(TASK, RestoreField("64", "2026-11-02"))
    assert _sent(api) == ("PUT", "/tasks/1", {"data": {"custom_fields": {"64": "2026-11-02"}}})


def test_restore_field_to_an_option_no_longer_there_says_so(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _fields(api)
    with pytest.raises(BackendError, match="no longer has the option 'Medium'"):
        backend.revert(TASK, RestoreField("61", "Medium"))
    assert all(call.request.method == "GET" for call in api.calls)


def test_restore_field_of_a_field_the_workspace_lacks_is_not_in_workspace(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _fields(api)
    with pytest.raises(NotInWorkspace, match="no custom field"):
        backend.revert(TASK, RestoreField("69", "x"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (RestoreDue("2026-11-30", None), {"due_on": "2026-11-30"}),
        (RestoreDue(None, "2026-11-30T15:00:00+00:00"), {"due_at": "2026-11-30T15:00:00+00:00"}),
        (RestoreDue(None, None), {"due_on": None}),
    ],
    ids=["day", "time", "none"],
)
def test_restore_due_sets_the_day_the_time_or_nothing(
    backend: AsanaBackend, api: responses.RequestsMock, change: RestoreDue, expected: object
) -> None:
    _task_put(api)
    backend.revert(TASK, change)
    assert _sent(api) == ("PUT", "/tasks/1", {"data": expected})


def test_delete_comment_deletes_the_story(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.delete(f"{BASE}/stories/71", json={"data": {}})
    assert backend.revert(TASK, DeleteComment("71")) is None
    method, where, sent = _sent(api)
    assert (method, where) == ("DELETE", "/stories/71")
    assert sent is None


def test_correct_comment_posts_a_comment_and_returns_its_story(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(
        f"{BASE}/tasks/1/stories",
        json={"data": {"gid": "72", "created_at": "2026-11-27T09:00:00Z"}},
        status=201,
    )
    assert backend.revert(TASK, CorrectComment("Withdrawn: please ignore.")) == "72"
    assert _sent(api) == (
        "POST",
        "/tasks/1/stories",
        {"data": {"text": "Withdrawn: please ignore."}},
    )
    assert query(api.calls[-1]).get("opt_fields") == "created_at"


# ----------------------------------------------------------------------------- refusals

_EVERY_KIND: list[Revert] = [
    Reassign(None),
    Untag("31"),
    Retag("39"),
    Unfollow("202"),
    PlaceBack("41", "52"),
    LeaveProject("42"),
    RestoreField("62", 10.0),
    RestoreDue(None, None),
    CorrectComment("Withdrawn."),
]
# The task as far as each kind needs it to send its request (a tag, two projects, a number).
BARE = Task(
    gid="1",
    tags=(Ref("31"),),
    projects=(Ref("41"), Ref("42")),
    custom_fields=(FieldValue("62", "Minutes", "number"),),
)
_ROUTES: dict[str, tuple[str, str]] = {
    "reassign": ("PUT", "/tasks/1"),
    "untag": ("POST", "/tasks/1/removeTag"),
    "retag": ("POST", "/tasks/1/addTag"),
    "unfollow": ("POST", "/tasks/1/removeFollowers"),
    "place_back": ("POST", "/sections/52/addTask"),
    "leave_project": ("POST", "/tasks/1/removeProject"),
    "restore_field": ("PUT", "/tasks/1"),
    "restore_due": ("PUT", "/tasks/1"),
    "correct_comment": ("POST", "/tasks/1/stories"),
}


@pytest.mark.parametrize("change", _EVERY_KIND, ids=lambda change: change.kind)
@pytest.mark.parametrize(
    ("status", "reason"), [(404, GoneReason.DELETED), (403, GoneReason.NO_ACCESS)]
)
def test_a_task_asana_no_longer_shows_is_task_gone(
    backend: AsanaBackend,
    api: responses.RequestsMock,
    change: Revert,
    status: int,
    reason: GoneReason,
) -> None:
    method, where = _ROUTES[change.kind]
    api.add(method, f"{BASE}{where}", json={"errors": [{"message": "gone"}]}, status=status)
    with pytest.raises(TaskGone) as raised:
        backend.revert(BARE, change)
    assert raised.value.gid == "1"
    assert raised.value.reason is reason


@pytest.mark.parametrize("change", [*_EVERY_KIND, DeleteComment("71")], ids=lambda c: c.kind)
def test_a_refused_token_is_token_refused_and_never_shown(
    backend: AsanaBackend, api: responses.RequestsMock, change: Revert
) -> None:
    method, where = _ROUTES.get(change.kind, ("DELETE", "/stories/71"))
    api.add(method, f"{BASE}{where}", json={"errors": [{"message": "Not Authorized"}]}, status=401)
    with pytest.raises(TokenRefused) as raised:
        backend.revert(BARE, change)
    assert raised.value.fatal
    assert TOKEN not in str(raised.value)


def test_a_comment_asana_will_not_delete_says_it_cannot_be_deleted(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.delete(
        f"{BASE}/stories/71",
        json={"errors": [{"message": "You can only delete stories you created"}]},
        status=403,
    )
    with pytest.raises(BackendError, match="comment 71 on task 1 cannot be deleted") as raised:
        backend.revert(TASK, DeleteComment("71"))
    assert not isinstance(raised.value, TaskGone)
    assert not raised.value.fatal


def test_a_comment_already_deleted_is_reported_as_not_found(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.delete(f"{BASE}/stories/71", json={"errors": [{"message": "Unknown object"}]}, status=404)
    with pytest.raises(BackendError, match="comment 71 on task 1 was not found") as raised:
        backend.revert(TASK, DeleteComment("71"))
    assert not isinstance(raised.value, TaskGone)


# ----------------------------------------------------------------------------- any value

_NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1).filter(
    lambda name: name.strip() != ""
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    options=st.lists(_NAMES, min_size=1, max_size=5, unique_by=lambda n: n.strip().casefold()),
    pick=st.integers(min_value=0),
    due=st.one_of(st.none(), st.dates().map(date.isoformat)),
)
def test_any_option_name_and_due_day_are_sent_as_asana_takes_them(
    client: AsanaClient, options: list[str], pick: int, due: str | None
) -> None:
    """Whatever the options are called, the chosen one is sent by its gid; a due day by its
    ISO date, or null."""
    chosen = pick % len(options)
    field = {
        "gid": "61",
        "name": "Priority",
        "resource_subtype": "enum",
        "enum_options": [{"gid": f"6{i}", "name": name} for i, name in enumerate(options)],
    }
    task = Task(gid="1", custom_fields=(FieldValue("61", "Priority", "enum"),))
    backend = AsanaBackend(client, WORKSPACE)  # its own cache of field definitions
    with responses.RequestsMock() as api:
        api.get(f"{BASE}/workspaces/{WORKSPACE}/custom_fields", json={"data": [field]})
        _task_put(api)
        backend.revert(task, RestoreField("61", options[chosen]))
        assert _sent(api) == ("PUT", "/tasks/1", {"data": {"custom_fields": {"61": f"6{chosen}"}}})
        backend.revert(task, RestoreDue(due, None))
        assert _sent(api) == ("PUT", "/tasks/1", {"data": {"due_on": due}})
