"""What the webhook receiver hands the service: the secrets it checks against, and where each
accepted delivery goes.

`StoredSecrets` is the receiver's `WebhookSecrets` port over the store: a handshake is accepted
for a key the store holds PENDING and fresh (first handshake wins, sealed by `Sealer`); a
delivery's secret is unsealed once and cached. Unknown keys are remembered briefly as unknown, so
a stranger posting to random keys costs one store read per key and five seconds, not one per
request.

`Relay` is the receiver's ``on_delivery``: it wakes this replica's scheduler for the client (a
debounced cycle: `Service.wake`) and notes the signal for the store, where every replica sees it
(last heartbeat, last delivery, and a dirty mark). A separate thread writes the notes in batches,
so nothing slow runs inside Asana's 10-second answer budget, and, while other replicas are alive,
takes the dirty marks of the clients this replica holds: a delivery that reached another replica
wakes the cycle here within about a second.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from delegator.logs import get_logger
from delegator.ports import Signal, SubscriptionState, SubscriptionStore
from delegator.sealing import Sealer
from delegator.subscriptions import HANDSHAKE_WINDOW

FLUSH_SECONDS = 0.5
MISS_SECONDS = 5.0  # an unknown key is not looked up again for this long
HIT_SECONDS = 600.0  # a known key's secret is read again after this long
MAX_ENTRIES = 10_000
MAX_PENDING_SIGNALS = 10_000  # notes kept while the store is unreachable; the oldest go first

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class _Known:
    secret: str
    client: str
    until: float


class StoredSecrets:
    """`WebhookSecrets` over the store, with a bounded cache (thread-safe)."""

    def __init__(
        self,
        store: SubscriptionStore,
        sealer: Sealer,
        now: Callable[[], datetime],
        *,
        window: timedelta = HANDSHAKE_WINDOW,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.now = now
        self.window = window
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._missing: OrderedDict[str, float] = OrderedDict()
        self._pending: OrderedDict[str, str] = OrderedDict()  # key -> client, awaiting handshake

    def expecting_handshake(self, key: str) -> bool:
        if self._missed(key):
            return False
        row = self.store.subscription(key)
        now = self.now()
        if (
            row is None
            or row.state is not SubscriptionState.PENDING
            or row.sealed_secret is not None
            or now - row.created_at > self.window
        ):
            self._miss(key)
            return False
        with self._lock:
            self._pending[key] = row.client
            _trim(self._pending)
        return True

    def accept_handshake(self, key: str, secret: str) -> bool:
        now = self.now()
        kept = self.store.accept_secret(key, self.sealer.seal(secret), now, since=now - self.window)
        with self._lock:
            client = self._pending.pop(key, None)
            if kept and client is not None:
                self._known[key] = _Known(secret, client, self.monotonic() + HIT_SECONDS)
                _trim(self._known)
        return kept

    def secret(self, key: str) -> str | None:
        known = self._cached(key)
        if known is not None:
            return known.secret
        if self._missed(key):
            return None
        row = self.store.subscription(key)
        if (
            row is None
            or row.sealed_secret is None
            or row.state not in (SubscriptionState.PENDING, SubscriptionState.ACTIVE)
        ):
            self._miss(key)
            return None
        secret = self.sealer.unseal(row.sealed_secret)
        if secret is None:  # sealed with another key: the subscriber replaces this webhook
            get_logger(client=row.client).warning("webhook_secret_unreadable")
            self._miss(key)
            return None
        with self._lock:
            self._known[key] = _Known(secret, row.client, self.monotonic() + HIT_SECONDS)
            _trim(self._known)
        return secret

    def client_of(self, key: str) -> str | None:
        known = self._cached(key)
        return known.client if known is not None else None

    def forget(self, key: str) -> None:
        """A subscription dropped here: its deliveries are unknown from now on."""
        with self._lock:
            self._known.pop(key, None)
            self._pending.pop(key, None)

    def _cached(self, key: str) -> _Known | None:
        with self._lock:
            known = self._known.get(key)
            if known is None:
                return None
            if known.until < self.monotonic():
                del self._known[key]
                return None
            self._known.move_to_end(key)
            return known

    def _missed(self, key: str) -> bool:
        with self._lock:
            until = self._missing.get(key)
            if until is None:
                return False
            if until < self.monotonic():
                del self._missing[key]
                return False
            return True

    def _miss(self, key: str) -> None:
        with self._lock:
            self._missing[key] = self.monotonic() + MISS_SECONDS
            self._missing.move_to_end(key)
            _trim(self._missing)


def _trim(entries: OrderedDict[str, _V]) -> None:
    while len(entries) > MAX_ENTRIES:
        entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class RelayCounts:
    signals: int = 0  # deliveries and heartbeats noted
    written: int = 0  # notes written to the store
    dropped: int = 0  # notes dropped while the store was unreachable (bounded queue)
    taken: int = 0  # dirty marks of other replicas' deliveries taken here
    store_failures: int = 0


class Relay:
    """The receiver's ``on_delivery``: wake the local cycle now, tell the store (and so the
    other replicas) in the background."""

    def __init__(
        self,
        store: SubscriptionStore,
        secrets: StoredSecrets,
        wake: Callable[[str, datetime], None],
        *,
        held: Callable[[], Sequence[str]] = list,
        others_alive: Callable[[], bool] = lambda: False,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.wake = wake
        self.held = held
        self.others_alive = others_alive
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._notes: list[Signal] = []
        self._counts = RelayCounts()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, key: str, events: int, received_at: datetime) -> None:
        client = self.secrets.client_of(key)
        with self._lock:
            self._notes.append(Signal(key, received_at, events))
            dropped = max(0, len(self._notes) - MAX_PENDING_SIGNALS)
            if dropped:
                del self._notes[:dropped]
            self._counts = _add(self._counts, signals=1, dropped=dropped)
        if events and client is not None:
            self.wake(client, received_at)

    def counts(self) -> RelayCounts:
        with self._lock:
            return self._counts

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="delegator-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()
            self.take()

    def flush(self) -> None:
        """Write the notes taken so far (kept for the next try when the store fails)."""
        with self._lock:
            notes, self._notes = self._notes, []
        if not notes:
            return
        try:
            self.store.record_signals(notes)
        except Exception as exc:  # StoreError: keep them, bounded, for the next flush
            with self._lock:
                self._notes[:0] = notes
                dropped = max(0, len(self._notes) - MAX_PENDING_SIGNALS)
                if dropped:
                    del self._notes[:dropped]
                self._counts = _add(self._counts, store_failures=1, dropped=dropped)
            get_logger(component="webhooks").warning("webhook_signals_not_saved", error=str(exc))
            return
        with self._lock:
            self._counts = _add(self._counts, written=len(notes))

    def take(self) -> None:
        """Wake the cycles of this replica's clients for deliveries other replicas received."""
        if not self.others_alive():
            return
        clients = list(self.held())
        if not clients:
            return
        try:
            marks = self.store.take_dirty(clients)
        except Exception as exc:  # StoreError: the next round tries again
            with self._lock:
                self._counts = _add(self._counts, store_failures=1)
            get_logger(component="webhooks").warning("webhook_marks_not_read", error=str(exc))
            return
        for client, at in sorted(marks.items()):
            self.wake(client, at)
        if marks:
            with self._lock:
                self._counts = _add(self._counts, taken=len(marks))


def _add(counts: RelayCounts, **by: int) -> RelayCounts:
    return RelayCounts(
        **{name: getattr(counts, name) + by.get(name, 0) for name in RelayCounts.__slots__}
    )
