"""Routes and the call a handler receives: path parameters, query, body, and reply helpers.

A handler is a function ``(Call) -> Reply``; it runs with the world's lock held, raises
:class:`~delegator.sandbox.errors.ApiError` to answer an error, and shapes records with
:meth:`Call.one` (a full record or the ``opt_fields`` asked) and :meth:`Call.many` (a page).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from delegator.sandbox.errors import InvalidRequestError
from delegator.sandbox.pagination import paginate
from delegator.sandbox.records import Node, User, viewing
from delegator.sandbox.render import FieldTree, parse_opt_fields, render, render_many
from delegator.sandbox.world import World

R = TypeVar("R", bound=Node)

_COLLECTIONS = {"story": "stories"}


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    pretty: bool = False


@dataclass
class Call:
    world: World
    user: User
    token: str
    method: str
    path: str  # under /api/1.0
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    base_url: str

    @cached_property
    def fields(self) -> FieldTree | None:
        return parse_opt_fields(self.query.get("opt_fields"))

    def data(self) -> Mapping[str, Any]:
        """The request body's ``data`` object (400 when there is none)."""
        if not isinstance(self.body, Mapping) or not isinstance(self.body.get("data"), Mapping):
            raise InvalidRequestError('data: Missing input. Send a JSON body {"data": {...}}')
        data: Mapping[str, Any] = self.body["data"]
        return data

    def record(self, name: str, kind: type[R]) -> R:
        """The record named by path parameter ``name`` (``task_gid``), visible to the caller."""
        return self.lookup(self.params[name], kind, name.removesuffix("_gid"))

    def lookup(self, gid: Any, kind: type[R], param: str) -> R:
        """The record with this gid (from the query or body), visible to the caller."""
        if gid is None or gid == "":
            raise InvalidRequestError(f"{param}: Missing input")
        record = self.world.get(str(gid), kind, param=param)
        self.world.check_access(self.user, record)
        return record

    def required(self, name: str) -> str:
        value = self.query.get(name)
        if not value:
            raise InvalidRequestError(f"{name}: Missing input")
        return value

    def one(self, record: Node, status: int = 200) -> Reply:
        collection = _COLLECTIONS.get(record.resource_type, f"{record.resource_type}s")
        headers = {"Location": f"{self.base_url}/{collection}/{record.value('gid')}"}
        with viewing(self.user):  # `liked` is the requester's
            data = render(record, self.fields, full=True)
        return Reply(status, {"data": data}, headers if status == 201 else {})

    def many(self, records: Sequence[Node]) -> Reply:
        page, next_page, paginated = paginate(
            records,
            path=self.path,
            query=self.query,
            base_url=self.base_url,
            expiry=self.world.offsets,
        )
        with viewing(self.user):
            body: dict[str, Any] = {"data": render_many(list(page), self.fields)}
        if paginated:
            body["next_page"] = next_page
        return Reply(200, body)

    def empty(self) -> Reply:
        return Reply(200, {"data": {}})


Handler = Callable[[Call], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


class RouteTable:
    """Routes by method and path template (``/tasks/{task_gid}/stories``)."""

    def __init__(self, *tables: RouteTable) -> None:
        self.routes: list[Route] = [route for table in tables for route in table.routes]

    def add(self, method: str, template: str) -> Callable[[Handler], Handler]:
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(template))
        pattern = re.compile(f"^{regex}$")

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, template, pattern, handler))
            return handler

        return register

    def get(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("GET", template)

    def post(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("POST", template)

    def put(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("PUT", template)

    def delete(self, template: str) -> Callable[[Handler], Handler]:
        return self.add("DELETE", template)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def template_of(self, path: str) -> str:
        """The template a path matches with any method ("" when none): for the request log."""
        for route in self.routes:
            if route.pattern.match(path):
                return route.template
        return ""
