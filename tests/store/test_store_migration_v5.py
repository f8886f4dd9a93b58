"""Version 5 adds the webhook subscriptions, shared by the replicas. A version 4 database keeps
every row it had; the new table is the one the store queries, and starts empty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from storekit import T0, begin

from delegator.ports import ReplicaIdentity, Signal, Subscription, SubscriptionState, SyncPosition
from delegator.store import MIGRATIONS, SqlStore, schema
from delegator.store.database import open_engine, parse_url
from delegator.store.migrations import upgrade

ALPHA = ReplicaIdentity("alpha#1", "alpha", "alpha.example", 4242, T0)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    opened = open_engine(parse_url(database_url))
    yield opened
    opened.dispose()


def test_a_version_4_database_keeps_its_data_and_gains_the_subscriptions(
    database_url: str, engine: Engine
) -> None:
    assert upgrade(engine, "test", MIGRATIONS[:4]) == [1, 2, 3, 4]
    assert "subscriptions" not in sa.inspect(engine).get_table_names()
    with SqlStore(database_url) as old:  # a version 4 database with rows in its tables
        cycle_id = old.start_cycle("acme", T0, False)
        action_id = begin(old)
        old.save_sync_position("acme", SyncPosition("project:1", high_water=T0, sync_token="t"))
        old.save_round_robin("acme", "finance", "anna")
        (taken,) = old.acquire_leases(ALPHA, ["acme"], period=60, at=T0)
        before = (
            old.cycles("acme"),
            old.actions("acme"),
            old.sync_position("acme", "project:1"),
            old.round_robin("acme"),
            old.leases(),
        )

    with SqlStore(database_url) as store:
        assert store.schema_version() == 4
        store.migrate()
        assert store.schema_version() == MIGRATIONS[-1].version
        after = (
            store.cycles("acme"),
            store.actions("acme"),
            store.sync_position("acme", "project:1"),
            store.round_robin("acme"),
            store.leases(),
        )
        assert after == before
        assert [c.id for c in after[0]] == [cycle_id]
        assert [a.id for a in after[1]] == [action_id]
        assert store.subscriptions() == []

        # The new table works, for the lease holder's writes too.
        subscription = Subscription(
            "k1", "acme", "1200", SubscriptionState.PENDING, T0 + timedelta(minutes=1)
        )
        store.fenced(taken.fence).save_subscription(subscription)
        assert store.accept_secret("k1", "sealed", T0 + timedelta(minutes=2), since=T0)
        store.record_signals([Signal("k1", T0 + timedelta(minutes=3), 1)])
        assert store.take_dirty(["acme"]) == {"acme": T0 + timedelta(minutes=3)}


def test_the_migrated_subscriptions_table_is_the_one_the_store_queries(
    database_url: str, engine: Engine
) -> None:
    upgrade(engine, "test", MIGRATIONS[:4])
    with SqlStore(database_url) as store:
        store.migrate()
    table = schema.subscriptions
    inspector = sa.inspect(engine)

    columns = {column["name"]: column for column in inspector.get_columns(table.name)}
    assert list(columns) == list(table.columns.keys())
    for column in table.columns:
        assert columns[column.name]["nullable"] == column.nullable, column.name
        reflected = columns[column.name]["type"]
        declared = column.type.dialect_impl(engine.dialect)
        assert reflected._type_affinity is declared._type_affinity, column.name
        if isinstance(reflected, sa.DateTime) and engine.dialect.name == "postgresql":
            assert reflected.timezone, column.name  # timestamptz
    assert inspector.get_pk_constraint(table.name)["constrained_columns"] == ["key"]
    indexes = {index["name"]: index for index in inspector.get_indexes(table.name)}
    assert {name: index["column_names"] for name, index in indexes.items()} == {
        index.name: [c.name for c in index.columns] for index in table.indexes
    }
    assert not any(index["unique"] for index in indexes.values())

    # failures defaults to 0 in the database too, for a row written without it
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO subscriptions (key, client, resource, state, created_at) "
                "VALUES ('k1', 'acme', '1200', 'pending', :at)"
            ),
            {"at": T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0},
        )
    with SqlStore(database_url) as store:
        found = store.subscription("k1")
    assert found == Subscription("k1", "acme", "1200", SubscriptionState.PENDING, T0)
