"""Benchmark: the status page's response times with 500 clients in the store.

A temporary SQLite store holds 500 clients, each with 20 cycles, 30 delegations (half of them
open), their journal (4 entries each) and a follow-up step; the rule files are 500 copies of the
consultant example. The page runs on its real server (uvicorn on loopback) and each page is asked
for 20 times in a row: prints p50, p95 and max in milliseconds. Figures, not assertions.

    .venv/bin/python bench/statuspage.py [--clients 500] [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from delegator.appserver import AppServer
from delegator.clients import load_clients
from delegator.cycles import Count, CycleCounts
from delegator.logs import configure
from delegator.ports import Delegation
from delegator.settings import Settings
from delegator.statuspage.access import Grant, Role, new_link_id, sign_link
from delegator.statuspage.app import create_app
from delegator.statuspage.views import Site
from delegator.store import SqlStore

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "solo-consultant.yaml"
SECRET = "b" * 40
OPERATOR = "bench-operator-token-0001"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def fill(store: SqlStore, keys: list[str]) -> None:
    for n, key in enumerate(keys):
        with store.together(write=True):
            for c in range(20):
                at = NOW - timedelta(minutes=5 * (20 - c))
                cycle = store.start_cycle(key, at, False)
                counts = CycleCounts()
                counts[Count.TASKS_SEEN] = 13
                counts[Count.REQUESTS] = 3
                if c == 0:
                    for count, value in ((Count.QUADRANT_DO, 3), (Count.QUADRANT_DELEGATE, 5),
                                         (Count.QUADRANT_SCHEDULE, 2),
                                         (Count.QUADRANT_ELIMINATE, 3)):  # fmt: skip
                        counts[count] = value
                store.finish_cycle(cycle, at + timedelta(seconds=2), counts)
            for d in range(30):
                gid = f"{n:04d}{d:04d}"
                at = NOW - timedelta(days=d % 10, hours=d)
                store.record_delegation(Delegation(key, gid, f"Task {d} of {key}", "Invoices",
                                                   "sam", "1", at, due_on=(at + timedelta(days=3)).date()))  # fmt: skip
                for kind in ("assign", "tag", "follow", "comment"):
                    store.begin_action(
                        cycle_id=None, client=key, task_gid=gid, task_name=f"Task {d}",
                        rule="Invoices", kind=kind, detail={"text": "hello"} if kind == "comment"
                        else {}, assistant="sam", mode="active", at=at, status="done",
                    )  # fmt: skip
                if d % 2:
                    store.close_delegation(key, gid, "done", at + timedelta(hours=5))


def timed(session: requests.Session, url: str, rounds: int) -> list[float]:
    found: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = session.get(url, timeout=60)
        found.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (url, answer.status_code)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    configure("console", "error")
    with tempfile.TemporaryDirectory(prefix="delegator-bench-") as tmp:
        rules = Path(tmp) / "rules"
        rules.mkdir()
        text = EXAMPLE.read_text(encoding="utf-8")
        keys = [f"client-{n:04d}" for n in range(args.clients)]
        for key in keys:
            (rules / f"{key}.yaml").write_text(
                text.replace("name: Fischer Consulting", f"name: Client {key}"), "utf-8"
            )
        started = time.perf_counter()
        entries = load_clients(rules)
        loaded = time.perf_counter() - started
        store = SqlStore(f"sqlite:///{Path(tmp) / 'state.db'}")
        store.migrate()
        started = time.perf_counter()
        fill(store, keys)
        filled = time.perf_counter() - started
        settings = Settings(rules_dir=rules, status_secret=SECRET, status_operator_token=OPERATOR)
        site = Site(settings, store, lambda: entries, lambda: NOW)
        server = AppServer(create_app(site, lambda _: False), "127.0.0.1", 0,
                           purpose="for the status page", name="the status page",
                           component="status_page", event="status_page")  # fmt: skip
        with server:
            base = server.url.rstrip("/")
            operator = requests.Session()
            operator.post(f"{base}/sign-in", data={"token": OPERATOR}, timeout=10)
            grant = Grant(Role.CLIENT, keys[7], None, new_link_id(), NOW, NOW + timedelta(days=1))
            client = f"{base}/c/{sign_link(grant, SECRET)}"
            helper = Grant(Role.ASSISTANT, None, "sam", new_link_id(), NOW, NOW + timedelta(1))
            assistant = f"{base}/a/{sign_link(helper, SECRET)}"
            pages = [
                ("operator: every client (/ops)", operator, f"{base}/ops"),
                ("operator: one client's cycles", operator, f"{base}/ops/clients/{keys[7]}"),
                (
                    "operator: journal, one client",
                    operator,
                    f"{base}/ops/journal?client={keys[7]}&since=30d",
                ),
                ("client: this week", requests.Session(), client),
                ("client: a task's story", requests.Session(), f"{client}/tasks/00070003"),
                ("assistant: across 500 clients", requests.Session(), assistant),
            ]
            print(f"{args.clients} clients: rule files read in {loaded:.1f} s, store filled in "
                  f"{filled:.1f} s ({args.clients * 30} delegations, "
                  f"{args.clients * 120} journal entries)")  # fmt: skip
            print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            for name, session, url in pages:
                times = sorted(timed(session, url, args.rounds))
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                print(f"{name:34} {statistics.median(times):8.1f} {p95:8.1f} {times[-1]:8.1f}")
        store.close()


if __name__ == "__main__":
    main()
