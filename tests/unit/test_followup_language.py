"""The comments the follow-up writes, in English and Italian: every default text rendered in both
languages against hostile names, the English ones unchanged word for word, no English left in
the Italian ones, the mention and the lookup of a posted comment by its end, and the Italian
default "not for me" command."""

from __future__ import annotations

import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from delegator.asana.backend import mention_html
from delegator.core.expectations import (
    STAGE_WORDS,
    Activity,
    Clock,
    Deadline,
    Ledger,
    StoryFact,
    StoryKind,
    duration_words,
    find_bounce,
    status_lines,
)
from delegator.core.expectations import TEXTS as CLOCK_TEXTS
from delegator.core.language import ENGLISH, ITALIAN, Language, Voice
from delegator.core.rulefile import parse_client_file
from delegator.core.schema import STAGES, Stage
from delegator.core.timeexpr import Duration
from delegator.followup import (
    TEXTS,
    bounce_text,
    escalation_text,
    reassigned_text,
    reminder_text,
)

ROME = ZoneInfo("Europe/Rome")
DUE = datetime(2026, 12, 7, 13, 0, tzinfo=ROME)
GID = "1200000000000007"
HOSTILE = [
    "Giulia Bianchi",
    "<b>Ciao</b> & <script>alert(1)</script> *bold* _em_ [x](http://e.x) `code` # | ~~s~~",
    "{{ task.name }} {0} {name} {{ }} %s %(x)s",
    "Perché già così? àèìòù ÀÉ «virgolette» “curly” 'apici' — ñ ß 日本",
    "first line\nsecond line\r\n\tthird",
    "Lungo " * 800,
    "@anna https://app.asana.com/0/profile/1 non fa per me: not for me",
    "",
]


FOUR_HOURS = Duration(4, "hours")


def deadline(stage: Stage = "acknowledged", within: Duration | None = FOUR_HOURS) -> Deadline:
    return Deadline(stage, DUE, None, within)


def every_comment(voice: Voice, name: str, rule: str, reason: str) -> list[str]:
    """Each default comment of the follow-up, in every variant, as the voice writes it."""
    when = voice.moment(DUE, ROME)
    texts: list[str] = []
    for stage in STAGES:
        for within in (Duration(4, "hours"), Duration(2, "business_days"), None):
            d = deadline(stage, within)
            texts.append(reminder_text(voice, stage, when, d, rule, "non fa per me"))
            texts.append(reminder_text(voice, stage, when, d, rule, None))
            texts.append(escalation_text(voice, name, stage, when, d, rule, owner=True))
            texts.append(escalation_text(voice, name, stage, when, d, rule, owner=False))
    texts.append(reassigned_text(voice, name, rule))
    for to_owner in (True, False):
        texts.append(bounce_text(voice, name, "", rule, to_owner=to_owner))
        if reason:
            texts.append(bounce_text(voice, name, reason, rule, to_owner=to_owner))
    return texts


def asana_plain_text(rich: str) -> str:
    """A comment's plain text as Asana gives it back: the mention as the person's profile URL,
    the other tags dropped, the entities decoded."""
    linked = re.sub(
        r'<a data-asana-gid="(\d+)"/>', lambda m: f"https://app.asana.com/0/profile/{m[1]}", rich
    )
    return html.unescape(re.sub(r"<[^>]+>", "", linked))


