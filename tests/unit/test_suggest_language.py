"""`delegator suggest` in the client's language: an Italian client reads its suggestions in
Italian, with none of the English the service writes for an English one, and its suggested rules
are named and described in Italian (so its file and its Italian summary are); the English is
unchanged; hostile task, section and project names come through as they are in both languages.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from test_rulemining import DIRECTORY, HISTORY, NOW, handed, kept, task

from delegator.cli.suggest import Result, render
from delegator.clients import load_clients
from delegator.core.language import ENGLISH, ITALIAN, Voice
from delegator.core.rulefile import parse_client_file
from delegator.core.rulemining import (
    Example,
    Mined,
    Score,
    WordStat,
    append_rules,
    stat_line,
    suggest,
)
from delegator.ports import History
from examplefiles import EXAMPLES, in_english

ITALIAN_FILE = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
ENGLISH_FILE = in_english(ITALIAN_FILE)

# The unit history, and what makes every line of the output appear: a task like the invoices
# that went to Marco, a hotel that went to Giulia, seven hand-offs to Giulia no rule takes.
RICH = [
    *HISTORY,
    handed(31, "Fattura per lo studio", "marco"),
    handed(32, "Pay rent", "giulia"),
    handed(33, "Hotel a Roma", "giulia"),
    *(
        handed(40 + i, w, "giulia")
        for i, w in enumerate(["Alfa", "Bravo", "Delta", "Eco", "Golf", "Kilo", "Lima"])
    ),
]
# No pattern: the owner hands off and keeps the same kind of tasks.
PLAIN = [
    handed(1, "Alpha one"), handed(2, "Beta two", "marco"), handed(3, "Gamma three"),
    kept(4, "Alpha five"), kept(5, "Beta six"), kept(6, "Gamma seven"),
]  # fmt: skip


def output(
    tmp_path: Path, text: str, examples: list[Example], *, truncated: tuple[str, ...] = ()
) -> tuple[str, Mined]:
    """What `delegator suggest --write` prints for this client file and history."""
    folder = tmp_path / f"rules-{len(list(tmp_path.iterdir()))}"
    folder.mkdir()
    (folder / "small-agency.yaml").write_text(text, encoding="utf-8")
    (entry,) = load_clients(folder)
    mined = suggest(text, str(entry.path), examples, now=NOW, directory=DIRECTORY)
    history = History(tuple(examples), DIRECTORY, 1234, 8, 23, NOW, truncated)
    copy = folder / "copy.yaml"
    result = Result(
        entry,
        NOW - timedelta(days=180),
        history,
        mined,
        500,
        copy if mined.suggestions else None,
        copy,
    )
    return render(result), mined


def chrome(out: str, mined: Mined, examples: list[Example]) -> str:
    """The service's own words in an output: without the task names, the words counted, the
    rules' YAML, names and targets, the client's names, the paths, and the rule language's
    own words (rules:, mode: shadow, --max-tasks)."""
    block = {f"  {line}" for line in mined.block.splitlines()}
    kept_lines = [line for line in out.splitlines() if line not in block]
    text = "\n".join(kept_lines)
    strip = [e.task.name for e in examples]
    strip += [f"{w.word}:" for w in mined.words]
    strip += [s.name for s in mined.suggestions]
    strip += ["Northwind Studio", "small-agency", "giulia", "marco"]
    strip += ["rules:", "mode: shadow", "mode: active", "--max-tasks", "yaml"]
    for piece in sorted(strip, key=len, reverse=True):
        text = text.replace(piece, " ")
    return re.sub(r"/\S+", " ", text)  # the paths written


# English words an Italian office writes too: "tag", "file", "quota" ("unità di quota"), and
# "delegate" ("4 su 13 delegate").
ITALIAN_TOO = {"tag", "file", "quota", "delegate"}


def words(text: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[^\W\d_]{3,}", text)}


def test_the_italian_output_has_none_of_the_english_one_words(tmp_path: Path) -> None:
    english = italian = ""
    for examples in (RICH, PLAIN):
        out, mined = output(tmp_path, ENGLISH_FILE, examples, truncated=("owner", "giulia"))
        english += chrome(out, mined, examples)
        out, mined = output(tmp_path, ITALIAN_FILE, examples, truncated=("owner", "giulia"))
        italian += chrome(out, mined, examples)
    # Every English phrase appears (the scene covers the output), and none in Italian.
    for phrase in (
        "Suggested rules for", "from the history since", "tasks handed off by hand",
        "kept by the owner", "only the first", "Words that tell them apart", "delegated",
        "precision", "recall", "would delegate, kept by the owner", "went to another",
        "would miss", "and 2 more", "more hand-offs to", "the other suggestions",
        "Paste under", "No rule to suggest", "wrote", "nothing written", "quota units",
    ):  # fmt: skip
        assert phrase in english, phrase
    shared = words(english) & words(italian)
    assert shared <= ITALIAN_TOO, shared
    for fragment in re.split(r"[\d\"«»():,;/%.\n]+", english):
        if re.search(r"[^\W\d_]{3,}", fragment) and fragment.strip() not in ITALIAN_TOO:
            said = rf"(?<!\w){re.escape(fragment.strip())}(?!\w)"
            assert not re.search(said, italian), fragment


def test_the_italian_output_as_an_italian_office_writes_it(tmp_path: Path) -> None:
    out, _ = output(tmp_path, ITALIAN_FILE, RICH, truncated=("owner", "giulia"))
    lines = out.splitlines()
    assert lines[0] == (
        "Regole suggerite per Northwind Studio (small-agency), dallo storico dall'8 giu 2026: "
        "21 attività passate a mano, 5 tenute dal titolare."
    )
    assert lines[1] == "  (lette solo le prime 500 attività per il titolare e giulia: --max-tasks)"
    assert "Parole che le distinguono:" in lines
    assert "  fattura/fatture: 4 su 21 delegate, 0 su 5 tenute" in lines
    assert "1. «Suggerita: fattura, invoice o pay → giulia»" in lines
    assert "   precisione 8/10 (80%), copertura 8/16 (50%)" in lines
    assert (
        "   le darebbe a giulia, ma sono andate ad altri: «Fattura per lo studio» (marco)" in lines
    )
    assert "   non prenderebbe: «Alfa», «Bravo», «Delta», «Eco», «Golf» e altre 2" in lines
    assert "   (ancora 1 attività passata a giulia: la prende un'altra regola suggerita)" in lines
    assert lines[-1] == "lette 1.234 attività in 8 richieste (23 unità di quota)"
    plain, _ = output(tmp_path, ITALIAN_FILE, PLAIN)
    assert (
        "Nessuna regola da suggerire: nessuna parola, progetto, sezione, tag, campo o abitudine "
        "di scadenza copre almeno 3 attività passate a mano con una precisione di almeno 80%."
    ) in plain.splitlines()
    assert plain.splitlines()[-2].startswith("niente scritto in ")


def test_the_english_output_is_unchanged(tmp_path: Path) -> None:
    out, _ = output(tmp_path, ENGLISH_FILE, RICH, truncated=("owner", "giulia"))
    lines = out.splitlines()
    assert lines[0] == (
        "Suggested rules for Northwind Studio (small-agency), from the history since "
        "2026-06-08: 21 tasks handed off by hand, 5 kept by the owner."
    )
    assert lines[1] == "  (only the first 500 tasks of owner, giulia were read: --max-tasks)"
    assert '1. "Suggested: fattura or invoice or pay to giulia"' in lines
    assert "   precision 8/10 (80%), recall 8/16 (50%)" in lines
    assert '   would miss: "Alfa", "Bravo", "Delta", "Eco", "Golf" and 2 more' in lines
    assert "   (1 more hand-offs to giulia: the other suggestions)" in lines
    assert lines[-1] == "read 1234 tasks in 8 requests (23 quota units)"
    assert "Paste under rules: (shadow mode: the summary says how often they would have" in lines


def test_the_suggested_rules_are_named_and_described_in_the_files_language() -> None:
    italian = suggest(ITALIAN_FILE, "agency.yaml", HISTORY, now=NOW, directory=DIRECTORY)
    english = suggest(ENGLISH_FILE, "agency.yaml", HISTORY, now=NOW, directory=DIRECTORY)
    assert [s.name for s in english.suggestions] == [
        "Suggested: fattura or invoice or pay to giulia",
        "Suggested: hotel or prenotazione to marco",
    ]
    assert [s.name for s in italian.suggestions] == [
        "Suggerita: fattura, invoice o pay → giulia",
        "Suggerita: hotel o prenotazione → marco",
    ]
    assert (
        'description: "Suggested from the history: 7 of the 8 tasks like this went to giulia."'
        in english.block
    )
    assert (
        'description: "Suggerita dallo storico: 7 dell\'8 attività così sono andate a giulia."'
        in italian.block
    )
    # Only the names and descriptions differ: the conditions and the scores are the same.
    assert [s.score for s in italian.suggestions] == [s.score for s in english.suggestions]
    strip = re.compile(r"^(?:- name|  description): .*\n", re.MULTILINE)
    assert strip.sub("", italian.block) == strip.sub("", english.block)
    # They pass check in the client's file.
    parsed = parse_client_file(append_rules(ITALIAN_FILE, italian.block), "agency.yaml")
    assert parsed.errors == ()
    assert {s.name for s in italian.suggestions} <= {r.rule.name for r in parsed.rules}


def test_sections_due_dates_and_figures_said_in_italian() -> None:
    history = [handed(i, f"Nome{i}", section="Bookings") for i in range(1, 5)]
    history += [kept(10 + i, f"Altro{i}") for i in range(4)]
    mined = suggest(ITALIAN_FILE, "agency.yaml", history, now=NOW, directory=DIRECTORY)
    assert mined.suggestions[0].name == "Suggerita: sezione Bookings di Client Admin → giulia"
    assert "Suggerita dallo storico: 4 delle 4 attività" in mined.block
    stat = WordStat("fattura/fatture", "fattur", 1234, 0, ())
    assert (
        stat_line(stat, 2000, 5, ITALIAN)
        == "fattura/fatture: 1.234 su 2.000 delegate, 0 su 5 tenute"
    )
    assert stat_line(stat, 2000, 5) == "fattura/fatture: 1234 of 2000 delegated, 0 of 5 kept"
    score = Score(matched=8, right=8, handed=11, wrong=(), missed=())
    assert score.said(ITALIAN) == "precisione 8/8 (100%), copertura 8/11 (73%)"
    assert score.said(ENGLISH) == score.line == "precision 8/8 (100%), recall 8/11 (73%)"


@pytest.mark.parametrize("voice", [ENGLISH, ITALIAN], ids=["en", "it"])
def test_hostile_names_come_through_as_they_are(tmp_path: Path, voice: Voice) -> None:
    """Quotes, a newline, template braces and right-to-left marks in a section's and the tasks'
    names: the rule named after the section loads back with that very name, and the output
    shows the names as they are (no template filled in, no crash)."""
    section = 'Fatture "urgenti"\n{{ owner }} {0} \u202e\u0639\u0631\u0628\u064a\u202c'
    text = ENGLISH_FILE if voice is ENGLISH else ITALIAN_FILE
    names = [
        'Uno "1"',
        "Due\nriga",
        "Tre {{ x }} {name}",
        "Quattro \u202e\u0631\u0627\u0628\u0639\u202c",
    ]
    history = [handed(i, n, section=section) for i, n in enumerate(names, 1)]
    history += [kept(10 + i, f"Altro{i} {{{{ y }}}}") for i in range(4)]
    history.append(Example(task(20, "Cinque '5'"), "giulia"))
    out, mined = output(tmp_path, text, history)
    (first,) = mined.suggestions
    word = "section" if voice is ENGLISH else "sezione"
    assert section in first.name
    assert first.name.startswith("Suggested: " if voice is ENGLISH else "Suggerita: ")
    assert f"{word} {section} " in first.name
    parsed = parse_client_file(append_rules(text, mined.block), "agency.yaml")
    assert parsed.errors == ()
    assert first.name in {r.rule.name for r in parsed.rules}
    assert first.name in out
    assert "Cinque '5'" in out  # missed, named as it is
    assert "{{ owner }} {0}" in out


@pytest.mark.parametrize("voice", [ENGLISH, ITALIAN], ids=["en", "it"])
def test_a_task_name_on_two_lines_is_listed_on_one(tmp_path: Path, voice: Voice) -> None:
    text = ENGLISH_FILE if voice is ENGLISH else ITALIAN_FILE
    history = [
        handed(i, name, section="Fatture")
        for i, name in enumerate(("Aruba", "Hetzner", "Adobe", "Google"), 1)
    ]
    history += [kept(9, "Sei\nrighe", section="Fatture"), kept(10, "Strategia")]
    out, mined = output(tmp_path, text, history)
    assert len(mined.suggestions) == 1
    assert "Sei righe" in out
    assert "Sei\nrighe" not in out
