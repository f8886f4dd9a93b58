"""Rules suggested from a sandbox world's history, end to end through the Asana adapter: the
hand-offs Anna made by hand become shadow rules with exact scores, within the documented quota
(the sandbox's request log says so); a world without a pattern gets none; a suggestion pasted
into the file is a shadow rule the client's summary offers to turn on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from delegator.asana import AsanaClient
from delegator.asana.history import AsanaHistory, worst_case
from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.core.rulemining import Mined, append_rules, suggest
from delegator.ports import History
from delegator.sandbox import FixtureError, ManualClock, SandboxServer, load_world
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.summaries import Period
from examplefiles import in_english

ROOT = Path(__file__).resolve().parents[2]
# The agency as written (Italian), and in English for the tests that assert English names.
ITALIAN_AGENCY = (ROOT / "examples" / "small-agency.yaml").read_text(encoding="utf-8")
AGENCY = in_english(ITALIAN_AGENCY)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=180)
ANNA = "anna@northwind.example"
GIULIA = "giulia@va-agency.example"
MARCO = "marco@va-agency.example"
LUCA = "luca@northwind.example"
ASSISTANTS = {"giulia": GIULIA, "marco": MARCO}


def handed(name: str, to: str, days: int, *, by: str = ANNA, section: str | None = None) -> dict:
    task: dict[str, Any] = {
        "name": name, "assignee": to, "created_by": ANNA, "created_at": f"now-{days + 1}d",
        "assigned_by": by, "assigned_at": f"now-{days}d", "completed_at": f"now-{days - 1}d",
    }  # fmt: skip
    if section:
        task["section"] = section
    return task


def kept(name: str, days: int) -> dict[str, Any]:
    return {
        "name": name, "assignee": ANNA, "created_by": ANNA, "created_at": f"now-{days + 3}d",
        "completed_at": f"now-{days}d", "section": "To do",
    }  # fmt: skip


def world(tasks: list[dict[str, Any]], loose: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "workspaces": [
            {
                "name": "Northwind Studio",
                "gid": "1100000000000001",
                "users": [
                    {"name": "Anna Rossi", "email": ANNA, "token": "t-anna"},
                    {"name": "Giulia Bianchi", "email": GIULIA, "token": "t-giulia"},
                    {"name": "Marco Verdi", "email": MARCO, "token": "t-marco"},
                    {"name": "Luca Neri", "email": LUCA, "token": "t-luca"},
                ],
                "projects": [
                    {
                        "name": "Client Admin",
                        "owner": ANNA,
                        "members": [GIULIA, MARCO, LUCA],
                        "sections": ["To do", "Invoices", "Bookings"],
                        "tasks": tasks,
                    },
                    {"name": "Operations", "owner": ANNA, "sections": ["Inbox", "Waiting"]},
                ],
                "tasks": list(loose),
            }
        ]
    }


HANDED_OFF = [
    handed("Pagare la fattura Aruba di giugno", GIULIA, 150, section="Invoices"),
    handed("Send invoice to Harbor Books", GIULIA, 140, section="Invoices"),
    handed("Fattura Bluebird Cafe: acconto", GIULIA, 120),
    handed("Pay invoice #1987 from Adobe", GIULIA, 100, section="Invoices"),
    handed("Registrare le fatture di agosto", GIULIA, 90),
    handed("Invoices from the print shop", GIULIA, 60, section="Invoices"),
    handed("Prenotazione hotel a Milano", MARCO, 130, section="Bookings"),
    handed("Book a hotel in Bologna", MARCO, 110, section="Bookings"),
    handed("Prenotazioni ristorante per la cena", MARCO, 80, section="Bookings"),
    handed("Hotels for the Lisbon offsite", MARCO, 50, section="Bookings"),
    # Not Anna's hand-offs: Luca's, one before the period, one the service made.
    handed("Fattura given by Luca", GIULIA, 40, by=LUCA),
    handed("Fattura from last year", GIULIA, 300),
    handed("Fattura the service delegated", GIULIA, 30),
]
KEPT = [
    kept("Strategy review for Q4", 60),
    kept("Check the new invoice template design", 38),
    kept("Call with Bluebird Cafe about the rebrand", 70),
    kept("Write the proposal for Fenwick Gallery", 40),
    kept("Interview a senior designer", 30),
]


def read(server: SandboxServer, clock: ManualClock, exclude: set[str] = set()) -> History:  # noqa: B006
    with AsanaClient(
        server.token(ANNA), base_url=server.base_url, clock=clock, workspace_gid="1100000000000001"
    ) as client:
        return AsanaHistory(client, "1100000000000001").read_history(
            ANNA, ASSISTANTS, SINCE, max_tasks=500, exclude=exclude
        )


def mined(history: History, text: str = AGENCY) -> Mined:
    return suggest(
        text, "small-agency.yaml", history.examples, now=history.read_at,
        directory=history.directory,
    )  # fmt: skip


def test_hand_offs_by_hand_become_rules_with_exact_scores_within_the_quota() -> None:
    clock = ManualClock(NOW)
    with SandboxServer.from_fixture(world(HANDED_OFF + KEPT), clock=clock) as server:
        service_made = server.world.task("Fattura the service delegated").gid
        before = len(server.requests.entries())
        history = read(server, clock, exclude={service_made})
        sent = server.requests.entries()[before:]
    handed_off = sorted(e.task.name for e in history.examples if e.assistant)
    assert len(handed_off) == 10
    assert "Fattura given by Luca" not in handed_off
    assert "Fattura from last year" not in handed_off
    assert "Fattura the service delegated" not in handed_off
    assert sum(1 for e in history.examples if e.assistant is None) == 5
    # The cost: 3 people, 3 task lists of one page, the stories of Giulia's 7 tasks listed
    # (last year's is not: completed before the period) and Marco's 4, in one batch each (a
    # quota unit per action); every request is in the sandbox's log.
    assert len(sent) == history.requests == 3 + 3 + 2
    assert [e.path for e in sent].count("/batch") == 2
    assert history.quota_units == 3 + 3 + 7 + 4
    bound = worst_case(2)
    assert history.requests <= bound.requests
    assert history.quota_units <= bound.quota_units

    result = mined(history)
    assert [(s.name, s.score.line) for s in result.suggestions] == [
        (
            "Suggested: fattura or invoice to giulia",
            "precision 6/7 (86%), recall 6/6 (100%)",
        ),
        (
            "Suggested: hotel or prenotazione to marco",
            "precision 4/4 (100%), recall 4/4 (100%)",
        ),
    ]
    assert [m.name for m in result.suggestions[0].score.wrong] == [
        "Check the new invoice template design"
    ]


def test_a_long_history_is_read_up_to_the_bound_within_the_worst_case() -> None:
    """25 hand-offs to Giulia and 25 kept tasks, 12 tasks read per person at most: the lists
    stop at the bound, and the requests and quota units in the log stay within `worst_case`."""
    clock = ManualClock(NOW)
    tasks = [handed(f"Fattura {n}", GIULIA, 10 + n) for n in range(25)]
    tasks += [kept(f"Strategy {n}", 10 + n) for n in range(25)]
    with SandboxServer.from_fixture(world(tasks), clock=clock) as server:
        with AsanaClient(server.token(ANNA), base_url=server.base_url, clock=clock) as client:
            history = AsanaHistory(client, "1100000000000001").read_history(
                ANNA, ASSISTANTS, SINCE, max_tasks=12
            )
        sent = server.requests.entries()
    assert history.truncated == ("owner", "giulia")
    assert history.tasks_read == 24
    bound = worst_case(2, 12)
    assert len(sent) == history.requests <= bound.requests
    assert history.quota_units <= bound.quota_units
    assert history.quota_units == 3 + 3 + 12  # people, one page each, Giulia's 12 stories


def test_a_world_without_a_pattern_gets_no_suggestion() -> None:
    clock = ManualClock(NOW)
    tasks = [
        handed("Alpha one", GIULIA, 100), handed("Beta two", MARCO, 90),
        handed("Gamma three", GIULIA, 80), handed("Delta four", MARCO, 70),
        kept("Alpha five", 60), kept("Beta six", 50), kept("Gamma seven", 40),
    ]  # fmt: skip
    with SandboxServer.from_fixture(world(tasks), clock=clock) as server:
        history = read(server, clock)
    assert len(history.examples) == 7
    assert mined(history).suggestions == ()


def test_a_suggestion_pasted_in_shadow_mode_is_offered_in_the_summary(
    tmp_path: Path, store: SqlStore
) -> None:
    """The demo world's history suggests a rule, named in the agency's Italian; pasted into the
    file it is a shadow rule, and the client's Italian summary says what it would have done:
    turn it on?"""
    clock = ManualClock(NOW)
    with SandboxServer.demo(clock=clock) as server:
        history = read(server, clock)
        result = mined(history, ITALIAN_AGENCY)
        assert result.suggestions
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "small-agency.yaml").write_text(append_rules(ITALIAN_AGENCY, result.block))
        settings = Settings(rules_dir=rules, asana_base_url=server.base_url)
        environ = {"ASANA_TOKEN_NORTHWIND": server.token(ANNA)}
        fleet = Fleet(settings, store, environ=environ, clock=clock)
        (entry,) = load_clients(rules)
        assert not entry.errors
        fleet.cycle(entry)
        clock.advance(minutes=5)
        summaries = fleet.summaries()
        period = Period(NOW - timedelta(days=1), clock())
        summary = summaries.summary(entry, period)
        shadow = {s.rule: len(s.tasks) for s in summary.shadow}
        first = result.suggestions[0].name
        assert shadow.get(first, 0) > 0, shadow
        assert first.startswith("Suggerita: ")
        # The summary's "turn it on?" part names it, in the client's language.
        rendered = summaries.render_summary(entry, period).markdown
        assert f'La regola in prova "{first}" avrebbe agito su' in rendered
        fleet.close()


def test_a_fixture_declares_a_past_hand_off_as_asana_records_it() -> None:
    """``assigned_by`` / ``assigned_at``: the task gets the ``assigned`` story by that person at
    that time; a hand-off without an assignee, or a time without a person, is refused."""
    clock = ManualClock(NOW)
    loaded = load_world(world([handed("Fattura Aruba", GIULIA, 20)]), clock=clock)
    (story,) = loaded.task("Fattura Aruba").stories
    assert (story.resource_subtype, story.created_by.email, story.created_at) == (
        "assigned", ANNA, NOW - timedelta(days=20),
    )  # fmt: skip
    assert story.details["assignee"] is loaded.user(GIULIA)
    for bad, where in (
        ({"name": "x", "assigned_by": ANNA}, "assigned_by"),
        ({"name": "x", "assignee": GIULIA, "assigned_at": "now-2d"}, "assigned_at"),
    ):
        with pytest.raises(FixtureError, match=rf"tasks\[0\]\.{where}: "):
            load_world(world([bad]), clock=clock)
