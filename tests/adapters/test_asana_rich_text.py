"""Rich text through the Asana client (the summaries' comments, status updates and task notes):
what is sent, and how an ambiguous post is recognised although Asana may rewrite the markup."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import responses
from asana_fakes import BASE, body, me_response, path, query

from delegator.asana import AsanaClient, writes
from delegator.clock import ManualClock

RICH = "<body><strong>Week 49</strong>\n<ul><li>5 to Giulia</li></ul></body>"


def test_a_rich_comment_sends_html_text_only(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks/1/stories", status=201, json={"data": {"gid": "s1"}})

    assert client.comment("1", "", html_text=RICH) == "s1"

    assert body(api.calls[0]) == {"data": {"html_text": RICH}}


def test_a_rich_status_update_sends_text_html_text_and_title(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    # Asana's StatusUpdateRequest requires text (with status_type and parent): the plain form
    # goes with the rich one.
    api.post(f"{BASE}/status_updates", status=201, json={"data": {"gid": "u1"}})

    gid = client.post_status_update(
        "9", "Week 49\n- 5 to Giulia", "at_risk", title="Week 49", html_text=RICH
    )

    assert gid == "u1"
    assert body(api.calls[0]) == {
        "data": {
            "parent": "9",
            "status_type": "at_risk",
            "text": "Week 49\n- 5 to Giulia",
            "html_text": RICH,
            "title": "Week 49",
        }
    }


def test_a_rich_status_update_without_text_sends_the_rich_texts_words(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/status_updates", status=201, json={"data": {"gid": "u1"}})

    client.post_status_update("9", "", "at_risk", title="Week 49", html_text=RICH)

    sent = body(api.calls[0])["data"]
    assert sent["text"] == "Week 49 5 to Giulia"
    assert sent["html_text"] == RICH


def test_a_task_with_rich_notes_sends_html_notes(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/tasks", status=201, json={"data": {"gid": "t1", "name": "Week 49"}})

    client.create_task("Week 49", projects=["9"], assignee="42", html_notes=RICH)

    assert body(api.calls[0]) == {
        "data": {"name": "Week 49", "projects": ["9"], "assignee": "42", "html_notes": RICH}
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: writes.comment("1", "", html_text="  "), "a comment needs text"),
        (
            lambda: writes.status_update("9", "", "on_track", html_text=RICH),
            "a rich text status update needs a title",
        ),
        (
            lambda: writes.create_task("x", projects=["9"], notes="n", html_notes=RICH),
            "notes or html_notes, not both",
        ),
    ],
)
def test_rich_text_requests_that_cannot_work_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_a_rich_comment_lost_in_flight_is_found_by_its_words(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.post(f"{BASE}/tasks/1/stories", body=requests.ReadTimeout("read timed out"))
    me_response(api, gid="100")
    rewritten = (  # as Asana may give it back: other spacing, attributes, entities
        '<body><strong>Week 49</strong> <ul><li data-x="1">5 to  Giulia</li></ul></body>'
    )
    api.get(
        f"{BASE}/tasks/1/stories",
        json={
            "data": [
                {
                    "gid": "s7",
                    "text": "Week 49\n5 to Giulia",
                    "html_text": rewritten,
                    "created_by": {"gid": "100"},
                    "created_at": "2026-11-27T09:00:00.300Z",
                    "resource_subtype": "comment_added",
                }
            ],
            "next_page": None,
        },
    )

    assert client.comment("1", "", html_text=RICH) == "s7"

    assert [(call.request.method, path(call)) for call in api.calls] == [
        ("POST", "/tasks/1/stories"),
        ("GET", "/users/me"),
        ("GET", "/tasks/1/stories"),
    ]
    assert (
        query(api.calls[2])["opt_fields"] == "created_at,created_by,resource_subtype,text,html_text"
    )


def test_a_rich_status_update_lost_in_flight_is_found_by_its_title(
    client: AsanaClient, api: responses.RequestsMock, clock: ManualClock
) -> None:
    api.post(f"{BASE}/status_updates", body=requests.ConnectionError("Connection reset by peer"))
    me_response(api, gid="100")
    api.get(
        f"{BASE}/status_updates",
        json={
            "data": [
                {
                    "gid": "u9",
                    "title": "Week 49",
                    "created_by": {"gid": "100"},
                    "created_at": "2026-11-27T09:00:00.300Z",
                },
                {
                    "gid": "u8",
                    "title": "Week 48",
                    "created_by": {"gid": "100"},
                    "created_at": "2026-11-27T09:00:00.100Z",
                },
            ],
            "next_page": None,
        },
    )

    gid = client.post_status_update("9", "", "on_track", title="Week 49", html_text=RICH)

    assert gid == "u9"
    assert query(api.calls[2])["opt_fields"] == "created_at,created_by,title"
    assert len([call for call in api.calls if call.request.method == "POST"]) == 1
