"""Bad inputs at the command line: each gives `file:line:col: ...` or `delegator: ...` and exit
1 or 2, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from delegator.cli import main

CORPUS = Path(__file__).parent.parent / "unit" / "corpus"
GOOD = Path("examples/solo-consultant.yaml")
YAML_CORPUS = sorted(p.name for p in CORPUS.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", YAML_CORPUS)
def test_check_reports_every_nasty_rule_file_located(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = CORPUS / name
    code, out, err = run(capsys, "check", str(path))  # raised for many of them before
    assert code == 1
    assert out.splitlines()
    for line in out.splitlines():
        assert line.startswith(f"{path}:"), line
        line_number, column = line.removeprefix(f"{path}:").split(":")[:2]
        assert int(line_number) >= 1
        assert int(column) >= 1
    assert err.strip().endswith("in 1 file")


def test_check_of_a_folder_named_like_a_rule_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "acme.yaml").mkdir()
    code, _out, err = run(capsys, "check", str(tmp_path / "acme.yaml"))
    assert code == 1
    assert "no rule files found" in err


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("deep.json", ":1:101: nested more than 100 levels deep"),
        ("float.json", ": a task must be a JSON object"),
        ("binary.yaml", ": cannot read the task: not UTF-8 text"),
        ("missing.json", ": cannot read the task: No such file or directory"),
        ("", ": cannot read the task: it is a folder, not a file"),
    ],
)
def test_explain_with_a_bad_task_file(
    task: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = str(CORPUS / task) if task else str(CORPUS)
    code, _out, err = run(capsys, "explain", "--rules", str(GOOD), "--task", where)
    assert code == 1
    assert err.splitlines()[-1].startswith(where + expected)


def test_explain_with_a_bad_rule_file_or_task_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "explain", "--rules", str(CORPUS / "impossible-date.yaml"), "--task",
        str(CORPUS / "nested-float.json"),
    )  # fmt: skip
    assert code == 1
    assert "is not a date or a time" in err
    code, out, _err = run(
        capsys, "explain", "--rules", str(GOOD), "--task", str(CORPUS / "nested-float.json")
    )
    assert code in (0, 1)
    assert out or _err


def test_test_command_with_bad_test_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CORPUS / "bad-test-file.test.yaml", tmp_path / "a.test.yaml")
    shutil.copy(CORPUS / "impossible-date.yaml", tmp_path / "impossible-date.yaml")
    (tmp_path / "b.test.yaml").write_bytes(bytes(range(256)))
    (tmp_path / "c.test.yaml").write_text(
        "rules: impossible-date.yaml\nnow: 2026-11-27\n"
        "cases: [{name: x, task: {name: y}, expect: {rule: null}}]\n"
    )
    code, out, _err = run(capsys, "test", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'a.test.yaml'}:2:6: now: '0000-01-01' is not a date or a time" in out
    assert f"{tmp_path / 'b.test.yaml'}:1:1: cannot read the file: not UTF-8 text" in out
    assert "its rule file impossible-date.yaml has errors" in out
    assert out.strip().endswith("0 passed, 0 failed, 3 files with errors")
    code, out, _err = run(capsys, "check", str(tmp_path))
    assert code == 1
