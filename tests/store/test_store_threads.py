"""Several worker threads on one store, and a command reading while the service writes."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from storekit import T0, begin

from delegator.cycles import CycleCounts
from delegator.ports import Delegation
from delegator.store import SqlStore

THREADS = 6
ROUNDS = 25


def test_worker_threads_write_at_once_without_losing_anything(store: SqlStore) -> None:
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        try:
            start.wait(timeout=10)
            cycle = store.start_cycle(f"client-{n}", T0, dry_run=False)
            for r in range(ROUNDS):
                at = T0 + timedelta(seconds=r)
                action = begin(store, client="acme", task=f"{n}-{r}", cycle_id=cycle, at=at)
                store.finish_action(action, "done", at, result=f"worker {n}")
                store.record_delegation(
                    Delegation("acme", f"{n}-{r}", "t", "r", f"va-{n % 3}", "u", at)
                )
                store.save_round_robin("acme", "finance", f"va-{n % 3}")
                store.memories("acme", [f"{n}-{r}"])
            acted = CycleCounts.from_mapping({"acted": ROUNDS})
            store.finish_cycle(cycle, T0 + timedelta(minutes=1), acted)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    journal = store.actions("acme")
    assert len(journal) == THREADS * ROUNDS
    assert len({a.id for a in journal}) == THREADS * ROUNDS
    assert Counter(a.status for a in journal) == {"done": THREADS * ROUNDS}
    assert Counter(a.result for a in journal) == {f"worker {n}": ROUNDS for n in range(THREADS)}
    assert store.assistant_load("acme") == {f"va-{k}": 2 * ROUNDS for k in range(3)}
    assert store.round_robin("acme")["finance"] in {"va-0", "va-1", "va-2"}
    assert (
        sorted(c.counts.to_mapping()["acted"] for c in store.cycles(limit=THREADS))
        == [ROUNDS] * THREADS
    )


def test_the_sqlite_file_is_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.db"
    with SqlStore(f"sqlite:///{path}") as store:
        store.migrate()
        assert path.is_file()
        with store._engine.connect() as connection:  # the store's own connection settings
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar_one() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar_one() == 1
            assert pragma("PRAGMA busy_timeout").scalar_one() == 30_000


def test_a_command_reads_while_the_service_holds_the_write_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with SqlStore(url) as service, SqlStore(url) as command:
        service.migrate()
        begin(service, task="1")
        writer = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("UPDATE actions SET result = 'uncommitted'")

            started = time.monotonic()
            [seen] = command.actions("acme")  # does not wait for the writer

            assert time.monotonic() - started < 2
            assert seen.result is None  # the last committed state
        finally:
            writer.execute("ROLLBACK")
            writer.close()


def test_a_second_writer_waits_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with SqlStore(url) as store:
        store.migrate()
        holder = sqlite3.connect(
            tmp_path / "state.db", isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
        release.start()
        try:
            started = time.monotonic()
            action = begin(store, task="1")  # blocks on the busy timeout, then goes on

            assert time.monotonic() - started >= 0.2
            assert [a.id for a in store.actions("acme")] == [action]
        finally:
            release.join()
            holder.close()


def test_an_in_memory_store_serves_several_threads(tmp_path: Path) -> None:
    with SqlStore("sqlite://") as store:
        store.migrate()
        threads = [
            threading.Thread(target=begin, args=(store,), kwargs={"task": str(n)}) for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(a.task_gid for a in store.pending_actions("acme")) == ["0", "1", "2", "3"]
    assert not list(tmp_path.iterdir())
