"""`delegator suggest` on the demo world: the rules Anna's past hand-offs suggest, scored, as
text, as JSON (its schema) and written into a copy of her file that `check` accepts; bad input
is one line and an exit code; `delegator demo` shows one suggestion in a short, stable scene.
The agency speaks Italian: its text, and the names and descriptions of its suggested rules (in
the text, the JSON and the file written alike), are Italian; the JSON is otherwise English."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from delegator.cli import main
from delegator.sandbox import SandboxServer
from examplefiles import english_examples, in_english

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "json" / "suggest.schema.json").read_text(encoding="utf-8"))
AGENCY = ROOT / "examples" / "small-agency.yaml"
FIRST = "Suggested: fattura or invoice or pay to giulia"
PRIMA = "Suggerita: fattura, invoice o pay → giulia"  # the same rule, for the Italian agency


@pytest.fixture
def sandbox(
    examples_on_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> SandboxServer:
    """The demo world with the examples written in English: what suggest prints is asserted in
    English here (the agency's own Italian: `italian`)."""
    monkeypatch.setenv("DELEGATOR_RULES_DIR", str(english_examples(tmp_path / "rules")))
    return examples_on_sandbox


@pytest.fixture
def italian(examples_on_sandbox: SandboxServer) -> SandboxServer:
    """The demo world with the examples as written: the agency speaks Italian."""
    return examples_on_sandbox


def test_suggest_prints_each_rule_with_its_score_the_wrong_tasks_and_the_yaml(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    writes_before = sum(1 for e in sandbox.requests.entries() if e.method in ("PUT", "DELETE"))
    assert main(["suggest", "--client", "small-agency"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert re.match(
        r"Suggested rules for Northwind Studio \(small-agency\), from the history since "
        r"\d{4}-\d{2}-\d{2}: 13 tasks handed off by hand, 6 kept by the owner\.$",
        lines[0],
    )
    assert "  fattura/fatture: 4 of 13 delegated, 0 of 6 kept" in lines
    assert "  invoice/invoices: 4 of 13 delegated, 1 of 6 kept" in lines
    start = lines.index(f'1. "{FIRST}"')
    assert lines[start + 1 : start + 4] == [
        "   precision 9/10 (90%), recall 9/13 (69%)",
        '   would delegate, kept by the owner: "Check the new invoice template design"',
        "   (4 more hand-offs to giulia: the other suggestions)",
    ]
    assert '2. "Suggested: section Bookings of Client Admin to giulia"' in lines
    assert "   precision 4/4 (100%), recall 4/13 (31%)" in lines
    assert '        - name: { matches: "\\\\b(fattur\\\\w*|invoice\\\\w*|pay\\\\w*)" }' in lines
    assert "    mode: shadow" in lines
    assert re.fullmatch(r"read \d+ tasks in \d+ requests \(\d+ quota units\)", lines[-1])
    # Reading the history writes nothing to Asana.
    assert sum(1 for e in sandbox.requests.entries() if e.method in ("PUT", "DELETE")) == (
        writes_before
    )


def test_the_cost_printed_is_the_requests_in_the_sandboxs_log(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(sandbox.requests.entries())
    assert main(["suggest", "--client", "small-agency", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    cost = document["clients"][0]["cost"]
    assert cost["requests"] == len(sandbox.requests.entries()) - before
    assert cost["requests"] <= cost["worst_case"]["requests"]
    assert cost["quota_units"] <= cost["worst_case"]["quota_units"]


def test_json_is_one_document_its_schema_describes(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["suggest", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    errors = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(document)]
    assert errors == []
    northwind, fischer = document["clients"]
    first = northwind["suggestions"][0]
    assert (first["name"], first["matched"], first["right"], first["handed"]) == (
        FIRST, 10, 9, 13,
    )  # fmt: skip
    assert first["wrong"][0]["went_to"] is None
    assert fischer["suggestions"] == []


def test_write_appends_the_suggestions_to_a_copy_that_check_accepts(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    copy = tmp_path / "northwind.yaml"
    assert main(["suggest", "--client", "Northwind Studio", "--write", str(copy)]) == 0
    assert f"wrote {copy}" in capsys.readouterr().out
    text = copy.read_text(encoding="utf-8")
    original = in_english(AGENCY.read_text(encoding="utf-8"))
    assert text.startswith(original)  # every comment and rule kept, the suggestions after
    assert text.count("mode: shadow") == original.count("mode: shadow") + 2
    assert main(["check", str(copy)]) == 0


def test_a_client_without_a_pattern_is_told_so_plainly(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    copy = tmp_path / "fischer.yaml"
    assert main(["suggest", "--client", "solo-consultant", "--write", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "No rule to suggest: no word, project, section, tag, field or due-date habit" in out
    assert "covers at least 3 hand-offs" in out
    assert f"nothing written to {copy}: no suggestion" in out
    assert not copy.exists()


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--client", "nobody"], 2, "no client 'nobody'"),
        (["--client", "small-agency", "--since", "soon"], 2, "--since: invalid duration"),
        (["--client", "small-agency", "--since", "0d"], 2, "--since: '0d' is no time at all"),
        (["--client", "small-agency", "--max-tasks", "0"], 2, "--max-tasks: at least 1"),
        (["--write", "x.yaml"], 2, "--write needs --client"),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    assert main(["suggest", *argv]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert message in line
    assert "Traceback" not in captured.err


def test_a_revoked_token_is_one_line_and_exit_1(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", "revoked-token")
    assert main(["suggest", "--client", "small-agency"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("delegator: small-agency: the token was refused")
    assert "revoked-token" not in line


def test_the_demo_shows_one_suggestion_with_its_score(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if "rules suggested from the owner's" in line)
    assert lines[start].startswith(
        "== Northwind Studio: rules suggested from the owner's own history ="
    )
    # The narration is English; the rule's name and score are in the agency's Italian.
    assert lines[start + 1 : start + 4] == [
        "  The last six months: 13 tasks handed off by hand, 6 kept by the owner.",
        f'  "{PRIMA}" (mode: shadow)',
        "    precisione 9/10 (90%), copertura 9/13 (69%)",
    ]
    assert re.fullmatch(
        r"    read \d+ tasks in \d+ requests \(\d+ quota units\); "
        r"all of it: delegator suggest --client small-agency",
        lines[start + 4],
    )
    assert lines[start + 5] == ""


# ----------------------------------------------------------------------------- in Italian


def test_an_italian_client_reads_its_suggestions_in_italian(
    italian: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["suggest", "--client", "small-agency"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.match(
        r"Regole suggerite per Northwind Studio \(small-agency\), dallo storico dal(l'| )\d{1,2} "
        r"[a-z]{3} \d{4}: 13 attività passate a mano, 6 tenute dal titolare\.$",
        lines[0],
    )
    assert "Parole che le distinguono:" in lines
    assert "  fattura/fatture: 4 su 13 delegate, 0 su 6 tenute" in lines
    start = lines.index(f"1. «{PRIMA}»")
    assert lines[start + 1 : start + 4] == [
        "   precisione 9/10 (90%), copertura 9/13 (69%)",
        "   le delegherebbe, ma il titolare le ha tenute: «Check the new invoice template design»",
        "   (altre 4 attività passate a giulia: le prendono le altre regole suggerite)",
    ]
    assert "2. «Suggerita: sezione Bookings di Client Admin → giulia»" in lines
    assert lines[lines.index("2. «Suggerita: sezione Bookings di Client Admin → giulia»") + 1] == (
        "   precisione 4/4 (100%), copertura 4/13 (31%)"
    )
    assert any(
        line.startswith("Da incollare sotto rules: (in prova, mode: shadow") for line in lines
    )
    assert f'  - name: "{PRIMA}"' in lines
    assert (
        '    description: "Suggerita dallo storico: 9 delle 10 attività così sono andate a giulia."'
        in lines
    )
    # The rule language itself is not translated.
    assert '        - name: { matches: "\\\\b(fattur\\\\w*|invoice\\\\w*|pay\\\\w*)" }' in lines
    assert '      - assign: { to: "giulia" }' in lines
    assert re.fullmatch(r"lette \d+ attività in \d+ richieste \(\d+ unità di quota\)", lines[-1])


def test_an_italian_clients_json_is_english_but_for_the_rules_as_written(
    italian: SandboxServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["suggest", "--client", "small-agency", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [e.message for e in Draft202012Validator(SCHEMA).iter_errors(document)] == []
    (northwind,) = document["clients"]
    first = northwind["suggestions"][0]
    assert first["name"] == PRIMA
    assert f"- name: {json.dumps(PRIMA, ensure_ascii=False)}\n" in first["yaml"]
    assert "Suggerita dallo storico: 9 delle 10" in first["yaml"]
    assert set(northwind) >= {"client", "since", "delegated", "kept", "words", "suggestions"}
    # The same names in the file written, which check accepts.
    copy = tmp_path / "northwind.yaml"
    assert main(["suggest", "--client", "small-agency", "--write", str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"scritto {copy}: il file del cliente con le regole suggerite in fondo" in out
    text = copy.read_text(encoding="utf-8")
    assert text.startswith(AGENCY.read_text(encoding="utf-8"))
    assert f"- name: {json.dumps(PRIMA, ensure_ascii=False)}" in text
    assert text.count(first["yaml"].splitlines()[1].strip()) == 1  # its description
    assert main(["check", str(copy)]) == 0
