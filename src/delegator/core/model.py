"""The task snapshot the engine reads; the backend's adapter builds it (asana/mapping.py).

A snapshot is immutable and precomputes what rules compare against (lower-cased names, tag sets,
custom fields by name and gid), so evaluating many rules over one task stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Ref:
    """Anything Asana names by gid: a project, section, tag or workspace."""

    gid: str
    name: str = ""
    # The name folded for comparison with a rule's words, derived once (``ref_matches``).
    folded: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded", self.name.casefold())


@dataclass(frozen=True, slots=True)
class UserRef:
    gid: str
    name: str = ""
    email: str = ""  # always lower case

    def __post_init__(self) -> None:
        if self.email != self.email.lower():
            object.__setattr__(self, "email", self.email.lower())

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else (self.email.split("@")[0] or self.gid)


@dataclass(frozen=True, slots=True)
class Membership:
    project: Ref
    section: Ref | None = None


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A custom field's value on one task, whatever its type."""

    gid: str
    name: str
    type: str  # enum, multi_enum, number, text, date, people, ...
    enum: str | None = None
    multi_enum: tuple[str, ...] = ()
    number: float | None = None
    text: str | None = None
    date: date | None = None
    display: str | None = None
    # Option names folded for comparison, derived once.
    enum_key: str | None = field(init=False, repr=False, compare=False)
    multi_keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "enum_key", self.enum.casefold() if self.enum is not None else None
        )
        object.__setattr__(self, "multi_keys", frozenset(v.casefold() for v in self.multi_enum))

    @property
    def is_set(self) -> bool:
        return bool(
            self.enum is not None
            or self.multi_enum
            or self.number is not None
            or self.text
            or self.date is not None
        )

    @property
    def value(self) -> object:
        """The value as a person reads it: option name(s), number, text or date."""
        match self.type:
            case "enum":
                return self.enum
            case "multi_enum":
                return list(self.multi_enum)
            case "number":
                return self.number
            case "date":
                return self.date
            case _:
                return self.text if self.text is not None else self.display


@dataclass(frozen=True, slots=True)
class Task:
    """One Asana task as the rules see it."""

    gid: str
    name: str = ""
    notes: str = ""
    assignee: UserRef | None = None
    completed: bool = False
    completed_at: datetime | None = None
    due_on: date | None = None
    due_at: datetime | None = None
    start_on: date | None = None
    start_at: datetime | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    tags: tuple[Ref, ...] = ()
    projects: tuple[Ref, ...] = ()
    memberships: tuple[Membership, ...] = ()
    followers: tuple[UserRef, ...] = ()
    custom_fields: tuple[FieldValue, ...] = ()
    parent: Ref | None = None
    permalink_url: str = ""
    is_milestone: bool = False
    # Derived once, read by every rule.
    name_lower: str = field(init=False, repr=False, compare=False)
    notes_lower: str = field(init=False, repr=False, compare=False)
    tag_names: frozenset[str] = field(init=False, repr=False, compare=False)
    fields_by_key: Mapping[str, FieldValue] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "name_lower", self.name.casefold())
        put(self, "notes_lower", self.notes.casefold())
        put(self, "tag_names", frozenset(t.name.casefold() for t in self.tags))
        by_key: dict[str, FieldValue] = {}
        for value in self.custom_fields:
            by_key[value.gid] = value
            by_key.setdefault(value.name.casefold(), value)
        put(self, "fields_by_key", by_key)

    @property
    def due_date(self) -> date | None:
        """The due day (from due_on, or the date part of due_at)."""
        if self.due_on is not None:
            return self.due_on
        return self.due_at.date() if self.due_at is not None else None

    @property
    def is_subtask(self) -> bool:
        return self.parent is not None

    def field(self, key: str) -> FieldValue | None:
        """A custom field by gid or by name (case-insensitive)."""
        return self.fields_by_key.get(key) or self.fields_by_key.get(key.casefold())


def ref_matches(ref: Ref, key: str) -> bool:
    """Whether a project, section or tag is the one a rule names (by gid, or name ignoring case).

    A rule's side is folded here; code that compares many refs to one key folds it once and
    compares ``ref.folded`` (the compiled rules do).
    """
    return ref.gid == key or ref.folded == key.casefold()