def spaced(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------- hostile names


@pytest.mark.parametrize("voice", [ENGLISH, ITALIAN], ids=["en", "it"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
def test_every_comment_renders_with_hostile_names_and_is_found_by_its_end(
    voice: Voice, hostile: str
) -> None:
    texts = every_comment(voice, hostile or "giulia", hostile or "rule", hostile)
    assert len(set(texts)) == len(texts), "two comments are the same text"
    for text in texts:
        assert text
        assert text.strip() == text
        rich = mention_html(GID, text)
        assert rich.startswith(f'<body><a data-asana-gid="{GID}"/> ')
        assert "<script>" not in rich
        posted = asana_plain_text(rich)
        assert posted.startswith(f"https://app.asana.com/0/profile/{GID} ")
        # find_notice: the comment whose text ends with the notice's, spacing aside.
        assert spaced(posted).endswith(spaced(text))
        # ...and only that one: no other comment of the service ends with this one.
        others = [t for t in texts if t != text]
        assert not any(spaced(o).endswith(spaced(text)) for o in others if len(o) > len(text))


def test_a_hostile_name_is_written_as_given() -> None:
    name = HOSTILE[2]
    for voice in (ENGLISH, ITALIAN):
        assert name in reassigned_text(voice, name, "r")
        assert name in bounce_text(voice, "Giulia", name, "r", to_owner=True)


# ----------------------------------------------------------------------------- English unchanged


def test_the_english_comments_are_those_the_service_always_wrote() -> None:
    when = "Mon 07 Dec 13:00"
    rule = "Travel and bookings"
    assert reminder_text(ENGLISH, "acknowledged", when, deadline(), rule, "not for me") == (
        "Reminder: this task is expected to be acknowledged (a comment or a like is enough) by "
        'Mon 07 Dec 13:00 (acknowledged within 4h, rule "Travel and bookings"). If it is not '
        'for you, reply "not for me: <why>".'
    )
    assert escalation_text(
        ENGLISH, "Giulia Bianchi", "done", when, deadline("done", None), rule, owner=True
    ) == (
        "Giulia Bianchi has not finished this task: it was expected by Mon 07 Dec 13:00 (done by "
        'the due date, rule "Travel and bookings"). Escalated to you as the task\'s owner.'
    )
    assert reassigned_text(ENGLISH, "Giulia Bianchi", rule) == (
        "Reassigned to you: Giulia Bianchi missed two expectations on this task "
        '(rule "Travel and bookings"). Its clock starts again now.'
    )
    assert bounce_text(ENGLISH, "Giulia", "away", rule, to_owner=False) == (
        'Giulia passed this task on: away. It is yours now (rule "Travel and bookings").'
    )
    assert bounce_text(ENGLISH, "Giulia", "", rule, to_owner=True) == (
        "Giulia says this task is not for them. It is back with you, and rule "
        '"Travel and bookings" will leave it alone.'
    )
    d = Deadline("started", DUE, None, Duration(2, "business_days"))
    assert d.describe() == "started within 2 business days"


def test_the_english_clock_lines_are_unchanged() -> None:
    started = datetime(2026, 12, 7, 9, 0, tzinfo=ROME)
    remind = datetime(2026, 12, 7, 11, 0, tzinfo=ROME)
    clk = Clock(started, (Deadline("acknowledged", DUE, remind, Duration(4, "hours")),), ("done",))
    assert status_lines(clk, Ledger(), started, ROME) == [
        "acknowledged within 4h: by Mon 2026-12-07 13:00 (open, reminder Mon 2026-12-07 11:00)",
        "done: no working time ahead (no deadline)",
    ]


# ----------------------------------------------------------------------------- Italian


def test_the_italian_reminder_reads_as_an_italian_office_writes_it() -> None:
    when = ITALIAN.moment(DUE, ROME)
    text = reminder_text(
        ITALIAN, "acknowledged", when, deadline(), "Travel and bookings", "non fa per me"
    )
    assert text == (
        "Promemoria: questa attività va presa in carico (basta un commento o un mi piace) entro "
        "lun 7 dic 13:00 (regola «Travel and bookings»: presa in carico entro 4 ore). Se non fa "
        "per te, rispondi «non fa per me: <motivo>»."
    )
    escalation = escalation_text(
        ITALIAN, "Giulia Bianchi", "acknowledged", when, deadline(), "Fatture", owner=True
    )
    assert escalation.startswith("Giulia Bianchi non ha ancora preso in carico questa attività")


def test_the_italian_clock_lines() -> None:
    started = datetime(2026, 12, 7, 9, 0, tzinfo=ROME)
    remind = datetime(2026, 12, 7, 11, 0, tzinfo=ROME)
    clk = Clock(started, (Deadline("acknowledged", DUE, remind, Duration(4, "hours")),), ("done",))
    assert status_lines(clk, Ledger(), started, ROME, ITALIAN) == [
        "presa in carico entro 4 ore: scade lun 7 dic 2026 13:00 "
        "(aperta, promemoria lun 7 dic 2026 11:00)",
        "completata: nessun orario di lavoro in vista (nessuna scadenza)",
    ]
    assert duration_words(Duration(1, "hours"), ITALIAN) == "1 ora"
    assert duration_words(Duration(3, "days"), ITALIAN) == "3 giorni lavorativi"
    assert duration_words(Duration(1, "weeks"), ITALIAN) == "1 settimana"
    assert duration_words(Duration(30, "minutes"), ITALIAN) == "30 min"


# Words the English texts share with Italian ones, or names and values: not an English phrase.
_SHARED = {"giulia", "bianchi", "regola", "rule", "fatture", "ferie", "dec", "dic", "min"}


def _english_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z']{3,}", text)} - _SHARED


def test_no_english_phrase_is_left_in_the_italian_comments() -> None:
    english = every_comment(ENGLISH, "Giulia Bianchi", "Fatture", "ferie")
    italian = every_comment(ITALIAN, "Giulia Bianchi", "Fatture", "ferie")
    assert len(english) == len(italian)
    for en, it in zip(english, italian, strict=True):
        assert en != it
        left = {w for w in _english_words(en) if re.search(rf"\b{w}\b", it, re.IGNORECASE)}
        # "per" and "non": Italian words the English "not for me" command does not contain
        assert not left - {"non", "per"}, (en, it, left)
    started = datetime(2026, 12, 7, 9, 0, tzinfo=ROME)
    for stage in STAGES:
        for ledger in (Ledger(), Ledger(escalated=frozenset({stage})), Ledger(met={stage: DUE})):
            clk = Clock(started, (Deadline(stage, DUE, started, Duration(4, "hours")),))
            [en_line] = status_lines(clk, ledger, started, ROME)
            [it_line] = status_lines(clk, ledger, started, ROME, ITALIAN)
            left = {w for w in _english_words(en_line) if re.search(rf"\b{w}\b", it_line, re.I)}
            assert not left, (en_line, it_line, left)


def test_every_catalogue_has_its_italian() -> None:
    for catalogue in (TEXTS, CLOCK_TEXTS, STAGE_WORDS):
        for key, versions in catalogue.texts.items():
            assert versions[Language.IT] != versions[Language.EN] or key in {"open"}, key


# ----------------------------------------------------------------------------- "not for me"

HEAD = """\
version: 1
client:
  name: Studio Rossi
  workspace: "1100000000000001"
  token: { env: ASANA_TOKEN_ROSSI }
  timezone: Europe/Rome
LANGUAGE
watch: [my_tasks]
BOUNCE
rules:
  - name: Fatture
    when: { name: { contains: fattura } }
    then: [ { assign: owner } ]
"""


def commands(language: str = "", bounce: str = "") -> tuple[str, ...]:
    text = HEAD.replace("LANGUAGE", f"  language: {language}" if language else "")
    loaded = parse_client_file(text.replace("BOUNCE", bounce), "rules/rossi.yaml")
    assert loaded.head is not None, loaded.errors
    return loaded.head.bounce_commands


def test_an_italian_client_bounces_with_non_fa_per_me_unless_its_file_says_otherwise() -> None:
    assert commands() == ("not for me",)
    assert commands("en") == ("not for me",)
    assert commands("it") == ("non fa per me", "not for me")
    assert commands("it", "bounce: { tag: passo-io }") == ("non fa per me", "not for me")
    assert commands("it", "bounce: { command: passo }") == ("passo",)
    assert commands("it", "bounce: { command: not for me }") == ("not for me",)
    assert commands("it", "bounce: { command: null }") == ()
    assert commands("en", "bounce: { command: null }") == ()


@pytest.mark.parametrize(
    ("comment", "reason"),
    [
        ("Non fa per me: sono in ferie fino al 10", "sono in ferie fino al 10"),
        (
            "https://app.asana.com/0/profile/1 NON FA PER ME — è del commercialista",
            "è del commercialista",
        ),
        ("not for me: no access", "no access"),
        ("Non fa per meno di 100 euro", None),
        ("Questa non fa per me", None),
    ],
)
def test_the_italian_default_command_is_read_in_a_comment(comment: str, reason: str | None) -> None:
    since = datetime(2026, 12, 1, 9, 0, tzinfo=ROME)
    story = StoryFact("42", DUE, StoryKind.COMMENT, comment)
    found = find_bounce(Activity((story,)), "42", since, commands("it"), tagged=False, now=DUE)
    assert (found.reason if found is not None else None) == reason
