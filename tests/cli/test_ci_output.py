"""The command line as CI and a person at a terminal see it: JUnit reports, -k, exit codes,
colour on a terminal only, logs off stdout, history as posted, clients by either name, digests
sent on request, and a failing rule test that says which matrix conditions decided."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from delegator.cli import console, main
from delegator.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
XSD = ROOT / "tests" / "data" / "junit-10.xsd"
ESCAPE = "\033["


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def sandbox(examples_on_sandbox: SandboxServer) -> SandboxServer:
    return examples_on_sandbox


@pytest.fixture
def broken_tests(tmp_path: Path) -> Path:
    """The agency's rules with one test expecting the wrong quadrant, and a test file whose
    rule file is missing."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", folder)
    text = (EXAMPLES / "small-agency.test.yaml").read_text(encoding="utf-8")
    (folder / "small-agency.test.yaml").write_text(
        text.replace("quadrant: delegate", "quadrant: do", 1), encoding="utf-8"
    )
    (folder / "orphan.test.yaml").write_text(
        "rules: nowhere.yaml\nnow: 2026-11-27T10:00:00+01:00\ncases:\n  - name: x\n    task: {name: y}\n    expect: {rule: null}\n",
        encoding="utf-8",
    )
    return folder


# ----------------------------------------------------------------------------- rule tests


