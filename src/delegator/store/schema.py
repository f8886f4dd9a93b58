"""The tables as the store queries them today: the current schema, the one the newest migration
leaves behind.

A change here needs a new migration in ``migrations.py`` (which keeps its own frozen copy of each
step); a test compares a migrated database with these definitions, so the two cannot drift.
"""

from __future__ import annotations

import sqlalchemy as sa

from delegator.store.types import UtcDateTime

metadata = sa.MetaData()

# Row ids: BIGSERIAL on PostgreSQL; SQLite only autoincrements a plain INTEGER PRIMARY KEY.
RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

cycles = sa.Table(
    "cycles",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    # The kind of each error, in the same order (version 3); NULL in rows written before.
    sa.Column("error_kinds", sa.JSON, nullable=True),
    # The replica that ran it and the fencing token of its lease (version 4); NULL when the cycle
    # ran without a lease (a dry run, a delegator before leases).
    sa.Column("replica", sa.Text, nullable=True),
    sa.Column("fence", sa.BigInteger, nullable=True),
    sa.Index("ix_cycles_client_started", "client", "started_at"),
    sa.Index("ix_cycles_started", "started_at"),
)

sync_positions = sa.Table(
    "sync_positions",
    metadata,
    sa.Column("client", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("high_water", UtcDateTime, nullable=True),
    sa.Column("sync_token", sa.Text, nullable=True),
    sa.Column("last_full_read", UtcDateTime, nullable=True),
)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("cycle_id", RowId, sa.ForeignKey("cycles.id", ondelete="SET NULL"), nullable=True),
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
    # a task's history and the memories of a batch of tasks
    sa.Index("ix_actions_client_task", "client", "task_gid", "created_at"),
    # `history --since` for one client, and for all of them
    sa.Index("ix_actions_client_created", "client", "created_at"),
    sa.Index("ix_actions_created", "created_at"),
    # the queue's entries of the last 30 days, read every cycle without scanning the rest (v6)
    sa.Index("ix_actions_client_kind", "client", "kind", "created_at"),
    # the intents a crash left behind: a handful of rows in a large table
    sa.Index(
        "ix_actions_pending",
        "client",
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
)

delegations = sa.Table(
    "delegations",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
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
    sa.Column("minutes", sa.Integer, nullable=True),  # the time given back, estimated (v2)
    sa.Column("minutes_from", sa.Text, nullable=True),  # "field" or "rule" (v2)
    # at most one open delegation per task; closed ones are kept as history
    sa.Index(
        "ux_delegations_open_task",
        "client",
        "task_gid",
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    ),
    sa.Index("ix_delegations_client_status", "client", "status", "assistant"),
)

overrides = sa.Table(
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

summary_sends = sa.Table(
    "summary_sends",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # summary | digest
    sa.Column("recipient", sa.Text, nullable=False),  # "" for a summary, the assistant for a digest
    sa.Column("destination", sa.Text, nullable=False),  # the destination's secret-free key
    sa.Column("period", UtcDateTime, nullable=False),  # the scheduled fire time
    sa.Column("period_start", UtcDateTime, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("receipt", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    # one send per period and destination: the claim that two replicas cannot both win
    sa.Index(
        "ux_summary_sends_period",
        "client",
        "kind",
        "recipient",
        "destination",
        "period",
        unique=True,
    ),
    # the sends due for another attempt
    sa.Index("ix_summary_sends_due", "status", "next_attempt_at"),
)

# The follow-up ledger of delegations (version 7): each step of each delegation's follow-up, once.
followups = sa.Table(
    "followups",
    metadata,
    sa.Column("id", RowId, primary_key=True, autoincrement=True),
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("task_gid", sa.Text, nullable=False),
    sa.Column("task_name", sa.Text, nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("assistant", sa.Text, nullable=False),
    sa.Column("delegated_at", UtcDateTime, nullable=False),  # with client and task: the delegation
    sa.Column("stage", sa.Text, nullable=False),  # acknowledged | started | done; "" for a bounce
    sa.Column("step", sa.Text, nullable=False),  # met | reminder | escalation | reassign | bounce
    sa.Column("status", sa.Text, nullable=False),  # pending | done | skipped | failed
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Column("story_gid", sa.Text, nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    # one step per stage of a delegation: the claim two replicas cannot both win; also the
    # index of a task's follow-ups
    sa.Index(
        "ux_followups_step", "client", "task_gid", "delegated_at", "stage", "step", unique=True
    ),
    # a client's follow-ups since a moment (summaries)
    sa.Index("ix_followups_client_created", "client", "created_at"),
)

round_robin = sa.Table(
    "round_robin",
    metadata,
    sa.Column("client", sa.Text, primary_key=True),
    sa.Column("pool", sa.Text, primary_key=True),
    sa.Column("assistant", sa.Text, nullable=False),
)

# Epoch seconds by the database's clock (version 4): replicas compare expiries against the same
# clock, whatever their own say.
EpochSeconds: sa.Double[float] = sa.Double()

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("client", sa.Text, primary_key=True),
    sa.Column("holder", sa.Text, nullable=True),  # the holder's key; NULL when handed back
    sa.Column("replica", sa.Text, nullable=True),  # the holder's replica id, for people
    sa.Column("token", sa.BigInteger, nullable=False),  # the fencing token: +1 at each new holder
    sa.Column("acquired_at", EpochSeconds, nullable=True),
    sa.Column("expires", EpochSeconds, nullable=False),
)

replicas = sa.Table(
    "replicas",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),  # the id and a random incarnation
    sa.Column("id", sa.Text, nullable=False),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("seen", EpochSeconds, nullable=False),
    sa.Column("expires", EpochSeconds, nullable=False),
)

# Webhook subscriptions (version 5): one row per Asana webhook, shared by the replicas. The lease
# holder creates and removes them; any replica's receiver records the handshake and the signals.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),  # the last segment of the target URL
    sa.Column("client", sa.Text, nullable=False),
    sa.Column("resource", sa.Text, nullable=False),  # the gid of the resource subscribed to
    sa.Column("state", sa.Text, nullable=False),  # pending | active | failed
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("webhook", sa.Text, nullable=True),  # Asana's webhook gid
    sa.Column("sealed_secret", sa.Text, nullable=True),  # never the secret in the clear
    sa.Column("last_signal_at", UtcDateTime, nullable=True),
    sa.Column("last_event_at", UtcDateTime, nullable=True),
    sa.Column("failures", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("retry_at", UtcDateTime, nullable=True),
    sa.Column("problem", sa.Text, nullable=True),
    sa.Column("dirty_at", UtcDateTime, nullable=True),  # the first delivery no cycle took yet
    sa.Index("ix_subscriptions_client", "client"),
)

# The status page's links (version 8): one row per link issued, never its token (the token is
# signed with status.secret, which the database never sees).
status_links = sa.Table(
    "status_links",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the id signed into the token
    sa.Column("kind", sa.Text, nullable=False),  # client | assistant
    sa.Column("client", sa.Text, nullable=True),  # NULL: an assistant's link across clients
    sa.Column("assistant", sa.Text, nullable=True),
    sa.Column("issued_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    sa.Column("note", sa.Text, nullable=False, server_default=sa.text("''")),
    # `delegator links list --client`
    sa.Index("ix_status_links_client", "client", "issued_at"),
)
