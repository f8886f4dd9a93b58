"""The Batch API: up to 10 actions in one round trip, each answered on its own.

``POST /batch`` with ``{"data": {"actions": [{relative_path, method, data?, options?}]}}``.
For a GET, ``data`` holds query parameters; otherwise it is the action's ``data`` body.
``options`` carries ``limit``, ``offset``, ``fields`` (opt_fields) and ``pretty``. The batch
answers 200 with ``[{status_code, headers, body}, ...]`` in request order, even when actions
fail; an empty batch, more than 10 actions or a nested batch is refused with 400.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from delegator.sandbox.errors import InvalidRequestError

MAX_ACTIONS: Final = 10
METHODS: Final = ("get", "post", "put", "delete", "patch", "head")


@dataclass(frozen=True, slots=True)
class Action:
    method: str  # upper case
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None


def parse_actions(body: Any) -> list[Action | InvalidRequestError]:
    """The actions of a batch body; an action that cannot run is its error (answered 400)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    actions = data.get("actions") if isinstance(data, Mapping) else None
    if not isinstance(actions, list) or not actions:
        raise InvalidRequestError("actions: Missing input. A batch needs 1 to 10 actions")
    if len(actions) > MAX_ACTIONS:
        raise InvalidRequestError(
            f"actions: The maximum number of actions allowed in a single batch request is "
            f"{MAX_ACTIONS}, got {len(actions)}"
        )
    return [_action(raw) for raw in actions]


def _action(raw: Any) -> Action | InvalidRequestError:
    if not isinstance(raw, Mapping):
        return InvalidRequestError("action: An object with relative_path and method")
    relative_path, method = raw.get("relative_path"), raw.get("method")
    if not isinstance(relative_path, str) or not relative_path.startswith("/"):
        return InvalidRequestError("relative_path: Missing input, e.g. /tasks/123")
    if not isinstance(method, str) or method.lower() not in METHODS:
        return InvalidRequestError(f"method: Must be one of {', '.join(METHODS)}")
    parts = urlsplit(relative_path)
    if parts.path.rstrip("/") == "/batch":
        return InvalidRequestError("relative_path: A batch cannot contain another batch")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    options = raw.get("options") or {}
    if not isinstance(options, Mapping):
        return InvalidRequestError("options: An object with limit, offset, fields")
    for key in ("limit", "offset"):
        if options.get(key) is not None:
            query[key] = str(options[key])
    if options.get("fields"):
        fields = options["fields"]
        query["opt_fields"] = ",".join(fields) if isinstance(fields, list) else str(fields)
    if options.get("pretty"):
        query["opt_pretty"] = "true"
    data = raw.get("data")
    if method.lower() in ("get", "head", "delete"):
        if isinstance(data, Mapping):
            query.update({str(k): _query_value(v) for k, v in data.items()})
        return Action(method.upper(), parts.path, query)
    return Action(method.upper(), parts.path, query, {"data": data if data is not None else {}})


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def run(
    actions: list[Action | InvalidRequestError],
    execute: Callable[[Action], tuple[int, dict[str, str], Any]],
) -> list[dict[str, Any]]:
    """Each action's ``{status_code, headers, body}``, in order."""
    results: list[dict[str, Any]] = []
    for action in actions:
        if isinstance(action, InvalidRequestError):
            results.append({"status_code": 400, "headers": {}, "body": action.body()})
            continue
        status, headers, body = execute(action)
        results.append({"status_code": status, "headers": headers, "body": body})
    return results
