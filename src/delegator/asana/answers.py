"""Asana's answers, distrusted: every 2xx body is parsed into the shape its caller needs first.

A 200 is not proof of a usable answer: a proxy's maintenance page, a truncated or reshaped body,
``{"data": null}`` on a task list. Taken at face value these read as "no tasks", "no such tag"
or a ``TypeError`` deep in the worker; the sync position would move past tasks never seen. Here
each kind of answer is parsed at the edge, and anything else is a `WrongShape` saying what was
wrong, which the transport raises as `errors.UnexpectedAnswer` naming the method and path
(retried like a 5xx, see `errors.decide`).

The shapes (``data`` is always required):

* a page of a collection (`page`): ``data`` a list of objects, each with a ``gid`` string;
  ``next_page`` absent, null, or an object with a non-empty ``offset`` string;
* a directory page (`named_page`): the same, each record with a ``name`` string (tags, projects,
  sections, users, custom fields); custom field settings hold a ``custom_field`` object so named;
* a single record (`record`): ``data`` an object with a ``gid`` string (a task, a user, the
  created comment, tag, task or status update, the task an assignment answers with);
* an empty answer (`empty`): ``data`` an object (``{}`` from addTag, removeTag, addProject,
  sections/addTask);
* a user looked up (`user`): a record whose ``workspaces`` is a list of objects with gids;
* a /batch (`batch`): ``data`` a list of exactly as many results as actions, each an object with
  an integer ``status_code`` and an object ``body`` (``headers`` an object when present);
* a created webhook (`webhook_created`): a record, and the ``X-Hook-Secret`` that the 201 body
  carries next to ``data`` (None when absent or not a non-empty string: the webhook exists);
* a page of webhooks (`webhook_page`): each record with a ``resource`` object holding a gid, a
  ``target`` string and a boolean ``active``.

Messages name JSON types and keys only, never values: an answer may hold personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

#: A JSON object as Asana sends it (the same alias as http.Record, without importing it).
Record: TypeAlias = dict[str, Any]


class WrongShape(ValueError):  # noqa: N818 - named as errors.py names its own
    """An answer that is not the shape its caller needs; the text says what was wrong."""


#: Parses a 2xx body into what the caller uses, or raises `WrongShape`.
Shape: TypeAlias = Callable[[Record], object]


@dataclass(frozen=True, slots=True)
class Page:
    records: list[Record]
    next_offset: str | None  # None: the last page


@dataclass(frozen=True, slots=True)
class BatchItem:
    status: int
    body: Record
    headers: dict[str, str]


def kind(value: object) -> str:
    """A value's JSON type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _data(body: Record) -> object:
    if "data" not in body:
        raise WrongShape("the answer has no data")
    return body["data"]


def _gid(record: Record, where: str) -> None:
    gid = record.get("gid")
    if not isinstance(gid, str) or not gid:
        found = "no gid" if "gid" not in record else f"a gid that is {kind(gid)}"
        raise WrongShape(f"{where} has {found}, expected a gid string")


def _records(
    data: object, *, what: str, check: Callable[[Record, str], None] | None = None
) -> list[Record]:
    if not isinstance(data, list):
        raise WrongShape(f"data is {kind(data)}, expected a list of {what}")
    records: list[Record] = []
    for index, item in enumerate(data):
        where = f"data[{index}]"
        if not isinstance(item, dict):
            raise WrongShape(f"{where} is {kind(item)}, expected an object")
        _gid(item, where)
        if check is not None:
            check(item, where)
        records.append(item)
    return records


def _next_offset(body: Record) -> str | None:
    next_page = body.get("next_page")
    if next_page is None:
        return None
    if not isinstance(next_page, dict):
        raise WrongShape(f"next_page is {kind(next_page)}, expected null or an object")
    offset = next_page.get("offset")
    if not isinstance(offset, str) or not offset:
        raise WrongShape(f"next_page.offset is {kind(offset)}, expected a non-empty string")
    return offset


def page(body: Record) -> Page:
    """A page of a collection: records with gids, and where the next page starts."""
    return Page(_records(_data(body), what="records"), _next_offset(body))


def _named(record: Record, where: str) -> None:
    if not isinstance(record.get("name"), str):
        raise WrongShape(f"{where}.name is {kind(record.get('name'))}, expected a string")


def _custom_field(record: Record, where: str) -> None:
    _named(record, where)
    options = record.get("enum_options")
    if options is None:
        return
    if not isinstance(options, list):
        raise WrongShape(f"{where}.enum_options is {kind(options)}, expected a list")
    for index, option in enumerate(options):
        if not isinstance(option, dict):
            raise WrongShape(f"{where}.enum_options[{index}] is {kind(option)}, expected an object")
        _gid(option, f"{where}.enum_options[{index}]")


