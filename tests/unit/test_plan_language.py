"""`plan` and `explain` wholly in the client's language: an Italian client reads no English word
of the service's (steps, why an assistant was chosen, the frames of the conditions and what they
saw, the engine's notes), only the names and conditions written in its file; an English client
reads what it always did; hostile names pass through either language as they are."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from delegator.asana.mapping import task_from_asana
from delegator.bootstrap import Fleet
from delegator.cli.explain_view import condition_text, note_text, render_text, seen, wanted
from delegator.cli.plans import render_markdown, render_plan, step_text
from delegator.clients import load_clients
from delegator.core.assignment import Roster, choice_reason, choose
from delegator.core.conditions import ConditionTrace
from delegator.core.engine import Decision, Engine, RuleOutcome
from delegator.core.intents import AddTag, Assign, Comment, Follow, Move, RemoveTag, SetDue
from delegator.core.language import ENGLISH, ITALIAN
from delegator.core.model import Task
from delegator.core.ruletests import directory_for, owner_identity
from delegator.core.schema import Assistant
from delegator.rulesource import read_client_file
from delegator.sandbox import SandboxServer
from delegator.service import CycleReport, Step, StepStatus, TaskReport
from delegator.settings import load_settings
from delegator.store import SqlStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-11-27T10:00:00+01:00"
ROME = ZoneInfo("Europe/Rome")
FRAMES = ("all", "any", "not")
# Words both languages write: "in coda", "in prova"; "no" (an answer); "il tag"; the product.
SHARED = frozenset({"in", "no", "tag", "asana"})


def agency(folder: Path, language: str) -> Path:
    """The agency example, its client speaking ``language``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
    text = re.sub(r"\n  language: \w+\n", "\n", text)
    anchor = "  timezone: Europe/Rome\n"
    assert anchor in text
    text = text.replace(anchor, f"{anchor}  language: {language}\n", 1)
    path = folder / "small-agency.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def italian_plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CycleReport]:
    """The plan's cycle (what `plan` runs, with its traces) for the Italian agency, on the demo
    world."""
    folder = tmp_path / "rules"
    agency(folder, "it")
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.setenv("DELEGATOR_RULES_DIR", str(folder))
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", server.token("anna@northwind.example"))
        settings = load_settings(environ=os.environ, warn=None)
        store = SqlStore(settings.database_url)
        store.migrate()
        fleet = Fleet(settings, store, environ=dict(os.environ))
        try:
            [entry] = [e for e in load_clients(folder) if e.key == "small-agency"]
            yield fleet.cycle(entry, dry_run=True, full=True, explain=True)
        finally:
            fleet.close()
            store.close()


# ----------------------------------------------------------------------------- the words


def _words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[^\W\d_]+", text)}


def _leaves(trace: ConditionTrace | None) -> Iterator[ConditionTrace]:
    if trace is None:
        return
    yield trace
    for child in trace.children:
        yield from _leaves(child)


def _file_words(decisions: Iterable[Decision], report: CycleReport | None = None) -> list[str]:
    """What the client's file and Asana wrote, shown as written in either language: names of
    tasks, rules, tags, sections, projects and people, the comments' templates, and the
    conditions as the rule language writes them (with what they name)."""
    names: list[str] = ["Anna Rossi", "keep", "giulia", "marco", "Europe/Rome"]
    for d in decisions:
        names.append(d.task.name)
        names.extend(o.rule for o in d.outcomes)
        names.extend(t.rule for t in d.rule_traces)
        names.extend(m.rule for m in d.near_misses)
        for intent in d.intents:
            names.extend(str(v) for v in vars_of(intent))
        traces = [d.urgent_trace, d.important_trace, *(t.when for t in d.rule_traces)]
        for trace in (leaf for t in traces for leaf in _leaves(t)):
            if trace.kind in FRAMES:
                continue
            names.extend((trace.text, str(trace.wanted)))
            actual = trace.actual
            items = actual if isinstance(actual, list) else [actual]
            if trace.kind not in ("assignee", "overdue", "due", "created", "modified"):
                names.extend(str(a) for a in items)
    if report is not None:
        names.extend((report.name, report.client))
        names.extend(c.task_name for c in report.clocks)
        names.extend(c.rule for c in report.clocks)
        names.extend(item.deferred for item in report.tasks if item.deferred)
    return sorted({n for n in names if n}, key=len, reverse=True)


