"""What an evaluation knows besides the task: the moment, the calendar and who is who.

Built once per cycle (or per explain) by the caller and shared by every task of that cycle; the
window bounds the rules need (now + 3d, now - 2 business days...) are computed once here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from delegator.core.model import UserRef
from delegator.core.timeexpr import Duration, add_business_days


@dataclass(frozen=True, slots=True)
class Identity:
    """A person as the client file names them, matched against a task's users by gid or email."""

    gid: str = ""
    email: str = ""  # always lower case, like UserRef.email
    name: str = ""

    def __post_init__(self) -> None:
        if self.email != self.email.lower():
            object.__setattr__(self, "email", self.email.lower())

    def is_user(self, user: UserRef | None) -> bool:
        if user is None:
            return False
        return bool(
            (self.gid and user.gid == self.gid) or (self.email and user.email == self.email)
        )

    @property
    def known(self) -> bool:
        return bool(self.gid or self.email)

    @property
    def first_name(self) -> str:
        if self.name.strip():
            return self.name.split()[0]
        return self.email.split("@")[0] if self.email else self.gid

    def label(self) -> str:
        return self.name or self.email or self.gid or "unknown"


def identity_of(spec: str, name: str = "") -> Identity:
    """An email or a gid as written in a client file."""
    return Identity(email=spec.lower(), name=name) if "@" in spec else Identity(gid=spec, name=name)


@dataclass(frozen=True, slots=True)
class Directory:
    """Who the client file's words refer to: the owner and each assistant key."""

    owner: Identity = Identity()
    assistants: Mapping[str, Identity] = field(default_factory=dict)

    def resolve(self, spec: str) -> Identity:
        """``owner``, an assistant key, an email or a gid -> the person."""
        if spec == "owner":
            return self.owner
        if spec in self.assistants:
            return self.assistants[spec]
        return identity_of(spec)

    def assistant_of(self, user: UserRef | None) -> str | None:
        """The key of the assistant a task is assigned to, if any."""
        for key, person in self.assistants.items():
            if person.is_user(user):
                return key
        return None


class EvalContext:
    """The moment and calendar of one evaluation, with precomputed window bounds."""

    __slots__ = ("ago", "ahead", "directory", "holidays", "now", "quadrant", "today", "tz")

    def __init__(
        self,
        now: datetime,
        tz: tzinfo,
        directory: Directory,
        holidays: frozenset[date] = frozenset(),
        durations: Iterable[Duration] = (),
    ) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.now = now.astimezone(tz)
        self.tz = tz
        self.today = self.now.date()
        self.directory = directory
        self.holidays = holidays
        self.ahead: dict[Duration, tuple[datetime, date]] = {}
        self.ago: dict[Duration, datetime] = {}
        self.quadrant = ""
        for duration in durations:
            self.bounds(duration)

    def bounds(self, duration: Duration) -> tuple[datetime, date]:
        """``now + duration`` as an instant and as the last day it reaches."""
        found = self.ahead.get(duration)
        if found is None:
            if duration.unit == "business_days":
                day = add_business_days(self.today, duration.amount, self.holidays)
                found = (datetime.combine(day, self.now.timetz()), day)
            else:
                moment = self.now + duration.timedelta()
                found = (moment, moment.date())
            self.ahead[duration] = found
            self.ago[duration] = duration.before(self.now, self.holidays)
        return found

    def since(self, duration: Duration) -> datetime:
        """``now - duration``."""
        if duration not in self.ago:
            self.bounds(duration)
        return self.ago[duration]
