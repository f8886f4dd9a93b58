"""One request through the sandbox: authenticate, apply faults, route, answer, log.

The order is Asana's as a client sees it: an unknown or revoked token is refused (401) before
anything else; then the rate limit (429 with Retry-After, a batch costing one unit per action);
then injected failures; then the handler, with the world locked. Latency is added to every
answer. The HTTP server and the Batch API both go through here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from delegator.sandbox import (
    batch,
    endpoints_activity,
    endpoints_directory,
    endpoints_search,
    endpoints_tasks,
    webhooks,
)
from delegator.sandbox.errors import (
    ApiError,
    InvalidRequestError,
    NotAuthorizedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from delegator.sandbox.faults import Faults, garbled
from delegator.sandbox.records import User
from delegator.sandbox.requestlog import LoggedRequest, RequestLog
from delegator.sandbox.routing import Call, Reply, RouteTable
from delegator.sandbox.strict import Strictness
from delegator.sandbox.world import World

logger = logging.getLogger(__name__)

API_PREFIX: Final = "/api/1.0"
ROUTES: Final = RouteTable(
    endpoints_directory.routes,
    endpoints_tasks.routes,
    endpoints_activity.routes,
    endpoints_search.routes,
    webhooks.routes,
)
SEARCH_ROUTE: Final = endpoints_search.SEARCH
NO_ROUTE: Final = "No matching route for request"


@dataclass
class _Trace:
    """What the log needs to know about a request, filled in as it goes."""

    path: str = ""
    endpoint: str = ""
    query: Mapping[str, str] | None = None
    body: Any = None
    token: str | None = None
    user: User | None = None
    units: int = 0
    slots: tuple[int, int] | None = None  # (reads, writes) in flight, released once answered


class Api:
    def __init__(
        self,
        world: World,
        faults: Faults,
        log: RequestLog,
        *,
        base_url: str = "http://127.0.0.1/api/1.0",
        sleep: Callable[[float], None] = time.sleep,
        lenient: Iterable[str] = (),
    ) -> None:
        self.world = world
        self.faults = faults
        self.log = log
        self.strict = Strictness(lenient, log)
        self.base_url = base_url
        self._sleep = sleep
        # Asana's limits by default: the token's plan quota, counted on the world's clock.
        faults.bind(
            monotonic=lambda: world.clock.now().timestamp(), per_minute=world.requests_per_minute
        )

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request (``target`` is the path with its query string)."""
        trace = _Trace()
        try:
            reply = self._handle(method.upper(), target, headers, body, trace)
        except ApiError as error:
            reply = error_reply(error)
        except Exception as exc:  # a sandbox bug: answer 500 and say so, keep serving
            logger.exception("sandbox failed on %s %s", method, target)
            reply = error_reply(ServerError(f"Server Error (sandbox bug: {exc!r})"))
        delay = self.faults.delay(trace.token)
        try:
            if delay > 0:
                self._sleep(delay)
        finally:
            if trace.slots is not None and trace.token is not None:
                self.faults.leave(trace.token, reads=trace.slots[0], writes=trace.slots[1])
        self._record(method.upper(), trace, reply.status, in_batch=False)
        return reply

    def _handle(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes, trace: _Trace
    ) -> Reply:
        parts = urlsplit(target)
        trace.query = query = parse_query(parts.query)
        if not (parts.path == API_PREFIX or parts.path.startswith(API_PREFIX + "/")):
            raise NotFoundError(NO_ROUTE)
        trace.path = path = parts.path[len(API_PREFIX) :].rstrip("/") or "/"
        trace.endpoint = ROUTES.template_of(path) or ("/batch" if path == "/batch" else "")
        token = bearer_token(headers)
        trace.token = token
        user = self.world.user_for_token(token) if token else None
        if token is None or user is None or self.faults.is_revoked(token):
            raise NotAuthorizedError()
        trace.user = user
        body = parse_body(raw) if method in ("POST", "PUT", "PATCH") else None
        trace.body = body
        is_batch = path == "/batch" and method == "POST"
        actions = batch.parse_actions(body) if is_batch else None
        units = len(actions) if actions is not None else 1
        retry_after = self.faults.admit(token, units, search=trace.endpoint == SEARCH_ROUTE)
        if retry_after is not None:
            raise RateLimitedError(headers={"Retry-After": str(retry_after)})
        reads, writes = in_flight(method, actions)
        retry_after = self.faults.enter(token, reads=reads, writes=writes)
        if retry_after is not None:
            raise RateLimitedError(headers={"Retry-After": str(retry_after)})
        trace.slots = (reads, writes)
        trace.units = 0 if actions is not None else units
        found = None if is_batch else ROUTES.match(method, path)
        if found is None and not is_batch:
            raise NotFoundError(NO_ROUTE)
        actions = self.strict.screen(method, path, query, body, actions)  # Asana's spec: 400
        failure = self.faults.failure(token)
        if failure is not None and not failure.after_apply:
            raise _injected(failure.status)
        if actions is not None:
            results = batch.run(actions, lambda action: self._action(action, user, token))
            reply = Reply(200, {"data": results})
        else:
            assert found is not None
            route, params = found
            call = Call(self.world, user, token, method, path, params, query, body, self.base_url)
            with self.world.lock:
                reply = route.handler(call)
        if failure is not None:
            raise _injected(failure.status)
        garbage = (
            self.faults.garbage_for(token, method, trace.endpoint) if reply.status < 300 else None
        )
        if garbage is not None:  # done, then answered in the wrong shape (faults.garbage)
            body, headers = garbled(garbage, reply.body)
            reply = Reply(reply.status, body, {**reply.headers, **headers})
        if "opt_pretty" in query and query["opt_pretty"] != "false":
            reply.pretty = True
        return reply

    def _action(
        self, action: batch.Action, user: User, token: str
    ) -> tuple[int, dict[str, str], Any]:
        trace = _Trace(
            path=action.path,
            endpoint=ROUTES.template_of(action.path),
            query=action.query,
            body=action.body,
            token=token,
            user=user,
            units=1,
        )
        found = ROUTES.match(action.method, action.path)
        try:
            if found is None:
                raise NotFoundError(NO_ROUTE)
            route, params = found
            call = Call(
                self.world,
                user,
                token,
                action.method,
                action.path,
                params,
                dict(action.query),
                action.body,
                self.base_url,
            )
            with self.world.lock:
                reply = route.handler(call)
        except ApiError as error:
            reply = error_reply(error)
        self._record(action.method, trace, reply.status, in_batch=True)
        return reply.status, reply.headers, reply.body

    def _record(self, method: str, trace: _Trace, status: int, *, in_batch: bool) -> None:
        self.log.append(
            LoggedRequest(
                at=self.world.clock.now(),
                method=method,
                path=trace.path,
                endpoint=trace.endpoint,
                query=dict(trace.query or {}),
                body=trace.body,
                token=trace.token,
                user_gid=trace.user.gid if trace.user else None,
                status=status,
                units=trace.units,
                in_batch=in_batch,
            )
        )


def in_flight(
    method: str, actions: list[batch.Action | InvalidRequestError] | None
) -> tuple[int, int]:
    """The (reads, writes) slots a request holds: one per batch action, by its method."""
    if actions is None:
        return (1, 0) if method in ("GET", "HEAD") else (0, 1)
    runnable = [action for action in actions if isinstance(action, batch.Action)]
    reads = sum(1 for action in runnable if action.method in ("GET", "HEAD"))
    return reads, len(runnable) - reads


def _injected(status: int) -> ApiError:
    error = (
        ServerError("Server Error (injected by the sandbox)")
        if status >= 500
        else ApiError(f"Injected error {status}")
    )
    error.status = status
    return error


def error_reply(error: ApiError) -> Reply:
    return Reply(error.status, error.body(), dict(error.headers))


def bearer_token(headers: Mapping[str, str]) -> str | None:
    for key, value in headers.items():
        if key.lower() == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def parse_query(text: str) -> dict[str, str]:
    """The query as a dict (last value wins; repeated opt_fields are joined with commas)."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        if key == "opt_fields" and query.get(key):
            query[key] = f"{query[key]},{value}"
        else:
            query[key] = value
    return query


def parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidRequestError("Could not parse request data, invalid JSON") from None
