"""A cycle's counts are named by `Count` and its errors carry the kind of what raised them.

A misspelt count is a type error (``mypy`` runs over ``src`` in ``make test``); here, that every
key a cycle of this version stores is a `Count` or a failed write per intent kind, that the
mapping reads back the same, and that a refused token is a token problem in the summaries by its
kind, whatever its message says.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest

from delegator.asana.backend import AsanaBackend
from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.core.intents import Intent
from delegator.cycles import FAILED_PREFIX, Count, CycleCounts, ErrorKind
from delegator.ports import TokenRefused
from delegator.sandbox import ManualClock, SandboxServer
from delegator.service import CycleReport
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.summaries.gather import _text_kind, cycle_problems
from delegator.summaries.periods import Period

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
INTENT_KINDS = {str(cls.__dataclass_fields__["kind"].default) for cls in get_args(Intent)}


@pytest.fixture
def fleet(sandbox: SandboxServer, store: SqlStore, clock: ManualClock, tmp_path: Path) -> Fleet:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("small-agency.yaml", "solo-consultant.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    environ = {
        "ASANA_TOKEN_NORTHWIND": sandbox.token(ANNA),
        "ASANA_TOKEN_FISCHER": sandbox.token("lena@fischer-consulting.example"),
    }
    settings = Settings(rules_dir=folder, asana_base_url=sandbox.base_url)
    return Fleet(settings, store, environ=environ, clock=clock)


def cycle(fleet: Fleet, clock: ManualClock, key: str = "small-agency") -> CycleReport:
    clock.advance(minutes=1)
    entry = next(e for e in load_clients(fleet.settings.rules_dir) if e.key == key)
    return fleet.cycle(entry)


def _known(key: str) -> bool:
    if key in {count.value for count in Count}:
        return True
    return key.startswith(FAILED_PREFIX) and key.removeprefix(FAILED_PREFIX) in INTENT_KINDS


def test_every_count_and_every_failed_kind_reads_back_the_same() -> None:
    counts = CycleCounts()
    for number, name in enumerate(Count, start=1):
        counts[name] += number
    for kind in sorted(INTENT_KINDS):
        counts.failed_write(kind)
    stored = counts.to_mapping()
    assert all(_known(key) for key in stored)
    assert CycleCounts.from_mapping(stored) == counts
    assert counts.failed_by_kind() == dict.fromkeys(sorted(INTENT_KINDS), 1)
    assert counts[Count.ACTIONS_FAILED] == list(Count).index(Count.ACTIONS_FAILED) + 1 + len(
        INTENT_KINDS
    )


def test_count_names_every_key_a_cycle_of_this_version_stores(
    fleet: Fleet, clock: ManualClock, sandbox: SandboxServer, store: SqlStore
) -> None:
    reports = [cycle(fleet, clock)]
    sandbox.faults.error_rate(sandbox.token(ANNA), 0.5, seed=7)  # reads and writes fail too
    reports += [cycle(fleet, clock), cycle(fleet, clock, "solo-consultant")]
    stored = [record.counts.to_mapping() for record in store.cycles(limit=10)]
    assert len(stored) == 3
    keys = {key for mapping in stored for key in mapping}
    assert keys, stored
    assert sorted(key for key in keys if not _known(key)) == []
    # The log line and `plan --json` show the same mapping as the store keeps.
    assert stored[0] == reports[-1].counts.to_mapping()


def test_a_refused_token_is_a_token_problem_by_its_kind_whatever_its_words(
    fleet: Fleet,
    clock: ManualClock,
    store: SqlStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: the summaries classified a stored error by looking for "401" or "token" in its
    text, so a refused token worded otherwise was a mere cycle problem."""
    words = "Asana no longer accepts these credentials"

    def refused(*_args: object, **_kwargs: object) -> object:
        raise TokenRefused(words)

    monkeypatch.setattr(AsanaBackend, "read", refused)
    report = cycle(fleet, clock)
    assert report.counts[Count.CLIENT_FAILED] == 1
    assert report.errors == [words]
    [record] = store.cycles("small-agency")
    assert record.errors == (words,)
    assert record.error_kinds == (ErrorKind.TOKEN,)
    assert _text_kind(words) == "cycle"  # what the words alone would have said

    period = Period(START - timedelta(days=1), START + timedelta(days=1))
    [problem] = cycle_problems(store, "small-agency", period)
    assert (problem.what, problem.text) == ("token", words)
