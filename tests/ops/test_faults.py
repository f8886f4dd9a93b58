"""Faults and what the service does: failed writes are told (``once``, ``status``, /readyz,
metrics, the summary), the store is checked (schema, writable, room left) and every bad input of
the service commands ends in one line and an exit code, never a traceback."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from delegator.asana.backend import AsanaBackend
from delegator.cli import main
from delegator.core.model import Task
from delegator.core.summary import Problem, SummaryInputs, build_summary
from delegator.cycles import CycleCounts, CycleError, ErrorKind
from delegator.health import ClientState, assess, store_checks, with_store_checks
from delegator.metrics import Metrics
from delegator.ports import BackendError
from delegator.redact import forget_secrets, register_secret
from delegator.sandbox import SandboxServer
from delegator.service import CycleReport
from delegator.store import SqlStore
from delegator.store.sqlstore import StoreHealth
from delegator.summaries import Period, Summaries

EXAMPLES = Path("examples")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FAILED = {"tasks_seen": 30, "actions_done": 0, "actions_failed": 30, "actions_failed_tag": 30}


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.setenv("DELEGATOR_RULES_DIR", str(EXAMPLES))
        monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
        monkeypatch.setenv("DELEGATOR_LOG_LEVEL", "error")
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", server.token("anna@northwind.example"))
        monkeypatch.setenv("ASANA_TOKEN_FISCHER", server.token("lena@fischer-consulting.example"))
        yield server


def one_line(err: str) -> str:
    """stderr of a command that failed: one ``delegator:`` line, no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("delegator: ")]
    assert lines, err
    return lines[0]


# ---------------------------------------------------------------- 1. failed writes


def failing_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tag write fails (Asana answers 403); the other writes go through."""
    original = AsanaBackend.write

    def write(self: AsanaBackend, task: Task, intent: Any, **options: Any) -> str | None:
        if intent.kind == "tag":
            raise BackendError(f"tag on task {task.gid}: Asana answered 403 Forbidden")
        return original(self, task, intent, **options)

    monkeypatch.setattr(AsanaBackend, "write", write)


def test_once_exits_1_and_prints_each_failed_write_then_status_says_failing(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: `once` printed "N failed" and exited 0; `status` said healthy and exited 0."""
    failing_tags(monkeypatch)
    assert main(["once", "--client", "small-agency"]) == 1
    out = capsys.readouterr().out
    assert "tag failed on " in out
    assert "403 Forbidden" in out
    assert main(["status"]) == 1
    shown = capsys.readouterr().out
    assert "small-agency): failing - " in shown
    assert "changes to tasks failed in the last cycle" in shown
    assert "unhealthy: small-agency" in shown


def test_a_client_is_failing_from_one_failed_write_and_the_threshold_is_a_setting() -> None:
    state = ClientState(
        "acme", "Acme", timedelta(minutes=5), last_cycle_at=NOW, last_finished_at=NOW,
        last_result="ok", last_counts=CycleCounts.from_mapping(FAILED), last_success_at=NOW,
    )  # fmt: skip
    failing = assess(state, NOW, 3)  # the default: 1 failed write
    assert (failing.status, failing.healthy) == ("failing", False)
    assert failing.reason == "30 of 30 changes to tasks failed in the last cycle (tag 30)"
    assert assess(state, NOW, 3, failed_writes_at=31).healthy
    assert assess(state, NOW, 3, failed_writes_at=0).healthy  # 0: off


def test_readyz_reports_the_failing_client_and_the_store(tmp_path: Path) -> None:
    from delegator.health import Readiness

    state = ClientState(
        "acme", "Acme", timedelta(minutes=5), last_cycle_at=NOW, last_result="ok",
        last_counts=CycleCounts.from_mapping(FAILED), last_success_at=NOW,
    )  # fmt: skip
    picture = Readiness(NOW, {"store": "ok"}, [assess(state, NOW, 3, failed_writes_at=0)])
    assert picture.ready  # the scheduler's own picture, without the threshold
    health = StoreHealth(3, 2, None, 10 * 2**30, str(tmp_path))
    judged = with_store_checks(
        picture, health, ready_polls=3, failed_writes_at=1, min_free=100 * 2**20
    )
    body = judged.as_json()
    assert body["ready"] is False
    assert body["clients"][0]["status"] == "failing"
    assert body["clients"][0]["last_failed_writes"] == 30
    assert "schema version 3; this delegator knows up to 2" in body["checks"]["schema"]


def test_metrics_count_failed_writes_per_kind_from_the_counts() -> None:
    """Before: only the kept task reports were counted; a service cycle keeps none of a task
    whose writes all failed once the report is trimmed, so the failures went uncounted."""
    metrics = Metrics()
    report = CycleReport("acme", "Acme", NOW, dry_run=False)
    report.counts = CycleCounts.from_mapping(FAILED)
    metrics.observe_cycle(report, 1.0, NOW)
    samples = {
        (s.labels.get("kind"), s.labels.get("result")): s.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for s in family.samples
        if s.name == "delegator_actions_total"
    }
    assert samples[("tag", "failed")] == 30


