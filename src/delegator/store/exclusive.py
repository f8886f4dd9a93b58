"""One service per SQLite file: a second ``delegator run`` on the same file refuses to start.

SQLite is the single-replica store: its writers take turns on one file, and it cannot be shared
by machines. The service holds an exclusive ``flock`` on a file beside the database for as long
as it runs; the kernel lets go of it when the process ends in any way (SIGKILL included), so a
restart never waits. PostgreSQL is the store for several replicas (client leases, see
``leasing.py``). One-off commands take no such lock: they take the leases of the clients they
run, as a replica does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from delegator.store.errors import StoreError

SCALE_OUT_HINT = (
    "SQLite serves one replica: to run more than one, keep the state in PostgreSQL "
    "(database.url, DELEGATOR_DATABASE_URL=postgresql+psycopg://user@host:5432/delegator; "
    "see docs/operations.md, 'Scaling out')"
)


class ServiceLock:
    """The exclusive hold of one service on a SQLite database file."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".service-lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Hold the lock, or raise StoreError naming the process that holds it."""
        try:
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise StoreError(
                f"cannot create the lock file {self.path} beside the database: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StoreError(
                f"another delegator service ({holder}) is running on the SQLite database "
                f"{self.database}; {SCALE_OUT_HINT}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
