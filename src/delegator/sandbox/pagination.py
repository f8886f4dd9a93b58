"""Pages of a collection: ``limit`` 1..100, opaque ``offset`` tokens, ``next_page`` links.

An offset is only valid for the query that issued it: it carries the position and a fingerprint
of the endpoint and filters, so a stale or foreign offset is refused with 400 as Asana does.
Without ``limit`` the whole collection comes back, unless it is larger than Asana would answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from delegator.sandbox.errors import InvalidRequestError

T = TypeVar("T")

MAX_LIMIT: Final = 100
MAX_UNPAGINATED: Final = 1000
_NOT_FILTERS: Final = frozenset({"limit", "offset", "opt_fields", "opt_pretty"})


def parse_limit(query: Mapping[str, str]) -> int | None:
    raw = query.get("limit")
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError:
        raise InvalidRequestError(f"limit: Not a valid integer: {raw}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequestError(f"limit: Must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def paginate(
    items: Sequence[T], *, path: str, query: Mapping[str, str], base_url: str
) -> tuple[Sequence[T], dict[str, Any] | None, bool]:
    """The page asked for, its ``next_page`` (None on the last page), and whether it is paginated."""
    limit = parse_limit(query)
    fingerprint = _fingerprint(path, query)
    start = _decode_offset(query.get("offset"), fingerprint) if "offset" in query else 0
    if limit is None:
        if "offset" not in query and len(items) > MAX_UNPAGINATED:
            raise InvalidRequestError(
                "The result is too large. You should use pagination (may require specifying a "
                "workspace)!"
            )
        return items[start:], None, False
    page = items[start : start + limit]
    if start + limit >= len(items):
        return page, None, True
    offset = _encode_offset(start + limit, fingerprint)
    next_query = {k: v for k, v in query.items() if k != "offset"}
    next_query["offset"] = offset
    next_path = f"{path}?{urlencode(next_query)}"
    return page, {"offset": offset, "path": next_path, "uri": f"{base_url}{next_path}"}, True


def _fingerprint(path: str, query: Mapping[str, str]) -> str:
    filters = sorted((k, v) for k, v in query.items() if k not in _NOT_FILTERS)
    digest = hashlib.sha256(json.dumps([path, filters]).encode()).hexdigest()
    return digest[:12]


def _encode_offset(position: int, fingerprint: str) -> str:
    raw = json.dumps({"o": position, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_offset(offset: str | None, fingerprint: str) -> int:
    problem = InvalidRequestError(
        "offset: Your pagination token is invalid. Only pass an offset returned by the "
        "previous page of this same query."
    )
    try:
        padded = (offset or "") + "=" * (-len(offset or "") % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position = data["o"]
        matches = data["q"] == fingerprint
    except (ValueError, KeyError, TypeError):
        raise problem from None
    if not matches or not isinstance(position, int) or position < 0:
        raise problem
    return position
