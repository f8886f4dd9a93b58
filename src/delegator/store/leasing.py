"""Client leases and replica heartbeats in SQL: the statements behind ``SqlStore``'s ``LeaseStore``.

A lease is a row per client with its holder, a fencing token and an expiry. Taking one is a
compare-and-set: ``UPDATE ... WHERE holder IS NULL OR expires < now`` on rows first locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's write lock serialises the whole
transaction), so two replicas racing for a client never both win, and one never waits on a row
the other is changing: it looks again next round. Every expiry is computed by the database's
clock (``clock_timestamp()``, ``julianday('now')``), so replicas whose clocks disagree agree on
when a lease ends. Why a lease table and not advisory locks: a session lock lives as long as its
connection, and a paused process (SIGSTOP, a long GC, a frozen VM) keeps its connection open, so
its clients would never be taken over; a lease expires by time alone, and its token lets the
store refuse the late writes of a holder that woke up after losing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from delegator.ports import (
    Fence,
    LeaseLost,
    LeaseRecord,
    LeaseRound,
    ReplicaIdentity,
    ReplicaRecord,
    Taken,
)
from delegator.store import schema

# Replica rows whose heartbeat stopped this long ago are deleted (seconds): kept a while so
# `delegator status` can say which replica went away.
FORGET_REPLICAS_AFTER: Final = 24 * 3600.0


def now_expression(connection: Connection) -> sa.ColumnElement[float]:
    """The database's time now, in epoch seconds."""
    if connection.dialect.name == "postgresql":
        return sa.cast(sa.extract("epoch", sa.func.clock_timestamp()), sa.Double())
    return sa.cast((sa.func.julianday("now") - 2440587.5) * 86400.0, sa.Double())


def database_now(connection: Connection) -> float:
    return float(connection.execute(sa.select(now_expression(connection))).scalar_one())


def _time(value: float | None) -> datetime | None:
    if value is None or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


def heartbeat_and_renew(
    connection: Connection, me: ReplicaIdentity, period: float, *, member: bool
) -> LeaseRound:
    """Three statements (four the first time): the heartbeat, the renewals, and in one query the
    live replicas and the clients others hold."""
    now = now_expression(connection)
    replicas, leases = schema.replicas, schema.leases
    if member:
        updated = connection.execute(
            replicas.update().where(replicas.c.key == me.key).values(seen=now, expires=now + period)
        )
        if updated.rowcount == 0:
            connection.execute(
                replicas.insert().values(
                    key=me.key, id=me.id, host=me.host, pid=me.pid, started_at=me.started_at,
                    seen=now, expires=now + period,
                )
            )  # fmt: skip
    renewed = connection.execute(
        leases.update()
        .where(leases.c.holder == me.key)
        .values(expires=now + period)
        .returning(leases.c.client, leases.c.token)
    ).all()
    live_replicas = sa.select(sa.literal("replica").label("kind"), replicas.c.id.label("name"))
    held_by_others = sa.select(sa.literal("lease").label("kind"), leases.c.client.label("name"))
    rows = connection.execute(
        sa.union_all(
            live_replicas.where(replicas.c.expires > now),
            held_by_others.where(
                leases.c.holder.is_not(None), leases.c.holder != me.key, leases.c.expires > now
            ),
        )
    ).all()
    held = sorted((Fence(row.client, me.key, int(row.token)) for row in renewed),
                  key=lambda fence: fence.client)  # fmt: skip
    return LeaseRound(
        replicas=tuple(sorted({row.name for row in rows if row.kind == "replica"})),
        held=tuple(held),
        others=frozenset(row.name for row in rows if row.kind == "lease"),
    )