def vars_of(intent: object) -> list[object]:
    skip = {"kind", "strategy", "overflow"}
    return [getattr(intent, f) for f in intent.__dataclass_fields__ if f not in skip]  # type: ignore[attr-defined]


def _service_words(text: str, names: list[str]) -> set[str]:
    """The words the service wrote in ``text``: without the names and conditions of the file,
    the quoted texts (comments' templates), paths and links."""
    text = re.sub(r"https?://\S+|<br>", " ", text)
    for name in names:
        text = text.replace(name, " ")
    text = re.sub(r'"[^"\n]*"|«[^»\n]*»|\[[^\]\n]*\]', " ", text)
    return _words(text)


def _no_english(english: str, italian: str, names: list[str]) -> set[str]:
    """The English words of the service's (those of its English text, less the file's) left in
    its Italian text, after checking the list is the service's own vocabulary."""
    vocabulary = _service_words(english, names) - SHARED
    return vocabulary & _service_words(italian, names)


# ----------------------------------------------------------------------------- the plan


def test_the_italian_plan_has_no_english_word_of_the_service(italian_plan: CycleReport) -> None:
    report = italian_plan
    english, italian = render_plan(report), render_plan(report, voice=ITALIAN)
    names = _file_words((t.decision for t in report.tasks), report)
    vocabulary = _service_words(english, names) - SHARED
    # The list is the service's own English: frames, steps, reasons, labels, notes.
    assert {"all", "any", "actual", "assign", "add", "move", "section", "project"} <= vocabulary
    assert {"loaded", "robin", "shift", "touched", "missed", "plan", "left", "alone"} & vocabulary
    leaked = vocabulary & _service_words(italian, names)
    assert not leaked, sorted(leaked)
    markdown = render_markdown(report, voice=ITALIAN)
    leaked = _no_english(render_markdown(report), markdown, names)
    assert not leaked, sorted(leaked)


def test_the_italian_plan_says_steps_reasons_and_frames(italian_plan: CycleReport) -> None:
    italian = render_plan(italian_plan, voice=ITALIAN)
    day = r"(lun|mar|mer|gio|ven|sab|dom) \d\d:\d\d"
    timing = rf"\((al lavoro ora|ora non lavora nessuno; il prossimo turno inizia {day})\)"
    assert re.search(rf"\+ assegna a marco: a rotazione {timing}", italian), italian
    assert re.search(rf"\+ assegna a giulia: il meno carico: giulia \d+/25 {timing}", italian)
    assert "      + aggiungi il tag delegated\n" in italian
    assert "      + sposta nella sezione Doing del progetto Operations\n" in italian
    assert "          ✓ quadrant in [eliminate]   (valore: eliminate)\n" in italian
    assert (
        "          ✓ assignee is any of [owner, none]   (valore: Anna Rossi (titolare))" in italian
    )
    assert "        ✓ tutte queste\n" in italian
    assert "          ✓ non\n" in italian
    assert "          ✓ almeno una di queste\n" in italian
    assert "«Buy a birthday present for Luca» [delegate] ha il tag keep: non si tocca" in italian
    assert "«Travel and bookings»: non vale nessuna delle alternative" in italian
    markdown = render_markdown(italian_plan, voice=ITALIAN)
    assert re.search(rf"\| assegna a marco: a rotazione {timing}<br>aggiungi il tag", markdown)


