"""The Asana client's standard-library log lines (waits, retries) come out like every other
line: JSON with the bound client and cycle, secrets redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from delegator.logs import bound, configure
from delegator.redact import forget_secrets, register_secret

TOKEN = "2/1100000000000101/1200000000000001:0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_a_client_warning_is_a_json_line_with_its_cycle_and_no_token() -> None:
    stream = io.StringIO()
    configure("json", "info", stream=stream)
    register_secret(TOKEN)
    with bound(client="small-agency", cycle=7):
        logging.getLogger("delegator.asana.http").warning(
            "asana_rate_limited path=%s wait=%.1f auth=%s", "/tasks", 2.0, f"Bearer {TOKEN}"
        )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert line["event"].startswith("asana_rate_limited path=/tasks wait=2.0")
    assert line["client"] == "small-agency"
    assert line["cycle"] == 7
    assert line["level"] == "warning"
    assert line["logger"] == "delegator.asana.http"
    assert TOKEN not in stream.getvalue()


def test_below_the_level_nothing_is_written() -> None:
    stream = io.StringIO()
    configure("json", "warning", stream=stream)
    logging.getLogger("delegator.asana.http").info("asana_create_found path=/tasks")
    assert stream.getvalue() == ""


def test_the_sandbox_lines_are_not_the_service_s() -> None:
    stream = io.StringIO()
    configure("json", "debug", stream=stream)
    logging.getLogger("delegator.sandbox.api").warning("sandbox failed on GET /tasks")
    assert stream.getvalue() == ""


def test_configuring_twice_writes_each_line_once() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure("json", "info", stream=first)
    configure("json", "info", stream=second)
    logging.getLogger("delegator.asana.http").warning("asana_retry path=/tasks")
    assert first.getvalue() == ""
    assert len(second.getvalue().splitlines()) == 1
