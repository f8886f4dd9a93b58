"""The collector tuned for cycles: start-up frozen out of its sight, young passes spaced out."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from delegator.collector import YOUNG_THRESHOLD, tune_for_cycles


@pytest.fixture
def restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored")
def test_start_up_is_frozen_and_young_passes_spaced_out() -> None:
    gc.unfreeze()
    _, older, oldest = gc.get_threshold()
    tune_for_cycles()
    assert gc.get_freeze_count() > 1000  # the modules and what they hold
    assert gc.get_threshold() == (YOUNG_THRESHOLD, older, oldest)
    garbage: list[object] = []
    garbage.append(garbage)  # a reference cycle is still collected
    del garbage
    assert gc.collect() >= 1
