"""A destination's reply that echoes a secret back is redacted before it is stored, printed or
posted in the client's status update: a real SMTP server (aiosmtpd) and a webhook server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.cycles import Count, CycleCounts, CycleError, ErrorKind
from delegator.redact import REDACTED, forget_secrets, register_secret
from delegator.sandbox import SandboxServer
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.summaries import Period

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
SECRET = "hunter2-Smtp-Password-42"  # registered, as the SMTP password is when it is read
BLOCK = """\
summary:
  schedule: "0 17 * * *"
  to:
    - asana_status: { project: Operations }
    - webhook: { env: CHAT_WEBHOOK }
    - email: [anna@northwind.example]

"""


class Refusing:
    """An SMTP server that refuses the message, quoting the secret in its reply."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return f"554 5.7.1 rejected: credentials {SECRET} are not allowed to relay"


@pytest.fixture
def secret() -> Iterator[str]:
    register_secret(SECRET)
    yield SECRET
    forget_secrets()


@pytest.fixture
def smtp_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = f"invalid_auth {SECRET}".encode()
            self.send_response(400)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/chat"
    server.shutdown()
    server.server_close()


def test_a_reply_echoing_a_secret_is_redacted_everywhere_it_goes(
    secret: str, smtp_port: int, webhook: str, store: SqlStore, tmp_path: Path
) -> None:
    """Before: the SMTP server's text went into summary_sends.last_error, the send's outcome
    (printed by `delegator summary --send`) and the next status update's problems as is."""
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
    start, end = text.index("summary:"), text.index("rules:")
    (rules / "small-agency.yaml").write_text(text[:start] + BLOCK + text[end:])
    with SandboxServer.demo() as sandbox:
        settings = Settings(
            rules_dir=rules, asana_base_url=sandbox.base_url, smtp_host="127.0.0.1",
            smtp_port=smtp_port, smtp_starttls=False, smtp_from="delegator@northwind.example",
            summary_attempts=1,
        )  # fmt: skip
        environ = {"ASANA_TOKEN_NORTHWIND": sandbox.token(ANNA), "CHAT_WEBHOOK": webhook}
        fleet = Fleet(settings, store, environ=environ)
        entry = next(e for e in load_clients(rules) if e.key == "small-agency")
        summaries = fleet.summaries()
        now = fleet.clock.now()
        period = Period(now - timedelta(days=7), now)
        outcomes = {o.destination.split(":")[0]: o for o in summaries.send_now(entry, period)}
        assert outcomes["email"].status == "gave_up"
        assert "554" in outcomes["email"].detail
        assert outcomes["webhook"].status == "gave_up"
        assert "HTTP 400" in outcomes["webhook"].detail
        for outcome in outcomes.values():
            assert secret not in outcome.detail
        assert REDACTED in outcomes["email"].detail
        stored = [s.last_error or "" for s in store.sends("small-agency")]
        assert any(REDACTED in error for error in stored)
        assert not any(secret in error for error in stored)

        # The next summary tells the client what did not arrive, without the secret.
        summary = summaries.summary(entry, Period(now - timedelta(days=7), fleet.clock.now()))
        delivery = [p.text for p in summary.problems if p.what == "delivery"]
        assert delivery
        assert not any(secret in text for text in delivery)
        later = summaries.send_now(entry, Period(now - timedelta(days=7), fleet.clock.now()))
        assert any(o.status == "sent" for o in later if o.destination.startswith("asana_status"))
        posted = sandbox.world.project("Operations").status_updates[-1]
        assert "554" in posted.text
        assert secret not in posted.text
        assert secret not in (posted.html_text or "")
        fleet.close()


def test_errors_are_redacted_at_the_store_s_write_boundary(secret: str, store: SqlStore) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    cycle = store.start_cycle("acme", now, False)
    failed = CycleCounts({Count.ACTIONS_FAILED: 1})
    store.finish_cycle(
        cycle, now, failed, [CycleError(ErrorKind.WRITE, f"task 1: tag failed: {secret}")]
    )
    action = store.begin_action(
        cycle_id=cycle, client="acme", task_gid="1", task_name="t", rule="r", kind="comment",
        detail={"text": f"echo {secret}"}, assistant=None, mode="active", at=now,
    )  # fmt: skip
    store.finish_action(action, "failed", now, result=f"Asana said: {secret}")
    [record] = store.cycles("acme")
    assert record.errors == (f"task 1: tag failed: {REDACTED}",)
    [journal] = store.actions(client="acme")
    assert journal.result == f"Asana said: {REDACTED}"
    assert journal.detail == {"text": f"echo {REDACTED}"}
