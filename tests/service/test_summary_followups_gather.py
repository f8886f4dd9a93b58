"""A client's summary and an assistant's digest read from a store holding the follow-up ledger:
the steps done in the period, grouped and named; the deadlines about to be missed before the
assistant's next digest, from the rule's expect:, the assistant's hours and the ledger."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator

from delegator.cli.console import plain
from delegator.clients import ClientEntry, load_clients
from delegator.core.expectations import Step
from delegator.core.summary import build_digest, build_summary
from delegator.core.summary_render import render_digest, render_summary
from delegator.followups_view import work_time
from delegator.ports import Delegation
from delegator.service import ClientError, ClientRuntime
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.summaries.gather import Gather
from delegator.summaries.periods import Period

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/json/summary.schema.json").read_text("utf-8")
)
ROME = ZoneInfo("Europe/Rome")
MONDAY = datetime(2026, 11, 23, 9, tzinfo=ROME)
NOW = MONDAY + timedelta(hours=1)  # Monday 10:00 in Rome
PERIOD = Period(MONDAY - timedelta(days=7), NOW)

CLIENT_FILE = """\
version: 1
client:
  name: Northwind Studio
  workspace: "1100000000000001"
  token: { env: ASANA_TOKEN_NORTHWIND }
  timezone: Europe/Rome
  holidays: [2026-11-24]
watch:
  - my_tasks
assistants:
  giulia:
    user: giulia@va-agency.example
    name: Giulia Bianchi
    hours: "Mon-Fri 09:00-17:00"
  marco:
    user: marco@va-agency.example
    name: Marco Verdi
    timezone: Europe/Lisbon
digest:
  schedule: "0 8 * * MON-FRI"
  to:
    - email: assistant
rules:
  - name: Invoices
    when: { name: { matches: "invoice" } }
    then:
      - assign: giulia
    expect:
      acknowledged_within: 4h
      done_within: 2d
  - name: Travel
    when: { name: { matches: "train" } }
    then:
      - assign: giulia
