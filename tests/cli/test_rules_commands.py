"""The rule author's commands, run as a person would (through main, reading real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from delegator import __version__
from delegator.cli import build_parser, main
from examplefiles import in_english

EXAMPLES = Path("examples")
BROKEN = """\
version: 1
client:
  name: Acme Studio
  workspace: "1201234567890"
  token: { env: ASANA_TOKEN_ACME }
  timezone: Europe/Rom
watch: [my_tasks]
poll: 2 minutez
assistants:
  marco: { user: "1200000000042", skills: [inbox] }
rules:
  - name: Admin chores
    when:
      all:
        - nmae: { contains: invoice }
        - name: { matches: "(unclosed" }
    then:
      - assign: { pool: [marko] }
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_prints_five_located_errors_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "acme.yaml"
    broken.write_text(BROKEN)
    code, out, err = run(capsys, "check", str(broken))
    assert code == 1
    lines = out.splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == [
        "client.timezone",
        "poll",
        "rules[0].when.all[0].nmae",
        "rules[0].when.all[1].name.matches",
        "rules[0].then[0].assign.pool[0]",
    ]
    assert all(line.startswith(f"{broken}:") for line in lines)
    assert err.strip() == "5 errors in 1 file"


def test_check_passes_on_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", str(EXAMPLES))
    assert code == 0
    assert "examples/small-agency.yaml: ok: Northwind Studio, 4 rules (1 in shadow mode)" in out
    assert "examples/small-agency.test.yaml: ok: rule tests" in out
    assert (
        "summary every Friday at 17:00 (Europe/Rome) to asana_status, email; "
        "digests weekdays at 08:00 (each assistant's time) to email"
    ) in out


def test_check_reports_missing_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "no/such/file.yaml")
    assert code == 1
    assert "no/such/file.yaml: no such file" in err


def test_explain_shows_every_condition_quadrant_and_near_misses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = tmp_path / "small-agency.yaml"
    rules.write_text(in_english((EXAMPLES / "small-agency.yaml").read_text("utf-8")), "utf-8")
    code, out, _ = run(
        capsys, "explain", "--rules", str(rules),
        "--task", str(EXAMPLES / "tasks" / "invoice.json"), "--now", "2026-11-27T10:00:00+01:00",
    )  # fmt: skip
    assert code == 0
    assert "Quadrant: delegate" in out
    assert 'Rule 1 "Invoices and receipts go to the assistants": acts' in out
    assert "✓ quadrant in [delegate, eliminate]  [rules/0/when/all/0]" in out
    assert "✗ section is Bookings in Client Admin  [rules/1/when/all/2/any/1]" in out
    assert "actual: [Invoices in Client Admin]   wanted: Bookings in Client Admin" in out
    assert "+ assign to one of [giulia, marco] (least_loaded, skill admin)" in out
    assert 'rule "Travel and bookings": any of [rules/1/when/all/2]' in out
    assert out.rstrip().endswith(
        'Decision: rule "Invoices and receipts go to the assistants" takes the task'
    )


def test_explain_json_for_a_task_no_rule_takes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "explain", "--rules", str(EXAMPLES / "small-agency.yaml"),
        "--task", str(EXAMPLES / "tasks" / "strategy.json"), "--now", "2026-11-27T10:00", "--json",
    )  # fmt: skip
    assert code == 0
    decision = json.loads(out)
    assert (decision["quadrant"], decision["rule"], decision["actions"]) == ("do", None, [])
    first = decision["rules"][0]
    assert first["path"] == "rules/0"
    assert first["when"]["children"][0] == {
        "path": "rules/0/when/all/0",
        "condition": "quadrant in [delegate, eliminate]",
        "matched": False,
        "actual": "do",
        "wanted": ["delegate", "eliminate"],
    }
    assert decision["matrix"]["important"]["matched"] is True


def test_explain_owner_me_needs_owner_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = tmp_path / "t.json"
    task.write_text(json.dumps({"gid": "5", "name": "Expense report", "assignee": {"gid": "77"}}))
    rules = str(EXAMPLES / "solo-consultant.yaml")
    code, out, err = run(
        capsys, "explain", "--rules", rules, "--task", str(task), "--now", "2026-11-27T10:00"
    )
    assert code == 0
    assert "pass --owner" in err
    assert "Decision: no rule acts" in out
    code, out, _ = run(
        capsys,
        "explain",
        "--rules",
        rules,
        "--task",
        str(task),
        "--now",
        "2026-11-27T10:00",
        "--owner",
        "77",
    )
    assert 'Decision: rule "Admin paperwork to Sam" takes the task' in out


def test_explain_reports_a_bad_task_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = tmp_path / "t.json"
    task.write_text('{"gid": "1",\n "name": }')
    code, _, err = run(
        capsys, "explain", "--rules", str(EXAMPLES / "small-agency.yaml"), "--task", str(task)
    )
    assert code == 1
    assert f"{task}:2:10: not valid JSON" in err


def test_rule_tests_pass_on_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", str(EXAMPLES))
    assert code == 0
    assert (
        "PASS examples/small-agency.test.yaml:6 an invoice due Monday goes to an admin assistant"
        in out
    )
    assert out.splitlines()[-1] == "16 passed, 0 failed"


def test_a_broken_expectation_fails_with_a_readable_diff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "acme.yaml").write_text((EXAMPLES / "small-agency.yaml").read_text())
    (tmp_path / "acme.test.yaml").write_text(
        "rules: acme.yaml\nnow: 2026-11-27T10:00:00+01:00\ncases:\n"
        "  - name: wrong on purpose\n"
        "    task: { name: Pay invoice 7, assignee: owner, due_on: 2026-11-30 }\n"
        "    expect: { rule: Travel and bookings, quadrant: do, actions: [tag] }\n"
    )
    code, out, _ = run(capsys, "test", str(tmp_path))
    assert code == 1
    assert f"FAIL {tmp_path / 'acme.test.yaml'}:4 wrong on purpose" in out
    assert (
        '     rule:\n       - expected: "Travel and bookings"\n       + actual:   "Invoices and receipts go to the assistants"'
        in out
    )
    assert '       - expected: "do"\n       + actual:   "delegate"' in out
    assert (
        '       - expected: ["tag"]\n       + actual:   ["assign", "tag", "follow", "comment"]'
        in out
    )
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_rule_test_files_are_validated_with_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.test.yaml").write_text(
        "rules: a.yaml\nnow: 2026-11-27\ncases:\n  - name: a\n    tsk: {}\n"
    )
    code, out, _ = run(capsys, "test", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'x.test.yaml'}:5:5: cases[0].tsk: unknown key 'tsk'" in out


def test_schema_is_json_schema_for_editors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["required"]) >= {"version", "client", "watch"}
    shorthand, condition = schema["$defs"]["Condition"]["anyOf"]
    assert shorthand["type"] == "array"  # a list of conditions means all of them
    assert {"name", "tag", "quadrant", "all", "any", "not"} <= set(condition["properties"])
    assert (condition["minProperties"], condition["maxProperties"]) == (1, 1)


def test_version_and_help_on_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"delegator {__version__}"
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in subcommands:
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        assert f"usage: delegator {name}" in capsys.readouterr().out


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "delegator", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"delegator {__version__}")


def test_check_on_a_test_file_validates_it_as_a_test_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "check", str(EXAMPLES / "small-agency.test.yaml"))
    assert code == 0
    assert out.strip() == "examples/small-agency.test.yaml: ok: rule tests"
