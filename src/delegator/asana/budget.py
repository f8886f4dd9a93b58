"""The API quota of one token, spent like a scarce resource.

Asana limits each token to a number of requests per minute (150 on free workspaces, 1,500 on
paid ones) and to 50 reads and 15 writes in flight, and counts every action of a /batch as one
request. A `Budget` keeps the client under those limits instead of finding them with 429s:

* a token bucket: `burst` units available at once, refilled at `requests_per_minute / 60` per
  second; a request waits (through the injected sleep) until its units are there;
* two concurrency caps (reads, writes), waited on with a condition variable;
* after a 429, everyone using the token pauses for its Retry-After and the refill rate halves
  for a cool-down period (down to `min_rate_factor`), then recovers.

Asana allocates the quota per token, and its size depends on the workspace's plan (free or
paid), which only the caller knows: each client passes its own `Limits` (`Limits.for_plan`).
All threads and all client objects that use the same token identity on the same workspace and
the same `BudgetRegistry` (the fleet owns one and gives it to every client it builds) share one
`Budget`, keyed by (token identity, workspace). The token identity is a stable label the caller
gives (a token file or variable name: it survives the secret being rotated) or else a SHA-256 of
the token, so the token itself is never stored here.

Written here rather than with a rate-limiting library (pyrate-limiter, limits): those count
requests against fixed windows but know neither Asana's separate read and write caps, nor a
/batch costing one unit per action, nor slowing everyone sharing a token after a 429.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from delegator.clock import Clock, Sleep

_EPSILON = 1e-9
FREE_REQUESTS_PER_MINUTE = 150.0
PAID_REQUESTS_PER_MINUTE = 1500.0
#: Asana's search API has its own limit, whatever the plan.
SEARCH_REQUESTS_PER_MINUTE = 60.0


@dataclass(frozen=True)
class Limits:
    requests_per_minute: float = 1500.0
    burst: int | None = None  # bucket size; None: a tenth of a minute's quota, at least 10
    max_reads: int = 50
    max_writes: int = 15
    cooldown: float = 60.0  # seconds the reduced rate lasts after a 429
    # The adaptive slowdown halves the rate on each 429 episode down to this fraction: 1/16, one
    # halving below the old 1/8. On a paid limit that is 94/min, under a free workspace's 150, so
    # a free workspace configured as paid (or a token shared with another app) stops drawing
    # 429s, which Asana counts against the quota too; on the free limit it is 9.4/min, still a
    # request every 6.4 s for an idle cycle's one request per source.
    min_rate_factor: float = 0.0625

    @classmethod
    def free(cls) -> Limits:
        """The limits of a token on a free workspace: 150 requests a minute."""
        return cls(requests_per_minute=FREE_REQUESTS_PER_MINUTE)

    @classmethod
    def paid(cls) -> Limits:
        """The limits of a token on a paid workspace: 1,500 requests a minute."""
        return cls(requests_per_minute=PAID_REQUESTS_PER_MINUTE)

    @classmethod
    def for_plan(cls, plan: str) -> Limits:
        """``free`` or ``paid`` (Asana's two standard rate limits)."""
        if plan == "free":
            return cls.free()
        if plan == "paid":
            return cls.paid()
        raise ValueError(f"unknown Asana plan {plan!r}: use 'free' or 'paid'")

    @property
    def floor_per_minute(self) -> float:
        """The slowest rate repeated 429s bring the budget down to."""
        return self.requests_per_minute * self.min_rate_factor

    @property
    def capacity(self) -> float:
        if self.burst is not None:
            return float(self.burst)
        # Ten units at least, so that a full /batch never waits for a bucket it cannot fill.
        return float(max(10, math.floor(self.requests_per_minute / 10)))

    def tightest(self, other: Limits) -> Limits:
        """The stricter of two configurations for one token (two clients may disagree)."""
        return replace(
            self,
            requests_per_minute=min(self.requests_per_minute, other.requests_per_minute),
            burst=int(min(self.capacity, other.capacity)),
            max_reads=min(self.max_reads, other.max_reads),
            max_writes=min(self.max_writes, other.max_writes),
        )


PAID = Limits()
FREE = Limits.free()


class Budget:
    """Rate and concurrency budget of one token. Thread-safe."""

    def __init__(self, limits: Limits, *, clock: Clock, sleep: Sleep, key: str = "") -> None:
        self.key = key  # the caller's token label or a prefix of the token's hash, for logs
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = limits.capacity
        self._stamp = clock.monotonic()
        self._factor = 1.0
        self._paused_until = -math.inf
        self._cooldown_until = -math.inf
        self._flight = threading.Condition()
        self._reads = 0
        self._writes = 0
        self._units_spent = 0
        self._waited = 0.0

    # ------------------------------------------------------------ state, for tests and the bench
    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def units_spent(self) -> int:
        return self._units_spent

    @property
    def seconds_waited(self) -> float:
        return self._waited

    @property
    def rate_factor(self) -> float:
        with self._lock:
            self._refill(self._clock.monotonic())
            return self._factor

    @property
    def in_flight(self) -> tuple[int, int]:
        """(reads, writes) currently holding a slot."""
        with self._flight:
            return self._reads, self._writes

    # ------------------------------------------------------------ spending
    @contextmanager
    def spend(self, *, reads: int = 0, writes: int = 0) -> Iterator[None]:
        """Wait for `reads + writes` units and for slots, hold the slots for the block."""
        self.take(reads + writes)
        with self.slots(reads=reads, writes=writes):
            yield

    def take(self, units: int) -> float:
        """Take `units` from the bucket, sleeping until they are there; returns seconds slept."""
        slept = 0.0
        while True:
            with self._lock:
                now = self._clock.monotonic()
                self._refill(now)
                if now < self._paused_until:
                    wait = self._paused_until - now
                else:
                    # A request larger than the bucket waits for a full bucket, then goes into debt.
                    needed = min(float(units), self._limits.capacity)
                    if self._tokens + _EPSILON >= needed:
                        self._tokens -= units
                        self._units_spent += units
                        self._waited += slept
                        return slept
                    wait = (needed - self._tokens) / self._rate()
            self._sleep(wait)
            slept += wait

    @contextmanager
    def slots(self, *, reads: int = 0, writes: int = 0) -> Iterator[None]:
        """Hold `reads` read slots and `writes` write slots, waiting while the caps are reached."""
        reads = min(reads, self._limits.max_reads)
        writes = min(writes, self._limits.max_writes)
        with self._flight:
            self._flight.wait_for(
                lambda: (
                    self._reads + reads <= self._limits.max_reads
                    and self._writes + writes <= self._limits.max_writes
                )
            )
            self._reads += reads
            self._writes += writes
        try:
            yield
        finally:
            with self._flight:
                self._reads -= reads
                self._writes -= writes
                self._flight.notify_all()

    # ------------------------------------------------------------ feedback from Asana
    def rate_limited(self, retry_after: float) -> None:
        """A 429: pause every user of the token for `retry_after` s and halve the refill rate.

        Several threads hit by the same episode halve the rate once, not once each.
        """
        with self._lock:
            now = self._clock.monotonic()
            self._refill(now)
            if now >= self._paused_until:
                self._factor = max(self._limits.min_rate_factor, self._factor / 2)
            self._paused_until = max(self._paused_until, now + retry_after)
            self._cooldown_until = self._paused_until + self._limits.cooldown

    def tighten(self, limits: Limits) -> None:
        """Apply the stricter of the current limits and `limits`."""
        with self._lock, self._flight:
            self._limits = self._limits.tightest(limits)
            self._tokens = min(self._tokens, self._limits.capacity)
            self._flight.notify_all()

    def _rate(self) -> float:
        return self._limits.requests_per_minute / 60.0 * self._factor

    def _refill(self, now: float) -> None:
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self._limits.capacity, self._tokens + elapsed * self._rate())
            self._stamp = now
        if now >= self._cooldown_until:
            self._factor = 1.0