def test_the_summary_lists_failed_writes_grouped_and_is_at_risk(store: SqlStore) -> None:
    """Before: a cycle whose writes failed (counts only, or alike errors per task) showed
    nothing, or one problem per task, and the summary could be on track."""
    cycle = store.start_cycle("acme", NOW, False)
    errors = [
        CycleError(
            ErrorKind.WRITE,
            f"task {gid}: tag failed (retried next cycle): Asana answered 403 Forbidden",
        )
        for gid in ("1200000000001", "1200000000002", "1200000000003")
    ]
    failed = CycleCounts.from_mapping({"actions_failed": 3, "actions_failed_tag": 3})
    store.finish_cycle(cycle, NOW + timedelta(seconds=3), failed, errors)
    period = Period(NOW - timedelta(days=1), NOW + timedelta(days=1))
    problems = Summaries._cycle_problems(SimpleNamespace(store=store), "acme", period)  # type: ignore[arg-type]
    texts = [p.text for p in problems]
    assert texts[0] == (
        "3 changes to tasks failed in 1 cycle (tag 3); each is tried again at the next cycle"
    )
    assert texts[1] == "tag failed (retried next cycle): Asana answered 403 Forbidden (3 times)"
    assert len(problems) == 2
    assert {p.what for p in problems} == {"write"}
    summary = build_summary(
        SummaryInputs(
            client="Acme",
            timezone="UTC",
            period_start=period.start,
            period_end=period.end,
            delegations=[],
            problems=problems,
        )
    )
    assert summary.status_type == "at_risk"
    assert summary.status_reason.startswith("3 changes to tasks failed in 1 cycle")


# ---------------------------------------------------------------- 2. the store checked


def newer_schema(url: str) -> None:
    with SqlStore(url) as store:
        store.migrate()
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO schema_version (version, description, applied_at) "
            "VALUES (99, 'from the future', '2030-01-01 00:00:00.000000')"
        )
    engine.dispose()


def test_a_newer_schema_is_unhealthy_and_every_command_says_so(
    sandbox: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: `status` said healthy (exit 0); once, plan, history and summary raised a
    traceback."""
    newer_schema(f"sqlite:///{tmp_path / 'state.db'}")
    assert main(["status"]) == 1
    out = capsys.readouterr().out
    assert "schema version 99; this delegator knows up to" in out
    assert "unhealthy: the database" in out
    for command in (["once"], ["plan"], ["summary", "--client", "small-agency"]):
        assert main(command) == 1, command
        line = one_line(capsys.readouterr().err)
        assert "has schema version 99; this delegator knows up to" in line, command


@contextlib.contextmanager
def mounted(folder: Path, size: str = "1m") -> Iterator[Path]:
    """A small tmpfs at ``folder`` (root only); skips the test where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],  # noqa: S607
        capture_output=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)  # noqa: S603, S607


def test_a_store_on_a_read_only_file_system(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mounted(tmp_path / "ro", "64m") as folder:
        url = f"sqlite:///{folder / 'state.db'}"
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", url)
        assert main(["once", "--client", "solo-consultant"]) == 0
        capsys.readouterr()
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)  # noqa: S603, S607
        assert main(["status"]) == 1
        out = capsys.readouterr().out
        assert "is on a read-only file system" in out
        assert main(["once", "--client", "solo-consultant"]) == 1
        line = one_line(capsys.readouterr().err)
        assert str(folder / "state.db") in line


def test_a_full_disk_is_unhealthy_and_once_says_so(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before: `status` said healthy on a nearly full disk and `once` raised a traceback when
    the disk filled."""
    with mounted(tmp_path / "tiny", "2m") as folder:
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{folder / 'state.db'}")
        assert main(["once", "--client", "solo-consultant"]) in (0, 1)
        capsys.readouterr()
        assert main(["status"]) == 1
        out = capsys.readouterr().out
        assert "left for the database in" in out
        assert "writes will fail" in out
        filler = folder / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as sink:
            while True:
                sink.write(b"\0" * 65536)
        assert main(["once"]) == 1
        err = capsys.readouterr().err
        line = one_line(err)
        assert "database" in line


def test_health_of_a_store_with_a_page_limit(tmp_path: Path) -> None:
    """SQLite's page limit counts as the room left (a full disk where no tmpfs can be made)."""
    store = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    with store._transaction() as connection:  # the limit holds for this connection only
        connection.exec_driver_sql("PRAGMA max_page_count = 40")
        _, free, _ = store._sqlite_room(connection)
    store.close()
    assert free is not None
    assert free < 40 * 4096
    checks, _ = store_checks(StoreHealth(2, 2, None, free, str(tmp_path)), 100 * 2**20)
    assert "writes will fail" in checks["disk"]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("mysql://user:pw@localhost/db", "delegator keeps its state in SQLite or PostgreSQL"),
        ("not a url at all", "is not valid"),
        ("postgresql://user:secret-pw@127.0.0.1:1/db", "cannot open or migrate the database"),
    ],
)
def test_a_bad_or_unreachable_database_is_one_line(
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    said: str,
) -> None:
    monkeypatch.setenv("DELEGATOR_DATABASE_URL", url)
    for command in (["once"], ["plan"], ["history"], ["summary", "--client", "small-agency"]):
        assert main(command) in (1, 2), command
        line = one_line(capsys.readouterr().err)
        assert said in line, (command, line)
        assert "secret-pw" not in line


