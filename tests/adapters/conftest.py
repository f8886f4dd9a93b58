"""Fixtures for the Asana client's tests: a ManualClock whose sleep advances it, and a client
wired to it with its own budget registry, so no test waits or shares quota with another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from asana_fakes import BASE, START, TOKEN

from delegator.asana import AsanaClient, BudgetRegistry, Limits, RetryPolicy
from delegator.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def policy() -> RetryPolicy:
    # No jitter: the full backoff ceiling, so waits are exact.
    return RetryPolicy(jitter=lambda ceiling: ceiling)


@pytest.fixture
def client(clock: ManualClock, policy: RetryPolicy) -> Iterator[AsanaClient]:
    with AsanaClient(
        TOKEN,
        base_url=BASE,
        retry=policy,
        limits=Limits(requests_per_minute=1500),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
    ) as made:
        yield made


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
