"""The per-token budget: token bucket, concurrency caps, 429 feedback, sharing by token."""

from __future__ import annotations

import threading
import time

import pytest
import responses
from asana_fakes import BASE, TOKEN

from delegator.asana import FREE, AsanaClient, Budget, BudgetRegistry, Limits
from delegator.asana.budget import token_key
from delegator.clock import ManualClock

WAIT = 2.0  # seconds a test thread may block before the test is declared hung


def make_budget(clock: ManualClock, **limits: float) -> Budget:
    return Budget(Limits(**limits), clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


def test_n_requests_go_at_once_and_the_next_waits_for_one_unit(clock: ManualClock) -> None:
    budget = make_budget(clock, requests_per_minute=60, burst=60)

    waits = [budget.take(1) for _ in range(60)]
    assert waits == [0.0] * 60
    assert clock.slept == []

    assert budget.take(1) == pytest.approx(1.0)  # 60 per minute: one unit per second
    assert clock.slept == [pytest.approx(1.0)]
    assert budget.units_spent == 61


def test_a_minute_of_requests_at_the_free_rate(clock: ManualClock) -> None:
    budget = Budget(FREE, clock=clock, sleep=clock.sleep)
    assert FREE.requests_per_minute == 150
    assert FREE.capacity == 15

    for _ in range(150):
        budget.take(1)

    # 15 at once, then 135 more at 2.5 per second.
    assert sum(clock.slept) == pytest.approx(135 / 2.5)
    assert budget.units_spent == 150


def test_the_bucket_refills_with_time(clock: ManualClock) -> None:
    budget = make_budget(clock, requests_per_minute=600, burst=10)
    for _ in range(10):
        budget.take(1)

    clock.advance(0.5)  # 10 per second: 5 units back

    for _ in range(5):
        assert budget.take(1) == 0.0
    assert budget.take(1) == pytest.approx(0.1)


def test_a_batch_costs_one_unit_per_action(clock: ManualClock) -> None:
    budget = make_budget(clock, requests_per_minute=60, burst=10)

    assert budget.take(10) == 0.0
    assert budget.take(3) == pytest.approx(3.0)
    assert budget.units_spent == 13


def test_a_request_larger_than_the_bucket_waits_for_a_full_bucket_then_goes_into_debt(
    clock: ManualClock,
) -> None:
    budget = make_budget(clock, requests_per_minute=60, burst=5)
    budget.take(5)

    assert budget.take(8) == pytest.approx(5.0)  # a full bucket, then 3 units owed
    assert budget.take(1) == pytest.approx(4.0)  # repay 3, then earn 1


def test_a_429_pauses_everyone_then_halves_the_rate_for_the_cooldown(clock: ManualClock) -> None:
    budget = make_budget(clock, requests_per_minute=60, burst=1, cooldown=60)

    budget.rate_limited(20)
    budget.rate_limited(20)  # the same episode seen by another thread: halves once

    assert budget.rate_factor == 0.5
    assert budget.take(1) == pytest.approx(20.0)  # paused; the bucket filled meanwhile
    assert budget.take(1) == pytest.approx(2.0)  # half of 1 per second
    clock.advance(60)  # cool-down over
    assert budget.rate_factor == 1.0
    budget.take(1)
    assert budget.take(1) == pytest.approx(1.0)


def test_repeated_429s_keep_halving_down_to_the_floor(clock: ManualClock) -> None:
    budget = make_budget(clock, requests_per_minute=60, min_rate_factor=0.125)

    factors = []
    for _ in range(5):
        budget.rate_limited(1)
        clock.advance(1)
        factors.append(budget.rate_factor)

    assert factors == [0.5, 0.25, 0.125, 0.125, 0.125]


# ---------------------------------------------------------------- concurrency caps


def test_writes_beyond_the_cap_wait_for_a_slot(clock: ManualClock) -> None:
    budget = make_budget(clock, max_writes=2, max_reads=3)
    entered = threading.Event()
    finished = threading.Event()

    first = budget.slots(writes=1)
    second = budget.slots(writes=1)
    first.__enter__()
    second.__enter__()

    def third_write() -> None:
        with budget.slots(writes=1):
            entered.set()
        finished.set()

    worker = threading.Thread(target=third_write)
    worker.start()
    assert not entered.wait(0.05)  # blocked: two writes in flight
    assert budget.in_flight == (0, 2)
    with budget.slots(reads=3):  # reads have their own cap
        assert budget.in_flight == (3, 2)

    first.__exit__(None, None, None)

    assert finished.wait(WAIT)
    worker.join(WAIT)
    second.__exit__(None, None, None)
    assert budget.in_flight == (0, 0)


def test_concurrent_requests_never_exceed_the_caps(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    client = AsanaClient(
        TOKEN,
        base_url=BASE,
        limits=Limits(requests_per_minute=10_000, burst=1000, max_writes=3),
        clock=clock,
        sleep=clock.sleep,
        budgets=BudgetRegistry(),
    )
    lock = threading.Lock()
    peak = [0]
    current = [0]
    release = threading.Event()

    def slow_put(request: object) -> tuple[int, dict[str, str], str]:
        with lock:
            current[0] += 1
            peak[0] = max(peak[0], current[0])
        release.wait(WAIT)
        with lock:
            current[0] -= 1
        return 200, {}, '{"data": {"gid": "1"}}'

    api.add_callback(responses.PUT, f"{BASE}/tasks/1", callback=slow_put)
    threads = [threading.Thread(target=client.assign, args=("1", "42")) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + WAIT
    while client.budget.in_flight[1] < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.02)  # give the other five a chance to (wrongly) get in
    assert client.budget.in_flight == (0, 3)
    release.set()
    for thread in threads:
        thread.join(WAIT)

    assert peak[0] == 3
    assert len(api.calls) == 8


# ---------------------------------------------------------------- sharing


def test_clients_with_the_same_token_share_one_budget(
    clock: ManualClock, api: responses.RequestsMock
) -> None:
    registry = BudgetRegistry()

    def make(token: str) -> AsanaClient:
        return AsanaClient(
            token, base_url=BASE, clock=clock, sleep=clock.sleep, budgets=registry,
            limits=Limits(requests_per_minute=60, burst=2),
        )  # fmt: skip

    one, two, other = make(TOKEN), make(TOKEN), make("another-token")
    for _ in range(4):
        api.get(f"{BASE}/tasks/1", json={"data": {"gid": "1"}})

    one.get_task("1", ("name",))
    two.get_task("1", ("name",))
    other.get_task("1", ("name",))
    assert clock.slept == []
    two.get_task("1", ("name",))  # the shared bucket is empty now

    assert one.budget is two.budget
    assert other.budget is not one.budget
    assert clock.slept == [pytest.approx(1.0)]
    assert one.budget.units_spent == 3


def test_the_registry_keeps_a_hash_of_the_token_never_the_token(clock: ManualClock) -> None:
    registry = BudgetRegistry()

    budget = registry.budget_for(TOKEN, Limits(), clock=clock, sleep=clock.sleep)

    assert TOKEN not in repr(vars(registry))
    assert token_key(TOKEN) in vars(registry)["_budgets"]
    assert budget.key == token_key(TOKEN)[:12]


def test_a_second_configuration_for_a_token_tightens_the_limits(clock: ManualClock) -> None:
    registry = BudgetRegistry()
    registry.budget_for(TOKEN, Limits(), clock=clock, sleep=clock.sleep)

    budget = registry.budget_for(TOKEN, FREE, clock=clock, sleep=clock.sleep)
    again = registry.budget_for(TOKEN, Limits(), clock=clock, sleep=clock.sleep)

    assert budget is again
    assert budget.limits.requests_per_minute == 150
    assert budget.limits.capacity == 15
    assert (budget.limits.max_reads, budget.limits.max_writes) == (50, 15)


def test_default_limits_are_asanas_paid_ones() -> None:
    limits = Limits()

    assert limits.requests_per_minute == 1500
    assert limits.capacity == 150
    assert (limits.max_reads, limits.max_writes) == (50, 15)


def test_the_slowdown_floor_is_below_the_free_limit_on_either_plan(clock: ManualClock) -> None:
    # Before: a floor of 1/8 kept a paid configuration at 187.5/min, over a free workspace's
    # 150, so a free workspace configured as paid drew 429s for ever.
    for plan in ("free", "paid"):
        budget = Budget(Limits.for_plan(plan), clock=clock, sleep=clock.sleep)
        for _ in range(8):
            budget.rate_limited(1.0)
            clock.advance(1.0)
        floor = budget.limits.requests_per_minute * budget.rate_factor
        assert floor == budget.limits.floor_per_minute
        assert floor < 150
    assert Limits.paid().floor_per_minute == pytest.approx(93.75)
    assert Limits.free().floor_per_minute == pytest.approx(9.375)


def test_an_unknown_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="'free' or 'paid'"):
        Limits.for_plan("premium")
