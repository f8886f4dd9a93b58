"""One bad rule file disables its own client, never the service, another client or a reload."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import delegator.clients as clients_module
from delegator.bootstrap import Fleet
from delegator.clients import load_client, load_clients, reload_clients
from delegator.rulesource import read_client_file
from delegator.scheduler import Service
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("examples")


def _touch(path: Path) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))


def _bad_date(path: Path) -> None:
    """An impossible unquoted date in the client's holidays."""
    lines = [
        line
        for line in path.read_text().splitlines(keepends=True)
        if not line.startswith("  holidays:")
    ]
    at = next(i for i, line in enumerate(lines) if line.startswith("  timezone:"))
    lines.insert(at + 1, "  holidays: [2026-02-30]\n")
    path.write_text("".join(lines))


def test_an_impossible_date_disables_only_its_client_with_a_located_error(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "small-agency.yaml", tmp_path / "agency.yaml")
    shutil.copy(EXAMPLES / "solo-consultant.yaml", tmp_path / "solo.yaml")
    _bad_date(tmp_path / "agency.yaml")
    entries = {e.key: e for e in load_clients(tmp_path)}  # raised ValueError before
    assert entries["agency"].engine is None
    [error] = entries["agency"].errors
    assert f"{tmp_path / 'agency.yaml'}:" in str(error)
    assert error.line > 1
    assert "client.holidays[0]: '2026-02-30' is not a date or a time" in str(error)
    assert entries["solo"].engine is not None


def test_any_fault_while_loading_a_client_is_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(EXAMPLES / "small-agency.yaml", tmp_path / "agency.yaml")

    class Boom:
        def __init__(self, *args: object) -> None:
            raise KeyError("something nobody expected")

    monkeypatch.setattr(clients_module, "Engine", Boom)
    entry = load_client(tmp_path / "agency.yaml")
    assert entry.engine is None
    [error] = entry.errors
    assert "cannot be checked (KeyError" in error.message
    assert str(error).startswith(f"{tmp_path / 'agency.yaml'}:1:1: ")


def test_a_reload_goes_on_past_a_file_that_faults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(EXAMPLES / "small-agency.yaml", tmp_path / "agency.yaml")
    shutil.copy(EXAMPLES / "solo-consultant.yaml", tmp_path / "solo.yaml")
    current = {e.key: e for e in load_clients(tmp_path)}
    real = read_client_file

    def faulty(path: Path, progress: object = None) -> object:
        if path.name == "agency.yaml":
            raise RuntimeError("disk on fire")
        return real(path)

    monkeypatch.setattr(clients_module, "read_client_file", faulty)
    for name in ("agency.yaml", "solo.yaml"):
        _touch(tmp_path / name)
    fresh, changes = reload_clients(tmp_path, current)
    assert fresh["solo"] is not current["solo"]  # reloaded
    assert fresh["agency"].engine is current["agency"].engine  # the last valid one runs
    assert any("agency: the new version is invalid" in c and "disk on fire" in c for c in changes)


def test_the_service_starts_and_reloads_past_a_bad_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", rules / "agency.yaml")
    shutil.copy(EXAMPLES / "solo-consultant.yaml", rules / "solo.yaml")
    _bad_date(rules / "solo.yaml")
    store = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    service = Service(Fleet(Settings(rules_dir=rules), store, environ={}), rules)
    try:
        service.start()  # died at start-up before
        assert service.scheduler.get_job("client:agency") is not None
        assert service.scheduler.get_job("client:solo") is None
        assert "is not a date or a time" in str(service.entries["solo"].errors[0])

        # a changed poll is applied while the other file stays bad
        agency = rules / "agency.yaml"
        agency.write_text(agency.read_text().replace("poll: 2m", "poll: 3m"))
        _touch(agency)
        _touch(rules / "solo.yaml")
        service.reload()  # raised every time before
        job = service.scheduler.get_job("client:agency")
        assert job is not None
        assert job.trigger.interval.total_seconds() == 180
        assert service.entries["solo"].engine is None

        # and a fixed file comes back
        shutil.copy(EXAMPLES / "solo-consultant.yaml", rules / "solo.yaml")
        _touch(rules / "solo.yaml")
        service.reload()
        assert service.scheduler.get_job("client:solo") is not None
    finally:
        service.stop(wait=False)


def test_a_fault_in_scheduling_one_client_leaves_the_others_scheduled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", rules / "agency.yaml")
    shutil.copy(EXAMPLES / "solo-consultant.yaml", rules / "solo.yaml")
    store = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    service = Service(Fleet(Settings(rules_dir=rules), store, environ={}), rules)
    real = service._schedule

    def schedule(entry: clients_module.ClientEntry) -> None:
        if entry.key == "agency":
            raise OverflowError("an interval past the end of time")
        real(entry)

    monkeypatch.setattr(service, "_schedule", schedule)
    try:
        service.reload()
        assert service.scheduler.get_job("client:solo") is not None
        assert service.entries["agency"].engine is None
        assert "OverflowError" in service.entries["agency"].errors[0].message
    finally:
        service.stop(wait=False)
