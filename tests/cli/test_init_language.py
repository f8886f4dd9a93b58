"""``delegator init`` in the client's language: ``--language it|en``, the default from the time
zone or the watched sections' names, and files in either language that check, test and delegate."""

from __future__ import annotations

import builtins
import io
import json
import re
from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest

from delegator.asana.catalogue import (
    Catalogue,
    Listing,
    Person,
    ProjectInfo,
    SectionInfo,
    WorkspaceInfo,
)
from delegator.cli import main
from delegator.core.engine import Engine
from delegator.core.language import Language
from delegator.core.rulefile import parse_client_file
from delegator.core.ruletests import parse_test_file, run_cases
from delegator.sandbox import SandboxServer
from delegator.starter import (
    ENGLISH,
    ITALIAN,
    Answers,
    TokenRef,
    default_language,
    rule_file,
    rule_tests,
    world_file,
)

NORTHWIND = [
    "init", "--sandbox", "--no-input", "--workspace", "Northwind Studio",
    "--project", "Operations", "--project", "Client Admin",
]  # fmt: skip
ITALIAN_DELEGATED = set(ITALIAN.samples[:4])
ITALIAN_LEFT_ALONE = set(ITALIAN.samples[4:])
ENGLISH_DELEGATED = set(ENGLISH.samples[:4])

# What the English starter writes and the Italian one must not: every line of its texts that the
# Italian does not share (the example `assistants:` lines, a sample task's Italian name...), and
# the phrases a reader would notice first.
ENGLISH_PHRASES = {
    "this one is yours now",
    "could you take care of this booking",
    "Hi {{ assignee.first_name }}",
    "without a date",
    "Invoices and receipts",
    "Bookings and appointments",
    "Inbox chores",
    "Starter rules for",
    "the owner's",
    "never touched",
    "Rule tests for",
    "A sandbox world for",
    "Sample tasks for",
}


def _lines(value: object) -> set[str]:
    """The fragments of a text between its fields and templates, of two words or more."""
    texts = value if isinstance(value, tuple) else (value,)
    parts = (re.split(r"\{\{.*?\}\}|\{[^}]*\}|\n", str(text)) for text in texts)
    fragments = (part.strip(" #:.,()") for group in parts for part in group)
    return {fragment for fragment in fragments if len(fragment.split()) >= 2}


