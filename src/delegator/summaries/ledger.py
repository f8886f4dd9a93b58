"""The exactly-once ledger of sends: each period claimed, then sent, retried or given up.

Sending is exactly once per scheduled period and destination. Before a delivery the period is
claimed in the store (a unique row: two replicas never both send it) and leased; after it the row
says ``sent``, ``failed`` (tried again once its backoff, doubling from ``summary.backoff`` and
never shorter than a Retry-After, is over) or ``gave_up``. The first time a schedule (or a new
destination) is seen its latest period is recorded as a ``baseline`` and not sent, so starting
the service does not send last week's summary; after a restart the latest missed period is sent
once. A delivery interrupted by a crash (a ``pending`` row whose lease ran out) is looked up
first where the destination allows it (``already_posted``) and only sent again if not found.

A row's ``destination`` is the destination's key (``DestinationFactory.key``): stable and
secret-free, the same in every version, so no period is sent again after an upgrade.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from delegator.clients import ClientEntry
from delegator.core.schema import Destination as DestinationSpec
from delegator.ports import (
    BackendError,
    DeliveryError,
    Destination,
    FindsPosted,
    SendRecord,
    SendStatus,
    StateStore,
)
from delegator.redact import redact_outgoing
from delegator.settings import Settings
from delegator.summaries.periods import Kind, Period, utc

LEASE = timedelta(minutes=10)  # a send being delivered; a crash leaves it due again after this
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """One delivery attempt, for logs, metrics and the command line."""

    client: str
    kind: str
    recipient: str
    destination: str  # the destination's secret-free key
    status: SendStatus  # sent, failed, gave_up
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """A destination from a client file, with its key in the ledger; built when used."""

    key: str
    kind: str
    spec: DestinationSpec  # the destination from the client file


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed send, for recording its outcome."""

    entry: ClientEntry
    kind: str
    recipient: str
    target: Target
    send_id: int
    attempts: int

    def outcome(self, status: SendStatus, detail: str) -> SendOutcome:
        return SendOutcome(
            self.entry.key, self.kind, self.recipient, self.target.key, status, detail
        )


def backoff(settings: Settings, tries: int, retry_after: float | None) -> timedelta:
    """The wait before the next try: doubling from ``summary.backoff`` up to six hours, and
    never shorter than what the destination asked for."""
    wait: timedelta = min(settings.summary_backoff * (2 ** (tries - 1)), MAX_BACKOFF)
    if retry_after is not None:
        wait = max(wait, timedelta(seconds=retry_after))
    return wait


@dataclass
class Ledger:
    """The store's rows of sends, one per client, kind, recipient, destination and period."""

    store: StateStore
    settings: Settings
    clock: Callable[[], datetime]
    report: Callable[[SendOutcome], SendOutcome]  # logs and counts each recorded outcome

    def claim_scheduled(
        self,
        client: str,
        kind: Kind,
        recipient: str,
        target: Target,
        fire: datetime,
        period: Period,
        now: datetime,
    ) -> int | None:
        """The send of a scheduled run, claimed and leased; None when it was sent (or claimed)
        already, and when this is the first run the destination sees: only recorded then."""
        last = self.store.last_send(client, kind, recipient, target.key)
        if last is not None and last.period >= fire:
            return None
        # The first period a schedule (or a new destination) sees is only recorded: the
        # service does not send last week's summary the moment it starts.
        status: SendStatus = "baseline" if last is None else "pending"
        claimed = self.store.claim_send(
            client=client, kind=kind, recipient=recipient,
            destination=target.key, period=fire, period_start=period.start, at=now,
            status=status, next_attempt_at=now + LEASE if status == "pending" else None,
        )  # fmt: skip
        if claimed is None or status == "baseline":
            return None
        return claimed

    def claim_now(
        self,
        client: str,
        target: Target,
        period: Period,
        now: datetime,
        *,
        kind: Kind = "summary",
        recipient: str = "",
    ) -> int | None:
        """A summary (or an assistant's digest) sent on request, recorded with the current time
        as its period."""
        return self.store.claim_send(
            client=client, kind=kind, recipient=recipient, destination=target.key,
            period=utc(now), period_start=period.start, at=now, next_attempt_at=now + LEASE,
        )  # fmt: skip

    def due(self, client: str, now: datetime) -> list[SendRecord]:
        """Sends whose backoff is over or whose lease expired, for all the client's jobs."""
        return self.store.sends(client, statuses=("pending", "failed"), due_by=now)

    def lease(self, record: SendRecord, now: datetime) -> bool:
        """Take a due send for this replica; False when another one took it."""
        return self.store.lease_send(record.id, at=now, until=now + LEASE)

    def found(self, record: SendRecord, receipt: str, now: datetime) -> None:
        """A send a crash cut short that had gone through: recorded, not sent again."""
        self.store.finish_send(record.id, "sent", now, receipt=receipt)

    def attempt(self, claims: Sequence[Claim], send: Callable[[], str | None]) -> list[SendOutcome]:
        """One delivery for one or more claimed sends (a combined digest covers several
        clients' rows): each is recorded as sent, failed (with its next try) or given up.
        ``send`` returns the receipt, or None when there was nothing to say."""
        now = self.clock()
        outcomes: list[SendOutcome] = []
        try:
            receipt = send()
        except DeliveryError as exc:
            said = redact_outgoing(str(exc))  # a server's reply may echo a secret back
            for claim in claims:
                tries = claim.attempts + 1
                if exc.retryable and tries < self.settings.summary_attempts:
                    wait = backoff(self.settings, tries, exc.retry_after)
                    self.store.finish_send(claim.send_id, "failed", now, error=said,
                                           next_attempt_at=now + wait)  # fmt: skip
                    outcomes.append(
                        self.report(claim.outcome("failed", f"{said}; next try in {wait}"))
                    )
                else:
                    self.store.finish_send(claim.send_id, "gave_up", now, error=said)
                    outcomes.append(self.report(claim.outcome("gave_up", said)))
            return outcomes
        for claim in claims:
            if receipt is None:
                self.store.finish_send(claim.send_id, "sent", now, receipt="nothing to say")
                detail = "nothing new, due or overdue: not sent"
            else:
                self.store.finish_send(claim.send_id, "sent", now, receipt=receipt)
                detail = (
                    receipt
                    if len(claims) == 1
                    else f"{receipt} (one digest for {len(claims)} clients)"
                )
            outcomes.append(self.report(claim.outcome("sent", detail)))
        return outcomes


def already_posted(
    destination: Callable[[], Destination],
    title: Callable[[], str] | None,
    since: datetime,
) -> str | None:
    """A delivery a crash interrupted may have gone through: a destination that ``FindsPosted``
    (Asana) can tell, and its receipt is returned; email and webhooks cannot, so those are sent
    again (at least once in that narrow case). ``title``: what a match must open with, when
    the destination shares its place with others' posts (a task's comments)."""
    try:
        built = destination()
        if not isinstance(built, FindsPosted):
            return None
        found = built.find_posted(title() if title is not None else None, since)
    except (DeliveryError, BackendError):
        return None
    return str(found) if found is not None else None