"""


@pytest.fixture
def entry(tmp_path: Path) -> ClientEntry:
    (tmp_path / "northwind.yaml").write_text(CLIENT_FILE, encoding="utf-8")
    (found,) = load_clients(tmp_path)
    assert found.engine is not None, found.errors
    return found


def no_asana(entry: ClientEntry) -> ClientRuntime:
    raise ClientError("no Asana in this test")


def gather(store: SqlStore, tmp_path: Path) -> Gather:
    return Gather(store, Settings(rules_dir=tmp_path), no_asana, lambda: NOW)


def delegate(store: SqlStore, gid: str, name: str, **given: Any) -> Delegation:
    fields: dict[str, Any] = {
        "client": "northwind",
        "task_gid": gid,
        "task_name": name,
        "rule": "Invoices",
        "assistant": "giulia",
        "assignee_gid": "501",
        "delegated_at": MONDAY,
        "permalink_url": f"https://app.asana.com/0/0/{gid}/f",
        **given,
    }
    delegation = Delegation(**fields)
    store.record_delegation(delegation)
    return delegation


def record(
    store: SqlStore, d: Delegation, step: Step, stage: str, at: datetime, **given: Any
) -> int:
    fields: dict[str, Any] = {
        "client": d.client,
        "task_gid": d.task_gid,
        "task_name": d.task_name,
        "rule": d.rule,
        "assistant": d.assistant,
        "delegated_at": d.delegated_at,
        "stage": stage,
        "step": step,
        "due_at": at,
        "at": at,
        "status": "done",
        **given,
    }
    followup_id = store.claim_followup(**fields)
    assert followup_id is not None
    return followup_id


# ----------------------------------------------------------------------------- the summary


def test_the_summary_tells_the_follow_up_steps_done_in_the_period(
    store: SqlStore, entry: ClientEntry, tmp_path: Path
) -> None:
    earlier = MONDAY - timedelta(days=3)
    rossi = delegate(store, "31", "Fattura Rossi", delegated_at=earlier)
    verdi = delegate(store, "32", "Fattura Verdi <b>", delegated_at=earlier)
    late = delegate(store, "41", "Pay invoice #2041", delegated_at=earlier)
    hotel = delegate(store, "51", "Book hotel", rule="Travel", delegated_at=earlier)
    at = earlier + timedelta(hours=6)
    record(store, rossi, Step.BOUNCE, "", at, detail={"reason": "needs the accountant"})
    record(store, verdi, Step.BOUNCE, "", at + timedelta(hours=1), detail={"reason": ""})
    record(store, late, Step.ESCALATION, "acknowledged", at, detail={"to": "owner"})
    record(store, late, Step.ESCALATION, "started", at, status="pending")  # not carried out
    record(store, hotel, Step.REASSIGN, "done", at, detail={"to": "marco"})
    record(store, late, Step.REMINDER, "acknowledged", at)
    record(store, late, Step.REMINDER, "started", at)
    record(store, late, Step.REMINDER, "done", at, status="skipped")  # never sent
    record(store, hotel, Step.REMINDER, "done", PERIOD.start - timedelta(hours=1))  # before

    summary = build_summary(gather(store, tmp_path).summary_inputs(entry, PERIOD))

    assert [(f.name, f.stage, f.to, f.assistant_name) for f in summary.missed] == [
        ("Pay invoice #2041", "acknowledged", "owner", "Giulia Bianchi")
    ]
    assert summary.reminders == 2
    assert [(f.name, f.to) for f in summary.reassigned] == [("Book hotel", "Marco Verdi")]
    ((rule, tasks),) = [(b.rule, b.tasks) for b in summary.bounced]
    assert rule == "Invoices"
    assert [(t.name, t.reason) for t in tasks] == [
        ("Fattura Rossi", "needs the accountant"),
        ("Fattura Verdi <b>", ""),
    ]
    assert tasks[0].url == "https://app.asana.com/0/0/31/f"

    rendered = render_summary(summary)
    assert (
        '- 2 tasks from rule "Invoices" bounced: '
        '"[Fattura Rossi](https://app.asana.com/0/0/31/f)" (needs the accountant), '
        '"[Fattura Verdi \\<b\\>](https://app.asana.com/0/0/32/f)"; refine the rule?'
    ) in rendered.markdown
    assert "Fattura Verdi &lt;b&gt;</a>" in rendered.html

    data = plain(summary)  # what `summary --json` prints
    assert data["reminders"] == 2
    assert data["bounced"][0]["rule"] == "Invoices"
    assert data["bounced"][0]["tasks"][0]["reason"] == "needs the accountant"
    assert data["missed"][0]["kind"] == "escalation"
    delegate(store, "61", "Pay invoice Bianchi")  # acknowledged by 13:00 today
    digest = build_digest(gather(store, tmp_path).digest_inputs(entry, "giulia", MONDAY, NOW))
    assert [d.gid for d in digest.about_to_be_late] == ["61"]
    document = {
        "command": "summary",
        "sent": False,
        "ok": True,
        "clients": [
            {
                "client": "northwind",
                "name": "Northwind Studio",
                "period": plain({"start": PERIOD.start, "end": PERIOD.end}),
                "summary": data,
                "digests": [{"assistant": "giulia", "digest": plain(digest)}],
            }
        ],
    }
    Draft202012Validator(SCHEMA).validate(document)


# ----------------------------------------------------------------------------- the digest


def test_the_digest_shows_the_deadline_about_to_be_missed_before_the_next_digest(
    store: SqlStore, entry: ClientEntry, tmp_path: Path
) -> None:
    due = delegate(store, "1", "Pay invoice Rossi")  # acknowledged within 4h: by 13:00
    seen = delegate(store, "2", "Pay invoice Verdi")
    record(store, seen, Step.MET, "acknowledged", MONDAY + timedelta(minutes=30))
    # acknowledged, then done within 2 working days: the end of Wednesday (Tuesday is a
    # holiday), after the next digest on Tuesday 08:00
    delegate(store, "3", "Train to Milan", rule="Travel")  # the rule expects nothing
    delegate(store, "4", "Pay invoice Neri", assistant="marco")  # not Giulia's
    escalated = delegate(store, "5", "Pay invoice Bruni", delegated_at=MONDAY - timedelta(days=7))
    record(store, escalated, Step.ESCALATION, "acknowledged", MONDAY - timedelta(days=6))

    inputs = gather(store, tmp_path).digest_inputs(entry, "giulia", MONDAY, NOW)
    digest = build_digest(inputs)

    assert [(d.gid, d.stage, d.due) for d in digest.about_to_be_late] == [
        ("1", "acknowledged", MONDAY + timedelta(hours=4))
    ]
    assert digest.about_to_be_late[0].by == "Mon 23 Nov 13:00"
    assert due.task_name == digest.about_to_be_late[0].name
    rendered = render_digest(digest)
    assert "**About to be late (1)**" in rendered.markdown
    assert (
        "- [Pay invoice Rossi](https://app.asana.com/0/0/1/f) · acknowledge by Mon 23 Nov 13:00"
    ) in rendered.markdown
    assert "acknowledge by Mon 23 Nov 13:00</li>" in rendered.html


def test_a_deadline_after_the_next_digest_waits_for_that_digest(
    store: SqlStore, entry: ClientEntry, tmp_path: Path
) -> None:
    late_in_the_day = MONDAY + timedelta(hours=6)  # 15:00: acknowledged by Tuesday... a holiday
    delegate(store, "1", "Pay invoice Rossi", delegated_at=late_in_the_day)

    inputs = gather(store, tmp_path).digest_inputs(
        entry, "giulia", MONDAY, late_in_the_day + timedelta(minutes=1)
    )

    # 2 working hours left on Monday, then 2 more on Wednesday: due Wed 11:00, after the
    # digest of Tuesday 08:00
    assert inputs.deadlines == []
    later = gather(store, tmp_path).digest_inputs(
        entry, "giulia", MONDAY, datetime(2026, 11, 25, 8, 0, 30, tzinfo=ROME)
    )
    assert [(d.gid, d.due) for d in later.deadlines] == [
        ("1", datetime(2026, 11, 25, 11, tzinfo=ROME))
    ]


def test_the_assistants_working_calendar_comes_from_the_client_file(entry: ClientEntry) -> None:
    head = entry.loaded.head
    assert head is not None

    giulia = work_time(head, "giulia")
    marco = work_time(head, "marco")

    assert str(giulia.tz) == "Europe/Rome"
    assert giulia.hours is not None
    assert giulia.holidays == frozenset({datetime(2026, 11, 24).date()})
    assert str(marco.tz) == "Europe/Lisbon"  # their own zone
    assert marco.hours is None  # always working, but for the client's holidays
    assert not marco.is_working(datetime(2026, 11, 24, 12, tzinfo=ROME))