for _field in fields(ENGLISH):
    ENGLISH_PHRASES |= _lines(getattr(ENGLISH, _field.name)) - _lines(getattr(ITALIAN, _field.name))


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
    for name in ("ASANA_TOKEN", "ASANA_TOKEN_NORTHWIND_STUDIO", "ASANA_TOKEN_STUDIO_ROSSI"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _comments(sandbox: SandboxServer, name: str) -> list[str]:
    return [s.text for s in sandbox.world.task(name).stories if s.type == "comment"]


def _init_check_test_once(
    argv: list[str], workdir: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str, list[str]]:
    """init, check, test and one cycle on the written world, as init's next steps say: what
    init said, the rule file, and the tasks the cycle assigned."""
    assert main(argv) == 0
    said = capsys.readouterr().out
    text = (workdir / "rules" / "northwind-studio.yaml").read_text(encoding="utf-8")
    assert main(["check", "rules"]) == 0
    assert main(["test", "rules"]) == 0
    assert "8 passed, 0 failed" in capsys.readouterr().out
    world = workdir / "northwind-studio.world.yaml"
    assert main(["once", "--sandbox", "--seed", str(world), "--rules", "rules", "--json"]) == 0
    [report] = json.loads(capsys.readouterr().out)["clients"]
    assigned = sorted(
        t["name"]
        for t in report["tasks"]
        if any(s["kind"] == "assign" and s["status"] == "done" for s in t["steps"])
    )
    return said, text, assigned


def test_italian_by_default_for_an_italian_time_zone_end_to_end(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said, text, assigned = _init_check_test_once(NORTHWIND, workdir, capsys)
    assert "Language: it (Italian), since the time zone Europe/Rome is Italian" in said
    assert "(--language en for English)" in said
    assert "  language: it    # commenti e riepiloghi in italiano\n" in text
    assert "  - name: Fatture e ricevute alle assistenti\n" in text
    assert "  - name: Viaggi e prenotazioni\n" in text
    assert "  - name: Posta e piccole incombenze\n" in text
    assert "Ciao {{ assignee.first_name }}, questa la segui tu (regola «{{ rule.name }}»)." in text
    assert assigned == sorted(ITALIAN_DELEGATED)
    tests = (workdir / "rules" / "northwind-studio.test.yaml").read_text(encoding="utf-8")
    world = (workdir / "northwind-studio.world.yaml").read_text(encoding="utf-8")
    for phrase in sorted(ENGLISH_PHRASES):
        assert phrase not in text, phrase
        assert phrase not in tests, phrase
        assert phrase not in world, phrase


def test_the_italian_files_delegate_with_italian_comments_on_the_sandbox(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*NORTHWIND, "--language", "it"]) == 0
    said = capsys.readouterr().out
    assert "Language:" not in said  # chosen by flag: nothing to explain
    world = workdir / "northwind-studio.world.yaml"
    with SandboxServer.from_fixture(world) as sandbox:
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", sandbox.base_url)
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND_STUDIO", sandbox.token("anna@northwind.example"))
        assert main(["once", "--rules", "rules"]) == 0
        for name in ITALIAN_DELEGATED:
            task = sandbox.world.task(name)
            assert task.assignee is not None
            assert task.assignee.email in {"giulia@va-agency.example", "marco@va-agency.example"}
            [comment] = _comments(sandbox, name)
            assert comment.startswith(("Giulia", "Marco", "Ciao ")), comment
            assert (
                "questa la segui tu (regola «Fatture e ricevute alle assistenti»)" in comment
                or "ti occupi tu di questa prenotazione? Grazie!" in comment
            ), comment
            assert not any(phrase in comment for phrase in ENGLISH_PHRASES), comment
        for name in ITALIAN_LEFT_ALONE:
            task = sandbox.world.task(name)
            assert task.assignee is not None
            assert task.assignee.email == "anna@northwind.example", name
            assert _comments(sandbox, name) == []
        train = sandbox.world.task("Prenotare il treno per la fiera di Milano")
        assert train.due_on is not None


def test_english_by_flag_end_to_end_is_the_english_starter(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said, text, assigned = _init_check_test_once([*NORTHWIND, "--language", "en"], workdir, capsys)
    assert "Language:" not in said
    assert "  language: en    # comments, summaries and digests in English\n" in text
    assert "  - name: Invoices and receipts\n" in text
    assert 'Hi {{ assignee.first_name }}, this one is yours now (rule "{{ rule.name }}").' in text
    assert "Ciao" not in text
    assert assigned == sorted(ENGLISH_DELEGATED)


def test_english_by_default_outside_italy_and_why(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*NORTHWIND, "--timezone", "Europe/London"]) == 0
    said = capsys.readouterr().out
    assert (
        "Language: en (English), since neither the time zone (Europe/London) nor the watched "
        "projects' section names are Italian (--language it for Italian)" in said
    )
    text = (workdir / "rules" / "northwind-studio.yaml").read_text(encoding="utf-8")
    assert "  language: en    #" in text
    assert main(["check", "rules"]) == 0


@pytest.mark.parametrize("zone", ["Europe/Rome", "Europe/San_Marino", "Europe/Vatican"])
def test_an_italian_time_zone_gives_italian(zone: str) -> None:
    chosen = default_language(zone, ())
    assert chosen.language is Language.IT
    assert chosen.reason() == f"the time zone {zone} is Italian"


def _project(*sections: str) -> ProjectInfo:
    return ProjectInfo(
        "200", "Admin", tuple(SectionInfo(str(300 + n), s) for n, s in enumerate(sections))
    )


def test_mostly_italian_section_names_give_italian_elsewhere() -> None:
    italian = default_language("Europe/Zurich", [_project("Posta in arrivo", "Fatture", "Done")])
    assert italian.language is Language.IT
    assert italian.sections == ("Posta in arrivo", "Fatture")
    assert "sections are named in Italian (Posta in arrivo, Fatture)" in italian.reason()
    mixed = default_language("Europe/Zurich", [_project("Fatture", "Bookings", "Inbox")])
    assert mixed.language is Language.EN
    none = default_language("America/New_York", [_project("To do", "Doing")])
    assert none.language is Language.EN


def test_italian_section_names_make_init_italian_outside_italy(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A world whose watched project has "Fatture", "Prenotazioni" and "Posta in arrivo"
    sections, a client in Lugano: Italian, and init says why."""
    anna = Person("101", "Anna Rossi", "anna@studio.example")
    giulia = Person("102", "Giulia Bianchi", "giulia@va.example")
    admin = _project("Posta in arrivo", "Fatture", "Prenotazioni")
    seen = Catalogue(
        WorkspaceInfo("1000", "Studio Rossi", True, ("studio.example",)),
        anna,
        Listing((admin,)),
        Listing(()),
        Listing(()),
        Listing((anna, giulia)),
    )
    answers = Answers(
        "Studio Rossi", "studio-rossi", TokenRef(env="X"), "Europe/Zurich", anna, (giulia,),
        (admin,), date(2026, 12, 4), Language.EN,
    )  # fmt: skip
    seed = workdir / "seed.yaml"
    seed.write_text(world_file(seen, answers), encoding="utf-8")
    argv = ["init", "--sandbox", "--seed", str(seed), "--no-input", "--project", "Admin",
            "--timezone", "Europe/Zurich"]  # fmt: skip
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert (
        "Language: it (Italian), since the watched projects' sections are named in Italian "
        "(Posta in arrivo, Fatture, Prenotazioni) (--language en for English)" in said
    )
    text = (workdir / "rules" / "studio-rossi.yaml").read_text(encoding="utf-8")
    assert "  language: it    #" in text
    assert 'section: { project: "Admin", name: "Fatture" }' in text
    assert main(["check", "rules"]) == 0
    assert main(["test", "rules"]) == 0
    assert "8 passed, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["fr", "italian", ""])
def test_a_language_the_starter_does_not_write_is_one_line_exit_2(
    wrong: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*NORTHWIND, "--language", wrong]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "delegator init: --language: the starter is written in it (Italian) or en (English), "
        f"not {wrong!r}\n"
    )
    assert not (workdir / "rules").exists()
    assert not (workdir / "northwind-studio.world.yaml").exists()


def test_the_language_flag_takes_upper_case(workdir: Path) -> None:
    assert main([*NORTHWIND, "--language", "IT"]) == 0
    assert "  language: it    #" in (workdir / "rules" / "northwind-studio.yaml").read_text()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_init_asks_the_language_and_asks_again_for_one_it_cannot_write(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["1,2", "", "", "", "fr", "en"])
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(builtins, "input", answer)
    assert main(["init", "--sandbox", "--workspace", "Northwind Studio"]) == 0
    out = capsys.readouterr().out
    assert prompts[-2:] == ["Language of the file (it/en) [it]: "] * 2
    assert "  type it or en" in out
    assert "Language:" not in out  # answered, not defaulted
    text = (workdir / "rules" / "northwind-studio.yaml").read_text(encoding="utf-8")
    assert "  language: en    #" in text
    assert "  - name: Invoices and receipts\n" in text


# ---------------------------------------------------------------- the starter in Italian


def _failures(seen: Catalogue, chosen: Answers) -> list[str]:
    loaded = parse_client_file(rule_file(seen, chosen), "starter.yaml")
    if loaded.errors:
        return [str(e) for e in loaded.errors]
    tests, errors, lines = parse_test_file(rule_tests(seen, chosen), "starter.test.yaml")
    if tests is None:
        return [str(e) for e in errors]
    return [r.name for r in run_cases(tests, Engine(loaded), lines) if not r.passed]


@pytest.mark.parametrize("assistants", [0, 1, 2])
@pytest.mark.parametrize("language", list(Language))
def test_the_starter_checks_and_its_tests_pass_in_either_language(
    language: Language, assistants: int
) -> None:
    anna = Person("101", "Anna Rossi", "anna@studio.example")
    people = (Person("102", "Giulia Bianchi", "giulia@va.example"),
              Person("103", "Marco Verdi", "marco@va.example"))[:assistants]  # fmt: skip
    admin = _project("In arrivo", "Fatture", "Prenotazioni")
    seen = Catalogue(
        WorkspaceInfo("1000", "Caffè Rossi: 2027", True, ("studio.example",)),
        anna,
        Listing((admin, ProjectInfo("201", "Altro"))),
        Listing(()),
        Listing(()),
        Listing((anna, *people)),
    )
    chosen = Answers(
        "Caffè Rossi", "caffe-rossi", TokenRef(env="ASANA_TOKEN_CAFFE_ROSSI"), "Europe/Rome",
        anna, people, (admin,), date(2026, 12, 4), language,
    )  # fmt: skip
    assert _failures(seen, chosen) == []
    loaded = parse_client_file(rule_file(seen, chosen), "starter.yaml")
    assert loaded.head is not None
    assert [r.rule.name for r in loaded.rules] == [
        {Language.EN: ENGLISH, Language.IT: ITALIAN}[language].invoices,
        {Language.EN: ENGLISH, Language.IT: ITALIAN}[language].bookings,
        {Language.EN: ENGLISH, Language.IT: ITALIAN}[language].chores,
    ]
    if language is Language.IT:
        text = rule_file(seen, chosen) + rule_tests(seen, chosen) + world_file(seen, chosen)
        assert [p for p in sorted(ENGLISH_PHRASES) if p in text] == []