def _field_setting(record: Record, where: str) -> None:
    field = record.get("custom_field")
    if not isinstance(field, dict):
        raise WrongShape(f"{where}.custom_field is {kind(field)}, expected an object")
    _gid(field, f"{where}.custom_field")
    _custom_field(field, f"{where}.custom_field")


def named_page(body: Record) -> Page:
    """A directory page (tags, projects, sections, users): each record has a name."""
    return Page(_records(_data(body), what="records", check=_named), _next_offset(body))


def custom_field_page(body: Record) -> Page:
    """A page of custom field definitions: named, enum options with gids."""
    return Page(_records(_data(body), what="records", check=_custom_field), _next_offset(body))


def field_setting_page(body: Record) -> Page:
    """A page of a project's custom field settings: each holds its custom field."""
    return Page(_records(_data(body), what="records", check=_field_setting), _next_offset(body))


def record(body: Record) -> Record:
    """A single record: ``data`` an object with a gid."""
    data = _data(body)
    if not isinstance(data, dict):
        raise WrongShape(f"data is {kind(data)}, expected an object with a gid")
    _gid(data, "data")
    return data


def empty(body: Record) -> Record:
    """An answer that carries no record (``{"data": {}}``): ``data`` must still be an object."""
    data = _data(body)
    if not isinstance(data, dict):
        raise WrongShape(f"data is {kind(data)}, expected an object")
    return data


def user(body: Record) -> Record:
    """A user looked up with ``opt_fields=...workspaces``: a record and its workspaces."""
    data = record(body)
    workspaces = data.get("workspaces")
    if not isinstance(workspaces, list):
        raise WrongShape(f"data.workspaces is {kind(workspaces)}, expected a list")
    for index, workspace in enumerate(workspaces):
        where = f"data.workspaces[{index}]"
        if not isinstance(workspace, dict):
            raise WrongShape(f"{where} is {kind(workspace)}, expected an object")
        _gid(workspace, where)
    return data


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    record: Record
    secret: str | None  # the 201 body's X-Hook-Secret, beside ``data``


def webhook_created(body: Record) -> CreatedWebhook:
    """``POST /webhooks``' 201: ``{"data": <webhook>, "X-Hook-Secret": "<secret>"}``."""
    secret = body.get("X-Hook-Secret")
    return CreatedWebhook(record(body), secret if isinstance(secret, str) and secret else None)


def _webhook(record: Record, where: str) -> None:
    resource = record.get("resource")
    if not isinstance(resource, dict):
        raise WrongShape(f"{where}.resource is {kind(resource)}, expected an object")
    _gid(resource, f"{where}.resource")
    if not isinstance(record.get("target"), str):
        raise WrongShape(f"{where}.target is {kind(record.get('target'))}, expected a string")
    if not isinstance(record.get("active"), bool):
        raise WrongShape(f"{where}.active is {kind(record.get('active'))}, expected a boolean")


def webhook_page(body: Record) -> Page:
    """A page of ``GET /webhooks``: each webhook with its resource, target and active flag."""
    return Page(_records(_data(body), what="webhooks", check=_webhook), _next_offset(body))


def batch(count: int) -> Callable[[Record], list[BatchItem]]:
    """The results of a /batch of `count` actions, in order."""

    def parse(body: Record) -> list[BatchItem]:
        data = _data(body)
        if not isinstance(data, list):
            raise WrongShape(f"data is {kind(data)}, expected a list of {count} results")
        if len(data) != count:
            raise WrongShape(f"{len(data)} results for {count} actions")
        items: list[BatchItem] = []
        for index, item in enumerate(data):
            where = f"data[{index}]"
            if not isinstance(item, dict):
                raise WrongShape(f"{where} is {kind(item)}, expected an object")
            status = item.get("status_code")
            if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
                raise WrongShape(f"{where}.status_code is {kind(status)}, expected an HTTP status")
            result_body = item.get("body")
            if not isinstance(result_body, dict):
                raise WrongShape(f"{where}.body is {kind(result_body)}, expected an object")
            headers = item.get("headers")
            if headers is None:
                headers = {}
            if not isinstance(headers, dict):
                raise WrongShape(f"{where}.headers is {kind(headers)}, expected an object")
            items.append(
                BatchItem(status, result_body, {str(k): str(v) for k, v in headers.items()})
            )
        return items

    return parse
