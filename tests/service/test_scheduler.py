"""The long-running service's scheduling: one job per valid client, rule files reloaded live."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from delegator.bootstrap import Fleet
from delegator.scheduler import Service
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("rules/examples")


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
