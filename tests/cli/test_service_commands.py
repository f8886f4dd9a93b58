"""plan, once, history and run, as an operator or a cron job calls them, against the sandbox."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from delegator.cli import main
from delegator.sandbox import SandboxServer
from examplefiles import english_examples

EXAMPLES = Path("examples")


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        # The examples written in English: what the commands print is asserted in English.
        rules = english_examples(tmp_path / "rules")
        monkeypatch.setenv("DELEGATOR_RULES_DIR", str(rules))
        monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", server.token("anna@northwind.example"))
        monkeypatch.setenv("ASANA_TOKEN_FISCHER", server.token("lena@fischer-consulting.example"))
        yield server


def writes(sandbox: SandboxServer) -> int:
    return sum(1 for e in sandbox.requests.entries() if e.method in ("POST", "PUT"))


def test_plan_explains_and_writes_nothing(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--client", "small-agency"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Plan for Northwind Studio (small-agency): 34 tasks read, ")
    assert '  ~ "Send November receipts to the accountant" [delegate]' in out
    assert '      rule "Invoices and receipts go to the assistants" [rules/0]' in out
    assert "✓ quadrant in [delegate, eliminate]" in out
    # Who is chosen depends on who is working at the moment the test runs; why is always said.
    assert re.search(r"\+ assign to (giulia|marco): least loaded: ", out)
    assert '  = "Q1 strategy offsite agenda" [schedule] no rule applies' in out
    assert "Nothing was written to Asana." in out
    assert writes(sandbox) == 0


def test_plan_as_json_and_markdown(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--client", "Fischer Consulting", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["command"] == "plan"
    assert document["changes_pending"] is True
    [report] = document["clients"]
    acting = [t for t in report["tasks"] if t["steps"]]
    assert {t["assistant"] for t in acting} == {"sam"}
    assert all(s["status"] == "planned" for t in acting for s in t["steps"])
    assert acting[0]["conditions"][0]["matched"] is True
    assert main(["plan", "--client", "solo-consultant", "--markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "| task | quadrant | rule | assistant | changes |" in markdown
    assert writes(sandbox) == 0


def test_once_runs_a_cycle_and_history_tells_what_happened(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"small-agency: 34 tasks read, \d+ matched a rule", out)
    assert "solo-consultant: 13 tasks read" in out
    assert writes(sandbox) > 0
    assert main(["history", "--client", "solo-consultant"]) == 0
    history = capsys.readouterr().out
    assert re.search(
        r' done    active "Submit the October expense report" assign to sam '
        r"\(was Lena Fischer\) -> sam ",
        history,
    )
    assert main(["once", "--dry-run"]) == 0
    capsys.readouterr()


def test_once_reports_a_client_that_cannot_run(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ASANA_TOKEN_FISCHER")
    assert main(["once"]) == 1
    out = capsys.readouterr().out
    assert "  ! the environment variable ASANA_TOKEN_FISCHER is not set" in out
    assert "small-agency: 34 tasks read" in out


def test_run_sandbox_serves_until_sigterm_then_exits_cleanly(tmp_path: Path) -> None:
    """The service logs JSON lines to stdout (as containers expect), one cycle_finished each."""
    environ = {
        **os.environ,
        "DELEGATOR_LOG_FORMAT": "json",
        "DELEGATOR_CONFIG": str(tmp_path / "x"),
        "DELEGATOR_HTTP_PORT": "0",
    }
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-m", "delegator", "run", "--sandbox"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + 60
            finished: set[str] = set()
            while time.monotonic() < deadline and len(finished) < 2:
                line = process.stdout.readline()
                if not line:
                    break
                lines.append(line)
                event = json.loads(line) if line.startswith("{") else {}
                if event.get("event") == "cycle_finished":
                    finished.add(event["client"])
            assert finished == {"small-agency", "solo-consultant"}, "".join(lines[-20:])
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
            lines.extend(process.stdout.read().splitlines())
        finally:
            if process.poll() is None:
                process.kill()
    events = [json.loads(x)["event"] for x in lines if x.startswith("{")]
    assert code == 0
    assert events[-3:] == ["stopping", "leases_handed_back", "service_stopped"]


def test_prune_deletes_the_history_past_the_retention_and_says_how_much(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["once"]) == 0
    capsys.readouterr()
    assert main(["prune", "--older-than", "1d", "--json"]) == 0  # everything is from today
    assert json.loads(capsys.readouterr().out)["actions"] == 0
    monkeypatch.setenv("DELEGATOR_JOURNAL_RETENTION", "0")
    assert main(["prune"]) == 0
    assert "kept for ever" in capsys.readouterr().out
    assert main(["prune", "--older-than", "1d", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "would delete 0 journal entries, 0 cycles, 0 closed delegations and 0 follow-up steps"
    )
    assert main(["prune", "--older-than", "soon"]) == 2
    assert "soon" in capsys.readouterr().err
