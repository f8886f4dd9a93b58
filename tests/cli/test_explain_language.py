"""`explain` and `plan` in the client's language: an Italian client reads headings, verdicts,
quadrants, actions, dates and clocks in Italian; an English one reads exactly what it always did;
`--json` stays English whatever the language."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from delegator.asana.mapping import task_from_asana
from delegator.bootstrap import Fleet
from delegator.cli import main
from delegator.cli.explain_view import describe_intent, expectation_lines, render_text
from delegator.cli.plans import render_markdown, render_plan
from delegator.clients import load_clients
from delegator.core.engine import Engine
from delegator.core.intents import AddTag, Assign, Comment, Follow, Move, RemoveTag, SetDue
from delegator.core.language import ENGLISH, ITALIAN, Voice
from delegator.core.ruletests import directory_for, owner_identity
from delegator.followup import foreseen_clocks
from delegator.rulesource import read_client_file
from delegator.sandbox import SandboxServer
from delegator.service import CycleReport
from delegator.settings import load_settings
from delegator.store import SqlStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RULE = "Invoices and receipts go to the assistants"
EXPECT = "    expect:\n      acknowledged_within: 4h\n      started_within: 1 business day\n"
NOW = "2026-11-27T16:00:00+01:00"


def agency(folder: Path, language: str | None) -> Path:
    """The agency example with expectations on its invoice rule, in ``language``."""
    folder.mkdir(exist_ok=True)
    text = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
    anchor = "    limit: 20\n    minutes: 15\n"
    assert anchor in text
    if "expect:" not in text.split(anchor, 1)[1].split("  - name:", 1)[0]:
        text = text.replace(anchor, anchor + EXPECT)
    text = re.sub(r"\n  language: \w+\n", "\n", text)
    if language is not None:
        text = text.replace(
            "  timezone: Europe/Rome\n", f"  timezone: Europe/Rome\n  language: {language}\n", 1
        )
    path = folder / "small-agency.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def explained(rules: Path, voice: Voice) -> str:
    """``explain``'s text for the example invoice, as the view writes it in ``voice``."""
    loaded = read_client_file(rules)
    assert loaded.head is not None
    engine = Engine(loaded)
    task = task_from_asana(json.loads((EXAMPLES / "tasks" / "invoice.json").read_text("utf-8")))
    now = datetime.fromisoformat(NOW)
    ctx = engine.context(now, directory_for(loaded.head, owner_identity(loaded.head, None)))
    decision = engine.explain(task, ctx)
    acting = {o.rule for o in decision.outcomes if not o.shadow}
    clocks = foreseen_clocks(
        loaded.head, [r.rule for r in engine.rules if r.name in acting], ctx.now, task.due_on
    )
    return render_text(
        decision,
        now=ctx.now,
        tz_name=loaded.head.client.timezone,
        expectations=expectation_lines(clocks, voice),
        voice=voice,
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_in_italian_for_an_italian_client(tmp_path: Path) -> None:
    out = explained(agency(tmp_path / "rules", "it"), ITALIAN)
    assert out.startswith("Attività ")
    assert "  valutata il venerdì 27 novembre 2026 16:00 (Europe/Rome)" in out
    assert "Quadrante: delegate  (urgente, non importante: la fa un assistente)" in out
    assert "  urgente: sì, importante: no" in out
    assert f"Regola 1 «{RULE}»: agisce" in out
    assert "  azioni:" in out
    assert "    + assegna a uno tra [giulia, marco] (al meno carico, competenza admin)" in out
    assert "valore: [Invoices in Client Admin]   atteso: Bookings in Client Admin" in out
    assert "Quasi applicabili (manca una sola condizione):" in out
    shown = out.split("Tempi attesi, se delegata adesso:", 1)[1]
    assert f"  regola «{RULE}», a giulia:" in shown
    assert "    presa in carico entro 4 ore: scade lun 30 nov 2026 12:00" in shown
    assert "    iniziata entro 1 giorno lavorativo: scade lun 30 nov 2026 17:00" in shown
    assert out.rstrip().endswith(f"Decisione: la regola «{RULE}» prende l'attività")
    assert "  ✓ almeno una di queste (1 su 3 valgono)  [matrix/urgent]" in out
    assert "    ✓ non (non vale)  [rules/1/when/all/1]" in out
    for english in ("Quadrant:", "Decision:", "evaluated at", "actions:", "Expectations", " by ",
                    "✓ all of", "✗ all of", "✓ any of", "✗ any of", " hold", "actual", "wanted",
                    "(owner)"):  # fmt: skip
        assert english not in out, english


def test_explain_in_english_is_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = agency(tmp_path / "rules", None)
    code, out, _ = run(capsys, "explain", "--rules", str(rules), "--task",
                       str(EXAMPLES / "tasks" / "invoice.json"), "--now", NOW)  # fmt: skip
    assert code == 0
    assert out.rstrip("\n") == explained(rules, ENGLISH)
    assert "Quadrant: delegate  (urgent, not important: an assistant does it)" in out
    assert "  evaluated at 2026-11-27T16:00+01:00 (Europe/Rome)" in out
    assert "acknowledged within 4h: by Mon 2026-11-30 12:00" in out
    assert "  ✓ any of (1 of 3 hold)  [matrix/urgent]" in out
    assert "    ✓ not (does not hold)  [rules/1/when/all/1]" in out
    assert "        actual: Anna Rossi (owner)   wanted: any of [owner, none]" in out


def test_explain_json_stays_english_for_an_italian_client(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--task", str(EXAMPLES / "tasks" / "invoice.json"), "--now", NOW, "--json"]
    _, english, _ = run(capsys, "explain", "--rules", str(agency(tmp_path / "en", None)), *argv)
    _, italian, _ = run(capsys, "explain", "--rules", str(agency(tmp_path / "it", "it")), *argv)
    assert json.loads(italian) == json.loads(english)


def test_the_actions_in_italian() -> None:
    assert describe_intent(Assign(to="giulia"), ITALIAN) == "assegna a giulia"
    assert describe_intent(AddTag("urgente"), ITALIAN) == "aggiungi il tag urgente"
    assert describe_intent(RemoveTag("x"), ITALIAN) == "togli il tag x"
    assert describe_intent(Follow("owner"), ITALIAN) == "aggiungi owner ai collaboratori"
    assert (
        describe_intent(Move("Ops", "Fatto"), ITALIAN)
        == "sposta nella sezione Fatto del progetto Ops"
    )
    assert describe_intent(SetDue(datetime(2026, 12, 7).date()), ITALIAN) == (
        "imposta la scadenza a lunedì 7 dicembre 2026"
    )
    assert (
        describe_intent(Comment("Ciao {{ assignee }}", "r"), ITALIAN)
        == 'commenta "Ciao {{ assignee }}"'
    )
    for intent in (
        Assign(to="giulia"),
        AddTag("u"),
        Move("Ops"),
        SetDue(datetime(2026, 12, 7).date()),
    ):
        assert describe_intent(intent, ENGLISH) == intent.describe()


@pytest.fixture
def agency_on_sandbox(
    examples_on_sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    folder = tmp_path / "rules"
    agency(folder, "it")
    monkeypatch.setenv("DELEGATOR_RULES_DIR", str(folder))
    return folder


def dry_run(folder: Path) -> CycleReport:
    """The plan's cycle (what `plan` runs) for the Italian agency, after the delegations of
    `once`: its clocks are kept in English (JSON) and in the client's language."""
    settings = load_settings(environ=os.environ, warn=None)
    store = SqlStore(settings.database_url)
    fleet = Fleet(settings, store, environ=dict(os.environ))
    try:
        [entry] = [e for e in load_clients(folder) if e.key == "small-agency"]
        return fleet.cycle(entry, dry_run=True, full=True, explain=True)
    finally:
        fleet.close()
        store.close()


def test_plan_in_italian_and_unchanged_in_english(
    agency_on_sandbox: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, before, _ = run(capsys, "plan")  # before the delegations of `once`
    assert code == 0
    # The command itself: its steps, frames and notes in Italian, in the text and the Markdown.
    for line in (
        "      + aggiungi il tag delegated",
        "      + sposta nella sezione Doing del progetto Operations",
        "        ✓ tutte queste",
        "          ✓ quadrant in [eliminate]   (valore: eliminate)",
        "  = «Buy a birthday present for Luca» [delegate] ha il tag keep: non si tocca",
    ):
        assert line in before.splitlines(), line
    assert "+ assegna a marco: a rotazione (" in before
    for english in ("assign to", "add tag", "move to", "all of", "actual:", "never touched"):
        assert english not in before, english
    code, markdown, _ = run(capsys, "plan", "--markdown")
    assert code == 0
    assert "<br>aggiungi il tag delegated<br>" in markdown
    assert "add tag" not in markdown
    assert run(capsys, "once")[0] == 0
    code, shown, _ = run(capsys, "plan")
    assert code == 0
    code, out, _ = run(capsys, "plan", "--json")
    assert code == 0
    [client] = json.loads(out)["clients"]
    [receipts] = [c for c in client["clocks"] if c["task_name"].startswith("Send November")]
    assert receipts["lines"][0].startswith("acknowledged within 4h: by ")
    report = dry_run(agency_on_sandbox)
    english = render_plan(report)
    assert shown.startswith(("Plan for Northwind Studio", "Piano per Northwind Studio"))
    assert "open delegations with expectations:" in english
    assert english.rstrip().endswith("Nothing was written to Asana.")
    italian = render_plan(report, voice=ITALIAN)
    first = italian.splitlines()[0]
    assert first.startswith("Piano per Northwind Studio (small-agency): ")
    assert " attività lette, " in first
    assert "deleghe aperte con tempi attesi:" in italian
    assert f"  @ «Send November receipts to the accountant» a giulia [regola «{RULE}»]" in italian
    assert "      presa in carico entro 4 ore: scade " in italian
    assert "lasciate così" in italian
    assert italian.rstrip().endswith("Nulla è stato scritto su Asana.")
    for word in ("Plan", "open delegation", "with expectations", "left alone", "within", " by "):
        assert word not in italian, word
    assert render_markdown(report, voice=ITALIAN).startswith("### Piano per Northwind Studio")
    assert render_markdown(report).startswith("### Plan for Northwind Studio")
