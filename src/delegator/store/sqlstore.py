"""The state store over SQLAlchemy Core: what the service remembers between cycles and restarts.

One engine per store, shared by the worker threads; every method is one short transaction, so a
command reading the history never waits long for the service, and a crash loses at most the call
in flight. Calls made inside ``together()`` share one transaction instead: a cycle's bookkeeping
is a few transactions, not one per row. Writes on SQLite take the write lock when they begin
(see ``database.py``).
"""

from __future__ import annotations

import copy
import os
import shutil
import socket
import threading
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from delegator.core.engine import NO_MEMORY, TaskMemory
from delegator.core.expectations import Step
from delegator.core.schema import STAGES
from delegator.cycles import Count, CycleCounts, CycleError, ErrorKind
from delegator.ports import (
    ActionMode,
    ActionRecord,
    ActionStatus,
    CycleRecord,
    Delegation,
    DelegationStatus,
    Fence,
    Finished,
    FollowUp,
    FollowUpStatus,
    JournalEntry,
    LeaseRecord,
    LeaseRound,
    LeaseStore,
    LinkRecord,
    Override,
    Pruned,
    ReplicaIdentity,
    ReplicaRecord,
    SendKind,
    SendRecord,
    SendStatus,
    Signal,
    StateStore,
    Subscription,
    SubscriptionState,
    SyncPosition,
    Taken,
)
from delegator.redact import redact_outgoing
from delegator.store import leasing, records, schema
from delegator.store.database import (
    WRITE_OPTION,
    describe,
    is_memory,
    mask_url,
    open_engine,
    parse_url,
)
from delegator.store.errors import StoreError
from delegator.store.migrations import latest_version, read_version, upgrade
from delegator.store.types import NaiveDatetimeError, UtcDateTime

# Task gids per IN clause: far below SQLite's and PostgreSQL's limits on bound parameters.
MEMORY_CHUNK: Final = 500
PRUNE_BATCH: Final = 2000  # rows deleted per transaction by prune

# The journal entry of a whole rule outcome (see ``memories``), and of a posted comment.
RULE_KIND: Final = "rule"
COMMENT_KIND: Final = "comment"

_OPEN = sa.text("status = 'open'")  # the predicate of the partial unique index on delegations
# The columns of the unique index on summary_sends: one send per period and destination.
_SEND_KEY: Final = ("client", "kind", "recipient", "destination", "period")
# ... and on followups: one step per stage of a delegation.
_FOLLOWUP_KEY: Final = ("client", "task_gid", "delegated_at", "stage", "step")
_FOLLOWUP_STATUSES: Final = ("pending", "done", "skipped", "failed")
# A delegation is closed with any status but "open".
_CLOSED: Final = ("done", "overridden", "deleted", "no_access", "bounced", "reassigned")

OWNER_KEYS: Final = records.OWNER_KEYS
ABANDONED: Final = (
    "interrupted: the process running this cycle ended without finishing it (killed, crashed "
    "or the machine stopped); closed when the service started again"
)


def _lease_ended(replica: str | None, taker: str) -> str:
    who = f"replica {replica}" if replica else "the replica running it"
    return (
        f"interrupted: {who} lost this client's lease before finishing the cycle (killed, "
        f"stopped, paused or cut off from the database); replica {taker} took the client over"
    )


def _aware(at: datetime) -> datetime:
    """``at``, refused when naive: the check a bound column makes, before Python compares it."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError(
            f"naive datetime {at.isoformat()} given to the store: "
            "times must be timezone-aware (e.g. datetime.now(UTC))"
        )
    return at


def _later(column: sa.Column[Any], at: datetime) -> sa.ColumnElement[Any]:
    """SET column = the later of itself and ``at`` (``at`` when the column is NULL)."""
    value = sa.literal(at, UtcDateTime())
    return sa.case((sa.or_(column.is_(None), column < value), value), else_=column)


def _process_start(pid: int) -> int:
    """When process ``pid`` started, in clock ticks since boot (Linux); 0 when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def _host_id() -> int:
    return zlib.crc32(socket.gethostname().encode("utf-8", "replace"))


def _owner() -> dict[str, int]:
    pid = os.getpid()
    return {"owner_host": _host_id(), "owner_pid": pid, "owner_start": _process_start(pid)}


def _owner_alive(counts: Mapping[str, Any]) -> bool:
    """Whether the process that started a cycle still runs. A cycle from another machine (a
    replica sharing PostgreSQL) or without an owner (an older delegator) counts as gone."""
    try:
        host, pid, start = (int(counts[key]) for key in OWNER_KEYS)
    except (KeyError, TypeError, ValueError):
        return False
    if host != _host_id() or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return start == 0 or _process_start(pid) == start


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """What ``delegator status`` and ``/readyz`` check of the store besides that it answers."""

    version: int  # the schema version the database is at
    known: int  # the newest schema version this delegator knows
    read_only: str | None  # why nothing can be written, or None
    free_bytes: int | None  # room left for the database to grow (None: not known, PostgreSQL)
    where: str  # the folder or server measured, for messages


