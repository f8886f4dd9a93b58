"""`delegator check` beyond a file's errors: the static analysis's warnings (errors with
--strict) and, with --online, the names the live workspace does not have, each located."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from delegator.cli import main
from delegator.sandbox import SandboxServer

CLIENT = """\
version: 1
client:
  name: Shadowy
  workspace: "1200000000000001"
  token: {env: ASANA_TOKEN_CHECK_TEST}
  timezone: Europe/Berlin
  owner: me
watch:
  - project: Clientz
assistants:
  sam: {user: sam@va-desk.example}
rules:
  - name: Invoices
    when: {name: {contains: invoice}}
    then:
      - assign: sam
  - name: Paid invoices
    when:
      all:
        - name: {contains: paid invoice}
        - tag: urgent
    then:
      - tag: paid
"""


@pytest.fixture
def client_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "shadowy.yaml"
    path.write_text(CLIENT, encoding="utf-8")
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    return path


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv(
            "ASANA_TOKEN_CHECK_TEST", server.token("lena@fischer-consulting.example")
        )
        yield server


def test_a_warning_leaves_the_exit_code_at_0_unless_strict(
    client_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(client_file)]) == 0
    out, err = capsys.readouterr()
    assert f"{client_file}:17:5: warning: rules[1]: " in out
    assert out.rstrip().endswith("[shadowed]") or "[shadowed]" in out
    assert f"{client_file}: ok: Shadowy" in out
    assert "1 warning" in err
    assert main(["check", "--strict", str(client_file)]) == 1
    out, err = capsys.readouterr()
    assert f"{client_file}:17:5: error: rules[1]: " in out
    assert ": ok:" not in out  # a file that fails the check is not said to be ok
    assert "1 error in 1 file" in err


def test_online_locates_a_name_the_workspace_lacks(
    client_file: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--online", str(client_file)]) == 1
    out = capsys.readouterr().out
    assert f"{client_file}:9:14: error: watch[0].project: no project called 'Clientz'" in out
    assert "(did you mean 'Clients'?) [unknown-project]" in out
    assert main(["check", "--online", "--json", str(client_file)]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["online"] is True
    codes = sorted(f["code"] for f in document["files"][0]["findings"])
    assert codes == ["shadowed", "unknown-project"]
    assert document["errors"] == 1
    assert document["warnings"] == 1


def test_online_with_the_examples_and_no_token_says_which_variable(
    client_file: Path, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.delenv("ASANA_TOKEN_CHECK_TEST")
    assert main(["check", "--online", str(client_file)]) == 1
    out = capsys.readouterr().out
    assert "ASANA_TOKEN_CHECK_TEST" in out
    assert "[token-refused]" in out
