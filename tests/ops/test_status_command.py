"""`delegator status`, as an operator runs it: from the store and the rule files, whether the
service runs or not; exit 1 when something is unhealthy. With replicas: who holds each client's
lease and since when, the replicas live or gone, two live ones sharing an id."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from delegator.cli import main
from delegator.cycles import Count, CycleCounts
from delegator.ports import ReplicaIdentity
from delegator.sandbox import SandboxServer
from delegator.store import SqlStore, schema
from delegator.store.database import WRITE_OPTION

EXAMPLES = Path("examples")


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


# ---------------------------------------------------------------------- replicas and leases
@pytest.fixture
def settings_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, rules: Path, database_url: str
) -> None:
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("DELEGATOR_DATABASE_URL", database_url)
    monkeypatch.setenv("DELEGATOR_RULES_DIR", str(rules))


def member(store: SqlStore, key: str, host: str, pid: int, started: datetime) -> ReplicaIdentity:
    """A replica as `delegator run` is one: its heartbeat in the store."""
    me = ReplicaIdentity(key, key.split("#")[0], host, pid, started)
    store.lease_round(me, period=600)
    return me


def good_cycles(store: SqlStore, at: datetime) -> None:
    for client in ("small-agency", "solo-consultant"):
        cycle = store.start_cycle(client, at, False)
        store.finish_cycle(cycle, at, CycleCounts({Count.TASKS_SEEN: 3}))


def set_times(
    store: SqlStore, table: sa.Table, where: sa.ColumnElement[bool], **values: float
) -> None:
    """Epoch seconds written straight into a lease or heartbeat row: time passing, unrenewed."""
    with store._engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            connection.execute(table.update().where(where).values(**values))


def test_status_shows_which_replica_holds_each_client_and_the_replicas(
    settings_env: None, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with SqlStore(database_url) as store:
        store.migrate()
        web1 = member(store, "web-1#a1", "host-a", 101, now - timedelta(hours=1))
        member(store, "web-0#c3", "host-c", 103, now - timedelta(hours=3))
        # web-0 stopped two minutes ago without leaving (SIGKILL): its heartbeat ran out.
        epoch = time.time()
        replicas = schema.replicas
        set_times(
            store, replicas, replicas.c.key == "web-0#c3", seen=epoch - 200, expires=epoch - 80
        )
        store.acquire_leases(web1, ["small-agency"], period=600, at=now)
        good_cycles(store, now)
        [lease] = [record for record in store.leases() if record.client == "small-agency"]
    code, out = status(capsys)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[1].startswith("replicas  web-0 (gone): host-c pid 103, started ")
    assert " (3h ago), last seen " in lines[1]
    assert lines[1].endswith(" (3m ago)")
    assert lines[2].startswith("          web-1 (live): host-a pid 101, started ")
    assert " (60m ago), last seen " in lines[2]
    assert lines[3] == ""
    assert lease.acquired_at is not None
    since = lease.acquired_at.strftime("%Y-%m-%d %H:%M UTC")
    agency = out[out.index("(small-agency)") :].splitlines()
    assert agency[1].startswith(f"  lease       held by web-1 since {since} (")
    solo = out[out.index("(solo-consultant)") :].splitlines()
    assert solo[1] == "  lease       free: no replica holds it"
    assert "warning" not in out

    code, text = status(capsys, "--json")
    assert code == 0
    picture = json.loads(text)
    by_key = {c["client"]: c for c in picture["clients"]}
    assert by_key["small-agency"]["lease"] == {
        "state": "held",
        "replica": "web-1",
        "since": lease.acquired_at.isoformat(),
        "expires": lease.expires_at.isoformat() if lease.expires_at else None,
        "token": 1,
    }
    assert by_key["solo-consultant"]["lease"] == {
        "state": "free", "replica": None, "since": None, "expires": None, "token": None,
    }  # fmt: skip
    assert [(r["id"], r["key"], r["host"], r["pid"], r["live"]) for r in picture["replicas"]] == [
        ("web-0", "web-0#c3", "host-c", 103, False),
        ("web-1", "web-1#a1", "host-a", 101, True),
    ]
    web1_json = picture["replicas"][1]
    assert web1_json["started_at"] == (now - timedelta(hours=1)).isoformat()
    assert datetime.fromisoformat(web1_json["last_seen_at"]).tzinfo is not None
    assert picture["replica_warnings"] == []


def test_two_live_replicas_with_one_id_and_a_lease_run_out_are_shown(
    settings_env: None, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with SqlStore(database_url) as store:
        store.migrate()
        first = member(store, "web#1", "host-a", 7, now)
        member(store, "web#2", "host-b", 7, now)
        store.acquire_leases(first, ["small-agency"], period=600, at=now)
        leases = schema.leases
        set_times(store, leases, leases.c.client == "small-agency", expires=time.time() - 90)
        good_cycles(store, now)
    code, out = status(capsys)
    assert code == 0, out  # a warning: the clients are served
    warning = (
        "2 live replicas share the id web (host-a pid 7, host-b pid 7): they count as one when "
        "sharing the clients; give each its own replica.id (DELEGATOR_REPLICA_ID)"
    )
    assert f"\nwarning   {warning}\n" in out
    agency = out[out.index("(small-agency)") :].splitlines()
    assert agency[1].startswith("  lease       was held by web since ")
    assert agency[1].endswith(" ago): no replica has taken it over yet")
    assert ", expired " in agency[1]
    picture = json.loads(status(capsys, "--json")[1])
    assert picture["replica_warnings"] == [warning]
    lease = {c["client"]: c for c in picture["clients"]}["small-agency"]["lease"]
    assert (lease["state"], lease["replica"]) == ("expired", "web")


def test_before_the_service_ever_ran_no_replica_and_no_lease_is_shown(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
    monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'none' / 'x.db'}")
    code, text = status(capsys, "--rules", str(rules), "--json")
    assert code == 1  # never run
    picture = json.loads(text)
    assert picture["replicas"] is None
    assert [c["lease"] for c in picture["clients"]] == [None, None]
    assert "replicas" not in status(capsys, "--rules", str(rules))[1]
