"""A task's activity, notices and finding them again, through the Asana adapter.

`activity` reads a task's stories, likes and subtasks in one ``POST /batch`` (more pages cost one
request each, up to a bound); `notify` posts a comment whose rich text @-mentions a person;
`find_notice` finds the comment again by the end of its plain text, whatever the mention became.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from asana_fakes import BASE, body, me_response, path, query

from delegator.asana import AsanaClient
from delegator.asana.backend import AsanaBackend
from delegator.core.context import Identity
from delegator.core.expectations import StoryFact, StoryKind
from delegator.core.model import Task
from delegator.ports import BackendError, GoneReason, TaskGone, TokenRefused

WORKSPACE = "77"
SINCE = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ANNA = "501"  # the assistant
BOT = "100"  # the credentials' user


@pytest.fixture
def backend(client: AsanaClient) -> AsanaBackend:
    return AsanaBackend(client, WORKSPACE)


def _at(hours: float) -> str:
    """SINCE plus ``hours``, as Asana writes times."""
    moment = SINCE + timedelta(hours=hours)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _story(
    gid: str,
    hours: float,
    subtype: str,
    by: str | None,
    text: str = "",
    kind: str = "system",
) -> dict[str, Any]:
    return {
        "gid": gid,
        "created_at": _at(hours),
        "created_by": None if by is None else {"gid": by, "name": "Someone"},
        "resource_subtype": subtype,
        "type": kind,
        "text": text,
    }


def _comment(gid: str, hours: float, by: str | None, text: str) -> dict[str, Any]:
    return _story(gid, hours, "comment_added", by, text, kind="comment")


def _batch(
    api: responses.RequestsMock,
    stories: object,
    task: object,
    subtasks: object,
    *,
    statuses: tuple[int, int, int] = (200, 200, 200),
) -> None:
    api.post(
        f"{BASE}/batch",
        json={
            "data": [
                {"status_code": status, "headers": {}, "body": part}
                for status, part in zip(statuses, (stories, task, subtasks), strict=True)
            ]
        },
    )


def _page(records: list[dict[str, Any]], offset: str | None = None) -> dict[str, Any]:
    return {
        "data": records,
        "next_page": None if offset is None else {"offset": offset, "path": "/x", "uri": "u"},
    }


def test_activity_reads_stories_likes_and_subtasks_in_one_batch(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    stories = [
        _comment("1", -2, ANNA, "before the delegation"),  # before since: left out
        _story("2", 0, "assigned", BOT, "assigned to Anna"),
        _comment("3", 1, ANNA, "On it"),
        _story("4", 2, "section_changed", ANNA, 'moved this Task from "To do" to "Doing"'),
        _story("5", 3, "due_date_changed", None, "changed the due date"),  # no author: Asana's
        _comment("6", 4, None, "a comment Asana did not say the author of"),
        _story("7", 5, "enum_custom_field_changed", ANNA, 'changed Status to "Started"'),
    ]
    task = {"data": {"gid": "9", "likes": [{"gid": "l1", "user": {"gid": ANNA, "name": "A"}}]}}
    subtasks = [
        {"gid": "s1", "completed": True, "completed_at": _at(6)},
        {"gid": "s2", "completed": False, "completed_at": None},
        {"gid": "s3", "completed": True, "completed_at": _at(-30)},
    ]
    _batch(api, _page(stories), task, _page(subtasks))

    seen = backend.activity("9", SINCE)

    assert seen.stories == (
        StoryFact(BOT, SINCE, StoryKind.CHANGE),
        StoryFact(ANNA, SINCE + timedelta(hours=1), StoryKind.COMMENT, "On it"),
        StoryFact(ANNA, SINCE + timedelta(hours=2), StoryKind.CHANGE),
        StoryFact(
            "",
            SINCE + timedelta(hours=4),
            StoryKind.COMMENT,
            "a comment Asana did not say the author of",
        ),
        StoryFact(ANNA, SINCE + timedelta(hours=5), StoryKind.CHANGE),
    )
    assert seen.likers == frozenset({ANNA})
    # Every completed subtask's moment (the follow-up compares them with its own `since`).
    assert seen.subtasks_done == (SINCE - timedelta(hours=30), SINCE + timedelta(hours=6))
    assert seen.truncated is False
    assert backend.requests_sent == 1
    [call] = api.calls
    assert path(call) == "/batch"
    actions = body(call)["data"]["actions"]
    assert actions == [
        {
            "relative_path": "/tasks/9/stories",
            "method": "get",
            "options": {
                "fields": ["created_at", "created_by", "resource_subtype", "type", "text"],
                "limit": 100,
            },
        },
        {"relative_path": "/tasks/9", "method": "get", "options": {"fields": ["likes.user"]}},
        {
            "relative_path": "/tasks/9/subtasks",
            "method": "get",
            "options": {"fields": ["completed", "completed_at"], "limit": 100},
        },
    ]


def test_a_task_nobody_touched_has_no_activity(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _batch(api, _page([]), {"data": {"gid": "9", "likes": []}}, _page([]))
    seen = backend.activity("9", SINCE)
    assert (seen.stories, seen.likers, seen.subtasks_done) == ((), frozenset(), ())


def test_more_stories_are_read_page_by_page_up_to_the_bound(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    first = [_comment(str(n), n / 100, ANNA, f"c{n}") for n in range(100)]
    second = [_comment(str(n), n / 100, ANNA, f"c{n}") for n in range(100, 200)]
    third = [_comment(str(n), n / 100, ANNA, f"c{n}") for n in range(200, 300)]
    _batch(api, _page(first, "p2"), {"data": {"gid": "9", "likes": []}}, _page([]))
    api.get(f"{BASE}/tasks/9/stories", json=_page(second, "p3"))
    api.get(f"{BASE}/tasks/9/stories", json=_page(third, "p4"))  # p4 is never asked for

    seen = backend.activity("9", SINCE)

    assert len(seen.stories) == 300
    assert seen.stories[-1].text == "c299"
    assert seen.truncated is True
    assert backend.requests_sent == 3
    assert [query(c).get("offset") for c in api.calls[1:]] == ["p2", "p3"]
    assert query(api.calls[1])["opt_fields"] == "created_at,created_by,resource_subtype,type,text"


def test_stories_that_end_within_the_bound_are_not_truncated(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _batch(
        api,
        _page([_comment("1", 1, ANNA, "first")], "p2"),
        {"data": {"gid": "9", "likes": []}},
        _page([{"gid": "s1", "completed": True, "completed_at": _at(1)}], "q2"),
    )
    api.get(f"{BASE}/tasks/9/stories", json=_page([_comment("2", 2, ANNA, "second")]))
    api.get(
        f"{BASE}/tasks/9/subtasks",
        json=_page([{"gid": "s2", "completed": True, "completed_at": _at(2)}]),
    )

    seen = backend.activity("9", SINCE)

    assert [s.text for s in seen.stories] == ["first", "second"]
    assert seen.subtasks_done == (SINCE + timedelta(hours=1), SINCE + timedelta(hours=2))
    assert seen.truncated is False
    assert backend.requests_sent == 3


@pytest.mark.parametrize(
    ("status", "reason"), [(404, GoneReason.DELETED), (403, GoneReason.NO_ACCESS)]
)
def test_activity_of_a_task_gone_or_hidden_is_task_gone(
    backend: AsanaBackend, api: responses.RequestsMock, status: int, reason: GoneReason
) -> None:
    error = {"errors": [{"message": "task: Unknown object: 9"}]}
    _batch(api, error, error, error, statuses=(status, status, status))
    with pytest.raises(TaskGone) as gone:
        backend.activity("9", SINCE)
    assert gone.value.gid == "9"
    assert gone.value.reason is reason


def test_activity_failures_are_backend_errors(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    # One action failing on Asana's side fails the read, not the cycle.
    _batch(
        api,
        {"errors": [{"message": "Server Error", "phrase": "a sad squid"}]},
        {"data": {"gid": "9", "likes": []}},
        _page([]),
        statuses=(500, 200, 200),
    )
    with pytest.raises(BackendError) as failed:
        backend.activity("9", SINCE)
    assert not isinstance(failed.value, TaskGone)
    assert failed.value.fatal is False
    # An answer not shaped as Asana's is an error, never an empty activity.
    _batch(api, {"data": {"gid": "x"}}, {"data": {"gid": "9", "likes": 3}}, _page([]))
    with pytest.raises(BackendError):
        backend.activity("9", SINCE)


def test_activity_with_a_refused_token_is_fatal(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/batch", status=401, json={"errors": [{"message": "Not Authorized"}]})
    with pytest.raises(TokenRefused) as refused:
        backend.activity("9", SINCE)
    assert refused.value.fatal is True


# ----------------------------------------------------------------------------- notify


def _created(api: responses.RequestsMock, gid: str = "777") -> None:
    api.post(
        f"{BASE}/tasks/9/stories",
        status=201,
        json={"data": {"gid": gid, "created_at": _at(0)}},
    )


def test_notify_mentions_the_person_in_rich_text(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    _created(api)
    gid = backend.notify(
        Task(gid="9", name="Invoice"),
        "Please confirm <today> & reply",
        Identity(ANNA, "anna@example.com", "Anna"),
    )
    assert gid == "777"
    [call] = api.calls
    assert body(call) == {
        "data": {
            "html_text": f'<body><a data-asana-gid="{ANNA}"/> Please confirm &lt;today&gt; '
            "&amp; reply</body>"
        }
    }
    assert query(call)["opt_fields"] == "created_at"


@pytest.mark.parametrize("mention", [None, Identity("", "someone@example.com", "Someone")])
def test_notify_without_anyone_to_mention_posts_plain_text(
    backend: AsanaBackend, api: responses.RequestsMock, mention: Identity | None
) -> None:
    _created(api)
    assert backend.notify(Task(gid="9", name="Invoice"), "Still open?", mention) == "777"
    assert body(api.calls[0]) == {"data": {"text": "Still open?"}}


def test_notify_on_a_deleted_task_is_task_gone(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/9/stories", status=404, json={"errors": [{"message": "Unknown"}]})
    with pytest.raises(TaskGone):
        backend.notify(Task(gid="9", name="x"), "hi", Identity(ANNA, "", "Anna"))


# ----------------------------------------------------------------------------- find_notice

MENTIONED = f"https://app.asana.com/0/profile/{ANNA}  Please\nconfirm by Friday"


def test_find_notice_finds_the_newest_comment_of_ours_ending_with_the_text(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    me_response(api, BOT)
    api.get(
        f"{BASE}/tasks/9/stories",
        json=_page(
            [
                _comment("1", 0, BOT, MENTIONED),
                _comment("2", 1, ANNA, MENTIONED),  # not ours
                _story("3", 2, "section_changed", BOT, "Please confirm by Friday"),  # no comment
                _comment("4", 3, BOT, "Please confirm by Friday, or not"),  # does not end so
                _comment("5", 4, BOT, MENTIONED),
                _comment("6", 5, ANNA, f"Thanks! {MENTIONED}"),  # newer, but the assistant's
            ]
        ),
    )
    assert backend.find_notice("9", "Please confirm  by Friday ") == "5"
    assert backend.requests_sent == 2


def test_find_notice_says_none_when_nothing_matches(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    me_response(api, BOT)
    api.get(f"{BASE}/tasks/9/stories", json=_page([_comment("1", 0, ANNA, "Please confirm")]))
    assert backend.find_notice("9", "Please confirm") is None


def test_find_notice_failing_is_an_error_not_a_none(
    backend: AsanaBackend, api: responses.RequestsMock
) -> None:
    me_response(api, BOT)
    api.get(f"{BASE}/tasks/9/stories", status=403, json={"errors": [{"message": "Forbidden"}]})
    with pytest.raises(TaskGone) as gone:
        backend.find_notice("9", "Please confirm")
    assert gone.value.reason is GoneReason.NO_ACCESS
