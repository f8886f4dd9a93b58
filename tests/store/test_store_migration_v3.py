"""Version 3 records the kind of each error a cycle reports; rows written before read the same and
their errors are classified by their text, as they were then."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from storekit import T0

from delegator.cycles import Count, CycleCounts, CycleError, ErrorKind
from delegator.store import MIGRATIONS, SqlStore
from delegator.store.database import open_engine, parse_url
from delegator.store.migrations import latest_version, upgrade
from delegator.summaries.gather import cycle_problems
from delegator.summaries.periods import Period

OLD_ERRORS = [
    "the token was refused: 401 Unauthorized",
    "project Operations: Asana failed 3 times on this request",
    "task 1201: tag failed (retried next cycle): Asana answered 403 Forbidden",
    "queued task 1300: Asana answered 500",
]
OLD_COUNTS = {
    "tasks_seen": 12,
    "actions_done": 3,
    "actions_failed": 1,
    "actions_failed_tag": 1,
    "client_failed": 1,
    "a_count_of_another_version": 2,
}
PERIOD = Period(T0 - timedelta(days=1), T0 + timedelta(days=1))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    opened = open_engine(parse_url(database_url))
    yield opened
    opened.dispose()


def _version_2_cycle(engine: Engine) -> None:
    """A finished cycle as delegator 2 wrote it: plain string keys, errors without kinds."""
    assert upgrade(engine, "test", MIGRATIONS[:2]) == [1, 2]
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO cycles (client, started_at, finished_at, dry_run, counts, errors)"
                " VALUES ('acme', :at, :at, :dry, :counts, :errors)"
            ),
            {
                "at": T0,
                "dry": False,
                "counts": json.dumps(OLD_COUNTS),
                "errors": json.dumps(OLD_ERRORS),
            },
        )


def test_a_cycle_of_version_2_reads_the_same_and_is_classified_by_its_text(
    database_url: str, engine: Engine
) -> None:
    _version_2_cycle(engine)
    with SqlStore(database_url) as store:
        store.migrate()
        assert store.schema_version() == latest_version()
        [old] = store.cycles("acme")
        assert old.counts.to_mapping() == OLD_COUNTS  # unknown keys kept, never lost
        assert old.counts[Count.TASKS_SEEN] == 12
        assert old.counts[Count.CLIENT_FAILED] == 1
        assert old.counts.failed_by_kind() == {"tag": 1}
        assert old.errors == tuple(OLD_ERRORS)
        assert old.error_kinds is None
        assert [old.error_kind(i) for i in range(len(OLD_ERRORS))] == [None] * len(OLD_ERRORS)

        kinds = {p.text: p.what for p in cycle_problems(store, "acme", PERIOD)}
        assert kinds == {
            "1 change to tasks failed in 1 cycle (tag 1); each is tried again at the next cycle": (
                "write"
            ),
            OLD_ERRORS[0]: "token",
            OLD_ERRORS[1]: "source",
            OLD_ERRORS[2]: "write",
            OLD_ERRORS[3]: "cycle",
        }


def test_a_cycle_of_version_3_keeps_each_error_s_kind(store: SqlStore) -> None:
    cycle = store.start_cycle("acme", T0, False)
    errors = [
        CycleError(ErrorKind.TOKEN, "Asana no longer accepts these credentials"),
        CycleError(ErrorKind.TASK, "queued task 1300: Asana answered 500"),
    ]
    store.finish_cycle(cycle, T0, CycleCounts({Count.CLIENT_FAILED: 1}), errors)
    [record] = store.cycles("acme")
    assert record.error_kinds == (ErrorKind.TOKEN, ErrorKind.TASK)
    assert record.errors == tuple(e.text for e in errors)
    kinds = {p.text: p.what for p in cycle_problems(store, "acme", PERIOD)}
    assert kinds == {errors[0].text: "token", errors[1].text: "task"}