def test_the_english_plan_is_what_the_service_wrote(italian_plan: CycleReport) -> None:
    english = render_plan(italian_plan)
    assert english == render_plan(italian_plan, voice=ENGLISH)
    for item in italian_plan.tasks:
        for step in item.steps:
            assert step_text(step, item) == step.description
            assert f" {step.description}\n" in english
        if item.choice is not None:
            assert choice_reason(item.choice) == item.choice.reason
    assert "        ✓ all of\n" in english
    assert "   (actual: Anna Rossi (owner))" in english
    assert re.search(r"\+ assign to marco: round robin \((working now|nobody is working now; "
                     r"the next shift starts \w{3} \d\d:\d\d)\)", english)  # fmt: skip
    assert "+ move to section Doing of project Operations" in english
    assert '"Buy a birthday present for Luca" [delegate] tagged keep: never touched' in english
    assert '"Travel and bookings" missed any of' in english


# ----------------------------------------------------------------------------- explain


def _invoice(language: str, folder: Path) -> tuple[Decision, str, str]:
    loaded = read_client_file(agency(folder, language))
    assert loaded.head is not None
    engine = Engine(loaded)
    task = task_from_asana(json.loads((EXAMPLES / "tasks" / "invoice.json").read_text("utf-8")))
    now = datetime.fromisoformat(NOW)
    ctx = engine.context(now, directory_for(loaded.head, owner_identity(loaded.head, None)))
    decision = engine.explain(task, ctx)
    tz = loaded.head.client.timezone
    return (
        decision,
        render_text(decision, now=ctx.now, tz_name=tz),
        render_text(decision, now=ctx.now, tz_name=tz, voice=ITALIAN),
    )


def test_the_italian_explanation_has_no_english_word_of_the_service(tmp_path: Path) -> None:
    decision, english, italian = _invoice("it", tmp_path)
    names = _file_words([decision])
    vocabulary = _service_words(english, names) - SHARED
    assert {"all", "any", "hold", "holds", "does", "not", "actual", "wanted", "least"} <= vocabulary
    leaked = vocabulary & _service_words(italian, names)
    assert not leaked, sorted(leaked)
    assert "  ✓ almeno una di queste (1 su 3 valgono)  [matrix/urgent]" in italian
    assert "  ✓ tutte queste (3 su 3 valgono)  [rules/0/when]" in italian
    assert "    ✓ non (non vale)  [rules/1/when/all/1]" in italian
    assert "        valore: scade lun 30 nov   atteso: sì" in italian
    assert "        valore: Anna Rossi (titolare)   atteso: any of [owner, none]" in italian
    assert "        valore: gio 26 nov 17:40   atteso: older than 5 business days" in italian
    assert "    + assegna a uno tra [giulia, marco] (al meno carico, competenza admin)" in italian
    assert (
        "  regola «Travel and bookings»: almeno una di queste [rules/1/when/all/2]: "
        "valore 0 su 2 valgono, atteso ne vale almeno una"
    ) in italian


def test_the_english_explanation_is_unchanged(tmp_path: Path) -> None:
    _, english, _ = _invoice("en", tmp_path)
    for line in (
        "  ✓ any of (1 of 3 hold)  [matrix/urgent]",
        "        actual: due 2026-11-30   wanted: true",
        "    ✓ not (does not hold)  [rules/1/when/all/1]",
        "        actual: Anna Rossi (owner)   wanted: any of [owner, none]",
        "        actual: 2026-11-26T17:40+01:00   wanted: older than 5 business days",
        "    + assign to one of [giulia, marco] (least_loaded, skill admin)",
        '  rule "Travel and bookings": any of [rules/1/when/all/2]: actual 0 of 2 hold, '
        "wanted at least one holds",
    ):
        assert line in english.splitlines(), line


# ----------------------------------------------------------------------------- reasons, notes

ASSISTANTS = TypeAdapter(dict[str, Assistant]).validate_python(
    {
        "giulia": {"user": "g@x.example", "capacity": 3, "hours": "Mon-Fri 09:00-17:00",
                   "skills": ["admin"], "away": ["2026-12-24..2027-01-06"]},
        "marco": {"user": "m@x.example", "capacity": 2, "hours": "Mon-Fri 14:00-20:00",
                  "timezone": "Europe/Lisbon", "skills": ["admin", "inbox"]},
        "sam": {"user": "s@x.example", "capacity": 5, "skills": ["admin"]},
    }
)  # fmt: skip
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=ROME)
SATURDAY = datetime(2026, 12, 5, 11, 0, tzinfo=ROME)
POOL = Assign(pool=("giulia", "marco"), skill="admin")


