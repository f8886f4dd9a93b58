"""What one cycle counts and the errors it reports, as typed values.

A cycle's counts are named by :class:`Count` (a misspelt name is a type error) and kept in a
:class:`CycleCounts`, with the failed writes broken down by the intent's kind. The store keeps
them as the plain JSON mapping it always had (``{"tasks_seen": 34, "actions_failed_tag": 1}``):
:meth:`CycleCounts.to_mapping` writes it, :meth:`CycleCounts.from_mapping` reads it back, keys
this version does not know included (kept as they were, never shown by name).

Each error a cycle reports is a :class:`CycleError`: its text for people and its
:class:`ErrorKind`, decided by what raised it (a refused token, a source that could not be read),
never by looking at the words of its message.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: The prefix of the per-kind counts of failed writes: ``actions_failed_tag``.
FAILED_PREFIX = "actions_failed_"


class Count(enum.StrEnum):
    """Everything one cycle counts; the values are the keys stored and logged."""

    #: The client could not be served this cycle (set-up, token, workspace): 1 or absent.
    CLIENT_FAILED = "client_failed"
    #: The service was stopping: the cycle ended at a safe point (1 or absent).
    INTERRUPTED = "interrupted"
    #: API requests the cycle sent.
    REQUESTS = "requests"
    #: Tasks the service itself created (summaries posted as tasks), never read as work.
    OWN_TASKS_SKIPPED = "own_tasks_skipped"
    #: Distinct tasks read from the watched sources and the queue.
    TASKS_SEEN = "tasks_seen"
    #: Queued tasks that were deleted or hidden, taken off the queue.
    QUEUE_DROPPED = "queue_dropped"
    #: Open delegations whose task was deleted.
    DELEGATIONS_DELETED = "delegations_deleted"
    #: Open delegations whose task the token can no longer see.
    DELEGATIONS_NO_ACCESS = "delegations_no_access"
    #: Open delegations read again because the sources no longer show them.
    DELEGATIONS_CHECKED = "delegations_checked"
    #: Delegations closed because their task was completed.
    DELEGATIONS_DONE = "delegations_done"
    #: Delegations a person took back or changed (overrides noticed).
    OVERRIDES = "overrides"
    #: Tasks the engine skipped (completed, excluded).
    SKIPPED = "skipped"
    #: Rule outcomes that matched a task.
    MATCHED = "matched"
    #: Outcomes that failed as a whole for one task (a read or a set-up problem).
    TASKS_FAILED = "tasks_failed"
    #: Tasks held back by a rule's limit, done at a later cycle.
    HELD_BACK = "held_back"
    #: Changes a shadow rule would have made (journaled, never sent).
    SHADOW = "shadow"
    #: Changes a dry run would make.
    PLANNED = "planned"
    #: Changes to tasks that failed (retried next cycle); per kind in ``actions_failed_<kind>``.
    ACTIONS_FAILED = "actions_failed"
    #: Changes to tasks carried out.
    ACTIONS_DONE = "actions_done"
    #: Journal entries a crash left pending, settled at start.
    RECONCILED = "reconciled"
    #: Unfinished outcomes given up after too many attempts.
    OUTCOMES_GIVEN_UP = "outcomes_given_up"
    #: Unfinished outcomes carried on from the journal.
    OUTCOMES_RESUMED = "outcomes_resumed"
    #: Tasks queued for want of a free assistant.
    QUEUED = "queued"
    #: Tasks no assistant could take, left alone (overflow: skip).
    UNASSIGNABLE = "unassignable"
    #: Delegated tasks whose activity (stories, likes, subtasks) was read for their follow-up.
    ACTIVITY_READS = "activity_reads"
    #: Expectations observed met (acknowledged, started, done) and recorded.
    EXPECTATIONS_MET = "expectations_met"
    #: Reminders sent to assistants before a deadline.
    REMINDERS = "reminders"
    #: Missed expectations escalated.
    ESCALATIONS = "escalations"
    #: Tasks given to another assistant after a second missed expectation.
    REASSIGNED = "reassigned"
    #: Tasks an assistant said were not for them.
    BOUNCES = "bounces"
    #: Follow-up steps that failed (carried on next cycle).
    FOLLOWUPS_FAILED = "followups_failed"
    #: At a whole read, the open tasks per quadrant (the status page's Covey matrix), and the
    #: important ones (do, schedule) the owner still holds.
    QUADRANT_DO = "quadrant_do"
    QUADRANT_SCHEDULE = "quadrant_schedule"
    QUADRANT_DELEGATE = "quadrant_delegate"
    QUADRANT_ELIMINATE = "quadrant_eliminate"
    QUADRANT_HELD_BY_OWNER = "quadrant_held_by_owner"


class CycleCounts:
    """A cycle's counts by :class:`Count`, plus failed writes per intent kind.

    ``counts[Count.MATCHED] += 1`` reads and writes like a ``Counter``: a name never counted
    reads 0. The stored mapping keeps the order things were first counted, as log lines do.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[Count, int] | None = None) -> None:
        # The stored key -> count: Count values, ``actions_failed_<kind>``, and keys of other
        # versions read from the store (kept, so a row reads and writes back the same).
        self._values: dict[str, int] = {}
        for name, value in (values or {}).items():
            self[name] = value

    def __getitem__(self, name: Count) -> int:
        return self._values.get(name, 0)  # a Count is equal to (and hashes as) its value

    def __setitem__(self, name: Count, value: int) -> None:
        self._values[Count(name).value] = int(value)

    def failed_write(self, kind: str) -> None:
        """One change of this intent kind (``tag``, ``assign``...) failed."""
        self[Count.ACTIONS_FAILED] += 1
        key = FAILED_PREFIX + kind
        self._values[key] = self._values.get(key, 0) + 1

    def failed_by_kind(self) -> dict[str, int]:
        """The failed writes per intent kind (those counted), in the order first counted."""
        return {
            key.removeprefix(FAILED_PREFIX): value
            for key, value in self._values.items()
            if key.startswith(FAILED_PREFIX) and value
        }

    def to_mapping(self) -> dict[str, int]:
        """The plain mapping the store keeps and the logs show."""
        return dict(self._values)

    @classmethod
    def from_mapping(cls, stored: Mapping[str, Any] | None) -> CycleCounts:
        """Counts as stored by any version: values that are not whole numbers are left out."""
        counts = cls()
        for key, value in (stored or {}).items():
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            counts._values[str(key)] = value
        return counts

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self._values.items())

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CycleCounts):
            return self._values == other._values
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"CycleCounts({self._values!r})"


