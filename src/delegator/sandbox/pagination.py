"""Pages of a collection: ``limit`` 1..100, opaque ``offset`` tokens, ``next_page`` links.

An offset is only valid for the query that issued it: it carries the position and a fingerprint
of the endpoint and filters, so a stale or foreign offset is refused with 400 as Asana does.
It also carries when it was issued: "an offset token will expire after some time" (Asana), so
past its lifetime on the world's clock (:class:`OffsetExpiry`, an hour by default) or after
``expire_all()`` it is refused with 400 too.
Without ``limit`` the whole collection comes back, unless it is larger than Asana would answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

from delegator.sandbox.clock import Clock
from delegator.sandbox.errors import InvalidRequestError

T = TypeVar("T")

MAX_LIMIT: Final = 100
MAX_UNPAGINATED: Final = 1000
_NOT_FILTERS: Final = frozenset({"limit", "offset", "opt_fields", "opt_pretty"})
DEFAULT_OFFSET_LIFETIME: Final = timedelta(hours=1)
EXPIRED: Final = (
    "offset: Your pagination token has expired. Start again from the first page of this query."
)


@dataclass
class OffsetExpiry:
    """How long an offset stays valid, on the world's clock (None: for ever)."""

    clock: Clock
    lifetime: timedelta | None = DEFAULT_OFFSET_LIFETIME
    generation: int = 0

    def expire_all(self) -> None:
        """Every offset issued so far is expired from now on."""
        self.generation += 1

    def stamp(self) -> dict[str, int]:
        return {"t": int(self.clock.now().timestamp() * 1000), "g": self.generation}

    def check(self, data: Mapping[str, Any]) -> None:
        issued, generation = data.get("t"), data.get("g")
        if not isinstance(issued, int) or generation != self.generation:
            raise InvalidRequestError(EXPIRED)
        if self.lifetime is not None:
            age_ms = self.clock.now().timestamp() * 1000 - issued
            if age_ms > self.lifetime.total_seconds() * 1000:
                raise InvalidRequestError(EXPIRED)


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
    items: Sequence[T],
    *,
    path: str,
    query: Mapping[str, str],
    base_url: str,
    expiry: OffsetExpiry | None = None,
) -> tuple[Sequence[T], dict[str, Any] | None, bool]:
    """The page asked for, its ``next_page`` (None on the last page), and whether it is paginated."""
    limit = parse_limit(query)
    fingerprint = _fingerprint(path, query)
    start = _decode_offset(query.get("offset"), fingerprint, expiry) if "offset" in query else 0
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
    offset = _encode_offset(start + limit, fingerprint, expiry)
    next_query = {k: v for k, v in query.items() if k != "offset"}
    next_query["offset"] = offset
    next_path = f"{path}?{urlencode(next_query)}"
    return page, {"offset": offset, "path": next_path, "uri": f"{base_url}{next_path}"}, True


def _fingerprint(path: str, query: Mapping[str, str]) -> str:
    filters = sorted((k, v) for k, v in query.items() if k not in _NOT_FILTERS)
    digest = hashlib.sha256(json.dumps([path, filters]).encode()).hexdigest()
    return digest[:12]


def _encode_offset(position: int, fingerprint: str, expiry: OffsetExpiry | None) -> str:
    data: dict[str, Any] = {"o": position, "q": fingerprint}
    if expiry is not None:
        data.update(expiry.stamp())
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_offset(offset: str | None, fingerprint: str, expiry: OffsetExpiry | None) -> int:
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
    if expiry is not None:
        expiry.check(data)
    return position
