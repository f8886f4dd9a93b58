"""What happens around tasks and projects: stories (comments), status updates, the Events API."""

from __future__ import annotations

import html
import re
from typing import Any

from delegator.sandbox.errors import InvalidRequestError
from delegator.sandbox.records import PERMALINK_BASE, Node, Project, StatusUpdate, Story, Task, User
from delegator.sandbox.routing import Call, Reply, RouteTable
from delegator.sandbox.values import parse_instant_param
from delegator.sandbox.world import World

routes = RouteTable()

_TAG = re.compile(r"<[^>]+>")
# A link to an Asana object in rich text: <a data-asana-gid="..."/> (or with content).
_OBJECT_LINK = re.compile(
    r"<a\b[^>]*?\bdata-asana-gid=\"(?P<gid>[^\"]*)\"[^>]*?(?:/>|>.*?</a>)", re.DOTALL
)


def object_url(world: World, gid: str) -> str:
    """How a link to an Asana object reads in plain text: a user's profile URL
    (``https://app.asana.com/0/profile/GID``), another object's permalink. Asana's rich-text
    guide documents the ``<a data-asana-gid="..."/>`` form but not its plain-text rendering; the
    sandbox chooses the profile link (a 2014 report says the API's text holds the links)."""
    record = world.find(gid)
    if isinstance(record, User) or record is None:
        return f"{PERMALINK_BASE}/profile/{gid}"
    permalink = record.value("permalink_url")
    return permalink if isinstance(permalink, str) else f"{PERMALINK_BASE}/{gid}/{gid}"


def plain_text(world: World, html_text: str) -> str:
    """A comment's plain ``text`` from its rich text: object links as URLs, other tags dropped,
    entities decoded."""
    linked = _OBJECT_LINK.sub(lambda found: object_url(world, found["gid"]), html_text)
    return html.unescape(_TAG.sub("", linked))


def _text_or_html(data: Any, world: World) -> tuple[str, str | None]:
    """A comment's plain text and rich text: it has ``text`` or ``html_text``, not both."""
    text, html_text = data.get("text"), data.get("html_text")
    if text is not None and html_text is not None:
        raise InvalidRequestError("text: You may only provide one of text or html_text")
    if html_text is not None:
        if not isinstance(html_text, str):
            raise InvalidRequestError("html_text: Not a string")
        return plain_text(world, html_text), html_text
    if not isinstance(text, str) or not text:
        raise InvalidRequestError("text: Missing input")
    return text, None


def _text_and_html(data: Any) -> tuple[str, str | None]:
    """A status update's plain text and rich text: ``text`` is required (the spec's
    StatusUpdateBase), ``html_text`` may come with it. Without ``text`` (a server lenient on
    required fields) the plain text is the rich text's words."""
    text, html_text = data.get("text"), data.get("html_text")
    if html_text is not None and not isinstance(html_text, str):
        raise InvalidRequestError("html_text: Not a string")
    if text is None and html_text is not None:
        text = _TAG.sub("", html_text)
    if not isinstance(text, str) or not text:
        raise InvalidRequestError("text: Missing input")
    return text, html_text


# ---------------------------------------------------------------------- stories
@routes.get("/tasks/{task_gid}/stories")
def get_stories(call: Call) -> Reply:
    return call.many(list(call.record("task_gid", Task).stories))


@routes.post("/tasks/{task_gid}/stories")
def create_story(call: Call) -> Reply:
    task = call.record("task_gid", Task)
    data = call.data()
    text, html_text = _text_or_html(data, call.world)
    pinned = data.get("is_pinned", False)
    if not isinstance(pinned, bool):
        raise InvalidRequestError("is_pinned: Not a boolean")
    story = call.world.comment(task, text, by=call.user, html_text=html_text, is_pinned=pinned)
    return call.one(story, status=201)


@routes.delete("/stories/{story_gid}")
def delete_story(call: Call) -> Reply:
    call.world.delete_story(call.record("story_gid", Story), by=call.user)
    return call.empty()


# ---------------------------------------------------------------------- status updates
@routes.get("/status_updates")
def get_status_updates(call: Call) -> Reply:
    project = call.lookup(call.required("parent"), Project, "parent")
    updates = list(reversed(project.status_updates))  # newest first
    if "created_since" in call.query:
        since = parse_instant_param(call.query["created_since"], "created_since")
        updates = [u for u in updates if since is None or u.created_at >= since]
    return call.many(updates)


@routes.post("/status_updates")
def create_status_update(call: Call) -> Reply:
    data = call.data()
    project = call.lookup(data.get("parent"), Project, "parent")
    text, html_text = _text_and_html(data)
    status_type = data.get("status_type")
    if not isinstance(status_type, str):
        raise InvalidRequestError("status_type: Missing input")
    title = data.get("title") or ""
    if not isinstance(title, str):
        raise InvalidRequestError("title: Not a string")
    update = call.world.post_status_update(
        project, by=call.user, text=text, html_text=html_text, status_type=status_type, title=title
    )
    return call.one(update, status=201)


@routes.get("/status_updates/{status_update_gid}")
def get_status_update(call: Call) -> Reply:
    return call.one(call.record("status_update_gid", StatusUpdate))


# ---------------------------------------------------------------------- events
@routes.get("/events")
def get_events(call: Call) -> Reply:
    resource: Node = call.lookup(call.required("resource"), Node, "resource")
    if not isinstance(resource, Project | Task):
        raise InvalidRequestError("resource: Events are available for projects and tasks")
    page = call.world.events.read(resource.gid, call.query.get("sync"))
    return Reply(
        200,
        {
            "data": [event.to_json() for event in page.events],
            "sync": page.sync,
            "has_more": page.has_more,
        },
    )
