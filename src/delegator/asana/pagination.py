"""Collections as lazy iterators: `limit=100` pages, following `next_page.offset` tokens.

Nothing is requested until the iterator is advanced, and a page is fetched only when the
previous one is used up, so a caller that stops early pays only for the pages it read. Offsets
are opaque and expire after a while: do not keep a half-read iterator across cycles.
"""

from __future__ import annotations

from collections.abc import Iterator

from delegator.asana.http import ApiResponse, Fields, Params, Record, Transport, join_fields

PAGE_LIMIT = 100  # Asana's maximum


def pages(
    transport: Transport,
    path: str,
    params: Params | None,
    fields: Fields,
    *,
    limit: int = PAGE_LIMIT,
) -> Iterator[ApiResponse]:
    """Each page of a collection, as the raw response (for its Date header or extra keys)."""
    if not 1 <= limit <= PAGE_LIMIT:
        raise ValueError(f"limit must be between 1 and {PAGE_LIMIT}, got {limit}")
    query: dict[str, str | int | bool | None] = dict(params or {})
    query["limit"] = limit
    query["opt_fields"] = join_fields(fields)
    while True:
        page = transport.request("GET", path, params=query)
        yield page
        next_page = page.body.get("next_page")
        offset = next_page.get("offset") if isinstance(next_page, dict) else None
        if not offset:
            return
        query["offset"] = str(offset)


def items(
    transport: Transport,
    path: str,
    params: Params | None,
    fields: Fields,
    *,
    limit: int = PAGE_LIMIT,
) -> Iterator[Record]:
    """Each record of a collection, across pages."""
    for page in pages(transport, path, params, fields, limit=limit):
        data = page.data
        if isinstance(data, list):
            yield from (record for record in data if isinstance(record, dict))
