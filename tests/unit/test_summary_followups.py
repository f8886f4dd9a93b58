"""The follow-up of delegations in summaries and digests: missed expectations, reminders,
reassignments and bounces grouped by rule in a client's summary; deadlines about to be missed in
an assistant's digest; rendered in Markdown and Asana rich text with client text escaped. And the
ledger the clock reads, folded from stored follow-up steps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from test_summary import END, START, at, inputs

from delegator.core.expectations import Ledger, Step
from delegator.core.summary import (
    DeadlineSoon,
    DigestInputs,
    DigestTask,
    FollowUpFact,
    build_digest,
    build_summary,
)
from delegator.core.summary_render import check_rich_text, render_digest, render_summary
from delegator.followups_view import ledger_of, ledgers
from delegator.notify.markdown import to_html
from delegator.notify.slack import to_mrkdwn
from delegator.ports import FollowUp

ROME = ZoneInfo("Europe/Rome")
HOSTILE = "Pay *now* [x](http://evil) <script>&"


def fact(gid: str, name: str, kind: Any, **given: Any) -> FollowUpFact:
    fields: dict[str, Any] = {
        "gid": gid,
        "name": name,
        "url": f"https://app.asana.com/0/0/{gid}",
        "rule": "Invoices",
        "assistant": "giulia",
        "assistant_name": "Giulia Bianchi",
        "kind": kind,
        "stage": "" if kind == "bounce" else "acknowledged",
        "at": at(24),
        **given,
    }
    return FollowUpFact(**fields)


FOLLOWUPS = [
    fact("31", "Fattura Rossi", "bounce", reason="needs the accountant", at=at(23)),
    fact("32", "Fattura Verdi", "bounce", reason="", at=at(25)),
    fact("33", "Fattura Neri", "bounce", reason="a client matter", at=at(24)),
    fact("34", "Train tickets", "bounce", rule="Travel", reason="owner books trains"),
    fact("41", "Pay invoice #2041", "escalation", stage="started", at=at(26), to="Anna"),
    fact("42", "Send receipts", "escalation", at=at(22), to=""),
    fact("43", "Old invoice", "escalation", at=at(19)),  # before the period
    fact("51", "Book hotel", "reassign", stage="done", to="Marco Verdi"),
    fact("61", "a", "reminder"),
    fact("62", "b", "reminder", at=at(27, 18)),  # after the period
    fact("63", "c", "reminder", stage="done"),
]


def test_missed_reminders_reassigned_and_bounces_by_rule_in_the_period() -> None:
    summary = build_summary(inputs(followups=FOLLOWUPS))

    assert [f.gid for f in summary.missed] == ["42", "41"]  # oldest first, in the period only
    assert summary.reminders == 2
    assert [(f.gid, f.to) for f in summary.reassigned] == [("51", "Marco Verdi")]
    assert [(b.rule, b.count) for b in summary.bounced] == [("Invoices", 3), ("Travel", 1)]
    assert [t.name for t in summary.bounced[0].tasks] == [
        "Fattura Rossi",
        "Fattura Neri",
        "Fattura Verdi",
    ]
    assert "2 missed" in summary.headline
    assert "4 bounced" in summary.headline


def test_a_period_with_only_a_reminder_is_not_quiet() -> None:
    quiet = build_summary(inputs(delegations=[], waiting=[], taken_back=[], problems=[]))
    assert quiet.quiet

    reminded = build_summary(
        inputs(delegations=[], waiting=[], taken_back=[], problems=[], followups=[FOLLOWUPS[-1]])
    )

    assert not reminded.quiet
    assert reminded.reminders == 1


def test_bounces_read_as_a_hint_to_refine_the_rule_in_every_format() -> None:
    rendered = render_summary(build_summary(inputs(followups=FOLLOWUPS)))

    assert (
        '- 3 tasks from rule "Invoices" bounced: '
        '"[Fattura Rossi](https://app.asana.com/0/0/31)" (needs the accountant), '
        '"[Fattura Neri](https://app.asana.com/0/0/33)" (a client matter), '
        '"[Fattura Verdi](https://app.asana.com/0/0/32)"; refine the rule?'
    ) in rendered.markdown
    assert '- 1 task from rule "Travel" bounced:' in rendered.markdown
    assert (
        '<li>3 tasks from rule "Invoices" bounced: '
        '"<a href="https://app.asana.com/0/0/31">Fattura Rossi</a>" (needs the accountant), '
    ) in rendered.html
    assert "**Missed expectations (2)**" in rendered.markdown
    assert (
        "- [Pay invoice #2041](https://app.asana.com/0/0/41) · Giulia Bianchi · not started in "
        'time (rule "Invoices"), escalated to Anna'
    ) in rendered.markdown
    assert "**Reassigned after a second miss (1)**" in rendered.markdown
    assert "- [Book hotel](https://app.asana.com/0/0/51) · Giulia Bianchi → Marco Verdi" in (
        rendered.markdown
    )
    assert "**Reminders sent:** 2" in rendered.markdown
    assert "<strong>Reminders sent:</strong> 2" in rendered.html
    assert "<strong>Missed expectations (2)</strong>" in rendered.html
    check_rich_text(rendered.html)


def test_empty_follow_up_sections_are_not_shown() -> None:
    rendered = render_summary(build_summary(inputs()))

    for words in ("Missed expectations", "Reassigned", "Bounced", "Reminders sent"):
        assert words not in rendered.markdown
        assert words not in rendered.html


def test_hostile_task_names_and_reasons_are_escaped() -> None:
    hostile = [
        fact("71", HOSTILE, "bounce", reason=HOSTILE),
        fact("72", HOSTILE, "escalation", to=HOSTILE),
        fact("73", HOSTILE, "reassign", to=HOSTILE),
    ]

    rendered = render_summary(build_summary(inputs(followups=hostile)))

    check_rich_text(rendered.html)  # well-formed, no stray tag
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;&amp;" in rendered.html
    assert "<script>" not in rendered.markdown
    assert r"Pay \*now\* \[x\](http://evil) \<script\>&" in rendered.markdown
    # the name's brackets never make a link: every "](" of theirs is escaped
    assert re.search(r"(?<!\\)\]\(http://evil", rendered.markdown) is None


# ----------------------------------------------------------------------------- the digest

NOW = datetime(2026, 11, 27, 8, tzinfo=ROME)  # Friday 08:00


def digest_inputs(deadlines: list[DeadlineSoon], **given: Any) -> DigestInputs:
    task = DigestTask("1", "Pay invoice", "u1", "Northwind", "Invoices", "", at(20), None)
    fields: dict[str, Any] = {
        "assistant": "giulia",
        "name": "Giulia Bianchi",
        "timezone": "Europe/Lisbon",
        "since": NOW - timedelta(days=1),
        "now": NOW,
        "tasks": [task],
        "load": 1,
        "capacity": 5,
        "deadlines": deadlines,
        **given,
    }
    return DigestInputs(**fields)


def soon(gid: str, name: str, stage: str, due: datetime, **given: Any) -> DeadlineSoon:
    return DeadlineSoon(gid, name, f"https://app.asana.com/0/0/{gid}", "Northwind", "Invoices",
                        stage, due, **given)  # fmt: skip


def test_a_digest_lists_the_deadlines_about_to_be_missed_soonest_first() -> None:
    digest = build_digest(
        digest_inputs(
            [
                soon("2", "Finish the report", "done", datetime(2026, 11, 27, 17, tzinfo=ROME)),
                soon("1", "Pay invoice", "acknowledged", datetime(2026, 11, 27, 13, tzinfo=ROME)),
            ]
        )
    )

    assert [(d.gid, d.what) for d in digest.about_to_be_late] == [
        ("1", "acknowledge"),
        ("2", "finish"),
    ]
    assert digest.about_to_be_late[0].by == "Fri 27 Nov 12:00"  # in Lisbon
    assert "2 about to be late" in digest.headline
    assert not digest.empty

    rendered = render_digest(digest)
    assert "**About to be late (2)**" in rendered.markdown
    assert "- [Pay invoice](https://app.asana.com/0/0/1) · acknowledge by Fri 27 Nov 12:00" in (
        rendered.markdown
    )
    assert "<strong>About to be late (2)</strong>" in rendered.html
    assert "· finish by Fri 27 Nov 16:00</li>" in rendered.html
    check_rich_text(rendered.html)


def test_a_deadline_about_to_be_missed_alone_makes_a_digest_worth_sending() -> None:
    lone = soon("9", "Pay invoice", "started", NOW + timedelta(hours=3))
    quiet = build_digest(digest_inputs([], tasks=[]))
    assert quiet.empty

    digest = build_digest(digest_inputs([lone], tasks=[]))

    assert not digest.empty
    assert "Nothing new" not in render_digest(digest).markdown


def test_a_digest_without_deadlines_shows_no_such_section() -> None:
    rendered = render_digest(build_digest(digest_inputs([])))

    assert "About to be late" not in rendered.markdown
    assert "About to be late" not in rendered.html


def test_a_hostile_name_about_to_be_late_is_escaped() -> None:
    digest = build_digest(digest_inputs([soon("7", HOSTILE, "done", NOW + timedelta(hours=1))]))

    rendered = render_digest(digest)

    check_rich_text(rendered.html)
    assert "<script>" not in rendered.html
    assert r"[Pay \*now\* \[x\](http://evil) \<script\>&](https://app.asana.com/0/0/7)" in (
        rendered.markdown
    )


# ----------------------------------------------------------------------------- the ledger

T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def step(step: Step, stage: str, status: Any = "done", **given: Any) -> FollowUp:
    fields: dict[str, Any] = {
        "id": 1,
        "client": "northwind",
        "task_gid": "1",
        "task_name": "Pay invoice",
        "rule": "Invoices",
        "assistant": "giulia",
        "delegated_at": T0,
        "stage": stage,
        "step": step,
        "status": status,
        "due_at": T0 + timedelta(hours=4),
        "created_at": T0 + timedelta(hours=2),
        **given,
    }
    return FollowUp(**fields)


def test_the_ledger_of_a_delegation_from_its_steps() -> None:
    ledger = ledger_of(
        [
            step(Step.MET, "acknowledged", detail={"at": "2026-11-23T10:30:00+00:00"}),
            step(Step.MET, "started"),  # no moment in the detail: when it was recorded
            step(Step.REMINDER, "done", status="pending"),  # claimed: as good as sent
            step(Step.ESCALATION, "done", status="failed"),
            step(Step.REMINDER, "started", status="skipped"),  # not counted
            step(Step.BOUNCE, ""),
        ]
    )

    assert ledger == Ledger(
        met={
            "acknowledged": datetime(2026, 11, 23, 10, 30, tzinfo=UTC),
            "started": T0 + timedelta(hours=2),
        },
        reminded=frozenset({"done"}),
        escalated=frozenset({"done"}),
        reassigned=False,
    )
    assert ledger_of([step(Step.REASSIGN, "done")]).reassigned
    assert ledger_of([]) == Ledger()


def test_ledgers_are_kept_apart_by_delegation() -> None:
    again = T0 + timedelta(days=2)
    found = ledgers(
        [
            step(Step.ESCALATION, "acknowledged"),
            step(Step.REMINDER, "done", delegated_at=again),
            step(Step.ESCALATION, "started", task_gid="2"),
        ]
    )

    assert found == {
        ("1", T0): Ledger(escalated=frozenset({"acknowledged"})),
        ("1", again): Ledger(reminded=frozenset({"done"})),
        ("2", T0): Ledger(escalated=frozenset({"started"})),
    }


def test_the_period_bounds_are_the_summarys() -> None:
    edge = [fact("81", "x", "reminder", at=START), fact("82", "y", "reminder", at=END)]

    assert build_summary(inputs(followups=edge)).reminders == 1  # [start, end)


def test_the_new_sections_reach_slack_and_email_escaped() -> None:
    hostile = [fact("71", HOSTILE, "bounce", reason=HOSTILE), *FOLLOWUPS]
    markdown = render_summary(build_summary(inputs(followups=hostile))).markdown

    slack = to_mrkdwn(markdown)
    html = to_html(markdown)

    assert 'from rule "Invoices" bounced:' in slack
    assert "Missed expectations (2)" in slack
    assert "<script>" not in slack
    assert "<http://evil|" not in slack  # a bare URL may show as itself, never under other text
    assert 'from rule "Invoices" bounced:' in html.replace("&quot;", '"')
    assert "<script>" not in html
    assert re.search(r'href="http://evil"[^>]*>(?!http://evil)', html) is None
