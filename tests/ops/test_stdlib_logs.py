"""The Asana client's standard-library log lines (waits, retries) come out like every other
line: JSON with the bound client and cycle, secrets redacted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import responses

from delegator.asana import AsanaClient, RetryPolicy
from delegator.clock import ManualClock
from delegator.logs import bound, configure
from delegator.redact import forget_secrets, register_secret

TOKEN = "2/1100000000000101/1200000000000001:0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_a_client_warning_is_a_json_line_with_its_fields_its_cycle_and_no_token() -> None:
    stream = io.StringIO()
    configure("json", "info", stream=stream)
    register_secret(TOKEN)
    with bound(client="small-agency", cycle=7):
        logging.getLogger("delegator.asana.http").warning(
            "asana_rate_limited",
            extra={"path": "/tasks", "wait": 2.0, "auth": f"Bearer {TOKEN}"},
        )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "asana_rate_limited"
    assert line["path"] == "/tasks"
    assert line["wait"] == 2.0
    assert line["client"] == "small-agency"
    assert line["cycle"] == 7
    assert line["level"] == "warning"
    assert line["logger"] == "delegator.asana.http"
    assert "timestamp" in line
    assert TOKEN not in stream.getvalue()


def test_a_formatted_message_and_an_exception_are_redacted_too() -> None:
    stream = io.StringIO()
    configure("json", "info", stream=stream)
    register_secret(TOKEN)
    log = logging.getLogger("delegator.asana.http")
    try:
        raise ValueError(f"refused {TOKEN}")
    except ValueError:
        log.exception("asana_failed auth=%s", f"Bearer {TOKEN}")
    [line] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert line["event"].startswith("asana_failed auth=Bearer")
    assert "ValueError: refused" in line["exception"]
    assert TOKEN not in stream.getvalue()


def test_a_console_line_carries_the_fields() -> None:
    stream = io.StringIO()
    configure("console", "info", stream=stream)
    logging.getLogger("delegator.asana.http").warning(
        "asana_retry", extra={"path": "/tasks", "wait": 1.0}
    )
    text = stream.getvalue()
    assert "asana_retry" in text
    assert "path=/tasks" in text
    assert "wait=1.0" in text


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


def test_the_clients_retry_reaches_the_json_line_as_fields() -> None:
    stream = io.StringIO()
    configure("json", "info", stream=stream)
    base = "https://asana.test/api/1.0"
    clock = ManualClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    with responses.RequestsMock() as api, AsanaClient(
        TOKEN, base_url=base, clock=clock, retry=RetryPolicy(jitter=lambda ceiling: ceiling)
    ) as client:  # fmt: skip
        api.get(f"{base}/tasks/1", status=503, json={"errors": [{"message": "down"}]})
        api.get(f"{base}/tasks/1", json={"data": {"gid": "1"}})
        client.get_task("1", ["name"])
    [retry] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert retry["event"] == "asana_retry"
    assert retry["path"] == "/tasks/1"
    assert retry["wait"] == clock.slept[0]
    assert "503" in retry["error"]
    assert TOKEN not in stream.getvalue()
