"""The garbage collector tuned for a service that runs cycles.

A cycle reads pages of tasks and builds many small objects that live until the cycle ends; the
collector's default (a young-generation pass every 700 allocations) keeps scanning them and
promoting them to older generations it then scans again. What start-up built (modules, rule
engines, settings) lives as long as the process and need not be scanned at all. Objects freed by
their reference count (nearly all) are freed at once whatever the thresholds: only reference
cycles wait a little longer for a collection.
"""

from __future__ import annotations

import gc
from typing import Final

# Allocations between two young-generation passes (CPython's default: 700).
YOUNG_THRESHOLD: Final = 20_000


def tune_for_cycles() -> None:
    """Freeze what exists now out of the collector's sight and space the young passes out.
    Called once start-up is done."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
