"""What goes on the wire and comes back: the query string built once, answers parsed by orjson.

The query is built by the transport already percent-encoded, with the commas of opt_fields and
the colons of times left as they are: `requests` and urllib3 must then send it unchanged (urllib3
re-scans byte by byte any query holding a ``%``). Answers are parsed with orjson; what it refuses
goes to `requests`' parser as before, so the result, or "not JSON", is the same as it was.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
from asana_fakes import BASE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from urllib3.util import url as urllib3_url

from delegator.asana import AsanaClient, pagination
from delegator.asana.http import _NOT_JSON, decode_json, query_string
from delegator.asana.mapping import TASK_OPT_FIELDS

SETTINGS = settings(
    max_examples=int(os.environ.get("DELEGATOR_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# ---------------------------------------------------------------- the query


def test_opt_fields_and_times_go_as_they_are_and_the_rest_is_encoded() -> None:
    query = query_string(
        {
            "opt_fields": "name,assignee.email,custom_fields.enum_value.name",
            "modified_since": "2026-11-27T09:30:00.000Z",
            "completed_since": "now",
            "limit": 100,
            "sort_ascending": True,
            "offset": None,  # left out
            "text": "a&b=c+d e/f#g%h?ü",
        }
    )
    assert query == (
        "opt_fields=name,assignee.email,custom_fields.enum_value.name"
        "&modified_since=2026-11-27T09:30:00.000Z&completed_since=now&limit=100"
        "&sort_ascending=true&text=a%26b%3Dc%2Bd%20e%2Ff%23g%25h%3F%C3%BC"
    )


@SETTINGS
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.none(), st.text(max_size=12), st.integers(), st.booleans()),
        max_size=5,
    )
)
def test_any_query_reads_back_as_its_values(params: dict[str, Any]) -> None:
    expected = [
        (name, ("true" if value else "false") if isinstance(value, bool) else str(value))
        for name, value in params.items()
        if value is not None
    ]
    assert parse_qsl(query_string(params), keep_blank_values=True) == expected


def test_the_query_is_sent_as_built_and_nothing_scans_it_byte_by_byte(
    client: AsanaClient, api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned: list[str] = []
    encode = urllib3_url._encode_invalid_chars

    def recording(component: str | None, allowed: Any) -> str | None:
        result = encode(component, allowed)
        if result is not component:  # its fast path returns the very string: this one scanned
            scanned.append(str(component))
        return result

    monkeypatch.setattr(urllib3_url, "_encode_invalid_chars", recording)
    api.get(f"{BASE}/tasks", json={"data": [], "next_page": None})
    params = {"modified_since": "2026-11-27T09:30:00.000Z", "project": "1201"}

    list(pagination.items(client.transport, "/tasks", params, TASK_OPT_FIELDS))

    sent = api.calls[0].request.url
    assert sent is not None
    path_and_query = sent.removeprefix(BASE)
    assert path_and_query == "/tasks?" + query_string(
        {**params, "limit": 100, "opt_fields": ",".join(TASK_OPT_FIELDS)}
    )
    assert "%" not in urlsplit(sent).query
    assert scanned == []


# ---------------------------------------------------------------- the answer


def _answer(content: bytes, content_type: str = "application/json; charset=UTF-8") -> Any:
    response = requests.Response()
    response.status_code = 200
    response._content = content
    response.headers = CaseInsensitiveDict({"Content-Type": content_type})
    return response


def _former(content: bytes) -> object:
    """How an answer was parsed before orjson: `requests`' own parser."""
    response = _answer(content)
    try:
        return response.json() if response.content else {}
    except (ValueError, RecursionError):
        return _NOT_JSON


# JSON values within what orjson and the standard library read alike (integers of 64 bits;
# beyond, orjson gives a float: Asana sends none, and a gid is a string).
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _encoded(value: object, how: str) -> bytes:
    if how == "utf-8":
        return json.dumps(value).encode()
    if how == "unescaped":
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if how == "utf-8-bom":
        return b"\xef\xbb\xbf" + json.dumps(value).encode()
    return json.dumps(value).encode(how)  # utf-16, utf-32: requests guessed these


@SETTINGS
@given(json_values, st.sampled_from(["utf-8", "unescaped", "utf-8-bom", "utf-16", "utf-32"]))
def test_json_is_read_as_before_in_any_encoding(value: object, how: str) -> None:
    content = _encoded(value, how)
    assert repr(decode_json(_answer(content))) == repr(_former(content))


@SETTINGS
@given(st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
def test_anything_else_is_not_json_as_before(content: bytes) -> None:
    new, old = decode_json(_answer(content)), _former(content)
    assert (new is _NOT_JSON) == (old is _NOT_JSON)
    if new is not _NOT_JSON:
        assert repr(new) == repr(old)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"NaN",
        b'{"x": Infinity}',
        b"1e400",
        b'"\\ud800"',
        b"[" * 5000 + b"]" * 5000,  # deeper than either parser goes
        b"<html>maintenance</html>",
        b'{"data": [1, 2,]}',
        b'{"data": "\xff"}',
    ],
)
def test_what_orjson_refuses_is_judged_as_before(content: bytes) -> None:
    assert repr(decode_json(_answer(content))) == repr(_former(content))