def roster(**load: int) -> Roster:
    return Roster(ASSISTANTS, ROME, dict(load))


@pytest.mark.parametrize(
    ("intent", "load", "now", "english", "italian"),
    [
        (POOL, {}, TUESDAY_10, "least loaded: giulia 0/3 (working now)",
         "il meno carico: giulia 0/3 (al lavoro ora)"),
        (POOL, {}, SATURDAY,
         "least loaded: giulia 0/3 (nobody is working now; the next shift starts Mon 09:00)",
         "il meno carico: giulia 0/3 (ora non lavora nessuno; il prossimo turno inizia lun 09:00)"),
        (Assign(pool=("giulia", "sam"), strategy="round_robin"), {}, TUESDAY_10,
         "round robin (working now)", "a rotazione (al lavoro ora)"),
        (POOL, {"giulia": 3, "marco": 2}, TUESDAY_10,
         "nobody can take it: giulia at capacity (3/3); marco at capacity (2/2)",
         "nessuno può prenderla: giulia al completo (3/3); marco al completo (2/2)"),
        (Assign(pool=("giulia", "marco"), skill="inbox"), {"marco": 2}, TUESDAY_10,
         "nobody can take it: giulia lacks the skill inbox; marco at capacity (2/2)",
         "nessuno può prenderla: giulia non ha la competenza inbox; marco al completo (2/2)"),
        (Assign(pool=("giulia",)), {}, datetime(2026, 12, 28, 10, tzinfo=ROME),
         "nobody can take it: giulia away (2026-12-24..2027-01-06)",
         "nessuno può prenderla: giulia assente (2026-12-24..2027-01-06)"),
        (Assign(to="marco"), {}, TUESDAY_10, "named in the rule (next shift Tue 14:00)",
         "indicato dalla regola (prossimo turno mar 14:00)"),
        (Assign(to="sam"), {"sam": 5}, TUESDAY_10, "sam cannot take it: at capacity (5/5)",
         "sam non può prenderla: al completo (5/5)"),
        (Assign(to="ext@x.example"), {}, TUESDAY_10, "named in the rule: ext@x.example",
         "indicato dalla regola: ext@x.example"),
    ],
)  # fmt: skip
def test_why_an_assistant_in_either_language(
    intent: Assign, load: dict[str, int], now: datetime, english: str, italian: str
) -> None:
    choice = choose(intent, roster(**load), now)
    assert choice.reason == english
    assert choice_reason(choice) == english
    assert choice_reason(choice, ITALIAN) == italian


@pytest.mark.parametrize(
    ("note", "italian"),
    [
        ("tagged keep: never touched", "ha il tag keep: non si tocca"),
        ("taken back by a person: reassigned to Anna", "ripresa da una persona: riassegnata a Anna"),
        ("the task is completed", "l'attività è completata"),
        ("rule 'A' already took the task (continue: false)",
         "la regola «A» ha già preso l'attività (continue: false)"),
        ("already acted on 2026-11-20 (repeat: false)",
         "ha già agito venerdì 20 novembre 2026 (repeat: false)"),
        ("every action is already in place", "ogni azione è già fatta"),
        ("shadow mode: planned and reported, nothing written", "prevista e mostrata, mai scritta"),
        ("something worded otherwise", "something worded otherwise"),
    ],
)  # fmt: skip
def test_the_engines_notes_in_italian(note: str, italian: str) -> None:
    assert note_text(note) == note
    assert note_text(note, ITALIAN) == italian