class SqlStore:
    """The ``StateStore`` on SQLite (``sqlite:///path/to/state.db``, the default; the file and its
    folders are created on first use) or PostgreSQL (``postgresql+psycopg://user:pw@host/db``).

    Call ``migrate()`` once at start-up before anything else, and ``close()`` at the end (or use
    the store as a context manager). Times go in timezone-aware and come out aware, in UTC; a
    naive datetime is a programming error and raises ValueError. Database failures raise
    StoreError, with the URL's password masked.
    """

    def __init__(self, url: str) -> None:
        # The lease every write of this store must still hold (see ``fenced``); None: unfenced.
        self._fence: Fence | None = None
        parsed = parse_url(url)
        self.display_url: Final = mask_url(parsed)
        self._backend: Final = parsed.get_backend_name()
        self._engine: Final = open_engine(parsed)
        # An in-memory SQLite database is one connection shared by every thread: take turns.
        self._serial: AbstractContextManager[Any] = (
            threading.RLock() if is_memory(parsed) else nullcontext()
        )
        # The transaction ``together()`` opened on each thread (shared with fenced views).
        self._shared = threading.local()
        self._upserts: dict[tuple[object, ...], sa.Insert] = {}  # built once each (_upsert)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return str(self._backend)

    def database_file(self) -> Path | None:
        """The SQLite file (None in memory and on PostgreSQL)."""
        return self._database_file() if self._backend == "sqlite" else None

    def __repr__(self) -> str:
        if self._fence is not None:
            return (
                f"SqlStore({self.display_url!r}, fenced={self._fence.client}#{self._fence.token})"
            )
        return f"SqlStore({self.display_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ lifecycle

    def migrate(self) -> None:
        """Create or upgrade the schema; refuse a database newer than this code (StoreError)."""
        try:
            with self._serial:
                upgrade(self._engine, self.display_url)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot open or migrate the database at {self.display_url}: {describe(exc)}"
                f"{self._hint()}"
            ) from exc

    def schema_version(self) -> int:
        """The schema version the database is at (0 before the first ``migrate()``)."""
        with self._transaction() as connection:
            return read_version(connection)

    def close(self) -> None:
        """Close the pooled connections. The store reconnects if it is used again."""
        self._engine.dispose()

    def ping(self) -> None:
        """Raise StoreError unless the database answers (the readiness check)."""
        with self._transaction() as connection:
            connection.execute(sa.text("SELECT 1"))

    def health(self) -> StoreHealth:
        """The schema version against this code's, whether the database can be written, and
        the room left for it; reads only (StoreError when the database does not answer)."""
        with self._transaction() as connection:
            version = read_version(connection)
            if self._backend == "sqlite":
                read_only, free, where = self._sqlite_room(connection)
            else:
                read_only, free, where = self._postgresql_room(connection), None, "the server"
        return StoreHealth(version, latest_version(), read_only, free, where)

    def _sqlite_room(self, connection: Connection) -> tuple[str | None, int | None, str]:
        name = self._database_file()
        pragma = connection.exec_driver_sql
        page_size = int(pragma("PRAGMA page_size").scalar_one())
        pages = int(pragma("PRAGMA page_count").scalar_one())
        unused = int(pragma("PRAGMA freelist_count").scalar_one())
        limit = int(pragma("PRAGMA max_page_count").scalar_one())
        free: int | None = (limit - pages + unused) * page_size  # the page limit, if set
        if name is None:  # in memory
            return None, free, "memory"
        folder = name.parent
        try:
            disk = shutil.disk_usage(folder).free
            mount_read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError as exc:
            return f"cannot check {folder}: {exc.strerror or exc}", free, str(folder)
        free = disk if free is None else min(free, disk)
        if mount_read_only:
            return f"{folder} is on a read-only file system", free, str(folder)
        for path in (name, folder):  # the folder too: SQLite writes its -wal and -shm files there
            if path.exists() and not os.access(path, os.W_OK):
                return f"{path} is not writable", free, str(folder)
        return None, free, str(folder)

    @staticmethod
    def _postgresql_room(connection: Connection) -> str | None:
        found = connection.execute(
            sa.text(
                "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only'), "
                "COALESCE(has_table_privilege(to_regclass('cycles'), 'INSERT, UPDATE'), true)"
            )
        ).one()
        if found[0]:
            return "the server is a read-only standby (in recovery)"
        if str(found[1]).lower() == "on":
            return "the server's transactions are read-only (default_transaction_read_only)"
        if not found[2]:
            return "the database user may not write the cycles table"
        return None

    def _database_file(self) -> Path | None:
        url = self._engine.url
        name = url.database or ""
        if is_memory(url):
            return None
        if name.startswith("file:"):
            name = name.removeprefix("file:").split("?", 1)[0]
        return Path(name).resolve()

    # ------------------------------------------------------------------ cycles

    def start_cycle(self, client: str, started_at: datetime, dry_run: bool) -> int:
        values = {
            "client": client,
            "started_at": started_at,
            "dry_run": dry_run,
            "counts": {} if dry_run else _owner(),
            "errors": [],
            "error_kinds": [],
            "replica": self._fence_replica(),
            "fence": self._fence.token if self._fence is not None else None,
        }
        with self._transaction(write=True) as connection:
            return int(connection.execute(_START_CYCLE, values).scalar_one())

    def finish_cycle(
        self,
        cycle_id: int,
        finished_at: datetime,
        counts: CycleCounts,
        errors: Sequence[CycleError] = (),
    ) -> None:
        values = {
            "cycle": cycle_id,
            "at": finished_at,
            "new_counts": counts.to_mapping(),
            "new_errors": [redact_outgoing(error.text) for error in errors],
            "kinds": [error.kind.value for error in errors],
        }
        with self._transaction(write=True) as connection:
            result = connection.execute(_FINISH_CYCLE, values)
            if result.rowcount == 0:
                raise StoreError(f"no cycle {cycle_id} in the database at {self.display_url}")

    def close_abandoned_cycles(
        self, before: datetime, *, clients: Sequence[str] | None = None
    ) -> int:
        """Close as interrupted the cycles started before ``before`` and never finished because
        the process running them was killed or crashed; the number closed. Cycles of a process
        of this machine that still runs (another ``delegator`` beside this one) are left alone.
        Call it at start-up, before the first cycle."""
        table = schema.cycles
        # A cycle run under a lease is closed by the replica that takes the lease over (see
        # ``acquire_leases``), never here: its process may run on another machine.
        query = sa.select(table.c.id, table.c.counts, table.c.errors, table.c.error_kinds).where(
            table.c.finished_at.is_(None), table.c.started_at < before, table.c.fence.is_(None)
        )
        if clients is not None:
            query = query.where(table.c.client.in_(list(clients)))
        with self._transaction(write=True) as connection:
            rows = [
                row for row in connection.execute(query).all() if not _owner_alive(row.counts or {})
            ]
            return self._close_cycles(connection, rows, before, ABANDONED)

    @staticmethod
    def _close_cycles(connection: Connection, rows: Sequence[Any], at: datetime, why: str) -> int:
        table = schema.cycles
        for row in rows:
            counts = dict(row.counts or {})
            kept = {k: v for k, v in counts.items() if k not in OWNER_KEYS}
            kept[Count.INTERRUPTED.value] = 1
            errors = [*(row.errors or ()), why]
            kinds = None  # a row of an older delegator: its errors are read by their text
            if isinstance(row.error_kinds, list) and len(row.error_kinds) == len(errors) - 1:
                kinds = [*row.error_kinds, ErrorKind.CYCLE.value]
            connection.execute(
                table.update()
                .where(table.c.id == row.id, table.c.finished_at.is_(None))
                .values(finished_at=at, counts=kept, errors=errors, error_kinds=kinds)
            )
        return len(rows)

    # ------------------------------------------------------------------ leases

    def lease_round(self, me: ReplicaIdentity, *, period: float, member: bool = True) -> LeaseRound:
        with self._transaction(write=True, fence=False) as connection:
            return leasing.heartbeat_and_renew(connection, me, period, member=member)

    def acquire_leases(
        self, me: ReplicaIdentity, clients: Sequence[str], *, period: float, at: datetime
    ) -> list[Taken]:
        if not clients:
            return []
        with self._transaction(write=True, fence=False) as connection:
            taken = leasing.acquire(connection, me, clients, period)
            tokens = {lease.fence.client: lease.fence.token for lease in taken}
            if tokens:  # what the previous holders left running, closed as interrupted
                table = schema.cycles
                rows = connection.execute(
                    sa.select(table.c.id, table.c.client, table.c.counts, table.c.errors,
                              table.c.error_kinds, table.c.replica, table.c.fence)
                    .where(table.c.client.in_(list(tokens)), table.c.finished_at.is_(None),
                           table.c.fence.is_not(None))
                ).all()  # fmt: skip
                closed: Counter[str] = Counter()
                for row in rows:
                    if row.fence < tokens[row.client]:
                        self._close_cycles(connection, [row], at, _lease_ended(row.replica, me.id))
                        closed[row.client] += 1
                taken = [replace(t, interrupted=closed[t.fence.client]) for t in taken]
            return taken

    def release_leases(self, me: ReplicaIdentity, clients: Sequence[str] | None = None) -> None:
        with self._transaction(write=True, fence=False) as connection:
            leasing.release(connection, me, clients)

    def leave(self, me: ReplicaIdentity, keep: Sequence[str] = ()) -> None:
        with self._transaction(write=True, fence=False) as connection:
            leasing.leave(connection, me, keep)

    def leases(self) -> list[LeaseRecord]:
        with self._transaction() as connection:
            return leasing.list_leases(connection)

    def replicas(self) -> list[ReplicaRecord]:
        with self._transaction() as connection:
            return leasing.list_replicas(connection)

    def fenced(self, fence: Fence) -> SqlStore:
        """This store (the same engine and connections) with every write refused, as
        ``LeaseLost``, unless ``fence`` is still the client's current lease."""
        view = copy.copy(self)
        view._fence = fence
        return view

    def _fence_replica(self) -> str | None:
        if self._fence is None:
            return None
        return self._fence.holder.rsplit("#", 1)[0]

    def cycles(self, client: str | None = None, limit: int = 20) -> list[CycleRecord]:
        """The newest cycles first. Reads no column of version 4, so `delegator status` still
        reads a database the service has not migrated yet."""
        table = schema.cycles
        query = sa.select(*(c for c in table.c if c.name not in ("replica", "fence")))
        if client is not None:
            query = query.where(schema.cycles.c.client == client)
        query = query.order_by(schema.cycles.c.started_at.desc(), schema.cycles.c.id.desc()).limit(
            limit
        )
        with self._transaction() as connection:
            return [records.cycle(row) for row in connection.execute(query)]

    # ------------------------------------------------------------------ sync positions

    def sync_position(self, client: str, source: str) -> SyncPosition | None:
        query = sa.select(schema.sync_positions).where(
            schema.sync_positions.c.client == client, schema.sync_positions.c.source == source
        )
        with self._transaction() as connection:
            row = connection.execute(query).first()
        return records.sync_position(row) if row is not None else None

    def sync_positions(self, client: str) -> dict[str, SyncPosition]:
        with self._transaction() as connection:
            rows = connection.execute(_POSITIONS, {"c": client})
            found = [records.sync_position(row) for row in rows]
        return {position.source: position for position in found}

    def save_sync_position(self, client: str, position: SyncPosition) -> None:
        """Replace the position of (client, position.source) as a whole."""
        self.save_sync_positions(client, [position])

    def save_sync_positions(self, client: str, positions: Sequence[SyncPosition]) -> None:
        if not positions:
            return
        rows = [
            {
                "client": client,
                "source": position.source,
                "high_water": position.high_water,
                "sync_token": position.sync_token,
                "last_full_read": position.last_full_read,
            }
            for position in positions
        ]
        with self._transaction(write=True) as connection:
            self._upsert(connection, schema.sync_positions, rows, ("client", "source"))

    # ------------------------------------------------------------------ the action journal

    def begin_action(
        self,
        *,
        cycle_id: int | None,
        client: str,
        task_gid: str,
        task_name: str,
        rule: str,
        kind: str,
        detail: Mapping[str, Any],
        assistant: str | None,
        mode: ActionMode,
        at: datetime,
        status: ActionStatus = "pending",
    ) -> int:
        """Journal an intent before the call that carries it out. Any status but "pending"
        (planned, queued, skipped ...) records an action that is complete as written."""
        entry = JournalEntry(cycle_id, client, task_gid, task_name, rule, kind, detail,
                             assistant, mode, at, status)  # fmt: skip
        [action_id] = self.begin_actions([entry])
        return action_id

    def begin_actions(self, entries: Sequence[JournalEntry]) -> list[int]:
        """Journal several entries in one statement; their ids, in the same order."""
        if not entries:
            return []
        rows = [
            {
                "cycle_id": e.cycle_id, "client": e.client, "task_gid": e.task_gid,
                "task_name": e.task_name, "rule": e.rule, "kind": e.kind,
                "detail": redact_outgoing(dict(e.detail)), "assistant": e.assistant,
                "mode": e.mode, "status": e.status, "created_at": e.at,
                "completed_at": None if e.status == "pending" else e.at,
            }
            for e in entries
        ]  # fmt: skip
        with self._transaction(write=True) as connection:
            if len(rows) == 1:
                return [int(connection.execute(_INSERT_ACTION, rows[0]).scalar_one())]
            result = connection.execute(_INSERT_ACTIONS, rows)
            return [int(row[0]) for row in result]

    def finish_action(
        self,
        action_id: int,
        status: ActionStatus,
        at: datetime,
        result: str | None = None,
        story_gid: str | None = None,
    ) -> None:
        self.finish_actions([Finished(action_id, status, at, result, story_gid)])

    def pending_actions(self, client: str) -> list[ActionRecord]:
        """Intents begun and never finished (a crash between the two), oldest first."""
        with self._transaction() as connection:
            return [records.action(row) for row in connection.execute(_PENDING, {"c": client})]

    def actions(
        self,
        client: str | None = None,
        task_gid: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        kinds: Sequence[str] | None = None,
        task_gids: Iterable[str] | None = None,
    ) -> list[ActionRecord]:
        """The journal, newest first; ``since`` includes actions created at that instant;
        ``kinds`` keeps only those kinds of entry, ``task_gids`` those tasks'."""
        query = sa.select(schema.actions)
        if kinds is not None:
            query = query.where(schema.actions.c.kind.in_(list(kinds)))
        if client is not None:
            query = query.where(schema.actions.c.client == client)
        if task_gid is not None:
            query = query.where(schema.actions.c.task_gid == task_gid)
        if task_gids is not None:
            gids = list(dict.fromkeys(task_gids))
            if not gids:
                return []
            if len(gids) > MEMORY_CHUNK:  # a long list: each chunk, then newest first again
                found = [
                    action
                    for start in range(0, len(gids), MEMORY_CHUNK)
                    for action in self.actions(client, task_gid, since, None, kinds,
                                               gids[start : start + MEMORY_CHUNK])
                ]  # fmt: skip
                found.sort(key=lambda a: (a.created_at, a.id), reverse=True)
                return found[:limit] if limit is not None else found
            query = query.where(schema.actions.c.task_gid.in_(gids))
        if since is not None:
            query = query.where(schema.actions.c.created_at >= since)
        query = query.order_by(schema.actions.c.created_at.desc(), schema.actions.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._transaction() as connection:
            return [records.action(row) for row in connection.execute(query)]

    def forget_actions(self, action_ids: Sequence[int]) -> None:
        """Remove intents journaled as pending and never carried out (an outcome's later steps
        after its assignment failed): they record nothing that happened."""
        if not action_ids:
            return
        table = schema.actions
        with self._transaction(write=True) as connection:
            connection.execute(
                table.delete().where(table.c.id.in_(list(action_ids)), table.c.status == "pending")
            )

    def finish_actions(self, finished: Sequence[Finished]) -> None:
        """Complete several journal entries at once (one statement, executed for each)."""
        if not finished:
            return
        rows = [
            {"action_id": f.action_id, "new_status": f.status, "at": f.at,
             "new_result": redact_outgoing(f.result), "story": f.story_gid}
            for f in finished
        ]  # fmt: skip
        with self._transaction(write=True) as connection:
            outcome = connection.execute(_FINISH_ACTION, rows)
            if outcome.rowcount is not None and 0 <= outcome.rowcount < len(rows):
                missing = rows[0]["action_id"] if len(rows) == 1 else "of several"
                raise StoreError(f"no action {missing} in the database at {self.display_url}")

    def shadow_plans(self, client: str, task_gids: Iterable[str]) -> set[tuple[str, str, str]]:
        """(task gid, rule, rule version) of the shadow plans already journaled for these
        tasks: a shadow rule's plan is journaled once per task and version of the rule."""
        table = schema.actions
        gids = list(dict.fromkeys(task_gids))
        found: set[tuple[str, str, str]] = set()
        with self._transaction() as connection:
            for start in range(0, len(gids), MEMORY_CHUNK):
                query = sa.select(table.c.task_gid, table.c.rule, table.c.detail).where(
                    table.c.client == client,
                    table.c.task_gid.in_(gids[start : start + MEMORY_CHUNK]),
                    table.c.mode == "shadow",
                )
                for row in connection.execute(query):
                    version = row.detail.get("version") if isinstance(row.detail, dict) else None
                    if isinstance(version, str):
                        found.add((row.task_gid, row.rule, version))
        return found

    def memories(self, client: str, task_gids: Iterable[str]) -> dict[str, TaskMemory]:
        """What the engine must know about each task: an entry for every gid asked for.

        ``acted``: per rule, when it first acted on the task completely. The service journals one
        entry of kind ``rule`` per outcome and finishes it as done only when every write of the
        outcome was done, so a rule whose writes failed (or were cut short by a crash) is planned
        again next cycle; only those entries count, in mode "active". ``commented``: the rules
        whose comment on the task was posted (a done, active ``comment`` action), whatever became
        of their ``rule`` entry, so a comment is never posted twice. ``override``: the standing
        override, as "<reason> (<date detected>)".
        """
        gids = list(dict.fromkeys(task_gids))
        acted: dict[str, dict[str, datetime]] = {}
        commented: dict[str, set[str]] = {}
        overridden: dict[str, str] = {}
        is_comment = sa.case((schema.actions.c.kind == COMMENT_KIND, 1), else_=0)
        rule_done_at = sa.case(
            (schema.actions.c.kind == RULE_KIND, schema.actions.c.created_at), else_=None
        )
        with self._transaction() as connection:
            for start in range(0, len(gids), MEMORY_CHUNK):
                chunk = gids[start : start + MEMORY_CHUNK]
                done = (
                    sa.select(
                        schema.actions.c.task_gid,
                        schema.actions.c.rule,
                        sa.func.min(rule_done_at).label("first_at"),
                        sa.func.max(is_comment).label("commented"),
                    )
                    .where(
                        schema.actions.c.client == client,
                        schema.actions.c.task_gid.in_(chunk),
                        schema.actions.c.mode == "active",
                        schema.actions.c.status == "done",
                    )
                    .group_by(schema.actions.c.task_gid, schema.actions.c.rule)
                )
                for row in connection.execute(done):
                    if row.first_at is not None:
                        acted.setdefault(row.task_gid, {})[row.rule] = row.first_at
                    if row.commented:
                        commented.setdefault(row.task_gid, set()).add(row.rule)
                standing = sa.select(
                    schema.overrides.c.task_gid,
                    schema.overrides.c.reason,
                    schema.overrides.c.detected_at,
                ).where(schema.overrides.c.client == client, schema.overrides.c.task_gid.in_(chunk))
                for found in connection.execute(standing):
                    overridden[found.task_gid] = records.override_note(
                        found.reason, found.detected_at
                    )
        remembered = acted.keys() | commented.keys() | overridden.keys()
        return {
            gid: TaskMemory(
                acted=acted.get(gid, {}),
                commented=frozenset(commented.get(gid, ())),
                override=overridden.get(gid),
            )
            if gid in remembered
            else NO_MEMORY
            for gid in gids
        }

    # ------------------------------------------------------------------ delegations and overrides

    def record_delegation(self, delegation: Delegation) -> None:
        """Record a task given to an assistant. A task has at most one open delegation: a new
        open one for the same task replaces it (the assistant changed); closed ones are kept."""
        values = {
            "client": delegation.client,
            "task_gid": delegation.task_gid,
            "task_name": delegation.task_name,
            "rule": delegation.rule,
            "assistant": delegation.assistant,
            "assignee_gid": delegation.assignee_gid,
            "delegated_at": delegation.delegated_at,
            "tag": delegation.tag,
            "status": delegation.status,
            "closed_at": delegation.closed_at,
            "permalink_url": delegation.permalink_url,
            "due_on": delegation.due_on,
            "minutes": delegation.minutes,
            "minutes_from": delegation.minutes_from,
        }
        with self._transaction(write=True) as connection:
            if delegation.status == "open":
                self._upsert(
                    connection,
                    schema.delegations,
                    values,
                    ("client", "task_gid"),
                    index_where=_OPEN,
                )
            else:
                connection.execute(schema.delegations.insert().values(**values))

    def delegations(
        self,
        client: str,
        status: DelegationStatus | None = "open",
        task_gids: Iterable[str] | None = None,
    ) -> list[Delegation]:
        """The client's delegations with that status (all of them for None), oldest first;
        ``task_gids``: only those tasks' (looked up by index, however many the client has)."""
        table = schema.delegations
        base = sa.select(table).where(table.c.client == client)
        if status is not None:
            base = base.where(table.c.status == status)
        order = (table.c.delegated_at, table.c.id)
        with self._transaction() as connection:
            if task_gids is None:
                rows = list(connection.execute(base.order_by(*order)))
            else:
                gids = list(dict.fromkeys(task_gids))
                rows = []
                for start in range(0, len(gids), MEMORY_CHUNK):
                    chunk = gids[start : start + MEMORY_CHUNK]
                    rows.extend(connection.execute(base.where(table.c.task_gid.in_(chunk))))
                rows.sort(key=lambda row: (row.delegated_at, row.id))
            return [records.delegation(row) for row in rows]

    def close_delegation(
        self, client: str, task_gid: str, status: DelegationStatus, at: datetime
    ) -> None:
        """Close the task's open delegation (done, overridden, deleted, no_access, bounced or
        reassigned); nothing when none is open."""
        if status not in _CLOSED:
            raise ValueError(
                f"close_delegation needs a closed status ({', '.join(map(repr, _CLOSED))}), "
                f"not {status!r}"
            )
        with self._transaction(write=True) as connection:
            self._close(connection, client, task_gid, status, at)

    def record_override(self, override: Override) -> None:
        """Record that a person undid a delegation; the first override of a task stands.

        The task's open delegation, if any, is closed as overridden in the same transaction, so
        it stops counting towards its assistant's load.
        """
        values = {
            "client": override.client,
            "task_gid": override.task_gid,
            "task_name": override.task_name,
            "rule": override.rule,
            "reason": redact_outgoing(override.reason),
            "detected_at": override.detected_at,
        }
        with self._transaction(write=True) as connection:
            self._upsert(connection, schema.overrides, values, ("client", "task_gid"), update=False)
            self._close(
                connection, override.client, override.task_gid, "overridden", override.detected_at
            )

    def overrides(self, client: str, since: datetime | None = None) -> list[Override]:
        """The client's overrides, oldest first; ``since`` includes that instant."""
        query = sa.select(schema.overrides).where(schema.overrides.c.client == client)
        if since is not None:
            query = query.where(schema.overrides.c.detected_at >= since)
        query = query.order_by(schema.overrides.c.detected_at, schema.overrides.c.task_gid)
        with self._transaction() as connection:
            return [records.override(row) for row in connection.execute(query)]

    # ------------------------------------------------------------------ the follow-up ledger

    def claim_followup(
        self,
        *,
        client: str,
        task_gid: str,
        task_name: str,
        rule: str,
        assistant: str,
        delegated_at: datetime,
        stage: str,
        step: Step,
        due_at: datetime,
        at: datetime,
        status: FollowUpStatus = "pending",
        detail: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Claim one step of a delegation's follow-up; its id, or None when that step of that
        stage was claimed before (by this process before a restart, or by another replica at the
        same moment), whatever that claim's status.

        The unique index decides, with ``INSERT ... ON CONFLICT DO NOTHING``: the losing insert
        raises nothing, so a claim made inside ``together()`` leaves the shared transaction
        usable on PostgreSQL. A claim with a final status (``done`` for ``met``, ``skipped``)
        is finished as written, at ``at``."""
        step = Step(step)
        if stage not in (*STAGES, ""):
            raise ValueError(
                f"a follow-up's stage is one of {', '.join(STAGES)} or '', not {stage!r}"
            )
        if (stage == "") != (step is Step.BOUNCE):
            raise ValueError("a bounce has the stage '', every other step a stage")
        if status not in _FOLLOWUP_STATUSES:
            raise ValueError(f"a follow-up's status is one of {_FOLLOWUP_STATUSES}, not {status!r}")
        values = {
            "client": client,
            "task_gid": task_gid,
            "task_name": task_name,
            "rule": rule,
            "assistant": assistant,
            "delegated_at": delegated_at,
            "stage": stage,
            "step": step.value,
            "status": status,
            "due_at": due_at,
            "created_at": at,
            "finished_at": None if status == "pending" else at,
            "story_gid": None,
            "detail": _stored_detail(detail or {}),
        }
        with self._transaction(write=True) as connection:
            claimed = connection.execute(self._claim_followup_statement(), values).first()
        return int(claimed[0]) if claimed is not None else None

    def _claim_followup_statement(self) -> sa.Insert:
        key = ("followups", "claim")
        statement = self._upserts.get(key)
        if statement is None:
            table = schema.followups
            insert = (postgresql if self._backend == "postgresql" else sqlite).insert(table)
            statement = insert.on_conflict_do_nothing(index_elements=list(_FOLLOWUP_KEY)).returning(
                table.c.id
            )
            self._upserts[key] = statement
        return statement

    def finish_followup(
        self,
        followup_id: int,
        status: FollowUpStatus,
        at: datetime,
        *,
        story_gid: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Settle a claimed step at ``at``; ``detail`` (when given) is merged into the claim's,
        key by key; a ``story_gid`` given replaces none (one kept when not given)."""
        if status not in _FOLLOWUP_STATUSES:
            raise ValueError(f"a follow-up's status is one of {_FOLLOWUP_STATUSES}, not {status!r}")
        table = schema.followups
        values: dict[str, Any] = {"status": status, "finished_at": at}
        if story_gid is not None:
            values["story_gid"] = story_gid
        with self._transaction(write=True) as connection:
            if detail:
                current = connection.execute(
                    sa.select(table.c.detail).where(table.c.id == followup_id).with_for_update()
                ).first()
                if current is None:
                    raise StoreError(
                        f"no follow-up {followup_id} in the database at {self.display_url}"
                    )
                values["detail"] = {**(current.detail or {}), **_stored_detail(detail)}
            outcome = connection.execute(
                table.update().where(table.c.id == followup_id).values(values)
            )
            if outcome.rowcount == 0:
                raise StoreError(
                    f"no follow-up {followup_id} in the database at {self.display_url}"
                )

    def followups(
        self,
        client: str,
        *,
        task_gids: Iterable[str] | None = None,
        since: datetime | None = None,
        steps: Sequence[Step] | None = None,
        statuses: Sequence[FollowUpStatus] | None = None,
    ) -> list[FollowUp]:
        """The follow-up steps of a client, oldest first (by ``created_at``, then id);
        ``since`` includes that instant; ``task_gids``: only those tasks' (by index)."""
        table = schema.followups
        base = sa.select(table).where(table.c.client == client)
        if since is not None:
            base = base.where(table.c.created_at >= since)
        if steps is not None:
            base = base.where(table.c.step.in_([Step(s).value for s in steps]))
        if statuses is not None:
            base = base.where(table.c.status.in_(list(statuses)))
        with self._transaction() as connection:
            if task_gids is None:
                rows = list(connection.execute(base.order_by(table.c.created_at, table.c.id)))
            else:
                gids = list(dict.fromkeys(task_gids))
                rows = []
                for start in range(0, len(gids), MEMORY_CHUNK):
                    chunk = gids[start : start + MEMORY_CHUNK]
                    rows.extend(connection.execute(base.where(table.c.task_gid.in_(chunk))))
                rows.sort(key=lambda row: (row.created_at, row.id))
            return [records.followup(row) for row in rows]

    # ------------------------------------------------------------------ load and fairness

    def assistant_load(self, client: str) -> dict[str, int]:
        """Open delegations per assistant key; an assistant with none is absent (load 0)."""
        query = (
            sa.select(schema.delegations.c.assistant, sa.func.count().label("open"))
            .where(schema.delegations.c.client == client, schema.delegations.c.status == "open")
            .group_by(schema.delegations.c.assistant)
        )
        with self._transaction() as connection:
            return {row.assistant: int(row.open) for row in connection.execute(query)}

    def round_robin(self, client: str) -> dict[str, str]:
        """Per pool, the assistant who was given the pool's last task."""
        query = sa.select(schema.round_robin.c.pool, schema.round_robin.c.assistant).where(
            schema.round_robin.c.client == client
        )
        with self._transaction() as connection:
            return {row.pool: row.assistant for row in connection.execute(query)}

    def save_round_robin(self, client: str, pool: str, assistant: str) -> None:
        values = {"client": client, "pool": pool, "assistant": assistant}
        with self._transaction(write=True) as connection:
            self._upsert(connection, schema.round_robin, values, ("client", "pool"))

    # ------------------------------------------------------------------ summaries and digests sent

    def claim_send(
        self,
        *,
        client: str,
        kind: SendKind,
        recipient: str,
        destination: str,
        period: datetime,
        period_start: datetime,
        at: datetime,
        status: SendStatus = "pending",
        next_attempt_at: datetime | None = None,
    ) -> int | None:
        """Claim one period of one destination; its id, or None when it was claimed before (by
        this process before a restart, or by another replica at the same moment).

        The unique index decides, not a read beforehand, so of two replicas racing exactly one
        wins. A "pending" claim is due at ``next_attempt_at`` (default: ``at``), so a send cut
        short by a crash is tried again; pass a later time to keep other replicas off while this
        one delivers. A "baseline" claim records a period that is never to be sent.
        """
        if status not in ("pending", "baseline"):
            raise ValueError(f"a send is claimed as 'pending' or 'baseline', not {status!r}")
        due = None
        if status == "pending":
            due = next_attempt_at if next_attempt_at is not None else at
        values = {
            "client": client,
            "kind": kind,
            "recipient": recipient,
            "destination": destination,
            "period": period,
            "period_start": period_start,
            "status": status,
            "attempts": 0,
            "next_attempt_at": due,
            "created_at": at,
        }
        table = schema.summary_sends
        try:
            with self._transaction(write=True) as connection:
                claimed = connection.execute(
                    table.insert().values(**values).returning(table.c.id)
                ).scalar_one()
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            taken = sa.select(table.c.id).where(
                *(table.c[name] == values[name] for name in _SEND_KEY)
            )
            with self._transaction() as connection:
                if connection.execute(taken).first() is None:
                    raise  # another constraint failed: a programming error, not a lost race
            return None
        return int(claimed)

    def lease_send(self, send_id: int, *, at: datetime, until: datetime) -> bool:
        """Take a pending or failed send that is due at ``at`` for one attempt, moving its next
        attempt to ``until``; False when it is not due (another replica took it, or it is done).
        """
        table = schema.summary_sends
        with self._transaction(write=True) as connection:
            outcome = connection.execute(
                table.update()
                .where(
                    table.c.id == send_id,
                    table.c.status.in_(["pending", "failed"]),
                    sa.or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= at),
                )
                .values(next_attempt_at=until)
            )
            return bool(outcome.rowcount == 1)

    def finish_send(
        self,
        send_id: int,
        status: SendStatus,
        at: datetime,
        *,
        error: str | None = None,
        receipt: str | None = None,
        next_attempt_at: datetime | None = None,
    ) -> None:
        """Record an attempt's outcome: ``attempts`` counts every status but "baseline";
        ``sent_at`` is ``at`` when sent. ``error`` must be safe to show (a DeliveryError's
        message); the last one is kept after a later success, to say what was overcome."""
        table = schema.summary_sends
        values: dict[str, Any] = {
            "status": status,
            "next_attempt_at": next_attempt_at,
            "attempts": table.c.attempts + (0 if status == "baseline" else 1),
        }
        if error is not None:
            values["last_error"] = redact_outgoing(error)
        if receipt is not None:
            values["receipt"] = receipt
        if status == "sent":
            values["sent_at"] = at
        with self._transaction(write=True) as connection:
            outcome = connection.execute(table.update().where(table.c.id == send_id).values(values))
            if outcome.rowcount == 0:
                raise StoreError(f"no summary send {send_id} in the database at {self.display_url}")

    def sends(
        self,
        client: str | None = None,
        *,
        kind: SendKind | None = None,
        statuses: Sequence[SendStatus] | None = None,
        due_by: datetime | None = None,
        limit: int | None = None,
        receipts: Iterable[str] | None = None,
    ) -> list[SendRecord]:
        """What was sent (or claimed, or given up), newest period first; ``due_by`` keeps the
        sends whose next attempt is at or before that time, ``receipts`` those whose receipt
        (a story's or task's gid) is one of these."""
        table = schema.summary_sends
        query = sa.select(table)
        if receipts is not None:
            wanted = list(dict.fromkeys(receipts))
            if not wanted:
                return []
            if len(wanted) > MEMORY_CHUNK:
                found = [
                    send
                    for start in range(0, len(wanted), MEMORY_CHUNK)
                    for send in self.sends(client, kind=kind, statuses=statuses, due_by=due_by,
                                           receipts=wanted[start : start + MEMORY_CHUNK])
                ]  # fmt: skip
                found.sort(key=lambda send: (send.period, send.id), reverse=True)
                return found[:limit] if limit is not None else found
            query = query.where(table.c.receipt.in_(wanted))
        if client is not None:
            query = query.where(table.c.client == client)
        if kind is not None:
            query = query.where(table.c.kind == kind)
        if statuses is not None:
            query = query.where(table.c.status.in_(list(statuses)))
        if due_by is not None:
            query = query.where(table.c.next_attempt_at <= due_by)
        query = query.order_by(table.c.period.desc(), table.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._transaction() as connection:
            return [records.send(row) for row in connection.execute(query)]

    def last_send(
        self, client: str, kind: SendKind, recipient: str, destination: str
    ) -> SendRecord | None:
        """The send of the latest period recorded for that destination, whatever its status."""
        table = schema.summary_sends
        query = (
            sa.select(table)
            .where(
                table.c.client == client,
                table.c.kind == kind,
                table.c.recipient == recipient,
                table.c.destination == destination,
            )
            .order_by(table.c.period.desc(), table.c.id.desc())
            .limit(1)
        )
        with self._transaction() as connection:
            row = connection.execute(query).first()
        return records.send(row) if row is not None else None

    # ------------------------------------------------------------------ webhook subscriptions

    def subscriptions(self, client: str | None = None) -> list[Subscription]:
        """Every subscription (of one client), oldest first."""
        table = schema.subscriptions
        query = sa.select(table)
        if client is not None:
            query = query.where(table.c.client == client)
        query = query.order_by(table.c.created_at, table.c.key)
        with self._transaction() as connection:
            return [records.subscription(row) for row in connection.execute(query)]

    def subscription(self, key: str) -> Subscription | None:
        table = schema.subscriptions
        with self._transaction() as connection:
            row = connection.execute(sa.select(table).where(table.c.key == key)).first()
        return records.subscription(row) if row is not None else None

    def save_subscription(self, subscription: Subscription) -> None:
        """Insert it, or replace the row with its key as a whole (a fenced store checks the
        lease)."""
        values = {
            "key": subscription.key,
            "client": subscription.client,
            "resource": subscription.resource,
            "state": subscription.state.value,
            "created_at": subscription.created_at,
            "webhook": subscription.webhook,
            "sealed_secret": subscription.sealed_secret,
            "last_signal_at": subscription.last_signal_at,
            "last_event_at": subscription.last_event_at,
            "failures": subscription.failures,
            "retry_at": subscription.retry_at,
            "problem": subscription.problem,
            "dirty_at": subscription.dirty_at,
        }
        with self._transaction(write=True) as connection:
            self._upsert(connection, schema.subscriptions, values, ("key",))

    def remove_subscription(self, key: str) -> None:
        """Delete the row with that key; nothing when there is none (a fenced store checks the
        lease)."""
        table = schema.subscriptions
        with self._transaction(write=True) as connection:
            connection.execute(table.delete().where(table.c.key == key))

    def accept_secret(self, key: str, sealed: str, at: datetime, *, since: datetime) -> bool:
        """The first handshake wins: keep ``sealed`` (and ``at`` as the last signal) only when
        the row is PENDING, has no secret yet and was created at or after ``since``; True when
        this call kept it. One conditional UPDATE decides, so of two receivers racing with the
        same key exactly one wins. Not fenced: any replica's receiver may get the handshake."""
        _aware(at)
        _aware(since)
        table = schema.subscriptions
        with self._transaction(write=True, fence=False) as connection:
            outcome = connection.execute(
                table.update()
                .where(
                    table.c.key == key,
                    table.c.state == SubscriptionState.PENDING.value,
                    table.c.sealed_secret.is_(None),
                    table.c.created_at >= since,
                )
                .values(sealed_secret=sealed, last_signal_at=at)
            )
            return bool(outcome.rowcount == 1)

    def record_signals(self, signals: Sequence[Signal]) -> None:
        """In one transaction: each key's last signal (and, with events, last event) moved
        forward to ``at``, and ``dirty_at`` set to ``at`` unless already set. The signals of one
        key are folded first (the latest signal, the latest and the earliest delivery); unknown
        keys are ignored. Not fenced: any replica's receiver records what it saw."""
        folded: dict[str, tuple[datetime, datetime | None, datetime | None]] = {}
        for signal in signals:
            at = _aware(signal.at)
            last, last_event, first_event = folded.get(signal.key, (at, None, None))
            last = max(last, at)
            if signal.events > 0:
                last_event = at if last_event is None else max(last_event, at)
                first_event = at if first_event is None else min(first_event, at)
            folded[signal.key] = (last, last_event, first_event)
        if not folded:
            return
        table = schema.subscriptions
        with self._transaction(write=True, fence=False) as connection:
            for key in sorted(folded):  # one order for every replica: no deadlock between them
                last, last_event, first_event = folded[key]
                values: dict[str, Any] = {"last_signal_at": _later(table.c.last_signal_at, last)}
                if last_event is not None and first_event is not None:
                    values["last_event_at"] = _later(table.c.last_event_at, last_event)
                    values["dirty_at"] = sa.func.coalesce(
                        table.c.dirty_at, sa.literal(first_event, UtcDateTime())
                    )
                connection.execute(table.update().where(table.c.key == key).values(values))

    def take_dirty(self, clients: Sequence[str]) -> dict[str, datetime]:
        """The earliest ``dirty_at`` of each of these clients' subscriptions, cleared in the same
        transaction (clients with none are left out). The rows are locked as they are read
        (FOR UPDATE on PostgreSQL; SQLite serialises writers), so of two replicas taking at the
        same time only one gets each mark, and a signal recorded meanwhile is never cleared
        unseen. Not fenced."""
        if not clients:
            return {}
        table = schema.subscriptions
        query = (
            sa.select(table.c.key, table.c.client, table.c.dirty_at)
            .where(table.c.client.in_(list(clients)), table.c.dirty_at.is_not(None))
            .order_by(table.c.key)
            .with_for_update()
        )
        with self._transaction(write=True, fence=False) as connection:
            rows = connection.execute(query).all()
            if not rows:
                return {}
            connection.execute(
                table.update()
                .where(table.c.key.in_([row.key for row in rows]))
                .values(dirty_at=None)
            )
        taken: dict[str, datetime] = {}
        for row in rows:
            earliest = taken.get(row.client)
            if earliest is None or row.dirty_at < earliest:
                taken[row.client] = row.dirty_at
        return taken

    # ------------------------------------------------------------------ status links

    def record_link(self, link: LinkRecord) -> None:
        """Keep a new link; an id already kept is a StoreError. Not fenced: links belong to no
        client's lease (an operator's command issues them)."""
        if link.kind not in ("client", "assistant"):
            raise ValueError(f"a link is a client's or an assistant's, not {link.kind!r}")
        values = {
            "id": link.id,
            "kind": link.kind,
            "client": link.client,
            "assistant": link.assistant,
            "issued_at": _aware(link.issued_at),
            "expires_at": _aware(link.expires_at),
            "revoked_at": link.revoked_at,
            "note": link.note,
        }
        with self._transaction(write=True, fence=False) as connection:
            connection.execute(schema.status_links.insert().values(values))

    def revoke_link(self, link_id: str, at: datetime) -> bool:
        """Revoke a link from ``at`` on: True when this call did, False when there is no such
        link or it was revoked already (the first revocation's time stands). Not fenced."""
        table = schema.status_links
        with self._transaction(write=True, fence=False) as connection:
            outcome = connection.execute(
                table.update()
                .where(table.c.id == link_id, table.c.revoked_at.is_(None))
                .values(revoked_at=_aware(at))
            )
            return bool(outcome.rowcount == 1)

    def links(self, client: str | None = None) -> list[LinkRecord]:
        """Every link (only those naming ``client``), newest first."""
        table = schema.status_links
        query = sa.select(table)
        if client is not None:
            query = query.where(table.c.client == client)
        query = query.order_by(table.c.issued_at.desc(), table.c.id)
        with self._transaction() as connection:
            return [records.link(row) for row in connection.execute(query)]

    def link(self, link_id: str) -> LinkRecord | None:
        table = schema.status_links
        with self._transaction() as connection:
            row = connection.execute(sa.select(table).where(table.c.id == link_id)).first()
        return records.link(row) if row is not None else None

    def link_revoked(self, link_id: str) -> bool:
        """Whether a link must be refused: revoked, or unknown to this store (a link issued
        for another database, or forged with a stolen secret and a made-up id)."""
        table = schema.status_links
        query = sa.select(table.c.revoked_at).where(table.c.id == link_id)
        with self._transaction() as connection:
            row = connection.execute(query).first()
        return row is None or row.revoked_at is not None

    # ------------------------------------------------------------------ retention

    def prune(self, before: datetime, *, dry_run: bool = False) -> Pruned:
        """Delete the history older than ``before`` (see ``Pruned`` for what stays), in
        batches of ``PRUNE_BATCH`` rows, each its own short transaction, so the service's own
        writes never wait long behind a large prune."""
        actions, cycles, delegations = schema.actions, schema.cycles, schema.delegations
        remembered = sa.and_(
            actions.c.mode == "active",
            actions.c.status == "done",
            actions.c.kind.in_([RULE_KIND, COMMENT_KIND]),
        )
        old_actions = sa.and_(
            actions.c.created_at < before, actions.c.status != "pending", sa.not_(remembered)
        )
        old_cycles = sa.and_(cycles.c.started_at < before, cycles.c.finished_at.is_not(None))
        old_delegations = sa.and_(delegations.c.status != "open", delegations.c.closed_at < before)
        # A follow-up step older than ``before`` goes unless its task has an open delegation:
        # the clock of an open delegation reads its whole ledger, however old.
        followups = schema.followups
        still_open = (
            sa.select(delegations.c.id)
            .where(
                delegations.c.client == followups.c.client,
                delegations.c.task_gid == followups.c.task_gid,
                delegations.c.status == "open",
            )
            .exists()
        )
        old_followups = sa.and_(followups.c.created_at < before, sa.not_(still_open))
        targets = (
            (actions, old_actions),
            (cycles, old_cycles),
            (delegations, old_delegations),
            (followups, old_followups),
        )
        counts: list[int] = []
        for table, old in targets:
            if dry_run:
                with self._transaction() as connection:
                    count = sa.select(sa.func.count()).select_from(table).where(old)
                    counts.append(int(connection.execute(count).scalar_one()))
                continue
            gone = 0
            while True:
                with self._transaction(write=True) as connection:
                    batch = sa.select(table.c.id).where(old).limit(PRUNE_BATCH)
                    ids = [row.id for row in connection.execute(batch)]
                    if ids:
                        connection.execute(table.delete().where(table.c.id.in_(ids)))
                gone += len(ids)
                if len(ids) < PRUNE_BATCH:
                    break
            counts.append(gone)
        return Pruned(
            actions=counts[0], cycles=counts[1], delegations=counts[2], followups=counts[3]
        )

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _transaction(self, *, write: bool = False, fence: bool = True) -> Iterator[Connection]:
        """One short transaction; database errors come out as StoreError. A write of a fenced
        store first checks its lease, in the same transaction (LeaseLost when it is gone).
        Inside ``together()`` the call joins the thread's open transaction."""
        shared: _Shared | None = getattr(self._shared, "open", None)
        if shared is not None:
            if write and not shared.write:
                raise RuntimeError("a write inside a store.together() opened for reading")
            yield shared.connection
            return
        try:
            with self._serial, self._engine.connect() as connection:
                if write:
                    connection.execution_options(**{WRITE_OPTION: True})
                with connection.begin():
                    if write and fence and self._fence is not None:
                        leasing.check(connection, self._fence)
                    yield connection
        except SQLAlchemyError as exc:
            original = getattr(exc, "orig", None)
            if isinstance(original, NaiveDatetimeError):
                raise original from None
            raise StoreError(
                f"the database at {self.display_url} failed: {describe(exc)}{self._hint()}"
            ) from exc

    @contextmanager
    def together(self, *, write: bool = False) -> Iterator[None]:
        """The calls this thread makes inside the block, one transaction (see the port). A
        block inside another joins it."""
        if getattr(self._shared, "open", None) is not None:
            with self._transaction(write=write):
                yield
            return
        with self._transaction(write=write) as connection:
            self._shared.open = _Shared(connection, write)
            try:
                yield
            finally:
                self._shared.open = None

    def _hint(self) -> str:
        """Why a SQLite file may fail, when its folder says: a read-only or full file system
        (SQLite itself says only "unable to open database file" or "disk I/O error")."""
        if self._backend != "sqlite":
            return ""
        name = self._database_file()
        if name is None:
            return ""
        try:
            stats = os.statvfs(name.parent)
        except OSError:
            return ""
        if stats.f_flag & os.ST_RDONLY:
            return f" ({name.parent} is on a read-only file system)"
        if stats.f_bavail * stats.f_frsize < 64 * 1024:
            return f" (no space left in {name.parent})"
        return ""

    def _upsert(
        self,
        connection: Connection,
        table: sa.Table,
        values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        keys: Sequence[str],
        *,
        update: bool = True,
        index_where: sa.TextClause | None = None,
    ) -> None:
        """Insert, or on a conflict over ``keys`` update the other columns (or keep the row);
        one row or many (executed once per row). The statement is built once per table and
        columns, then only executed."""
        rows = [dict(values)] if isinstance(values, Mapping) else [dict(v) for v in values]
        key = (table.name, tuple(rows[0]), tuple(keys), update, str(index_where))
        statement = self._upserts.get(key)
        if statement is None:
            changed = [name for name in rows[0] if name not in keys]
            insert = (postgresql if self._backend == "postgresql" else sqlite).insert(table)
            if update:
                statement = insert.on_conflict_do_update(
                    index_elements=list(keys),
                    index_where=index_where,
                    set_={name: insert.excluded[name] for name in changed},
                )
            else:
                statement = insert.on_conflict_do_nothing(
                    index_elements=list(keys), index_where=index_where
                )
            self._upserts[key] = statement
        connection.execute(statement, rows if len(rows) > 1 else rows[0])

    @staticmethod
    def _close(
        connection: Connection,
        client: str,
        task_gid: str,
        status: DelegationStatus,
        at: datetime,
    ) -> None:
        connection.execute(
            schema.delegations.update()
            .where(
                schema.delegations.c.client == client,
                schema.delegations.c.task_gid == task_gid,
                schema.delegations.c.status == "open",
            )
            .values(status=status, closed_at=at)
        )


def _stored_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A follow-up's detail as the JSON column keeps it: text redacted, moments (a stage met
    ``at``) as ISO 8601 text, which ``followups`` gives back as is."""
    return {key: _json_value(value) for key, value in redact_outgoing(dict(detail)).items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError(f"a naive datetime in a follow-up's detail: {value!r}")
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


# Statements built once: the journal's hot path skips building and caching them per call.
_INSERT_ACTION: Final = schema.actions.insert().returning(schema.actions.c.id)
_INSERT_ACTIONS: Final = schema.actions.insert().returning(
    schema.actions.c.id, sort_by_parameter_order=True
)
_START_CYCLE: Final = schema.cycles.insert().returning(schema.cycles.c.id)
_FINISH_CYCLE: Final = (
    schema.cycles.update()
    .where(schema.cycles.c.id == sa.bindparam("cycle"))
    .values(
        finished_at=sa.bindparam("at"),
        counts=sa.bindparam("new_counts"),
        errors=sa.bindparam("new_errors"),
        error_kinds=sa.bindparam("kinds"),
    )
)
_PENDING: Final = (
    sa.select(schema.actions)
    .where(schema.actions.c.client == sa.bindparam("c"), schema.actions.c.status == "pending")
    .order_by(schema.actions.c.id)
)
_POSITIONS: Final = sa.select(schema.sync_positions).where(
    schema.sync_positions.c.client == sa.bindparam("c")
)
_FINISH_ACTION: Final = (
    schema.actions.update()
    .where(schema.actions.c.id == sa.bindparam("action_id"))
    .values(
        status=sa.bindparam("new_status"),
        completed_at=sa.bindparam("at"),
        result=sa.bindparam("new_result"),
        story_gid=sa.bindparam("story"),
    )
)


@dataclass(frozen=True, slots=True)
class _Shared:
    """The transaction of a ``together()`` block."""

    connection: Connection
    write: bool


if TYPE_CHECKING:

    def _implements_the_port(store: SqlStore) -> StateStore:
        return store  # mypy proves here that SqlStore is a StateStore

    def _implements_the_leases(store: SqlStore) -> LeaseStore:
        return store  # ... and a LeaseStore
