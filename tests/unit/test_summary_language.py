"""Summaries and digests in the client's language: every default part in English and Italian
with every section present, hostile task names escaped in both, no English word left in the
Italian, dates and numbers per locale, a client's overridden template still winning, and any
name or count rendering into rich text Asana accepts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from test_summary import END, START, at

from delegator.cli import main
from delegator.core.assignment import Availability, Candidate, Choice, Pick, choice_reason
from delegator.core.language import ENGLISH, ITALIAN, Language, Voice
from delegator.core.schema import MessageTemplates
from delegator.core.summary import (
    WORDS as SUMMARY_WORDS,
)
from delegator.core.summary import (
    AssistantDigest,
    AssistantLoad,
    ClientSummary,
    DeadlineSoon,
    DelegatedTask,
    DigestInputs,
    DigestTask,
    FollowUpFact,
    OpenTask,
    Problem,
    SummaryInputs,
    TakenBack,
    WaitingTask,
    build_digest,
    build_summary,
)
from delegator.core.summary_render import (
    DEFAULTS,
    DEFAULTS_IN,
    PARTS,
    SHOWN_PER_SECTION,
    TITLE_LENGTH,
    Rendered,
    check_rich_text,
    compile_message_template,
    escape_markdown,
    one_line,
    render_digest,
    render_summary,
)
from delegator.core.summary_render import (
    WORDS as RENDER_WORDS,
)
from delegator.sandbox import SandboxServer
from delegator.summaries.gather import SAY, combined_digest_inputs
from delegator.summaries.reasons import queued_reason, taken_back_reason

EXAMPLES = Path("examples")
ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 12, 4, 8, tzinfo=ROME)  # Friday 4 December, 08:00
VOICES = pytest.mark.parametrize("voice", [ENGLISH, ITALIAN], ids=["en", "it"])

HOSTILE_NAMES = [
    "Pay *now* [x](http://evil) <script>alert(1)</script> & `code` _u_ ~s~ | \\ #1",
    'Quote "this" & <b>bold</b> <a href="javascript:x">y</a> &amp; &#60;',
    "First line\n- a list item\n\n# a heading\r\n> quoted",
    "فاتورة العميل \u202eevil\u202c עברית",
    "Fattura n° 12 \u2013 caffè, perché già più è Ü ß",
    "{{ 7 * 7 }} {% if true %}jinja{% endif %} {# comment #} ${x}",
    "Long " + "very long name " * 80,
    "<!DOCTYPE x><?xml?>]]><![CDATA[",
]


# ----------------------------------------------------------------------------- every section


def _names(name: str) -> list[str]:
    """Twenty task names: the one given, then numbered variants (all with the same text)."""
    return [name] + [f"{name} {i}" for i in range(1, 20)]


def _delegation(gid: str, name: str, **given: Any) -> DelegatedTask:
    fields: dict[str, Any] = {
        "gid": gid,
        "name": name,
        "url": f"https://app.asana.com/0/0/{gid}",
        "rule": "Fatture",
        "assistant": "giulia",
        "assistant_name": "Giulia Bianchi",
        "delegated_at": at(23),
        "due_on": None,
        "status": "open",
        **given,
    }
    return DelegatedTask(**fields)


def _fact(gid: str, name: str, kind: Any, **given: Any) -> FollowUpFact:
    fields: dict[str, Any] = {
        "gid": gid,
        "name": name,
        "url": f"https://app.asana.com/0/0/{gid}",
        "rule": "Fatture",
        "assistant": "giulia",
        "assistant_name": "Giulia Bianchi",
        "kind": kind,
        "stage": "" if kind == "bounce" else "acknowledged",
        "at": at(24),
        **given,
    }
    return FollowUpFact(**fields)


def full_inputs(name: str = "Fattura Rossi", voice: Voice = ENGLISH) -> SummaryInputs:
    """A period in which every section of the summary has something, some more than shown."""
    names = _names(name)
    overdue = [
        _delegation(f"1{i}", n, due_on=date(2026, 11, 2 + i), delegated_at=at(21))
        for i, n in enumerate(names[:12])
    ]
    delegations = [
        *overdue,
        _delegation("201", names[12], rule="Viaggi", due_on=date(2026, 11, 28)),
        _delegation("202", names[13], assistant="marco", assistant_name="Marco Verdi",
                    status="done", closed_at=at(26), minutes=30, minutes_from="field"),
        _delegation("203", names[14], status="done", closed_at=at(25), minutes=45,
                    minutes_from="rule"),
        _delegation("204", names[15], status="done", closed_at=at(25)),
    ]  # fmt: skip
    return SummaryInputs(
        client=name,
        timezone="Europe/Rome",
        period_start=START,
        period_end=END,
        delegations=delegations,
        waiting=[
            WaitingTask("301", names[16], "u301", "Viaggi", "queued", name, at(26)),
            WaitingTask("302", names[17], "u302", name, "shadow", name, at(24)),
        ],
        taken_back=[TakenBack("401", names[18], "u401", name, name, at(25))],
        problems=[Problem("rules", name), Problem("write", f"{name}; ancora")],
        open_tasks=[
            OpenTask("501", names[0], "u501", "do", held_by_owner=True),
            OpenTask("502", names[1], "u502", "schedule", held_by_owner=False),
            OpenTask("503", names[2], "u503", "delegate", held_by_owner=False),
            OpenTask("504", names[3], "u504", "eliminate", held_by_owner=True),
        ],
        assistants=[
            AssistantLoad("giulia", name, 13, 25),
            AssistantLoad("marco", "Marco Verdi", 1, 10),
        ],
        followups=[
            _fact("601", names[4], "escalation", stage="started", to=name),
            _fact("602", names[5], "reassign", stage="done", to="Marco Verdi"),
            _fact("603", names[6], "bounce", reason=name, rule=name),
            _fact("604", names[7], "bounce", reason=""),
            _fact("605", names[8], "reminder"),
        ],
        time_field="Tempo stimato",
        voice=voice,
    )


def full_summary(name: str = "Fattura Rossi", voice: Voice = ENGLISH) -> ClientSummary:
    return build_summary(full_inputs(name, voice))


def full_digest(name: str = "Fattura Rossi", voice: Voice = ENGLISH) -> AssistantDigest:
    """A digest with every section: about to be late, new, due today, overdue (more than shown),
    tasks of two clients, over capacity."""
    names = _names(name)
    tasks = [
        DigestTask(f"7{i}", n, f"u7{i}", "Studio Rossi" if i % 2 else name, "Fatture", name,
                   NOW - timedelta(days=3), date(2026, 11, 1 + i))
        for i, n in enumerate(names[:12])
    ] + [
        DigestTask("801", names[12], "u801", name, name, "", NOW - timedelta(hours=1), None),
        DigestTask("802", names[13], "u802", name, "Viaggi", name, NOW - timedelta(days=2),
                   date(2026, 12, 4)),
    ]  # fmt: skip
    deadlines = [
        DeadlineSoon("901", names[14], "u901", name, "Fatture", stage, NOW + timedelta(hours=h))
        for h, stage in ((2, "acknowledged"), (4, "started"), (6, "done"))
    ]
    return build_digest(
        DigestInputs(
            assistant="giulia",
            name=name,
            timezone="Europe/Rome",
            since=NOW - timedelta(days=1),
            now=NOW,
            tasks=tasks,
            load=14,
            capacity=5,
            deadlines=deadlines,
            voice=voice,
        )
    )


def every_section_of(summary: ClientSummary) -> None:
    assert summary.delegated
    assert summary.done
    assert summary.still_open
    assert summary.due_soon
    assert len(summary.overdue) > SHOWN_PER_SECTION
    assert summary.queued
    assert summary.shadow
    assert summary.taken_back
    assert summary.problems
    assert summary.missed
    assert summary.reminders
    assert summary.reassigned
    assert summary.bounced
    assert summary.matrix is not None
    assert summary.assistants
    assert summary.time_given_back.source


def every_section_of_digest(digest: AssistantDigest) -> None:
    assert digest.new
    assert digest.due_today
    assert digest.about_to_be_late
    assert digest.over_capacity
    assert len(digest.overdue) > SHOWN_PER_SECTION
    assert len(digest.clients) > 1


def rendered_all(voice: Voice, name: str = "Fattura Rossi") -> list[Rendered]:
    summary = full_summary(name, voice)
    digest = full_digest(name, voice)
    every_section_of(summary)
    every_section_of_digest(digest)
    quiet = build_summary(SummaryInputs(name, "Europe/Rome", START, END, [], voice=voice))
    empty = build_digest(DigestInputs("giulia", name, "Europe/Rome", NOW, NOW, [], 0, 5,
                                      voice=voice))  # fmt: skip
    assert quiet.quiet
    assert quiet.matrix is None
    assert empty.empty
    return [render_summary(summary), render_digest(digest), render_summary(quiet),
            render_digest(empty)]  # fmt: skip


# ----------------------------------------------------------------------------- hostile names


def _assert_safe(rendered: Rendered, name: str) -> None:
    check_rich_text(rendered.html)
    assert "\n" not in rendered.title
    assert len(rendered.title) <= TITLE_LENGTH
    # Markdown: the name only ever appears escaped, on one line; no raw HTML, no Jinja run.
    assert escape_markdown(name) in rendered.markdown
    assert "<script>" not in rendered.markdown
    assert "<script>" not in rendered.html
    assert "<b>" not in rendered.html
    assert "javascript:x" not in rendered.markdown.replace(
        escape_markdown('<a href="javascript:x">'), ""
    )
    assert "49" not in rendered.markdown
    assert "49" not in rendered.html
    assert str(escape(one_line(name))) in rendered.html
    for line in rendered.markdown.splitlines():
        assert not re.match(r"^(#|>|- a list item)", line), line


@VOICES
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_every_default_part_escapes_hostile_names(voice: Voice, name: str) -> None:
    for rendered in rendered_all(voice, name)[:2]:
        _assert_safe(rendered, name)


@VOICES
def test_every_default_part_renders_every_section(voice: Voice) -> None:
    summary, digest, quiet, empty = rendered_all(voice)
    for rendered in (summary, digest, quiet, empty):
        check_rich_text(rendered.html)
        assert rendered.title
        assert rendered.markdown
    # every task of a section shown, and the rest counted
    assert summary.markdown.count("https://app.asana.com/0/0/") >= 15
    more = "and 2 more" if voice is ENGLISH else "e altre 2"
    assert more in summary.markdown
    assert more in summary.html
    assert more in digest.markdown
    assert more in digest.html
    assert summary.markdown.count("\n- ") == summary.html.count("<li>")


# ----------------------------------------------------------------------------- no English left

# Words of the English defaults that are Italian too, or names: never a sign of English.
_NOT_ENGLISH_ONLY = {"covey", "asana", "token", "tag", "min", "per", "delegate"}


def _english_words() -> set[str]:
    """Every word of the English default templates and of the English texts the summaries
    compute."""
    texts: list[str] = []
    for parts in DEFAULTS.values():
        for source in parts.values():
            stripped = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|<[^>]*>", " ", source, flags=re.DOTALL)
            texts.append(stripped)
            # the literal strings inside expressions (" (over capacity)", ", escalated to ")
            texts.extend(re.findall(r'"([^"]*)"', source))
    for catalogue in (SUMMARY_WORDS, RENDER_WORDS, SAY):
        texts.extend(v[Language.EN] for v in catalogue.texts.values())
    texts += ["acknowledge", "start", "finish", "acknowledged", "started", "tasks", "task",
              "problem", "problems", "delegated", "done", "overdue", "waiting", "taken back",
              "missed", "bounced", "new", "due today", "about to be late"]  # fmt: skip
    words = {w.lower() for text in texts for w in re.findall(r"[A-Za-z]{3,}", text)}
    return words - _NOT_ENGLISH_ONLY


def test_the_english_word_list_is_the_defaults() -> None:
    words = _english_words()
    assert {"delegated", "overdue", "shadow", "turn", "capacity", "given", "back"} <= words
    assert {"escalated", "refine", "reminders", "matrix", "nothing", "about"} <= words


def test_no_default_text_is_left_in_english_in_italian() -> None:
    """Everything the Italian defaults show (client text aside: here Italian words) has no
    word of the English defaults."""
    english = _english_words()
    for rendered in rendered_all(ITALIAN):
        for text in (rendered.title, rendered.markdown, rendered.html):
            plain = re.sub(r"<[^>]*>|https?://\S+?(?=[)\"])|\bu\d+\b", " ", text)
            found = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", plain)} & english
            assert not found, (found, text)


def test_the_italian_reads_as_an_italian_office_writes() -> None:
    summary, digest, quiet, empty = rendered_all(ITALIAN)
    for phrase in (
        "**Attività delegate: 16**",
        "**In ritardo (12)**",
        "**In scadenza entro 3 giorni (1)**",
        "**Completate nel periodo (3)**",
        "**In attesa**",
        'La regola in prova "Fattura Rossi" avrebbe agito su 1 attività: vuoi attivarla?',
        "**Riprese dal titolare (1)**",
        "non iniziata in tempo",
        ", segnalata a Fattura Rossi",
        "**Riassegnate dopo una seconda scadenza mancata (1)**",
        '**Respinte: "non è per me"**',
        "1 attività respinta",
        "**Solleciti inviati:** 1",
        "**Tempo restituito:** circa 1 h 15 min",
        "**Matrice di Covey, attività aperte:** da fare 1",
        "**Assistenti:**",
        "scadenza lun 2 nov",
    ):
        assert phrase in summary.markdown, phrase
    assert summary.title.startswith("Fattura Rossi, 20-27 nov 2026: 16 delegate, 3 fatte,")
    assert "Fuori strada: 12 attività in ritardo." in summary.markdown
    assert "**Matrice di Covey:** non disponibile" in quiet.markdown
    for phrase in (
        "**Fattura Rossi: le tue attività, ven 4 dic**",
        "Attività aperte: 14 su una capacità di 5 (oltre la capacità).",
        "**Quasi in ritardo (3)**",
        "da prendere in carico entro ven 4 dic 10:00",
        "da completare entro ven 4 dic 14:00",
        "**Nuove per te (1)**",
        "**In scadenza oggi (1)**",
        "· Studio Rossi ·",
    ):
        assert phrase in digest.markdown, phrase
    assert digest.title == (
        "Fattura Rossi, ven 4 dic: 1 nuova, 1 in scadenza oggi, 12 in ritardo, "
        "3 quasi in ritardo, aperte: 14 su 5"
    )
    assert "Niente di nuovo, niente in scadenza oggi, niente in ritardo." in empty.markdown
    assert "<strong>Quasi in ritardo (3)</strong>" in digest.html


def test_english_is_unchanged_by_a_british_locale() -> None:
    summary = render_summary(full_summary())
    assert summary == render_summary(full_summary(voice=Voice.of(locale="en_GB")))
    assert render_digest(full_digest()) == render_digest(full_digest(voice=Voice.of("en")))
    assert "· due Mon 2 Nov" in summary.markdown
    assert "**Delegated: 16**" in summary.markdown


# ----------------------------------------------------------------------------- dates and numbers


def _many(count: int, voice: Voice) -> ClientSummary:
    done = [
        _delegation(str(i), f"t{i}", status="done", closed_at=at(25), delegated_at=at(22))
        for i in range(count)
    ]
    return build_summary(SummaryInputs("Studio", "Europe/Rome", START, END, done, voice=voice))


def test_numbers_follow_the_locale() -> None:
    italian, english = _many(1234, ITALIAN), _many(1234, ENGLISH)
    assert "1.234 delegate, 1.234 fatte" in italian.headline
    assert "1,234 delegated, 1,234 done" in english.headline
    assert "**Attività delegate: 1.234**" in render_summary(italian).markdown
    assert "e altre 1.224" in render_summary(italian).markdown
    assert "and 1,224 more" in render_summary(english).markdown


def test_dates_follow_the_locale() -> None:
    italian, english = full_summary(voice=ITALIAN), full_summary()
    assert italian.period_text == "20-27 nov 2026"
    assert english.period_text == "20-27 Nov 2026"
    swiss = full_digest(voice=Voice.of(locale="it_CH"))
    assert swiss.headline.startswith("Fattura Rossi, ven 4 dic:")
    assert "scadenza ven 4 dic" in render_digest(swiss).markdown


# ----------------------------------------------------------------------------- overrides


def test_an_overridden_template_still_wins_in_italian() -> None:
    summary = full_summary(voice=ITALIAN)
    templates = MessageTemplates(
        markdown="Custom {{ plural(summary.done|length, 'task') }}, "
        "{{ plural(summary.due_soon_days, 'giorno', 'giorni') }}, {{ day(summary.delegated[0]"
        ".due_on) }}, {{ status(summary.status_type) }}, {{ number(12345) }}"
    )
    rendered = render_summary(summary, templates)
    assert rendered.markdown == "Custom 3 tasks, 3 giorni, lun 2 nov, Fuori strada, 12.345"
    assert rendered.title.startswith("Fattura Rossi, 20-27 nov 2026: 16 delegate")  # the default
    assert "<strong>Attività delegate: 16</strong>" in rendered.html
    assert not rendered.template_errors


def test_a_client_template_in_english_keeps_working_in_english() -> None:
    templates = MessageTemplates(title="{{ plural(summary.done|length, 'task') }} done")
    assert render_summary(full_summary(), templates).title == "3 tasks done"


def test_the_italian_defaults_compile_with_the_same_names() -> None:
    for kind, parts in DEFAULTS_IN[Language.IT].items():
        assert set(parts) == set(PARTS)
        for part, source in parts.items():
            compile_message_template(source, kind, part)


# ----------------------------------------------------------------------------- the glue's texts


def test_override_reasons_are_said_in_the_voice() -> None:
    assert taken_back_reason("reassigned to Anna", ITALIAN) == "riassegnata a Anna"
    assert taken_back_reason("taken back by Lucia", ITALIAN) == "ripresa da Lucia"
    assert taken_back_reason("tag delegated removed", ITALIAN) == "tag delegated rimosso"
    assert (
        taken_back_reason("unassigned by a person", ITALIAN) == "assegnazione tolta da una persona"
    )
    assert taken_back_reason("taken back by delegator undo", ITALIAN) == (
        "annullata con delegator undo"
    )
    assert taken_back_reason("bounced by Giulia Bianchi: serve la firma", ITALIAN) == (
        "restituita da Giulia Bianchi: serve la firma"
    )
    assert taken_back_reason("bounced by Giulia Bianchi", ITALIAN) == "restituita da Giulia Bianchi"
    assert taken_back_reason("something else", ITALIAN) == "something else"
    assert taken_back_reason("reassigned to Anna", ENGLISH) == "reassigned to Anna"


def test_queue_reasons_are_said_in_the_voice() -> None:
    nobody = "nobody can take it: giulia at capacity (25/25); marco away (2026-12-24..2027-01-06)"
    assert queued_reason(nobody, ITALIAN) == (
        "nessuno può prenderla: giulia al completo (25/25); marco assente (2026-12-24..2027-01-06)"
    )
    assert queued_reason("marco cannot take it: lacks the skill booking", ITALIAN) == (
        "marco non può prenderla: non ha la competenza booking"
    )
    assert queued_reason("marco cannot take it: has no working hours", ITALIAN) == (
        "marco non può prenderla: non ha orari di lavoro"
    )
    assert queued_reason("nobody can take it: anna next shift Tue 09:00", ITALIAN) == (
        "nessuno può prenderla: anna prossimo turno mar 09:00"
    )
    assert queued_reason("nobody can take it: anna is on a boat", ITALIAN) == (
        "nobody can take it: anna is on a boat"  # worded otherwise: as recorded
    )
    assert queued_reason(nobody, ENGLISH) == nobody


def _part(client: str, voice: Voice, own: bool) -> DigestInputs:
    return DigestInputs("giulia", "Giulia", "Europe/Rome", NOW, NOW, [], 1, 5, voice=voice,
                        own_language=own, client=client)  # fmt: skip


def test_a_combined_digest_speaks_the_assistants_setting_else_the_first_clients() -> None:
    zeta, alfa = _part("Zeta", ITALIAN, False), _part("alfa", ENGLISH, False)
    assert combined_digest_inputs([zeta, alfa]).voice == ENGLISH  # alfa first by name
    own = _part("Zeta", ITALIAN, True)
    assert combined_digest_inputs([alfa, own]).voice == ITALIAN  # the assistant's own setting
    assert combined_digest_inputs([alfa]).voice == ENGLISH


# ----------------------------------------------------------------------------- any name, any count

_NAMES = st.text(min_size=0, max_size=300)
_COUNTS = st.integers(min_value=0, max_value=10**7)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_NAMES, load=_COUNTS, capacity=_COUNTS, days=st.integers(0, 400), italian=st.booleans())
def test_any_name_and_any_count_render_in_both_languages(
    name: str, load: int, capacity: int, days: int, italian: bool
) -> None:
    voice = ITALIAN if italian else ENGLISH
    summary = replace(full_summary(name, voice), due_soon_days=days)
    digest = replace(full_digest(name, voice), load=load, capacity=capacity)
    for rendered in (render_summary(summary), render_digest(digest)):
        check_rich_text(rendered.html)
        assert "\n" not in rendered.title
        assert len(rendered.title) <= TITLE_LENGTH


# ----------------------------------------------------------------------------- from the client file


@pytest.fixture
def italian_agency(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    """The example agency with ``language: it``, and Marco reading his digest in English."""
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
    assert "\n  language: it\n" in text  # the example is Italian; Marco reads English
    text = text.replace("    timezone: Europe/Lisbon\n", "    timezone: Europe/Lisbon\n"
                        "    language: en\n", 1)  # fmt: skip
    (rules / "small-agency.yaml").write_text(text, encoding="utf-8")
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.setenv("DELEGATOR_RULES_DIR", str(rules))
        monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
        monkeypatch.setenv("DELEGATOR_LOG_LEVEL", "warning")
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", server.token("anna@northwind.example"))
        yield server


def test_the_client_files_language_reaches_its_summary_and_digests(
    italian_agency: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once", "--client", "small-agency"]) == 0
    capsys.readouterr()
    assert main(["summary", "--client", "small-agency", "--period", "7d", "--digests"]) == 0
    out = capsys.readouterr().out
    summary, giulia, marco = out.split("\n# ")
    assert summary.startswith("# Northwind Studio, ")
    for section in ("**Attività delegate:", "**Matrice di Covey", "**Assistenti:**"):
        assert section in summary
    assert "le tue attività" in giulia  # the client's language
    assert "your tasks" in marco  # his own
    english = _english_words()
    for text in (summary, giulia):
        # client text aside: task names (links), quoted rule names, the lines of rule names
        # and a rule's description under a new task
        plain = re.sub(r"\[(?:\\.|[^\]])*\]\([^)]*\)|\"[^\"]*\"", " ", text)
        plain = re.sub(r"(?m)^(- .*: \d+|  .*)$", " ", plain)
        left = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", plain)} & english
        assert not left, (left, text)


@pytest.mark.parametrize(
    ("voice", "said"),
    [(ENGLISH, ", escalated to the owner"), (ITALIAN, ", segnalata al titolare")],
)
def test_an_escalation_to_the_owner_names_the_owner_not_the_key(voice: Voice, said: str) -> None:
    inputs = replace(
        full_inputs(voice=voice), followups=[_fact("601", "Fattura", "escalation", to="owner")]
    )
    rendered = render_summary(build_summary(inputs))
    assert said in rendered.markdown
    assert said in rendered.html


def test_every_queue_reason_the_assignment_writes_is_said_as_the_assignment_says_it() -> None:
    """The reasons kept in English are read back in the summary: whatever core.assignment
    writes for each state, the summary's Italian is the assignment's own Italian."""
    shift = datetime(2026, 12, 8, 9, 0, tzinfo=ZoneInfo("Europe/Rome"))
    candidates = tuple(
        Candidate(f"p{n}", 3, 5, False, state, next_shift=shift, detail=detail)
        for n, (state, detail) in enumerate(
            [
                (Availability.LACKS_SKILL, "booking"),
                (Availability.AWAY, "2026-12-24..2027-01-06"),
                (Availability.AT_CAPACITY, ""),
                (Availability.NO_HOURS, ""),
                (Availability.NEXT_SHIFT, ""),
                (Availability.AVAILABLE, ""),
                (Availability.WORKING, ""),
            ]
        )
    )
    nobody = Choice(None, None, "", candidates, "queue", pick=Pick.NOBODY)
    assert queued_reason(choice_reason(nobody), ITALIAN) == choice_reason(nobody, ITALIAN)
    for candidate in candidates:
        named = Choice(None, None, "", (candidate,), "queue", pick=Pick.NAMED_CANNOT)
        assert queued_reason(choice_reason(named), ITALIAN) == choice_reason(named, ITALIAN)