def test_junit_report_is_valid_and_counts_failures_and_file_errors(
    broken_tests: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "junit.xml"
    assert main(["test", str(broken_tests), "--junit", str(report)]) == 1
    capsys.readouterr()
    xmlschema.XMLSchema(str(XSD)).validate(str(report))
    root = ET.parse(report).getroot()  # noqa: S314 - the report the command just wrote
    assert root.tag == "testsuites"
    assert (root.get("failures"), root.get("errors")) == ("1", "1")
    failures = root.findall(".//failure[@type='failure']")
    assert len(failures) == 1
    assert "quadrant: expected" in (failures[0].get("message") or "")
    assert "urgent because" in (failures[0].text or "")
    [error] = root.findall(".//failure[@type='error']")
    assert "nowhere.yaml" in (error.text or "")


def test_junit_escapes_what_a_case_name_holds(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from delegator.cli.junit import CaseOutcome, SuiteOutcome, junit_xml

    suite = SuiteOutcome(
        Path("a.test.yaml"),
        [CaseOutcome("<b>\"&'</b> ]]> 🧾", 3, False, 0.01, "x < y", "details & more")],
    )
    document = junit_xml([suite], started=datetime(2026, 12, 5, tzinfo=UTC))
    xmlschema.XMLSchema(str(XSD)).validate(document.decode("utf-8"))
    case = ET.fromstring(document).find(".//testcase")  # noqa: S314 - written just above
    assert case is not None
    assert case.get("name") == "<b>\"&'</b> ]]> 🧾"


def test_k_runs_only_the_matching_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(EXAMPLES), "-k", "invoice", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    names = [case["name"] for case in document["cases"]]
    assert names
    assert all("invoice" in name.casefold() for name in names)
    assert document["deselected"] > 0
    assert main(["test", str(EXAMPLES), "-k", "solo-consultant.test.yaml::", "-k", "NO SUCH"]) == 0
    out = capsys.readouterr().out
    assert "small-agency" not in out
    assert "solo-consultant.test.yaml" in out


def test_a_failing_case_names_the_matrix_conditions_that_decided(
    broken_tests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", str(broken_tests / "small-agency.test.yaml")]) == 1
    out = capsys.readouterr().out
    why = next(line for line in out.splitlines() if line.strip().startswith("why:"))
    assert "quadrant delegate: urgent because due within 2 business days" in why
    assert "not important because tag any of [important] (actual: none)" in why


# ----------------------------------------------------------------------------- exit codes


def test_plan_detailed_exitcode(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--detailed-exitcode"]) == 2  # the backlog is to be delegated
    assert main(["plan"]) == 0  # without the flag: success
    assert main(["once"]) == 0
    # What is left is only the agency's shadow rule's plan, never written: nothing pending.
    assert main(["plan", "--detailed-exitcode"]) == 0
    # (the agency's plan is in its Italian: "add tag" is "aggiungi il tag")
    assert "? aggiungi il tag needs-follow-up" in capsys.readouterr().out
    monkeypatch.delenv("ASANA_TOKEN_FISCHER")
    assert main(["plan", "--detailed-exitcode"]) == 1  # an error wins over changes
    capsys.readouterr()


def test_check_strict_and_json_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(EXAMPLES), "--strict", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert document["errors"] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("client: {name: x}\n", encoding="utf-8")
    assert main(["check", str(bad), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    [checked] = document["files"]
    assert checked["ok"] is False
    assert checked["errors"][0]["line"] == 1


# ----------------------------------------------------------------------------- colour and logs


def test_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    terminal, pipe = Terminal(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["test", str(EXAMPLES), "-k", "invoice"]) == 0
    assert ESCAPE in terminal.getvalue()
    monkeypatch.setattr(sys, "stdout", pipe)
    assert main(["test", str(EXAMPLES), "-k", "invoice"]) == 0
    assert ESCAPE not in pipe.getvalue()
    assert "PASS" in pipe.getvalue()
    for argv, env in ((["--no-color"], None), ([], "1"), ([], "")):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        if env is not None:
            monkeypatch.setenv("NO_COLOR", env)
        assert main(["test", str(EXAMPLES), "-k", "invoice", *argv]) == 0
        assert ESCAPE not in terminal.getvalue(), (argv, env)
        monkeypatch.delenv("NO_COLOR", raising=False)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["--no-color", "check", str(EXAMPLES)]) == 0  # before the command too
    assert ESCAPE not in terminal.getvalue()


def test_one_off_commands_log_warnings_only_and_never_on_stdout(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
    monkeypatch.setenv("DELEGATOR_LOG_LEVEL", "debug")  # the service's level: not a one-off's
    assert main(["once", "--client", "solo-consultant"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("solo-consultant: ")
    assert '"event"' not in out
    assert '"level": "info"' not in err
    assert '"level": "debug"' not in err
    assert main(["once", "--client", "solo-consultant", "-v"]) == 0
    out, err = capsys.readouterr()
    assert '"event"' not in out
    assert '"level": "info"' in err


def test_a_log_line_clears_the_progress_line(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    console.show_progress("reading 40 tasks")
    console._LogStream().write("a warning\n")
    text = terminal.getvalue()
    assert text.endswith("reading 40 tasks\r\033[Ka warning\n")
    console.end_progress()  # nothing shown any more: nothing written
    assert terminal.getvalue() == text


# ----------------------------------------------------------------------------- history and clients


def test_history_shows_what_was_posted_in_the_clients_zone(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once", "--client", "solo-consultant"]) == 0
    capsys.readouterr()
    assert main(["history", "--client", "Fischer Consulting"]) == 0
    out = capsys.readouterr().out
    assert "{{" not in out  # never the template
    assert '"Book a venue for the Kessler kick-off" assign to sam (was Lena Fischer) -> sam' in out
    assert "    | Hi Sam, please handle this one" in out
    assert re.search(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} Europe/Berlin solo-consultant ", out, re.M)
    assert main(["history", "--client", "fischer consulting", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["client"] == "solo-consultant"
    assigned = [a for a in document["actions"] if a["kind"] == "assign"]
    assert assigned
    assert {a["detail"]["before"]["assignee"]["email"] for a in assigned} == {
        "lena@fischer-consulting.example"
    }
    posted = [a["posted"] for a in document["actions"] if a["kind"] == "comment"]
    assert posted
    assert all(p.startswith("Hi Sam") for p in posted)


def test_an_unknown_client_is_an_error_with_the_closest_name(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--client", "solo-consultnat"]) == 2
    assert "did you mean 'solo-consultant'?" in capsys.readouterr().err
    for command in ("plan", "once", "summary"):
        assert main([command, "--client", "Fisher Consulting"]) == 1
        err = capsys.readouterr().err
        assert "no client 'Fisher Consulting'" in err
        assert "did you mean 'Fischer Consulting'?" in err


def test_summary_send_with_digests_sends_both_and_says_so(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once", "--client", "solo-consultant"]) == 0
    capsys.readouterr()
    tasks_before = len(sandbox.world.project("Clients").tasks())
    main(["summary", "--client", "solo-consultant", "--send", "--digests"])
    out = capsys.readouterr().out
    assert "solo-consultant: summary sent -> asana_status:Clients" in out
    assert re.search(r"solo-consultant: digest for sam \w+ -> asana_task:", out)
    assert re.search(r"solo-consultant: digest for sam \w+ -> email", out)
    assert len(sandbox.world.project("Clients").tasks()) == tasks_before + 1  # the digest task
    main(["summary", "--client", "solo-consultant", "--send", "--digests", "--json"])
    document = json.loads(capsys.readouterr().out)
    kinds = sorted({(o["kind"], o["recipient"]) for o in document["outcomes"]})
    assert kinds == [("digest", "sam"), ("summary", None)]
