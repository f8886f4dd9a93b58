"""Versioned schema migrations, applied in order by ``SqlStore.migrate()`` at start-up.

The database records the versions it has in ``schema_version``. Each migration runs in its own
transaction together with the row that records it, so a failed step leaves the database at the
previous version. Concurrent starts (several replicas on one PostgreSQL) are serialised by an
advisory lock; on SQLite by the write lock of ``BEGIN IMMEDIATE``. A database newer than this code
is refused rather than guessed at.

Each step keeps its own frozen copy of the tables it creates: ``schema.py`` is the present, these
are history. Adding a migration: append ``Migration(N + 1, ...)`` whose function alters what
version N left behind, then change ``schema.py`` to match (a test compares the two). On SQLite,
ALTER TABLE can add a column but not change one; rebuild the table (create, copy, drop, rename).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from delegator.store.database import WRITE_OPTION, describe
from delegator.store.errors import StoreError
from delegator.store.types import UtcDateTime

# Any fixed 64-bit number, the same in every replica: "delegate" in ASCII.
_MIGRATION_LOCK: Final = int.from_bytes(b"delegate", "big")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _version_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "schema_version",
        metadata,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("applied_at", UtcDateTime, nullable=False),
    )


_VERSIONS = _version_table(sa.MetaData())


def _v1_create_everything(connection: Connection) -> None:
    metadata = sa.MetaData()
    row_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    open_only = sa.text("status = 'open'")
    pending_only = sa.text("status = 'pending'")
    sa.Table(
        "cycles",
        metadata,
        sa.Column("id", row_id, primary_key=True, autoincrement=True),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("errors", sa.JSON, nullable=False),
        sa.Index("ix_cycles_client_started", "client", "started_at"),
        sa.Index("ix_cycles_started", "started_at"),
    )
    sa.Table(
        "sync_positions",
        metadata,
        sa.Column("client", sa.Text, primary_key=True),
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("high_water", UtcDateTime, nullable=True),
        sa.Column("sync_token", sa.Text, nullable=True),
        sa.Column("last_full_read", UtcDateTime, nullable=True),
    )
    sa.Table(
        "actions",
        metadata,
        sa.Column("id", row_id, primary_key=True, autoincrement=True),
        sa.Column(
            "cycle_id", row_id, sa.ForeignKey("cycles.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("task_gid", sa.Text, nullable=False),
        sa.Column("task_name", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("assistant", sa.Text, nullable=True),
        sa.Column("mode", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("completed_at", UtcDateTime, nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("story_gid", sa.Text, nullable=True),
        sa.Index("ix_actions_client_task", "client", "task_gid", "created_at"),
        sa.Index("ix_actions_client_created", "client", "created_at"),
        sa.Index("ix_actions_created", "created_at"),
        sa.Index(
            "ix_actions_pending", "client", sqlite_where=pending_only, postgresql_where=pending_only
        ),
    )
    sa.Table(
        "delegations",
        metadata,
        sa.Column("id", row_id, primary_key=True, autoincrement=True),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("task_gid", sa.Text, nullable=False),
        sa.Column("task_name", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("assistant", sa.Text, nullable=False),
        sa.Column("assignee_gid", sa.Text, nullable=False),
        sa.Column("delegated_at", UtcDateTime, nullable=False),
        sa.Column("tag", sa.Text, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("permalink_url", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=True),
        sa.Index(
            "ux_delegations_open_task",
            "client",
            "task_gid",
            unique=True,
            sqlite_where=open_only,
            postgresql_where=open_only,
        ),
        sa.Index("ix_delegations_client_status", "client", "status", "assistant"),
    )
    sa.Table(
        "overrides",
        metadata,
        sa.Column("client", sa.Text, primary_key=True),
        sa.Column("task_gid", sa.Text, primary_key=True),
        sa.Column("task_name", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("detected_at", UtcDateTime, nullable=False),
        sa.Index("ix_overrides_client_detected", "client", "detected_at"),
    )
    sa.Table(
        "round_robin",
        metadata,
        sa.Column("client", sa.Text, primary_key=True),
        sa.Column("pool", sa.Text, primary_key=True),
        sa.Column("assistant", sa.Text, nullable=False),
    )
    metadata.create_all(connection)


def _v2_summary_sends_and_minutes(connection: Connection) -> None:
    # ADD COLUMN of a nullable column: the same statement on SQLite and PostgreSQL, rows kept.
    connection.execute(sa.text("ALTER TABLE delegations ADD COLUMN minutes INTEGER"))
    connection.execute(sa.text("ALTER TABLE delegations ADD COLUMN minutes_from TEXT"))
    metadata = sa.MetaData()
    row_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    sa.Table(
        "summary_sends",
        metadata,
        sa.Column("id", row_id, primary_key=True, autoincrement=True),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("period", UtcDateTime, nullable=False),
        sa.Column("period_start", UtcDateTime, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("receipt", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime, nullable=True),
        sa.Index(
            "ux_summary_sends_period",
            "client",
            "kind",
            "recipient",
            "destination",
            "period",
            unique=True,
        ),
        sa.Index("ix_summary_sends_due", "status", "next_attempt_at"),
    )
    metadata.create_all(connection)


def _v3_cycle_error_kinds(connection: Connection) -> None:
    # A nullable column: rows written before keep NULL (their errors are read by their text).
    connection.execute(sa.text("ALTER TABLE cycles ADD COLUMN error_kinds JSON"))


def _v4_leases(connection: Connection) -> None:
    connection.execute(sa.text("ALTER TABLE cycles ADD COLUMN replica TEXT"))
    connection.execute(sa.text("ALTER TABLE cycles ADD COLUMN fence BIGINT"))
    metadata = sa.MetaData()
    sa.Table(
        "leases",
        metadata,
        sa.Column("client", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=True),
        sa.Column("replica", sa.Text, nullable=True),
        sa.Column("token", sa.BigInteger, nullable=False),
        sa.Column("acquired_at", sa.Double(), nullable=True),
        sa.Column("expires", sa.Double(), nullable=False),
    )
    sa.Table(
        "replicas",
        metadata,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("seen", sa.Double(), nullable=False),
        sa.Column("expires", sa.Double(), nullable=False),
    )
    metadata.create_all(connection)


def _v5_webhook_subscriptions(connection: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "subscriptions",
        metadata,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("webhook", sa.Text, nullable=True),
        sa.Column("sealed_secret", sa.Text, nullable=True),
        sa.Column("last_signal_at", UtcDateTime, nullable=True),
        sa.Column("last_event_at", UtcDateTime, nullable=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("retry_at", UtcDateTime, nullable=True),
        sa.Column("problem", sa.Text, nullable=True),
        sa.Column("dirty_at", UtcDateTime, nullable=True),
        sa.Index("ix_subscriptions_client", "client"),
    )
    metadata.create_all(connection)


def _v6_actions_by_kind(connection: Connection) -> None:
    connection.execute(
        sa.text("CREATE INDEX ix_actions_client_kind ON actions (client, kind, created_at)")
    )


def _v7_followups(connection: Connection) -> None:
    metadata = sa.MetaData()
    row_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    sa.Table(
        "followups",
        metadata,
        sa.Column("id", row_id, primary_key=True, autoincrement=True),
        sa.Column("client", sa.Text, nullable=False),
        sa.Column("task_gid", sa.Text, nullable=False),
        sa.Column("task_name", sa.Text, nullable=False),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("assistant", sa.Text, nullable=False),
        sa.Column("delegated_at", UtcDateTime, nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("story_gid", sa.Text, nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Index(
            "ux_followups_step",
            "client",
            "task_gid",
            "delegated_at",
            "stage",
            "step",
            unique=True,
        ),
        sa.Index("ix_followups_client_created", "client", "created_at"),
    )
    metadata.create_all(connection)


def _v8_status_links(connection: Connection) -> None:
    metadata = sa.MetaData()
    sa.Table(
        "status_links",
        metadata,
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("client", sa.Text, nullable=True),
        sa.Column("assistant", sa.Text, nullable=True),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Index("ix_status_links_client", "client", "issued_at"),
    )
    metadata.create_all(connection)


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(
        1,
        "cycles, sync positions, action journal, delegations, overrides, round-robin positions",
        _v1_create_everything,
    ),
    Migration(
        2,
        "summaries and digests sent, once per period; the time each delegation gives back",
        _v2_summary_sends_and_minutes,
    ),
    Migration(3, "the kind of each error a cycle reports", _v3_cycle_error_kinds),
    Migration(4, "client leases shared by replicas, with fencing tokens", _v4_leases),
    Migration(5, "webhook subscriptions shared by replicas", _v5_webhook_subscriptions),
    Migration(
        6, "the journal indexed by kind, for the queue read every cycle", _v6_actions_by_kind
    ),
    Migration(
        7,
        "the follow-up ledger of delegations: reminders, escalations, reassignments, bounces",
        _v7_followups,
    ),
    Migration(8, "the status page's links, revocable", _v8_status_links),
)


def latest_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    return migrations[-1].version if migrations else 0


def read_version(connection: Connection) -> int:
    """The version the database is at: 0 for a database delegator has never opened."""
    if not sa.inspect(connection).has_table(_VERSIONS.name):
        return 0
    found = connection.execute(sa.select(sa.func.max(_VERSIONS.c.version))).scalar_one()
    return int(found) if found is not None else 0


def upgrade(
    engine: Engine, display_url: str, migrations: Sequence[Migration] = MIGRATIONS
) -> list[int]:
    """Bring the database to the newest version this code knows; the versions applied, in order.

    Raises StoreError for a database newer than ``migrations`` (an older delegator started against
    a database a newer one has upgraded) and wraps the failure of any step with its version.
    """
    _check_ordered(migrations)
    known = latest_version(migrations)
    applied: list[int] = []
    while True:
        with engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                _lock(connection)
                _VERSIONS.create(connection, checkfirst=True)
                current = read_version(connection)
                if current > known:
                    raise StoreError(
                        f"the database at {display_url} has schema version {current}; "
                        f"this delegator knows up to {known}: upgrade delegator"
                    )
                step = next((m for m in migrations if m.version > current), None)
                if step is None:
                    return applied
                try:
                    step.apply(connection)
                except SQLAlchemyError as exc:
                    raise StoreError(
                        f"migrating the database at {display_url} to schema version "
                        f"{step.version} ({step.description}) failed: {describe(exc)}"
                    ) from exc
                connection.execute(
                    _VERSIONS.insert().values(
                        version=step.version,
                        description=step.description,
                        applied_at=datetime.now(UTC),
                    )
                )
        applied.append(step.version)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until the transaction ends; one replica migrates, the others wait, then find
        # nothing left to do.
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))


def _check_ordered(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3 ... in order; got {versions}")
