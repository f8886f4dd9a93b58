"""Version 4 adds client leases and records which replica and lease ran each cycle. A database
the service has not migrated yet (a new delegator's `status` run before its service) still
reads; after the migration its old cycles read the same, with no replica, and are never closed
by a lease takeover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from storekit import T0

from delegator.ports import ReplicaIdentity
from delegator.store import MIGRATIONS, SqlStore
from delegator.store.database import open_engine, parse_url
from delegator.store.migrations import upgrade


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    opened = open_engine(parse_url(database_url))
    yield opened
    opened.dispose()


def _version_3_cycles(engine: Engine) -> None:
    assert upgrade(engine, "test", MIGRATIONS[:3]) == [1, 2, 3]
    with engine.begin() as connection:
        for finished in (T0, None):
            connection.execute(
                sa.text(
                    "INSERT INTO cycles (client, started_at, finished_at, dry_run, counts, "
                    "errors, error_kinds) VALUES ('acme', :at, :end, :dry, :counts, '[]', '[]')"
                ),
                {"at": T0, "end": finished, "dry": False, "counts": json.dumps({"tasks_seen": 4})},
            )


def test_the_cycles_of_a_version_3_database_read_before_and_after_the_migration(
    database_url: str, engine: Engine
) -> None:
    _version_3_cycles(engine)
    with SqlStore(database_url) as store:
        assert store.schema_version() == 3
        before = store.cycles("acme")  # not migrated: no replica or fence column yet
        store.migrate()
        assert store.schema_version() == MIGRATIONS[-1].version
        assert store.cycles("acme") == before
        assert [c.counts["tasks_seen"] for c in before] == [4, 4]
        me = ReplicaIdentity("web-a#1", "web-a", "host", 1, T0)
        store.acquire_leases(me, ["acme"], period=60, at=T0 + timedelta(hours=1))
        unfinished = [c for c in store.cycles("acme") if c.finished_at is None]
        assert len(unfinished) == 1  # a cycle without a lease is not the takeover's to close