# ---------------------------------------------------------------- 3. bad inputs: messages


@pytest.mark.parametrize("case", ["folder", "binary", "missing", "unreadable", "not-a-folder"])
def test_a_bad_settings_file_is_one_line_and_exit_2(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    """Before: a folder, a binary or an unreadable file raised a traceback."""
    path = tmp_path / "settings.yaml"
    if case == "folder":
        path.mkdir()
    elif case == "binary":
        path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00binary")
    elif case == "unreadable":
        path.write_text("log:\n  level: info\n")
        original = Path.read_text

        def refuse(self: Path, *args: Any, **kwargs: Any) -> str:
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return original(self, *args, **kwargs)

        monkeypatch.setattr(Path, "read_text", refuse)
    elif case == "not-a-folder":
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "settings.yaml"
    for command in ("once", "plan", "history", "status", "summary", "config"):
        assert main([command, "--config", str(path)]) == 2, (case, command)
        line = one_line(capsys.readouterr().err)
        assert str(path) in line, (case, command, line)


def test_a_token_with_a_character_http_cannot_carry_fails_that_client_only(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: UnicodeEncodeError from http.client, a traceback, and no client served."""
    token = sandbox.token("anna@northwind.example") + "\u20ac"
    monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", token)
    assert main(["once"]) == 1
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert "small-agency: the Asana token in $ASANA_TOKEN_NORTHWIND has a character" in line
    assert "EURO SIGN" in line
    assert token not in captured.err
    assert "solo-consultant: 13 tasks read" in captured.out  # the other clients ran
    assert main(["status"]) == 1
    assert "cannot be sent in an HTTP header" in capsys.readouterr().out
    assert main(["plan", "--client", "small-agency"]) == 1
    one_line(capsys.readouterr().err)


def test_an_unexpected_error_is_one_line_and_a_report_in_the_state_dir(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "s3cr3t-value-in-an-error"
    register_secret(secret)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"something nobody foresaw ({secret})")

    monkeypatch.setattr("delegator.cli.service.parse_duration", broken)
    try:
        assert main(["history"]) == 1
    finally:
        forget_secrets()
    line = one_line(capsys.readouterr().err)
    assert line.startswith("delegator: unexpected error in delegator history: RuntimeError: ")
    assert secret not in line
    report = Path(line.rsplit("the full report is in ", 1)[1])
    assert report.parent == tmp_path
    text = report.read_text()
    assert "Traceback" in text
    assert "something nobody foresaw" in text
    assert secret not in text


# ---------------------------------------------------------------- 2. killed cycles


def test_cycles_left_unfinished_by_a_dead_process_are_closed_as_interrupted(
    store: SqlStore,
) -> None:
    mine = store.start_cycle("acme", NOW, False)  # this process runs: left alone
    engine = sa.create_engine(store._engine.url)
    dead = store.start_cycle("acme", NOW + timedelta(seconds=1), False)
    with engine.begin() as connection:  # as a killed process left it: its pid is gone
        connection.execute(
            sa.text("UPDATE cycles SET counts = :counts WHERE id = :id"),
            {"counts": '{"owner_host": 1, "owner_pid": 1, "owner_start": 1}', "id": dead},
        )
    engine.dispose()
    assert store.close_abandoned_cycles(NOW + timedelta(minutes=1)) == 1
    by_id = {c.id: c for c in store.cycles("acme")}
    assert by_id[mine].finished_at is None
    closed = by_id[dead]
    assert closed.finished_at == NOW + timedelta(minutes=1)
    assert closed.counts.to_mapping() == {"interrupted": 1}
    assert closed.error_kinds == (ErrorKind.CYCLE,)
    assert "ended without finishing it" in closed.errors[-1]
    assert store.close_abandoned_cycles(NOW + timedelta(minutes=2)) == 0


def test_problems_of_inputs_pass_unchanged_through_a_summary() -> None:
    problem = Problem("write", "2 changes to tasks failed in 1 cycle (assign 2)")
    summary = build_summary(
        SummaryInputs(
            client="Acme",
            timezone="UTC",
            period_start=NOW,
            period_end=NOW + timedelta(days=1),
            delegations=[],
            problems=[problem],
        )
    )
    assert summary.problems == (problem,)
