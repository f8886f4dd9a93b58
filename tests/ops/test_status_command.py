"""`delegator status`, as an operator runs it: from the store and the rule files, whether the
service runs or not; exit 1 when something is unhealthy."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from delegator.cli import main
from delegator.cycles import Count, CycleCounts
from delegator.sandbox import SandboxServer
from delegator.store import SqlStore

EXAMPLES = Path("rules/examples")


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("small-agency.yaml", "solo-consultant.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


@pytest.fixture
def sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rules: Path, database_url: str
) -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", database_url)
        monkeypatch.setenv("DELEGATOR_RULES_DIR", str(rules))
        monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", server.token("anna@northwind.example"))
        monkeypatch.setenv("ASANA_TOKEN_FISCHER", server.token("lena@fischer-consulting.example"))
        yield server


def status(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["status", *args])
    return code, capsys.readouterr().out


def test_after_a_good_cycle_every_client_is_healthy(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once"]) == 0
    capsys.readouterr()
    code, out = status(capsys)
    assert code == 0, out
    assert "Northwind Studio (small-agency): ok - the last cycle went well" in out
    # How many changes depends on who is working at this hour; that some were made does not.
    made = re.search(r"ok: 34 tasks seen, (\d+) changes made, 0 failed", out)
    assert made is not None, out
    assert int(made.group(1)) > 0
    assert "  next cycle  " in out
    assert ", every 2m" in out
    assert "  errors      none" in out
    assert "  queue       0 waiting for a free assistant" in out
    # The agency's open delegations are split between its two assistants, against capacity.
    loads = next(line for line in out.splitlines() if line.startswith("  assistants  giulia"))
    assert loads.endswith(" open tasks")
    assert ", marco " in loads
    assert out.rstrip().endswith("healthy: 2 clients")


def test_a_client_without_its_token_is_unhealthy_and_says_why(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ASANA_TOKEN_FISCHER")
    assert main(["once"]) == 1
    capsys.readouterr()
    code, out = status(capsys)
    assert code == 1
    assert (
        "Fischer Consulting (solo-consultant): failing - "
        "the environment variable ASANA_TOKEN_FISCHER is not set"
    ) in out
    assert "Northwind Studio (small-agency): ok" in out
    assert out.rstrip().endswith("unhealthy: solo-consultant")

    code, text = status(capsys, "--json")
    assert code == 1
    picture = json.loads(text)
    assert picture["healthy"] is False
    assert picture["database"]["status"] == "ok"
    by_key = {c["client"]: c for c in picture["clients"]}
    assert by_key["solo-consultant"]["last_result"] == "failed"
    assert by_key["small-agency"]["healthy"] is True
    assert by_key["small-agency"]["last_result"] == "ok"
    assert [a["assistant"] for a in by_key["small-agency"]["assistants"]] == ["giulia", "marco"]
    assert sum(a["open_tasks"] for a in by_key["small-agency"]["assistants"]) > 0


def test_a_service_that_stopped_cycling_shows_as_stale(
    sandbox: SandboxServer, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with SqlStore(database_url) as store:
        store.migrate()
        for client in ("small-agency", "solo-consultant"):
            cycle = store.start_cycle(client, long_ago - timedelta(seconds=3), False)
            store.finish_cycle(cycle, long_ago, CycleCounts({Count.TASKS_SEEN: 3}))
    code, out = status(capsys)
    assert code == 1
    assert "small-agency): stale - no successful cycle for 2h (one is due every 2m)" in out
    assert "overdue: is the service running?" in out


def test_before_the_service_ever_ran_nothing_is_created(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "state" / "delegator.db"
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{database}")
    (rules / "broken.yaml").write_text("version: 1\nclient: {name: Broken}\n", encoding="utf-8")
    code, out = status(capsys, "--rules", str(rules))
    assert code == 1
    assert "no database yet: the service has not run with these settings" in out
    assert "Northwind Studio (small-agency): never run - no cycle recorded yet" in out
    assert "  next cycle  when the service starts, then every 2m" in out
    assert "broken (broken): invalid - " in out
    assert "broken.yaml:1:1: watch: missing required key 'watch'" in out
    assert not database.parent.exists()


def test_a_settings_error_is_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("DELEGATOR_READY_POLLS", "none")
    assert main(["status"]) == 2
    assert "ready_polls" in capsys.readouterr().err
