"""Versioned migrations: from empty, again, from an older version, and never onto a newer one."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from delegator.store import MIGRATIONS, Migration, SqlStore, StoreError
from delegator.store.database import open_engine, parse_url
from delegator.store.migrations import latest_version, upgrade
from delegator.store.schema import metadata

STORE_TABLES = {
    "schema_version",
    "cycles",
    "sync_positions",
    "actions",
    "delegations",
    "overrides",
    "round_robin",
    "summary_sends",
    "leases",
    "replicas",
    "subscriptions",
    "followups",
    "status_links",
}
LATEST = latest_version()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A bare engine on the test database, for looking behind the store's back."""
    opened = open_engine(parse_url(database_url))
    yield opened
    opened.dispose()


def versions(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT version FROM schema_version ORDER BY version"))
        return [int(version) for version in rows.scalars()]


def tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_migrate_creates_every_table_in_an_empty_database(
    database_url: str, engine: Engine
) -> None:
    with SqlStore(database_url) as store:
        assert store.schema_version() == 0
        store.migrate()
        assert store.schema_version() == LATEST
    assert tables(engine) == STORE_TABLES
    assert versions(engine) == list(range(1, LATEST + 1))


def test_the_migrated_schema_is_the_one_the_store_queries(store: SqlStore, engine: Engine) -> None:
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        columns = {column["name"]: column for column in inspector.get_columns(table.name)}
        assert set(columns) == set(table.columns.keys()), table.name
        for column in table.columns:
            assert columns[column.name]["nullable"] == column.nullable, (table.name, column.name)
        reflected = {index["name"]: index for index in inspector.get_indexes(table.name)}
        declared = {index.name: index for index in table.indexes}
        assert set(reflected) == set(declared), table.name
        for name, index in declared.items():
            assert reflected[name]["column_names"] == [c.name for c in index.columns], name
            assert bool(reflected[name]["unique"]) == index.unique, name
        primary = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert primary == [column.name for column in table.primary_key.columns], table.name


def test_migrate_again_changes_nothing_and_keeps_the_data(
    database_url: str, engine: Engine
) -> None:
    with SqlStore(database_url) as store:
        store.migrate()
        store.save_round_robin("acme", "finance", "anna")
        store.migrate()
        store.migrate()
        assert store.round_robin("acme") == {"finance": "anna"}
    with SqlStore(database_url) as restarted:
        restarted.migrate()
        assert restarted.round_robin("acme") == {"finance": "anna"}
    assert versions(engine) == list(range(1, LATEST + 1))


def _notes_table(connection: Connection) -> None:
    connection.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))


def _first_note(connection: Connection) -> None:
    # Needs version 2's table: proves the steps run in order.
    connection.execute(sa.text("INSERT INTO notes (id, body) VALUES (1, 'after v2')"))


def _noted(step: list[int], version: int, apply: object) -> Migration:
    def run(connection: Connection) -> None:
        step.append(version)
        assert callable(apply)
        apply(connection)

    return Migration(version, f"test step {version}", run)


def test_an_older_database_is_upgraded_step_by_step_in_order(
    database_url: str, engine: Engine
) -> None:
    with SqlStore(database_url) as store:  # a database delegator left at the latest version
        store.migrate()
        store.save_round_robin("acme", "finance", "anna")
    applied: list[int] = []
    newer: Sequence[Migration] = (
        *MIGRATIONS,
        _noted(applied, LATEST + 1, _notes_table),
        _noted(applied, LATEST + 2, _first_note),
    )

    assert upgrade(engine, "test", newer) == [LATEST + 1, LATEST + 2]

    assert applied == [LATEST + 1, LATEST + 2]
    assert versions(engine) == list(range(1, LATEST + 3))
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT body FROM notes")).scalar_one() == "after v2"
    assert upgrade(engine, "test", newer) == []
    with SqlStore(database_url) as store:  # the data of version 1 survived
        assert store.round_robin("acme") == {"finance": "anna"}


def test_a_version_table_without_rows_counts_as_version_zero(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
                " description TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
        )

    assert upgrade(engine, "test") == list(range(1, LATEST + 1))
    assert tables(engine) == STORE_TABLES


def test_a_newer_database_is_refused_with_a_clear_message(
    database_url: str, engine: Engine
) -> None:
    with SqlStore(database_url) as store:
        store.migrate()
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO schema_version (version, description, applied_at)"
                    " VALUES (:version, 'from the future', '2030-01-01 00:00:00')"
                ),
                {"version": LATEST + 1},
            )

        with pytest.raises(StoreError) as refused:
            store.migrate()

    assert str(refused.value) == (
        f"the database at {store.display_url} has schema version {LATEST + 1}; "
        f"this delegator knows up to {LATEST}: upgrade delegator"
    )
    password = parse_url(database_url).password
    if password:
        assert f":{password}@" not in str(refused.value)
        assert ":***@" in str(refused.value)


def _half_done(connection: Connection) -> None:
    connection.execute(sa.text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
    connection.execute(sa.text("INSERT INTO no_such_table VALUES (1)"))


def test_a_failing_step_leaves_the_database_at_the_previous_version(
    store: SqlStore, engine: Engine
) -> None:
    broken = (*MIGRATIONS, Migration(LATEST + 1, "a broken step", _half_done))

    with pytest.raises(
        StoreError, match=rf"to schema version {LATEST + 1} \(a broken step\) failed"
    ):
        upgrade(engine, store.display_url, broken)

    assert versions(engine) == list(range(1, LATEST + 1))
    assert "half_done" not in tables(engine)  # the DDL of the failed step was rolled back
    assert store.schema_version() == LATEST


def test_migrations_must_be_numbered_from_one_without_gaps(engine: Engine) -> None:
    gap = (*MIGRATIONS, Migration(LATEST + 2, "skips one", _notes_table))
    numbers = ", ".join(str(n) for n in [*range(1, LATEST + 1), LATEST + 2])

    with pytest.raises(ValueError, match=rf"numbered 1, 2, 3 \.\.\. in order; got \[{numbers}\]"):
        upgrade(engine, "test", gap)


def test_replicas_starting_together_migrate_once(database_url: str, engine: Engine) -> None:
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def start_replica() -> None:
        try:
            with SqlStore(database_url) as replica:
                start.wait(timeout=10)
                replica.migrate()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start_replica) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert versions(engine) == list(range(1, LATEST + 1))
    assert tables(engine) == STORE_TABLES
