"""The follow-up in the commands: `explain` shows the clock a task would start, `plan` the clocks
of the open delegations, `history` the reminders, escalations and bounces with what they said."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from delegator.bootstrap import Fleet
from delegator.cli import main
from delegator.clients import load_clients
from delegator.clock import ManualClock
from delegator.sandbox import SandboxServer
from delegator.settings import load_settings
from delegator.store import SqlStore
from examplefiles import in_english

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RULE = "Invoices and receipts go to the assistants"
EXPECT = "    expect:\n      acknowledged_within: 4h\n      started_within: 1 business day\n"


def agency_with_expectations(folder: Path) -> Path:
    """The agency example alone, its invoice rule expecting an answer within 4 working hours."""
    folder.mkdir(exist_ok=True)
    text = in_english((EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8"))
    anchor = "    limit: 20\n    minutes: 15\n"
    assert anchor in text
    if "expect:" not in text.split(anchor, 1)[1].split("  - name:", 1)[0]:
        text = text.replace(anchor, anchor + EXPECT)
    path = folder / "small-agency.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_shows_the_clock_a_delegation_would_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = agency_with_expectations(tmp_path / "rules")
    argv = ("explain", "--rules", str(rules), "--task", str(EXAMPLES / "tasks" / "invoice.json"),
            "--now", "2026-11-27T16:00:00+01:00")  # fmt: skip
    code, out, _ = run(capsys, *argv)
    assert code == 0
    shown = out.split("Expectations, if delegated now:", 1)[1]
    # Friday 16:00: Giulia (Mon-Fri 09-17 in Rome) has one hour left today, then Monday.
    assert f'  rule "{RULE}", to giulia:' in shown
    assert "acknowledged within 4h: by Mon 2026-11-30 12:00" in shown
    assert "started within 1 business day: by Mon 2026-11-30 17:00" in shown
    # Marco works 14:00-20:00 in Lisbon (15:00-21:00 in Rome): his four hours end on Friday.
    assert f'  rule "{RULE}", to marco:' in shown
    assert "acknowledged within 4h: by Fri 2026-11-27 20:00" in shown
    assert out.rstrip().endswith(f'Decision: rule "{RULE}" takes the task')
    code, out, _ = run(capsys, *argv[:1], "--json", *argv[1:])
    assert code == 0
    found = json.loads(out)["expectations"]
    giulia = next(e for e in found if e["assistant"] == "giulia")
    assert giulia["rule"] == RULE
    # done: by the task's due date (2026-11-30), the end of Giulia's day
    assert [d["stage"] for d in giulia["deadlines"]] == ["acknowledged", "started", "done"]
    assert giulia["deadlines"][2]["due"] == "2026-11-30T17:00:00+01:00"
    assert giulia["deadlines"][0]["due"] == "2026-11-30T12:00:00+01:00"
    assert giulia["deadlines"][0]["remind_at"] == "2026-11-30T11:00:00+01:00"


def test_explain_shows_no_clock_for_a_rule_that_expects_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    text = in_english((EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8"))
    # The example's expect: blocks taken out (each key, its indented lines and comments).
    plain = re.sub(r"\n    expect:\n(?:      .*\n|\s*#.*\n)*", "\n", text)
    assert "expect:" not in plain
    rules = folder / "small-agency.yaml"
    rules.write_text(plain, "utf-8")
    code, out, _ = run(capsys, "explain", "--rules", str(rules), "--task",
                       str(EXAMPLES / "tasks" / "invoice.json"), "--now", "2026-11-27T10:00")  # fmt: skip
    assert code == 0
    assert 'Decision: rule "Invoices and receipts go to the assistants" takes the task' in out
    assert "Expectations, if delegated now" not in out


@pytest.fixture
def agency_on_sandbox(
    examples_on_sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> SandboxServer:
    folder = tmp_path / "rules"
    agency_with_expectations(folder)
    monkeypatch.setenv("DELEGATOR_RULES_DIR", str(folder))
    return examples_on_sandbox


def test_plan_shows_the_clock_of_each_open_delegation(
    agency_on_sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "once")[0] == 0
    code, out, _ = run(capsys, "plan")
    assert code == 0
    assert "open delegations with expectations:" in out
    assert f'  @ "Send November receipts to the accountant" with giulia [rule "{RULE}"]' in out
    assert "      acknowledged within 4h: by " in out
    code, out, _ = run(capsys, "plan", "--json")
    assert code == 0
    [client] = json.loads(out)["clients"]
    clocks = {c["task_name"]: c for c in client["clocks"]}
    receipts = clocks["Send November receipts to the accountant"]
    assert receipts["assistant"] == "giulia"
    assert receipts["rule"] == RULE
    assert receipts["lines"][0].startswith("acknowledged within 4h: by ")
    assert receipts["due"] == []


def test_history_shows_what_a_reminder_and_an_escalation_said(
    agency_on_sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The service runs on a clock of its own, the command reads what it journaled."""
    settings = load_settings(environ=os.environ)
    store = SqlStore(settings.database_url)
    store.migrate()
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 in Rome, Giulia at work
    clock = ManualClock(monday)
    environ = {"ASANA_TOKEN_NORTHWIND": agency_on_sandbox.token("anna@northwind.example")}
    fleet = Fleet(settings, store, environ=environ, clock=clock)
    entry = next(e for e in load_clients(settings.rules_dir) if e.key == "small-agency")
    try:
        fleet.cycle(entry)
        clock.advance(timedelta(hours=3, minutes=30))  # 13:30: the reminder
        fleet.cycle(entry)
        clock.advance(timedelta(hours=1))  # 14:30: past the deadline
        fleet.cycle(entry)
        [delegation] = [
            d
            for d in store.delegations("small-agency")
            if d.task_name == "Send November receipts to the accountant"
        ]
    finally:
        fleet.close()
    code, out, _ = run(capsys, "history", "--task", delegation.task_gid, "--since", "30d")
    assert code == 0
    lines = out.splitlines()
    remind = next(i for i, line in enumerate(lines) if "reminder sent -> giulia" in line)
    assert lines[remind + 1].startswith("    | ")
    assert "Reminder: this task is expected" in (lines[remind + 1])
    escalate = next(i for i, line in enumerate(lines) if "escalated to Anna" in line)
    assert "Giulia Bianchi has not acknowledged this task" in lines[escalate + 1]
    code, out, _ = run(capsys, "history", "--json", "--task", delegation.task_gid, "--since", "30d")
    kinds = {a["kind"]: a for a in json.loads(out)["actions"]}
    assert "has not acknowledged" in kinds["escalate"]["posted"]
    assert kinds["remind"]["story_gid"]


def test_prune_counts_follow_up_steps(
    agency_on_sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "prune", "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["followups"] == 0
