"""The Events API's memory: what changed, on which streams, and the sync tokens that read them.

A project's stream holds the events of its tasks (and of their stories and subtasks); a task's
stream holds its own. A sync token is a position in the log for one resource: reading it returns
the events after that position (at most 100, then ``has_more``) and a token for the new position.
Tokens expire after 24 hours, or at once with :meth:`EventLog.expire_tokens`; an unknown or expired
token is answered with 412 and a fresh token, as Asana does.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from delegator.sandbox.clock import Clock, format_instant
from delegator.sandbox.errors import PreconditionFailedError
from delegator.sandbox.records import Node, User
from delegator.sandbox.render import render

PAGE_SIZE: Final = 100
TOKEN_LIFETIME: Final = timedelta(hours=24)
SYNC_INVALID: Final = (
    "Sync token invalid or too old. If you are attempting to keep resources in sync, you must "
    "fetch the full dataset for this query now and use the new sync token for the next sync."
)


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    created_at: datetime
    user: User | None
    resource: Node
    action: str  # added, changed, removed, deleted
    parent: Node | None
    change: dict[str, Any] | None
    streams: frozenset[str]  # gids of the resources whose event stream includes this event

    def to_json(self) -> dict[str, Any]:
        resource = render(self.resource, None, full=False)
        body: dict[str, Any] = {
            "user": render(self.user, None, full=False) if self.user else None,
            "created_at": format_instant(self.created_at),
            "type": resource.get("resource_type"),
            "action": self.action,
            "resource": resource,
            "parent": render(self.parent, None, full=False) if self.parent else None,
        }
        if self.change is not None:
            body["change"] = {
                key: render(value, None, full=False) if isinstance(value, Node) else value
                for key, value in self.change.items()
            }
        return body


@dataclass(frozen=True, slots=True)
class _Token:
    resource_gid: str
    seq: int
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    sync: str
    has_more: bool


class EventLog:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._events: list[Event] = []
        self._tokens: dict[str, _Token] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with each event as it is recorded (webhooks.py queues it; it must
        be quick: it runs in the thread that changed the world, with the world locked)."""
        with self._lock:
            self._listeners.append(listener)

    def record(
        self,
        *,
        user: User | None,
        resource: Node,
        action: str,
        parent: Node | None,
        streams: Iterable[str],
        change: dict[str, Any] | None = None,
    ) -> Event:
        with self._lock:
            self._seq += 1
            event = Event(
                seq=self._seq,
                created_at=self._clock.now(),
                user=user,
                resource=resource,
                action=action,
                parent=parent,
                change=change,
                streams=frozenset(streams),
            )
            self._events.append(event)
            self._prune(event.created_at)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        return event

    def new_token(self, resource_gid: str) -> str:
        """A token for "now" on this resource's stream."""
        with self._lock:
            return self._issue(resource_gid, self._seq)

    def read(self, resource_gid: str, sync: str | None) -> EventPage:
        """The events after ``sync``; PreconditionFailedError (with a fresh token) when it is not valid."""
        with self._lock:
            token = self._tokens.get(sync or "")
            now = self._clock.now()
            if (
                token is None
                or token.resource_gid != resource_gid
                or now - token.issued_at > TOKEN_LIFETIME
            ):
                fresh = self._issue(resource_gid, self._seq)
                raise PreconditionFailedError(SYNC_INVALID, extra={"sync": fresh})
            matching = [e for e in self._events if e.seq > token.seq and resource_gid in e.streams]
            page = matching[:PAGE_SIZE]
            has_more = len(matching) > PAGE_SIZE
            position = page[-1].seq if has_more else self._seq
            return EventPage(page, self._issue(resource_gid, position), has_more)

    def expire_tokens(self) -> None:
        """Forget every sync token, as Asana may under load: the next read of each gets 412."""
        with self._lock:
            self._tokens.clear()

    def clear(self) -> None:
        """Forget every event and token (a freshly seeded world has no history to stream)."""
        with self._lock:
            self._events.clear()
            self._tokens.clear()

    def all(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def _issue(self, resource_gid: str, seq: int) -> str:
        sync = secrets.token_hex(16)
        self._tokens[sync] = _Token(resource_gid, seq, self._clock.now())
        return sync

    def _prune(self, now: datetime) -> None:
        # Events are kept for the life of a token; older ones can no longer be read.
        cutoff = now - TOKEN_LIFETIME
        if self._events and self._events[0].created_at < cutoff:
            self._events = [e for e in self._events if e.created_at >= cutoff]
