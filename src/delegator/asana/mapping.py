"""Asana's task JSON -> the core's ``Task`` snapshot: the adapter's edge, where answers are distrusted.

The opt_fields a task read asks for live here with the mapping that reads them, so the core never
sees Asana's wire format. Anything that does not look like what Asana returns (a wrong type
anywhere, a bad date) is a ``SnapshotError`` naming the field: one poison task is reported and
skipped, never a crash of the client's cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef

# The task fields something reads (rules' conditions and actions, the comment templates, the
# service's override and completion checks, summaries, health): the opt_fields of every task
# read from Asana. Asked for nothing no code reads, as each field costs bytes on the wire, JSON
# to parse and mapping here, for every task of every read:
# - ``workspace.name``: the mapping never reads the task's workspace;
# - ``followers.name``: a follower is matched by gid or email (`Identity.is_user`);
# - ``completed_at``: read only by summaries, through `BRIEF_FIELDS` (backend.py), which keep it;
# - ``resource_subtype``: only `Task.is_milestone` comes from it, and no code reads that.
# (`parent.name` stays: the smallest way to have the parent's gid, which is_subtask needs.)
TASK_OPT_FIELDS: tuple[str, ...] = (
    "name",
    "notes",
    "assignee.name",
    "assignee.email",
    "completed",
    "due_on",
    "due_at",
    "start_on",
    "start_at",
    "created_at",
    "modified_at",
    "tags.name",
    "projects.name",
    "memberships.project.name",
    "memberships.section.name",
    "followers.email",
    "parent.name",
    "permalink_url",
    "custom_fields.name",
    "custom_fields.resource_subtype",
    "custom_fields.enum_value.name",
    "custom_fields.multi_enum_values.name",
    "custom_fields.number_value",
    "custom_fields.text_value",
    "custom_fields.date_value",
    "custom_fields.display_value",
)


class SnapshotError(ValueError):
    """A task's JSON does not look like what Asana returns."""


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _date(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SnapshotError(f"{where}: invalid date {value!r} (expected YYYY-MM-DD)") from None


def _datetime(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise SnapshotError(
                f"{where}: invalid timestamp {value!r} (expected ISO 8601)"
            ) from None
    if moment.tzinfo is None:
        raise SnapshotError(f"{where}: timestamp {value!r} has no time zone")
    return moment


class Shared:
    """One instance of each project, section, tag, user and field value across many snapshots.

    Thousands of tasks name the same few projects, sections and people; sharing the objects
    keeps a large workspace's snapshots small, and finding one already made is cheaper than
    making it again. Use one per read (it only grows).
    """

    __slots__ = ("_objects", "days", "fields", "memberships", "refs", "users")

    def __init__(self) -> None:
        self._objects: dict[object, Any] = {}
        # The fast path's caches, keyed by what the object is made of (so a hit is equal to
        # what would have been made): refs by (gid, name), users by (gid, name, email), ...
        # Each object made is also passed through `one`: equal objects are one object whichever
        # path made them first (a -0.0 and a 0.0 are equal: the first one seen stays, as ever).
        self.refs: dict[tuple[str, str], Ref] = {}
        self.users: dict[tuple[str, str, str], UserRef] = {}
        self.memberships: dict[tuple[Ref, Ref | None], Membership] = {}
        self.fields: dict[tuple[object, ...], FieldValue] = {}
        self.days: dict[str, date] = {}  # due and start days repeat across tasks

    def one(self, value: Any) -> Any:
        return self._objects.setdefault(value, value)


class _NoCache(dict[Any, Any]):
    """A cache that keeps nothing."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class _Unshared(Shared):
    """No sharing at all, as when no `Shared` is given: every piece made anew."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()
        self.refs = self.users = self.memberships = self.fields = self.days = _NoCache()

    def one(self, value: Any) -> Any:
        return value


_UNSHARED = None


def _ref(value: Any, shared: Shared | None = _UNSHARED) -> Ref | None:
    if isinstance(value, Mapping) and value.get("gid") is not None:
        ref = Ref(str(value["gid"]), _text(value, "name"))
        return shared.one(ref) if shared is not None else ref
    return None


def _user(value: Any, shared: Shared | None = _UNSHARED) -> UserRef | None:
    if isinstance(value, Mapping) and value.get("gid") is not None:
        user = UserRef(str(value["gid"]), _text(value, "name"), _text(value, "email").lower())
        return shared.one(user) if shared is not None else user
    return None


def _refs(values: Any, shared: Shared | None = _UNSHARED) -> tuple[Ref, ...]:
    if not isinstance(values, Sequence):
        return ()
    return tuple(r for r in (_ref(v, shared) for v in values) if r is not None)


def _field(data: Mapping[str, Any]) -> FieldValue:
    kind = _text(data, "resource_subtype") or _text(data, "type")
    enum_value = data.get("enum_value")
    multi = data.get("multi_enum_values") or ()
    number = data.get("number_value")
    date_value = data.get("date_value")
    day = None
    if isinstance(date_value, Mapping):
        day = _date(date_value.get("date"), "custom_fields.date_value")
    elif date_value:
        day = _date(date_value, "custom_fields.date_value")
    return FieldValue(
        gid=str(data.get("gid", "")),
        name=_text(data, "name"),
        type=kind,
        enum=_text(enum_value, "name") if isinstance(enum_value, Mapping) else None,
        multi_enum=tuple(_text(v, "name") for v in multi if isinstance(v, Mapping)),
        number=float(number) if isinstance(number, int | float) else None,
        text=data.get("text_value") if isinstance(data.get("text_value"), str) else None,
        date=day,
        display=data.get("display_value") if isinstance(data.get("display_value"), str) else None,
    )


def task_from_asana(data: Mapping[str, Any], shared: Shared | None = None) -> Task:
    """Build a snapshot from a task as ``GET /tasks/{gid}`` returns it (``data`` unwrapped).

    Pass one ``Shared`` for a batch of tasks to share their common objects. Whatever the JSON
    holds, the only exception is ``SnapshotError`` (a wrong shape anywhere names the task).
    """
    if type(data) is dict:
        try:
            return _fast(data, shared if shared is not None else _Unshared())
        except Exception:  # noqa: S110 - _Unusual, or anything odd: the general mapping judges it
            pass
    try:
        return _task(data, shared)
    except SnapshotError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, OverflowError, RecursionError) as exc:
        gid = data.get("gid") if isinstance(data, Mapping) else None
        raise SnapshotError(
            f"task {gid}: not a task as Asana returns it ({type(exc).__name__}: {exc})"
        ) from None


def _task(data: Mapping[str, Any], shared: Shared | None) -> Task:
    """The general mapping: any JSON (or Mapping) at all, each odd value judged as it comes."""
    if not isinstance(data, Mapping):
        raise SnapshotError("a task must be a JSON object")
    if "data" in data and isinstance(data["data"], Mapping) and "gid" not in data:
        data = data["data"]
    if data.get("gid") in (None, ""):
        raise SnapshotError("the task has no 'gid'")
    memberships = []
    for item in data.get("memberships") or ():
        project = _ref(item.get("project"), shared) if isinstance(item, Mapping) else None
        if project is not None:
            membership = Membership(project, _ref(item.get("section"), shared))
            memberships.append(shared.one(membership) if shared is not None else membership)
    return Task(
        gid=str(data["gid"]),
        name=_text(data, "name"),
        notes=_text(data, "notes"),
        assignee=_user(data.get("assignee"), shared),
        completed=bool(data.get("completed", False)),
        completed_at=_datetime(data.get("completed_at"), "completed_at"),
        due_on=_date(data.get("due_on"), "due_on"),
        due_at=_datetime(data.get("due_at"), "due_at"),
        start_on=_date(data.get("start_on"), "start_on"),
        start_at=_datetime(data.get("start_at"), "start_at"),
        created_at=_datetime(data.get("created_at"), "created_at"),
        modified_at=_datetime(data.get("modified_at"), "modified_at"),
        tags=_refs(data.get("tags"), shared),
        projects=_refs(data.get("projects"), shared),
        memberships=tuple(memberships),
        followers=tuple(
            u for u in (_user(f, shared) for f in data.get("followers") or ()) if u is not None
        ),
        custom_fields=tuple(
            shared.one(_field(f)) if shared is not None else _field(f)
            for f in data.get("custom_fields") or ()
            if isinstance(f, Mapping)
        ),
        parent=_ref(data.get("parent"), shared),
        permalink_url=_text(data, "permalink_url"),
        is_milestone=data.get("resource_subtype") == "milestone",
    )


# ---------------------------------------------------------------- the fast path
#
# A task as Asana sends it (JSON objects as dicts, gids as strings, times parseable) is mapped
# below with exact type tests, no copies, and the pieces found in `Shared` when already made.
# Anything else (a value of an unexpected type, a bad time, an object that is a Mapping but not
# a dict) raises `_Unusual`, and the task is mapped again by `_task`, the general mapping, which
# then says what is wrong exactly as it always has: the fast path gives the same snapshot or
# none (tests/adapters/test_asana_mapping_fast.py holds the former mapping as an oracle).


class _Unusual(Exception):  # noqa: N818 - not an error: a signal to take the general path
    """The task is not as Asana usually sends it: map it with the general mapping."""


_UNUSUAL = _Unusual()


def _fast_text(value: object) -> str:
    return value if type(value) is str else ("" if value is None else _odd_text(value))


def _odd_text(value: object) -> str:
    if isinstance(value, str):  # a str subclass: what `_text` returns, as it is
        return value
    return ""


def _fast_optional_text(value: object) -> str | None:
    """A string, or None for anything else (as the general mapping reads text_value)."""
    if type(value) is str or value is None:
        return value
    if isinstance(value, str):
        raise _UNUSUAL  # a str subclass: as the general mapping keeps it
    return None


def _fast_compact(value: object) -> tuple[dict[str, Any], str] | None:
    """A compact record as Asana sends it: the dict and its string gid; None for no value (or
    no gid); _UNUSUAL for anything the general mapping must judge."""
    if value is None:
        return None
    if type(value) is not dict:
        if isinstance(value, Mapping):
            raise _UNUSUAL
        return None
    gid = value.get("gid")
    if type(gid) is not str:
        if gid is None:
            return None
        raise _UNUSUAL
    return value, gid


def _fast_ref(value: object, shared: Shared) -> Ref | None:
    """`_ref`, for a dict with a string gid; None for no value."""
    compact = _fast_compact(value)
    if compact is None:
        return None
    value, gid = compact
    name = value.get("name")
    key = (gid, name if type(name) is str else _fast_text(name))
    ref = shared.refs.get(key)
    if ref is None:
        ref = shared.refs[key] = shared.one(Ref(*key))
    return ref


def _fast_refs(values: object, shared: Shared) -> tuple[Ref, ...]:
    if values is None:
        return ()
    if type(values) is not list:
        raise _UNUSUAL
    refs = []
    for value in values:
        ref = _fast_ref(value, shared)
        if ref is not None:
            refs.append(ref)
    return tuple(refs)


def _fast_user(value: object, shared: Shared) -> UserRef | None:
    compact = _fast_compact(value)
    if compact is None:
        return None
    value, gid = compact
    key = (gid, _fast_text(value.get("name")), _fast_text(value.get("email")))
    user = shared.users.get(key)
    if user is None:
        user = shared.users[key] = shared.one(UserRef(key[0], key[1], key[2].lower()))
    return user


def _fast_users(values: object, shared: Shared) -> tuple[UserRef, ...]:
    if not values:
        return ()
    if type(values) is not list:
        raise _UNUSUAL
    users = []
    for value in values:
        user = _fast_user(value, shared)
        if user is not None:
            users.append(user)
    return tuple(users)


def _fast_memberships(values: object, shared: Shared) -> tuple[Membership, ...]:
    if not values:
        return ()
    if type(values) is not list:
        raise _UNUSUAL
    memberships = []
    for item in values:
        if type(item) is not dict:
            if isinstance(item, Mapping):
                raise _UNUSUAL
            continue
        project = _fast_ref(item.get("project"), shared)
        if project is None:
            continue
        key = (project, _fast_ref(item.get("section"), shared))
        membership = shared.memberships.get(key)
        if membership is None:
            membership = shared.memberships[key] = shared.one(Membership(*key))
        memberships.append(membership)
    return tuple(memberships)


def _fast_day(value: object, shared: Shared) -> date | None:
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise _UNUSUAL
    day = shared.days.get(value)
    if day is None:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise _UNUSUAL from None
        shared.days[value] = day
    return day


def _fast_moment(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise _UNUSUAL
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _UNUSUAL from None
    if moment.tzinfo is None:
        raise _UNUSUAL
    return moment


def _fast_fields(values: object, shared: Shared) -> tuple[FieldValue, ...]:
    if not values:
        return ()
    if type(values) is not list:
        raise _UNUSUAL
    fields = []
    for data in values:
        if type(data) is not dict:
            if isinstance(data, Mapping):
                raise _UNUSUAL
            continue
        gid = data.get("gid", "")
        if type(gid) is not str:
            raise _UNUSUAL
        kind = _fast_text(data.get("resource_subtype")) or _fast_text(data.get("type"))
        enum_value = data.get("enum_value")
        if enum_value is None:
            enum = None
        elif type(enum_value) is dict:
            enum = _fast_text(enum_value.get("name"))
        elif isinstance(enum_value, Mapping):
            raise _UNUSUAL
        else:
            enum = None
        multi: tuple[str, ...] = ()
        options = data.get("multi_enum_values")
        if options:
            if type(options) is not list:
                raise _UNUSUAL
            names = []
            for option in options:
                if type(option) is dict:
                    names.append(_fast_text(option.get("name")))
                elif isinstance(option, Mapping):
                    raise _UNUSUAL
            multi = tuple(names)
        number = data.get("number_value")
        if type(number) is float:
            pass
        elif type(number) is int and -(2**53) <= number <= 2**53:
            number = float(number)
        elif number is not None and isinstance(number, int | float):
            raise _UNUSUAL  # a bool, a huge integer: as the general mapping takes them
        else:
            number = None
        date_value = data.get("date_value")
        if date_value is None:
            day = None
        elif type(date_value) is dict:
            day = _fast_day(date_value.get("date"), shared)
        elif isinstance(date_value, Mapping) or date_value:
            raise _UNUSUAL
        else:
            day = None
        name = _fast_text(data.get("name"))
        text = _fast_optional_text(data.get("text_value"))
        display = _fast_optional_text(data.get("display_value"))
        key = (gid, name, kind, enum, multi, number, text, day, display)
        value = shared.fields.get(key)
        if value is None:
            value = shared.fields[key] = shared.one(
                FieldValue(gid, name, kind, enum, multi, number, text, day, display)
            )
        fields.append(value)
    return tuple(fields)


def _fast(data: dict[str, Any], shared: Shared) -> Task:
    """The snapshot of a usual task, or `_Unusual`; the same as `_task` makes when it is one."""
    if "data" in data and "gid" not in data:
        raise _UNUSUAL  # an envelope: the general mapping unwraps it
    gid = data.get("gid")
    if type(gid) is not str or not gid:
        raise _UNUSUAL
    # The general mapping reads memberships first, then the rest in the Task's field order;
    # here nothing is reported, so the order does not matter.
    return Task(
        gid=gid,
        name=_fast_text(data.get("name")),
        notes=_fast_text(data.get("notes")),
        assignee=_fast_user(data.get("assignee"), shared),
        completed=bool(data.get("completed", False)),
        completed_at=_fast_moment(data.get("completed_at")),
        due_on=_fast_day(data.get("due_on"), shared),
        due_at=_fast_moment(data.get("due_at")),
        start_on=_fast_day(data.get("start_on"), shared),
        start_at=_fast_moment(data.get("start_at")),
        created_at=_fast_moment(data.get("created_at")),
        modified_at=_fast_moment(data.get("modified_at")),
        tags=_fast_refs(data.get("tags"), shared),
        projects=_fast_refs(data.get("projects"), shared),
        memberships=_fast_memberships(data.get("memberships"), shared),
        followers=_fast_users(data.get("followers"), shared),
        custom_fields=_fast_fields(data.get("custom_fields"), shared),
        parent=_fast_ref(data.get("parent"), shared),
        permalink_url=_fast_text(data.get("permalink_url")),
        is_milestone=data.get("resource_subtype") == "milestone",
    )