def test_what_a_condition_saw_in_italian() -> None:
    def leaf(kind: str, actual: object, want: object = "x") -> ConditionTrace:
        return ConditionTrace("p", kind, f"{kind} ...", False, actual, want)

    assert seen(leaf("assignee", "nobody"), ITALIAN) == "nessuno"
    assert seen(leaf("assignee", "Bo (owner)"), ITALIAN) == "Bo (titolare)"
    assert seen(leaf("assignee", "Bo (assistant bo)"), ITALIAN) == "Bo (assistente bo)"
    assert seen(leaf("name", "nobody"), ITALIAN) == "nobody"  # a task's name, as written
    assert seen(leaf("due", "no date"), ITALIAN) == "nessuna data"
    assert seen(leaf("overdue", "no due date"), ITALIAN) == "nessuna scadenza"
    assert seen(leaf("custom_field", "not set"), ITALIAN) == "non impostato"
    assert seen(leaf("modified", "unknown"), ITALIAN) == "sconosciuta"
    assert seen(leaf("start", "2026-12-07"), ITALIAN) == "lun 7 dic"
    assert seen(leaf("completed", True), ITALIAN) == "sì"
    assert wanted(leaf("completed", True, False), ITALIAN) == "no"
    assert wanted(leaf("completed", True, False)) == "false"
    frame = ConditionTrace("p", "any", "any of", False, "0 of 1 hold", "at least one holds",
                           (leaf("name", "x"),))  # fmt: skip
    assert (condition_text(frame), seen(frame), wanted(frame)) == (
        "any of", "0 of 1 hold", "at least one holds"
    )  # fmt: skip
    assert (condition_text(frame, ITALIAN), seen(frame, ITALIAN), wanted(frame, ITALIAN)) == (
        "almeno una di queste", "0 su 1 valgono", "ne vale almeno una"
    )  # fmt: skip


# ----------------------------------------------------------------------------- hostile names

HOSTILE = [
    "a | b <script>alert(1)</script> **bold** _x_ [link](http://evil.example)",
    "two\nlines\r\nand a tab\there",
    "{{ assignee.first_name }} {name} {0} %s",
    "«quoted» \"double\" 'single' \\ back`tick`",
]


def _hostile_report(name: str) -> CycleReport:
    """A plan of one task, every name in it ``name``, its steps described as the service does."""
    task = Task("1", name=name, permalink_url="https://app.asana.com/0/1/1")
    intents = (
        Assign(pool=("giulia", "sam")),
        AddTag(name),
        Move(name, name),
        Follow(name),
        SetDue(date(2026, 12, 10)),
        Comment(name, name),
        RemoveTag(name),
    )
    decision = Decision(task, "delegate", True, False,
                        outcomes=(RuleOutcome(name, 0, "active", intents),))  # fmt: skip
    choice = choose(intents[0], roster(), TUESDAY_10)
    steps = [
        Step(i.kind, f"assign to {choice.assistant}: {choice.reason}"
             if isinstance(i, Assign) else i.describe(), StepStatus.PLANNED, intent=i)
        for i in intents
    ]  # fmt: skip
    report = CycleReport(name, name, TUESDAY_10, True)
    report.tasks.append(TaskReport(task, decision, choice, steps, deferred=name))
    return report


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_in_either_language(name: str) -> None:
    report = _hostile_report(name)
    english, italian = render_plan(report), render_plan(report, voice=ITALIAN)
    assert "add tag " + name in english
    assert "aggiungi il tag " + name in italian
    assert f"sposta nella sezione {name} del progetto {name}" in italian
    assert f"aggiungi {name} ai collaboratori" in italian
    assert f"togli il tag {name}" in italian
    assert "imposta la scadenza a giovedì 10 dicembre 2026" in italian
    assert "assegna a giulia: il meno carico: giulia 0/3, sam 0/5 (al lavoro ora)" in italian
    assert f"«{name}»" in italian
    for text, voice in ((english, ENGLISH), (italian, ITALIAN)):
        markdown = render_markdown(report, voice=voice)
        rows = markdown.splitlines()
        assert len(rows) == 7, markdown  # heading, blank, columns, rule, one row, blank, total
        row = rows[4]
        assert "<script>" not in row
        assert "\n" not in row
        assert len(re.findall(r"(?<!\\)\|", row)) == 6  # five cells, whatever the names
        assert text.count(name) >= 5
