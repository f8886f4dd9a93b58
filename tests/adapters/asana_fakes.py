"""Fakes and helpers for the Asana client's tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

BASE = "https://asana.test/api/1.0"
TOKEN = "0/secret-token-5f3a9c"
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def query(call: Any) -> dict[str, str]:
    """The query of a recorded call, one value per name."""
    return {name: values[0] for name, values in parse_qs(urlsplit(call.request.url).query).items()}


def path(call: Any) -> str:
    return urlsplit(call.request.url).path.removeprefix("/api/1.0")


def body(call: Any) -> Any:
    raw = call.request.body
    return json.loads(raw) if raw else None


def me_response(api: responses.RequestsMock, gid: str = "100") -> None:
    api.get(
        f"{BASE}/users/me",
        json={"data": {"gid": gid, "name": "Delegator Bot", "email": "bot@example.com"}},
    )
