"""Collections as lazy iterators: `limit=100` pages, following `next_page.offset` tokens.

Nothing is requested until the iterator is advanced, and a page is fetched only when the
previous one is used up, so a caller that stops early pays only for the pages it read. Offsets
are opaque and expire after a while: do not keep a half-read iterator across cycles.

Every page is parsed before use (`answers.page` or a stricter shape): ``data`` must be a list of
records with gids and ``next_page`` null or an object with an offset; anything else is an
`UnexpectedAnswer`, never an empty page. An offset Asana already gave in this walk is one too:
following it would read the same pages for ever.
"""

from __future__ import annotations

from collections.abc import Iterator

from delegator.asana import answers
from delegator.asana.errors import UnexpectedAnswer
from delegator.asana.http import ApiResponse, Fields, Params, Record, Transport, join_fields

PAGE_LIMIT = 100  # Asana's maximum


def pages(
    transport: Transport,
    path: str,
    params: Params | None,
    fields: Fields,
    *,
    limit: int = PAGE_LIMIT,
    shape: answers.Shape = answers.page,
) -> Iterator[ApiResponse]:
    """Each page of a collection, as the response (for its Date header); ``response.parsed`` is
    the `answers.Page` that `shape` made of it."""
    if not 1 <= limit <= PAGE_LIMIT:
        raise ValueError(f"limit must be between 1 and {PAGE_LIMIT}, got {limit}")
    query: dict[str, str | int | bool | None] = dict(params or {})
    query["limit"] = limit
    query["opt_fields"] = join_fields(fields)
    seen: set[str] = set()
    while True:
        response = transport.request("GET", path, params=query, shape=shape)
        yield response
        offset = page_of(response).next_offset
        if offset is None:
            return
        if offset in seen:
            raise UnexpectedAnswer(
                "GET", path, response.status, "next_page.offset repeats an earlier page's"
            )
        seen.add(offset)
        query["offset"] = offset


def page_of(response: ApiResponse) -> answers.Page:
    """The parsed page of a response that `pages` fetched."""
    page = response.parsed
    assert isinstance(page, answers.Page), "a page is fetched with a page shape"
    return page


def items(
    transport: Transport,
    path: str,
    params: Params | None,
    fields: Fields,
    *,
    limit: int = PAGE_LIMIT,
    shape: answers.Shape = answers.page,
) -> Iterator[Record]:
    """Each record of a collection, across pages."""
    for response in pages(transport, path, params, fields, limit=limit, shape=shape):
        yield from page_of(response).records
