"""``delegator init``: from the sandbox or an Asana workspace to files check, test and once accept."""

from __future__ import annotations

import builtins
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from delegator.asana.catalogue import Catalogue, Listing, Person, WorkspaceInfo
from delegator.cli import main
from delegator.cli.init import outsiders
from delegator.sandbox import SandboxServer

ANNA_TOKEN = "sandbox-token-anna"
DELEGATED = {
    "Pay invoice #1042 from the web host",
    "Pagare la fattura del commercialista",
    "Prenotare il treno per la fiera di Milano",
    "Book a hotel for the client visit",
}
LEFT_ALONE = {
    "Invoice dispute with our biggest client",
    "Prepare the business plan for next year",
    "Pay invoice #1043 (personal card)",
    "Unsubscribe from the supplier newsletter",
}


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
    for name in ("ASANA_TOKEN", "ASANA_TOKEN_NORTHWIND_STUDIO"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def asana(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """The demo world standing in for Asana itself (the settings' asana.base_url)."""
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        yield server


SANDBOX_NORTHWIND = [
    "init", "--sandbox", "--no-input", "--language", "en", "--workspace", "Northwind Studio",
    "--project", "Operations", "--project", "Client Admin",
]  # fmt: skip


def written(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.yaml")))


def test_sandbox_init_writes_files_that_check_test_and_delegate(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(SANDBOX_NORTHWIND) == 0
    out, err = capsys.readouterr()
    rules = workdir / "rules" / "northwind-studio.yaml"
    world = workdir / "northwind-studio.world.yaml"
    assert f"Wrote {Path('rules') / 'northwind-studio.yaml'}" in out
    assert "delegator once --sandbox --seed northwind-studio.world.yaml --rules rules" in out
    assert 'token: { env: "ASANA_TOKEN_NORTHWIND_STUDIO" }' in rules.read_text(encoding="utf-8")
    assert ANNA_TOKEN not in out + err + written(workdir)

    assert main(["check", "rules"]) == 0
    assert main(["test", "rules"]) == 0
    assert "8 passed, 0 failed" in capsys.readouterr().out

    with SandboxServer.from_fixture(world) as sandbox:
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", sandbox.base_url)
        owner_token = sandbox.token("anna@northwind.example")
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND_STUDIO", owner_token)
        assert main(["once", "--rules", "rules"]) == 0
        tasks = {name: sandbox.world.task(name) for name in DELEGATED | LEFT_ALONE}
    for name in DELEGATED:
        task = tasks[name]
        assert task.assignee is not None
        assert task.assignee.email in {"giulia@va-agency.example", "marco@va-agency.example"}
        assert "delegated" in [t.name for t in task.tags]
        comments = [s.text for s in task.stories if s.type == "comment"]
        assert any("yours now" in text or "this booking" in text for text in comments), name
    for name in LEFT_ALONE:
        task = tasks[name]
        assert task.assignee is not None
        assert task.assignee.email == "anna@northwind.example", name
        assert "delegated" not in [t.name for t in task.tags]
        assert not [s for s in task.stories if s.type == "comment"]
    # the booking without a date got one; the one with a date kept it
    assert tasks["Prenotare il treno per la fiera di Milano"].due_on is not None

    # The same, as the printed next step does it: the world seeded and the token pointed by
    # `once --sandbox --seed`, nothing set by hand.
    monkeypatch.delenv("ASANA_TOKEN_NORTHWIND_STUDIO")
    monkeypatch.delenv("DELEGATOR_ASANA_BASE_URL")
    capsys.readouterr()
    assert main(["once", "--sandbox", "--seed", str(world), "--rules", "rules", "--json"]) == 0
    captured = capsys.readouterr()
    assert "$ASANA_TOKEN_NORTHWIND_STUDIO -> Anna Rossi <anna@northwind.example>" in captured.err
    [report] = json.loads(captured.out)["clients"]
    assigned = {
        t["name"] for t in report["tasks"] if any(s["kind"] == "assign" and s["status"] == "done"
                                                  for s in t["steps"])
    }  # fmt: skip
    assert assigned == DELEGATED


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_init_asks_and_takes_numbers(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["3", "1", "9", "1,2", "", "Studio Nord", "", ""])
    prompts: list[str] = []

    def answer(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr(builtins, "input", answer)
    assert main(["init", "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "Who is the client (the owner) in the sandbox?" in out
    assert "   1. Anna Rossi <anna@northwind.example> in Northwind Studio" in out
    assert "   3. Strategy" in out
    assert "type one number from 1 to 2" in out  # "3" was not one of them
    assert "type numbers from 1 to 3" in out  # nor "9"
    assert prompts[-3:] == [
        "Client name [Northwind Studio]: ",
        "Time zone [Europe/Rome]: ",
        "Language of the file (it/en) [it]: ",
    ]
    text = (workdir / "rules" / "studio-nord.yaml").read_text(encoding="utf-8")
    assert 'name: "Studio Nord"' in text
    assert '- project: { name: "Operations" }' in text
    assert '- project: { name: "Client Admin" }' in text
    assert '# - project: { name: "Strategy" }' in text
    assert 'user: "giulia@va-agency.example"' in text  # the default: from outside the studio
    assert "luca@northwind.example" not in text
    assert (workdir / "studio-nord.world.yaml").exists()


def test_a_real_workspace_by_its_token_variable(
    asana: SandboxServer, workdir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("CLIENT_TOKEN", ANNA_TOKEN)
    argv = ["init", "--no-input", "--token-env", "CLIENT_TOKEN", "--timezone", "Europe/Rome"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    text = (workdir / "rules" / "northwind-studio.yaml").read_text(encoding="utf-8")
    assert 'token: { env: "CLIENT_TOKEN" }' in text
    assert 'owner: "anna@northwind.example"' in text
    assert not (workdir / "northwind-studio.world.yaml").exists()
    assert "delegator plan --client northwind-studio --rules rules" in out
    assert ANNA_TOKEN not in out + err + written(workdir)
    assert main(["check", "rules"]) == 0


def test_the_default_variable_is_read_and_the_client_s_own_is_written(
    asana: SandboxServer, workdir: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("ASANA_TOKEN", ANNA_TOKEN)
    assert main(["init", "--no-input", "--client", "Nord"]) == 0
    out, err = capsys.readouterr()
    assert 'token: { env: "ASANA_TOKEN_NORD" }' in (workdir / "rules" / "nord.yaml").read_text()
    assert "export ASANA_TOKEN_NORD=" in out
    assert ANNA_TOKEN not in out + err + written(workdir)


def test_existing_files_are_not_overwritten_without_force(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = workdir / "rules" / "northwind-studio.yaml"
    rules.parent.mkdir()
    rules.write_text("# mine\n", encoding="utf-8")
    assert main(SANDBOX_NORTHWIND) == 1
    err = capsys.readouterr().err
    assert "already exists: pass --force to overwrite (nothing was written)" in err
    assert rules.read_text(encoding="utf-8") == "# mine\n"
    assert not (workdir / "rules" / "northwind-studio.test.yaml").exists()
    assert not (workdir / "northwind-studio.world.yaml").exists()
    assert main([*SANDBOX_NORTHWIND, "--force"]) == 0
    assert rules.read_text(encoding="utf-8").startswith("# Starter rules for Northwind Studio")


def test_without_input_a_choice_it_cannot_make_names_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init", "--sandbox", "--no-input"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("delegator init: Who is the client (the owner) in the sandbox: ")
    assert "pass --workspace NAME or --owner EMAIL (one of: " in err
    assert "Anna Rossi <anna@northwind.example> in Northwind Studio; " in err
    assert len(err.splitlines()) == 1


def test_a_missing_token_variable_names_it_and_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--no-input"]) == 2
    err = capsys.readouterr().err
    assert "ASANA_TOKEN is not set" in err
    assert "--token-env" in err


def test_unknown_names_get_a_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SANDBOX_NORTHWIND[:-1], "Client Admn"]) == 2
    err = capsys.readouterr().err
    assert "--project: no project 'Client Admn' in 'Northwind Studio'" in err
    assert "(did you mean 'Client Admin'?)" in err
    assert main(["init", "--sandbox", "--no-input", "--workspace", "Northwnd Studio"]) == 2
    assert "(did you mean 'Northwind Studio'?)" in capsys.readouterr().err
    assert main([*SANDBOX_NORTHWIND, "--assistant", "giula@va-agency.example"]) == 2
    assert "(did you mean 'giulia@va-agency.example'?)" in capsys.readouterr().err
    assert main([*SANDBOX_NORTHWIND, "--timezone", "Europe/Rom"]) == 2
    assert "(did you mean 'Europe/Rome'?)" in capsys.readouterr().err


def test_a_token_asana_refuses_is_one_line(
    asana: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASANA_TOKEN", "0/not-a-real-token")
    assert main(["init", "--no-input"]) == 1
    err = capsys.readouterr().err
    assert err == "delegator init: Asana does not accept the token in $ASANA_TOKEN (401)\n"


def test_asana_out_of_reach_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with SandboxServer.demo() as server:
        closed = server.base_url  # nobody listens there once it stops
    monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", closed)
    monkeypatch.setenv("ASANA_TOKEN", ANNA_TOKEN)
    assert main(["init", "--no-input"]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # nothing logged on stdout, where results go
    # The retries are logged as warnings (stderr, as every one-off command's log); the error
    # itself is one line, the last.
    *logged, said = err.splitlines()
    assert said.startswith("delegator init: cannot read Asana: GET /workspaces: ")
    assert logged  # the warnings are shown, not lost
    assert all('"event": "asana_retry"' in line for line in logged)
    assert "Traceback" not in err


def test_seed_needs_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--seed", "world.yaml", "--no-input"]) == 2
    assert "--seed is for --sandbox" in capsys.readouterr().err


def test_a_token_file_is_named_by_its_path_and_never_copied(
    asana: SandboxServer, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = workdir / "secrets" / "nord"
    secret.parent.mkdir()
    secret.write_text(ANNA_TOKEN + "\n", encoding="utf-8")
    assert main(["init", "--no-input", "--token-file", "secrets/nord", "--client", "Nord"]) == 0
    out, err = capsys.readouterr()
    text = (workdir / "rules" / "nord.yaml").read_text(encoding="utf-8")
    assert f"token: {{ file: {json.dumps(str(secret))} }}" in text
    assert ANNA_TOKEN not in out + err + text + (workdir / "rules" / "nord.test.yaml").read_text()


def test_the_world_is_never_written_where_it_would_be_read_as_a_client(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*SANDBOX_NORTHWIND, "--world", "rules/northwind.world.yaml"]) == 2
    assert "where it would be read as a client" in capsys.readouterr().err
    assert not (workdir / "rules").exists()
    (workdir / "clients").mkdir()
    monkeypatch.chdir(workdir / "clients")
    assert main([*SANDBOX_NORTHWIND, "--rules", "."]) == 0
    assert (workdir / "northwind-studio.world.yaml").exists()
    assert sorted(p.name for p in (workdir / "clients").iterdir()) == [
        "northwind-studio.test.yaml", "northwind-studio.yaml",
    ]  # fmt: skip


def test_the_default_assistants_are_guests_and_people_from_other_domains() -> None:
    anna = Person("1", "Anna", "anna@studio.example")
    luca = Person("2", "Luca", "luca@studio.example")
    giulia = Person("3", "Giulia", "giulia@va.example")
    bot = Person("4", "Bot", None)
    seen = Catalogue(
        WorkspaceInfo("9", "Studio", True, ("studio.example",)),
        anna,
        Listing(()),
        Listing(()),
        Listing(()),
        Listing((anna, luca, giulia, bot)),
    )
    assert outsiders(seen, anna) == [giulia]
    assert outsiders(replace(seen, guests=frozenset({"2"})), anna) == [luca, giulia]


@pytest.mark.slow
def test_sandbox_init_then_the_service_on_its_world_delegates(workdir: Path) -> None:
    """The ten-minute path end to end: init's files, then `run --sandbox --seed` with nothing
    set by hand; the service's first cycle delegates by the written rules."""
    assert main(SANDBOX_NORTHWIND) == 0
    environ = {
        **os.environ,
        "DELEGATOR_LOG_FORMAT": "json",
        "DELEGATOR_HTTP_PORT": "0",
        "DELEGATOR_CONFIG": str(workdir / "no-config.yaml"),
    }
    argv = ["run", "--sandbox", "--seed", "northwind-studio.world.yaml", "--rules", "rules"]
    finished: dict[str, object] = {}
    with subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "delegator", *argv],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ,
    ) as process:  # fmt: skip
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not finished:
                line = process.stdout.readline()
                if not line:
                    break
                event = json.loads(line) if line.startswith("{") else {}
                if event.get("event") == "cycle_finished":
                    finished = event
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert finished.get("client") == "northwind-studio"
    assert finished.get("result") == "ok"
    assert int(str(finished.get("actions_done", 0))) >= 4 * 3  # assign, tag, comment each
