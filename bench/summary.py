"""Benchmark: what a summary and a digest cost, against the sandbox's demo world.

After one delegation cycle of each example client, measures the Asana requests and the wall time
of: a summary tick when nothing is due (the service's minute-by-minute check), a client summary
(one read of each watched source for the Covey matrix, one /batch per ten open delegations for
their current due dates), and each assistant's digest. Figures, not assertions.
Run with ``make bench`` or ``.venv/bin/python bench/summary.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from delegator.bootstrap import Fleet, open_store
from delegator.clients import load_clients
from delegator.logs import configure
from delegator.sandbox import SandboxServer
from delegator.sandboxed import EXAMPLE_RULES, sandboxed


def measure(sandbox: SandboxServer, work: Callable[[], Any]) -> tuple[int, float]:
    before = len(sandbox.requests.entries())
    started = time.perf_counter()
    work()
    return len(sandbox.requests.entries()) - before, time.perf_counter() - started


def main() -> None:
    configure("console", "error")
    rows: list[tuple[str, int, float, str]] = []
    with sandboxed(EXAMPLE_RULES) as env:
        fleet = Fleet(env.settings, open_store(env.settings), environ=env.environ)
        entries = load_clients(EXAMPLE_RULES)
        for entry in entries:
            fleet.cycle(entry)
        summaries = fleet.summaries()
        summaries.tick(entries)  # the first tick records each schedule's baseline
        requests, seconds = measure(env.sandbox, lambda: summaries.tick(entries))
        rows.append(("tick, nothing due (all clients)", requests, seconds, "every minute"))
        for entry in entries:
            head = entry.loaded.head
            assert head is not None
            period = summaries.preview_period(entry, timedelta(days=7))
            open_delegations = len(fleet.store.delegations(entry.key))
            sources = len(fleet.runtimes[entry.key].sources)
            requests, seconds = measure(
                env.sandbox, lambda e=entry, p=period: summaries.render_summary(e, p)
            )
            rows.append((f"summary: {entry.name}", requests, seconds,
                         f"{sources} sources, {open_delegations} open delegations"))  # fmt: skip
            for assistant in head.assistants:
                requests, seconds = measure(
                    env.sandbox,
                    lambda e=entry, a=assistant, p=period: summaries.render_digest(e, a, p),
                )
                rows.append((f"digest: {entry.key}/{assistant}", requests, seconds, ""))
        fleet.close()
    print(f"{'':34}  requests  wall ms")
    for name, requests, seconds, note in rows:
        print(f"{name:34}  {requests:8}  {seconds * 1000:7.1f}  {note}")


if __name__ == "__main__":
    main()