def acquire(
    connection: Connection, me: ReplicaIdentity, clients: Sequence[str], period: float
) -> list[Taken]:
    """Take the free or expired leases among ``clients``, in four statements whatever their
    number; rows another replica is changing now are skipped (SKIP LOCKED) and looked at next
    round."""
    leases = schema.leases
    wanted = sorted(set(clients))
    if not wanted:
        return []
    now = database_now(connection)
    # Rows only for clients never leased: an INSERT ... ON CONFLICT over an existing row would
    # wait (PostgreSQL) for any open transaction that updated it, such as another replica's
    # round, paused before its COMMIT.
    existing = set(
        connection.execute(sa.select(leases.c.client).where(leases.c.client.in_(wanted))).scalars()
    )
    missing = [client for client in wanted if client not in existing]
    if missing:
        _insert_free(connection, missing)
    candidates = connection.execute(
        sa.select(leases.c.client, leases.c.holder, leases.c.replica)
        .where(
            leases.c.client.in_(wanted),
            leases.c.holder.is_distinct_from(me.key),
            sa.or_(leases.c.holder.is_(None), leases.c.expires < now),
        )
        .order_by(leases.c.client)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return []
    previous = {row.client: (row.replica if row.holder is not None else None) for row in candidates}
    tokens = connection.execute(
        leases.update()
        .where(leases.c.client.in_(list(previous)))
        .values(holder=me.key, replica=me.id, token=leases.c.token + 1, acquired_at=now,
                expires=now + period)
        .returning(leases.c.client, leases.c.token)
    ).all()  # fmt: skip
    return [
        Taken(Fence(row.client, me.key, int(row.token)), previous[row.client])
        for row in sorted(tokens, key=lambda row: row.client)
    ]


def _insert_free(connection: Connection, clients: Sequence[str]) -> None:
    """Rows for clients never leased, free; a row another replica inserts meanwhile is kept."""
    leases = schema.leases
    rows = [{"client": c, "holder": None, "replica": None, "token": 0, "acquired_at": None,
             "expires": 0.0} for c in clients]  # fmt: skip
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        connection.execute(postgresql.insert(leases).values(rows).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects import sqlite

        connection.execute(sqlite.insert(leases).values(rows).on_conflict_do_nothing())


def release(connection: Connection, me: ReplicaIdentity, clients: Sequence[str] | None) -> None:
    leases = schema.leases
    query = leases.update().where(leases.c.holder == me.key)
    if clients is not None:
        if not clients:
            return
        query = query.where(leases.c.client.in_(list(clients)))
    # The token stays: the next holder raises it, so a late write of this one is still refused.
    connection.execute(query.values(holder=None, replica=None, acquired_at=None, expires=0.0))


def leave(connection: Connection, me: ReplicaIdentity, keep: Sequence[str] = ()) -> None:
    leases = schema.leases
    query = leases.update().where(leases.c.holder == me.key)
    if keep:
        query = query.where(leases.c.client.not_in(list(keep)))
    connection.execute(query.values(holder=None, replica=None, acquired_at=None, expires=0.0))
    now = database_now(connection)
    replicas = schema.replicas
    connection.execute(replicas.delete().where(replicas.c.key == me.key))
    connection.execute(replicas.delete().where(replicas.c.expires < now - FORGET_REPLICAS_AFTER))


def check(connection: Connection, fence: Fence) -> None:
    """Refuse a write whose fence is no longer current. On PostgreSQL the row is share-locked to
    the end of the transaction: a takeover waits for this write to commit, or this write sees the
    new token; either way the two never interleave."""
    leases = schema.leases
    row = connection.execute(
        sa.select(leases.c.holder, leases.c.replica, leases.c.token)
        .where(leases.c.client == fence.client)
        .with_for_update(read=True)
    ).first()
    if row is None or row.holder != fence.holder or int(row.token) != fence.token:
        held_by = "nobody" if row is None or row.holder is None else f"replica {row.replica}"
        raise LeaseLost(
            fence.client,
            f"this replica's lease (token {fence.token}) is no longer current: it is held by "
            f"{held_by}; the write was refused",
        )


def list_leases(connection: Connection) -> list[LeaseRecord]:
    leases = schema.leases
    now = database_now(connection)
    rows = connection.execute(sa.select(leases).order_by(leases.c.client)).all()
    return [
        LeaseRecord(
            client=row.client,
            holder=row.holder,
            replica=row.replica,
            token=int(row.token),
            acquired_at=_time(row.acquired_at),
            expires_at=_time(row.expires),
            live=row.holder is not None and row.expires > now,
        )
        for row in rows
    ]


def list_replicas(connection: Connection) -> list[ReplicaRecord]:
    replicas = schema.replicas
    now = database_now(connection)
    rows = connection.execute(sa.select(replicas).order_by(replicas.c.id, replicas.c.key)).all()
    return [
        ReplicaRecord(
            key=row.key,
            id=row.id,
            host=row.host,
            pid=int(row.pid),
            started_at=row.started_at,
            seen_at=_time(row.seen) or datetime.fromtimestamp(0, UTC),
            expires_at=_time(row.expires) or datetime.fromtimestamp(0, UTC),
            live=row.expires > now,
        )
        for row in rows
    ]