def token_key(token: str) -> str:
    """A token's identity when the caller names none: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def budget_key(identity: str, workspace: str | None = None, *, kind: str = "") -> str:
    """The registry key: the token identity, then ``@workspace`` and ``#kind`` when given."""
    key = identity
    if workspace:
        key += f"@{workspace}"
    if kind:
        key += f"#{kind}"
    return key


class BudgetRegistry:
    """Budgets by (token identity, workspace); the fleet owns one for every client it builds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._budgets: dict[str, Budget] = {}

    def budget_for(
        self,
        token: str | None,
        limits: Limits,
        *,
        clock: Clock,
        sleep: Sleep,
        token_id: str | None = None,
        workspace: str | None = None,
        kind: str = "",
    ) -> Budget:
        """The budget of a token identity on a workspace, created with `limits` on first use,
        else tightened to them.

        The identity is `token_id` when given (a label that stays when the secret is rotated),
        else the SHA-256 of `token`. `kind` names a separate quota of the same token (``search``).
        """
        if token_id:
            identity = token_id
        elif token:
            identity = token_key(token)
        else:
            raise ValueError("a budget needs a token or a token_id")
        key = budget_key(identity, workspace, kind=kind)
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                label = (identity if token_id else identity[:12]) + key[len(identity) :]
                budget = Budget(limits, clock=clock, sleep=sleep, key=label)
                self._budgets[key] = budget
                return budget
        budget.tighten(limits)
        return budget