class ErrorKind(enum.StrEnum):
    """What kind of error a cycle reported, from what raised it (the summaries' problem kinds)."""

    #: The backend refused the client's credentials: nothing could be read or written.
    TOKEN = "token"  # noqa: S105 - a kind of error, not a secret
    #: A watched source (or a name the rule file watches) could not be read or found.
    SOURCE = "source"
    #: One task could not be read or handled; the others went on.
    TASK = "task"
    #: A change to a task failed, or its outcome was given up.
    WRITE = "write"
    #: The cycle itself: stopped, set-up, the backend unreachable, anything else.
    CYCLE = "cycle"


@dataclass(frozen=True, slots=True)
class CycleError:
    """One error of a cycle: its kind and its text for people (never a secret)."""

    kind: ErrorKind
    text: str

    def __str__(self) -> str:
        return self.text


def error_kinds_from_stored(stored: Any, errors: int) -> tuple[ErrorKind | None, ...] | None:
    """The kinds a cycle row stored beside its errors, one per error; None for a row written
    before kinds were recorded (its errors are classified by their text, as they were then).
    A kind this version does not know reads as None."""
    if not isinstance(stored, list):
        return None
    kinds: list[ErrorKind | None] = []
    for value in stored[:errors]:
        try:
            kinds.append(ErrorKind(value))
        except ValueError:
            kinds.append(None)
    kinds.extend([None] * (errors - len(kinds)))
    return tuple(kinds)
