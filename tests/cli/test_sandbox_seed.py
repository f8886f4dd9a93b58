"""Your own rule files on the sandbox: ``once|plan|run --sandbox --seed WORLD`` seeds the world,
points each file's token variable at its owner's sandbox token, says which store it uses, and
delegates by the files; what it cannot stand in for is said, and the other clients run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from delegator.cli import main

WORLD = """\
workspaces:
  - name: Bottega Rossi
    gid: "3100000000000001"
    plan: paid
    users:
      - {name: Maria Rossi, email: maria@bottega.example, gid: "3100000000000101", token: tok-maria, role: client}
      - {name: Paolo Verdi, email: paolo@va.example, gid: "3100000000000102", token: tok-paolo, role: assistant}
    projects:
      - name: Ufficio
        gid: "3100000000000201"
        owner: maria@bottega.example
        members: [paolo@va.example]
        sections:
          - {name: Da fare, gid: "3100000000000301"}
        tasks:
          - {name: Pagare la fattura 2041, section: Da fare, assignee: maria@bottega.example, due_on: today+1}
          - {name: Strategia 2027, section: Da fare, assignee: maria@bottega.example, due_on: today+1}
"""

RULES = """\
version: 1
client:
  name: Bottega Rossi
  workspace: "3100000000000001"
  token: {env: ASANA_TOKEN_BOTTEGA_TEST}
  timezone: Europe/Rome
  owner: me
watch:
  - project: Ufficio
assistants:
  paolo: {user: paolo@va.example, timezone: Europe/Rome, hours: "Mon-Sun 00:00-23:59"}
rules:
  - name: Fatture a Paolo
    when: {name: {contains: fattura}}
    then:
      - assign: paolo
"""


@pytest.fixture
def own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bottega.yaml").write_text(RULES, encoding="utf-8")
    world = tmp_path / "bottega.world.yaml"
    world.write_text(WORLD, encoding="utf-8")
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("DELEGATOR_RULES_DIR", str(rules))
    monkeypatch.delenv("ASANA_TOKEN_BOTTEGA_TEST", raising=False)
    return rules, world


def test_once_with_a_seed_delegates_by_your_own_file(
    own: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rules, world = own
    assert main(["once", "--sandbox", "--seed", str(world), "--json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    [report] = document["clients"]
    assert report["client"] == "bottega"
    done = {t["name"]: [s["status"] for s in t["steps"]] for t in report["tasks"]}
    assert done["Pagare la fattura 2041"] == ["done"]
    assert not done.get("Strategia 2027")  # no rule takes it: left alone
    err = captured.err
    assert (
        "sandbox: bottega: $ASANA_TOKEN_BOTTEGA_TEST -> Maria Rossi <maria@bottega.example>" in err
    )
    assert "store: a temporary SQLite database" in err
    assert f"rules {rules}" in err
    assert "tok-maria" not in captured.out + err  # the token itself is never shown


def test_plan_with_a_seed_and_rules_named_on_the_command_line(
    own: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules, world = own
    os.environ["DELEGATOR_RULES_DIR"] = str(tmp_path / "elsewhere")
    assert main(["plan", "--sandbox", "--seed", str(world), "--rules", str(rules)]) == 0
    out = capsys.readouterr().out
    assert '~ "Pagare la fattura 2041"' in out
    assert "+ assign to paolo" in out


def test_a_client_the_sandbox_cannot_stand_in_for_is_said_and_the_others_run(
    own: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rules, world = own
    (rules / "elsewhere.yaml").write_text(
        RULES.replace("3100000000000001", "9999").replace("BOTTEGA_TEST", "ELSEWHERE_TEST"),
        encoding="utf-8",
    )
    (rules / "filed.yaml").write_text(
        RULES.replace("{env: ASANA_TOKEN_BOTTEGA_TEST}", "{file: /run/secrets/x}"),
        encoding="utf-8",
    )
    assert main(["once", "--sandbox", "--seed", str(world)]) == 1
    captured = capsys.readouterr()
    assert "sandbox: elsewhere: workspace 9999 is not in the sandbox world" in captured.err
    assert "sandbox: filed: the token is read from a file" in captured.err
    assert "bottega: 2 tasks read, 1 matched a rule, 1 writes done" in captured.out


def test_bad_seed_and_seed_without_sandbox_exit_2(
    own: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, world = own
    assert main(["once", "--seed", str(world)]) == 2
    assert "--seed needs --sandbox" in capsys.readouterr().err
    missing = tmp_path / "no-such-world.yaml"
    assert main(["plan", "--sandbox", "--seed", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("delegator: --seed: ")
    assert "Traceback" not in err


@pytest.mark.slow
def test_run_with_a_seed_serves_your_file_until_sigterm(own: tuple[Path, Path]) -> None:
    rules, world = own
    environ = {
        **os.environ,
        "DELEGATOR_LOG_FORMAT": "json",
        "DELEGATOR_HTTP_PORT": "0",
        "DELEGATOR_RULES_DIR": str(rules),
    }
    events: list[dict[str, object]] = []
    with subprocess.Popen(  # noqa: S603 - our own command, a path the test made
        [sys.executable, "-m", "delegator", "run", "--sandbox", "--seed", str(world)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                event = json.loads(line) if line.startswith("{") else {}
                events.append(event)
                if event.get("event") == "cycle_finished":
                    break
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    mapped = [e for e in events if e.get("event") == "sandbox_token_mapped"]
    assert mapped
    assert mapped[0]["variable"] == "ASANA_TOKEN_BOTTEGA_TEST"
    started = next(e for e in events if e.get("event") == "sandbox_started")
    assert started["world"] == str(world)
    assert "temporary SQLite" in str(started["store"])
    finished = next(e for e in events if e.get("event") == "cycle_finished")
    assert finished["client"] == "bottega"
    assert process.returncode == 0
