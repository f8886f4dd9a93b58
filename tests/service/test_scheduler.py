"""The long-running service's scheduling: one job per valid client, rule files reloaded live."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from delegator.bootstrap import Fleet
from delegator.sandbox import ManualClock
from delegator.scheduler import HOUSEKEEPING, Service
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("examples")


def test_clients_get_jobs_and_rule_files_are_reloaded(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", rules / "agency.yaml")
    store = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    service = Service(Fleet(Settings(rules_dir=rules), store, environ={}), rules)
    try:
        service.reload()
        job = service.scheduler.get_job("client:agency")
        assert job is not None
        assert job.trigger.interval.total_seconds() == 120  # poll: 2m

        shutil.copy(EXAMPLES / "solo-consultant.yaml", rules / "solo.yaml")
        agency = rules / "agency.yaml"
        agency.write_text(agency.read_text().replace("poll: 2m", "poll: 2 minutez"))
        os.utime(agency, (agency.stat().st_atime, agency.stat().st_mtime + 5))
        engine = service.entries["agency"].engine
        service.reload()
        assert service.scheduler.get_job("client:solo") is not None
        assert service.entries["agency"].engine is engine  # the last valid version keeps running
        assert service.scheduler.get_job("client:agency") is not None

        (rules / "solo.yaml").unlink()
        service.reload()
        assert service.scheduler.get_job("client:solo") is None
        assert sorted(service.entries) == ["agency"]
    finally:
        service.stop(wait=False)


def test_the_clients_cycled_at_once_and_the_daily_prune_come_from_the_settings(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    store = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    settings = Settings(rules_dir=rules, worker_concurrency=7, http_port=0)
    service = Service(Fleet(settings, store, environ={}), rules)
    try:
        # worker.concurrency cycles at once, and room for the jobs that are not cycles
        pool = service.scheduler._executors["default"]._pool
        assert pool._max_workers == 7 + HOUSEKEEPING
        service.start()
        job = service.scheduler.get_job("prune")
        assert job is not None
        assert job.trigger.interval.total_seconds() == 24 * 3600
    finally:
        service.stop(wait=False)
    kept = Settings(rules_dir=rules, journal_retention=timedelta(0), http_port=0)
    service = Service(Fleet(kept, store, environ={}), rules)
    try:
        service.start()
        assert service.scheduler.get_job("prune") is None  # 0: kept for ever
    finally:
        service.stop(wait=False)


def test_the_prune_job_deletes_what_is_older_than_the_retention(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    store = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    clock = ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    for days in (100, 10):
        store.begin_action(
            cycle_id=None, client="acme", task_gid=str(days), task_name="t", rule="r",
            kind="tag", detail={}, assistant=None, mode="active",
            at=clock.now() - timedelta(days=days), status="done",
        )  # fmt: skip
    service = Service(Fleet(Settings(rules_dir=rules), store, environ={}, clock=clock), rules)
    service.prune()
    assert [a.task_gid for a in store.actions("acme")] == ["10"]
