"""Property: the fast mapping of a task gives the very snapshot the former mapping gave.

`task_from_asana` maps a task as Asana sends it on a fast path (exact type tests, pieces found
in `Shared`) and anything else with the general mapping. The former function (before the fast
path) is kept below, verbatim but renamed, as the oracle: for generated Asana-shaped task JSON,
well formed or with fields missing, null or of the wrong type, both give equal snapshots (and
the same reprs: a 30 is not a 30.0), or both raise `SnapshotError` with the same message. The
fast path also shares what repeats across the tasks of one `Shared`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator.asana.mapping import Shared, SnapshotError, task_from_asana
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef

SETTINGS = settings(
    max_examples=int(os.environ.get("DELEGATOR_PROPERTY_EXAMPLES", "150")),
    deadline=None,
    database=None,  # no example database left in the work tree
    suppress_health_check=[HealthCheck.too_slow],
)


# ---------------------------------------------------------------- the oracle: the former mapping
# fmt: off
def _old_text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _old_date(value: Any, where: str) -> date | None:
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


def _old_datetime(value: Any, where: str) -> datetime | None:
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


class OldShared:
    """One instance of each project, section, tag, user and field value across many snapshots.

    Thousands of tasks name the same few projects, sections and people; sharing the objects
    keeps a large workspace's snapshots small. Use one per read (it only grows).
    """

    __slots__ = ("_objects",)

    def __init__(self) -> None:
        self._objects: dict[object, Any] = {}

    def one(self, value: Any) -> Any:
        return self._objects.setdefault(value, value)


_UNSHARED = None


def _old_ref(value: Any, shared: OldShared | None = _UNSHARED) -> Ref | None:
    if isinstance(value, Mapping) and value.get("gid") is not None:
        ref = Ref(str(value["gid"]), _old_text(value, "name"))
        return shared.one(ref) if shared is not None else ref
    return None


def _old_user(value: Any, shared: OldShared | None = _UNSHARED) -> UserRef | None:
    if isinstance(value, Mapping) and value.get("gid") is not None:
        user = UserRef(str(value["gid"]), _old_text(value, "name"), _old_text(value, "email").lower())
        return shared.one(user) if shared is not None else user
    return None


def _old_refs(values: Any, shared: OldShared | None = _UNSHARED) -> tuple[Ref, ...]:
    if not isinstance(values, Sequence):
        return ()
    return tuple(r for r in (_old_ref(v, shared) for v in values) if r is not None)


def _old_field(data: Mapping[str, Any]) -> FieldValue:
    kind = _old_text(data, "resource_subtype") or _old_text(data, "type")
    enum_value = data.get("enum_value")
    multi = data.get("multi_enum_values") or ()
    number = data.get("number_value")
    date_value = data.get("date_value")
    day = None
    if isinstance(date_value, Mapping):
        day = _old_date(date_value.get("date"), "custom_fields.date_value")
    elif date_value:
        day = _old_date(date_value, "custom_fields.date_value")
    return FieldValue(
        gid=str(data.get("gid", "")),
        name=_old_text(data, "name"),
        type=kind,
        enum=_old_text(enum_value, "name") if isinstance(enum_value, Mapping) else None,
        multi_enum=tuple(_old_text(v, "name") for v in multi if isinstance(v, Mapping)),
        number=float(number) if isinstance(number, int | float) else None,
        text=data.get("text_value") if isinstance(data.get("text_value"), str) else None,
        date=day,
        display=data.get("display_value") if isinstance(data.get("display_value"), str) else None,
    )


def old_task_from_asana(data: Mapping[str, Any], shared: OldShared | None = None) -> Task:
    """Build a snapshot from a task as ``GET /tasks/{gid}`` returns it (``data`` unwrapped).

    Pass one ``Shared`` for a batch of tasks to share their common objects. Whatever the JSON
    holds, the only exception is ``SnapshotError`` (a wrong shape anywhere names the task).
    """
    try:
        return _old_task(data, shared)
    except SnapshotError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, OverflowError, RecursionError) as exc:
        gid = data.get("gid") if isinstance(data, Mapping) else None
        raise SnapshotError(
            f"task {gid}: not a task as Asana returns it ({type(exc).__name__}: {exc})"
        ) from None


def _old_task(data: Mapping[str, Any], shared: OldShared | None) -> Task:
    if not isinstance(data, Mapping):
        raise SnapshotError("a task must be a JSON object")
    if "data" in data and isinstance(data["data"], Mapping) and "gid" not in data:
        data = data["data"]
    if data.get("gid") in (None, ""):
        raise SnapshotError("the task has no 'gid'")
    memberships = []
    for item in data.get("memberships") or ():
        project = _old_ref(item.get("project"), shared) if isinstance(item, Mapping) else None
        if project is not None:
            membership = Membership(project, _old_ref(item.get("section"), shared))
            memberships.append(shared.one(membership) if shared is not None else membership)
    return Task(
        gid=str(data["gid"]),
        name=_old_text(data, "name"),
        notes=_old_text(data, "notes"),
        assignee=_old_user(data.get("assignee"), shared),
        completed=bool(data.get("completed", False)),
        completed_at=_old_datetime(data.get("completed_at"), "completed_at"),
        due_on=_old_date(data.get("due_on"), "due_on"),
        due_at=_old_datetime(data.get("due_at"), "due_at"),
        start_on=_old_date(data.get("start_on"), "start_on"),
        start_at=_old_datetime(data.get("start_at"), "start_at"),
        created_at=_old_datetime(data.get("created_at"), "created_at"),
        modified_at=_old_datetime(data.get("modified_at"), "modified_at"),
        tags=_old_refs(data.get("tags"), shared),
        projects=_old_refs(data.get("projects"), shared),
        memberships=tuple(memberships),
        followers=tuple(
            u for u in (_old_user(f, shared) for f in data.get("followers") or ()) if u is not None
        ),
        custom_fields=tuple(
            shared.one(_old_field(f)) if shared is not None else _old_field(f)
            for f in data.get("custom_fields") or ()
            if isinstance(f, Mapping)
        ),
        parent=_old_ref(data.get("parent"), shared),
        permalink_url=_old_text(data, "permalink_url"),
        is_milestone=data.get("resource_subtype") == "milestone",
    )
# fmt: on

# ---------------------------------------------------------------- Asana-shaped task JSON

GIDS = ["1201", "1202", "1203", "42"]
NAMES = ["Client Admin", "Invoices", "Inbox", "", "Ünïcödé"]
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["gid", "name", "x"]), st.integers(), max_size=2),
)
gids = st.one_of(st.sampled_from(GIDS), st.sampled_from(["", "0"]), junk)
texts = st.one_of(st.sampled_from(NAMES), st.text(max_size=6), junk)
days = st.one_of(
    st.none(),
    st.just(""),
    st.dates().map(date.isoformat),
    st.sampled_from(["2026-13-01", "soon"]),
    junk,
)
moments = st.one_of(
    st.none(),
    st.just(""),
    st.datetimes(timezones=st.sampled_from([None, datetime.now().astimezone().tzinfo])).map(
        lambda when: when.isoformat()
    ),
    st.sampled_from(["2026-11-20T08:12:00.000Z", "2026-11-20T08:12:00Z", "2026-11-20T08:12:00"]),
    junk,
)


def _object(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with any of `fields` (each present or not)."""
    return st.fixed_dictionaries({}, optional=fields)


refs = st.one_of(
    _object({"gid": st.one_of(st.sampled_from(GIDS), gids), "name": texts}),
    st.builds(
        lambda gid, name: {"gid": gid, "name": name}, st.sampled_from(GIDS), st.sampled_from(NAMES)
    ),
    junk,
)
users = st.one_of(
    _object(
        {
            "gid": st.one_of(st.sampled_from(GIDS), gids),
            "name": texts,
            "email": st.one_of(st.sampled_from(["Anna@X.example", "b@x.example"]), texts),
        }
    ),
    junk,
)


def _many(item: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(item, max_size=4), junk)


memberships = _many(st.one_of(_object({"project": refs, "section": refs}), junk))
options = st.one_of(_object({"gid": gids, "name": texts}), junk)
custom_fields = _many(
    st.one_of(
        _object(
            {
                "gid": st.one_of(st.sampled_from(["401", "402"]), gids),
                "name": st.one_of(st.sampled_from(["Priority", "Estimated time"]), texts),
                "resource_subtype": st.one_of(
                    st.sampled_from(["enum", "number", "text", "date", "multi_enum"]), junk
                ),
                "type": st.one_of(st.sampled_from(["enum", "number"]), junk),
                "enum_value": st.one_of(options, junk),
                "multi_enum_values": _many(options),
                "number_value": st.one_of(st.integers(), st.floats(allow_nan=False), junk),
                "text_value": texts,
                "display_value": texts,
                "date_value": st.one_of(_object({"date": days, "date_time": moments}), days, junk),
            }
        ),
        junk,
    )
)
tasks = _object(
    {
        "gid": st.one_of(st.sampled_from(["9001", "9002"]), gids),
        "name": texts,
        "notes": texts,
        "resource_subtype": st.one_of(st.sampled_from(["default_task", "milestone"]), junk),
        "assignee": users,
        "completed": junk,
        "completed_at": moments,
        "due_on": days,
        "due_at": moments,
        "start_on": days,
        "start_at": moments,
        "created_at": moments,
        "modified_at": moments,
        "tags": _many(refs),
        "projects": _many(refs),
        "memberships": memberships,
        "followers": _many(users),
        "custom_fields": custom_fields,
        "parent": refs,
        "permalink_url": texts,
        "workspace": refs,
    }
)
good_refs = st.builds(
    lambda gid, name: {"gid": gid, "name": name}, st.sampled_from(GIDS), st.sampled_from(NAMES)
)
good_users = st.builds(
    lambda gid, name: {"gid": gid, "name": name, "email": f"{name}@X.example"},
    st.sampled_from(GIDS),
    st.sampled_from(NAMES),
)
#: Mostly tasks as Asana sends them: each field present, of its type (the fast path's case).
usual_tasks = st.fixed_dictionaries(
    {
        "gid": st.sampled_from(["9001", "9002", "9003"]),
        "name": st.text(max_size=8),
        "notes": st.text(max_size=8),
        "assignee": st.one_of(
            st.none(),
            st.builds(
                lambda g, n: {"gid": g, "name": n, "email": f"{n}@X.example"},
                st.sampled_from(GIDS),
                st.sampled_from(NAMES),
            ),
        ),
        "completed": st.booleans(),
        "due_on": st.one_of(st.none(), st.dates().map(date.isoformat)),
        "due_at": st.one_of(st.none(), st.just("2026-11-30T17:00:00.000Z")),
        "created_at": st.just("2026-11-20T08:12:00.000Z"),
        "modified_at": st.just("2026-11-21T08:12:00.000Z"),
        "tags": st.lists(good_refs, max_size=3),
        "projects": st.lists(
            st.builds(
                lambda g, n: {"gid": g, "name": n}, st.sampled_from(GIDS), st.sampled_from(NAMES)
            ),
            max_size=2,
        ),
        "memberships": st.lists(
            st.builds(
                lambda p, s: {"project": p, "section": s},
                st.builds(lambda g: {"gid": g, "name": "P"}, st.sampled_from(GIDS)),
                st.one_of(
                    st.none(), st.builds(lambda g: {"gid": g, "name": "S"}, st.sampled_from(GIDS))
                ),
            ),
            max_size=2,
        ),
        "followers": st.lists(good_users, max_size=2),
        "custom_fields": st.lists(
            st.builds(
                lambda gid, kind, enum, number: {
                    "gid": gid,
                    "name": "F" + gid,
                    "resource_subtype": kind,
                    "enum_value": enum,
                    "number_value": number,
                    "display_value": None,
                },
                st.sampled_from(["401", "402"]),
                st.sampled_from(["enum", "number"]),
                st.one_of(
                    st.none(),
                    st.builds(lambda n: {"gid": "5", "name": n}, st.sampled_from(["Low", "High"])),
                ),
                st.one_of(
                    st.none(),
                    st.integers(-1000, 1000),
                    st.floats(allow_nan=False, allow_infinity=False),
                ),
            ),
            max_size=3,
        ),
        "parent": st.one_of(
            st.none(), st.builds(lambda g: {"gid": g, "name": "Parent"}, st.sampled_from(GIDS))
        ),
        "permalink_url": st.just("https://app.asana.com/0/1/9001"),
    }
)
anything = st.one_of(
    tasks,
    usual_tasks,
    tasks.map(lambda task: {"data": task}),  # an envelope, unwrapped
    junk,
)


def _outcome(mapping: Any, raw: Any, shared: Any) -> tuple[str, Any]:
    try:
        return "task", mapping(raw, shared)
    except SnapshotError as exc:
        return "error", str(exc)


def _same(new: tuple[str, Any], old: tuple[str, Any]) -> None:
    assert new[0] == old[0], (new, old)
    assert new[1] == old[1]
    assert repr(new[1]) == repr(old[1])  # the same types too: 30.0, not 30
    if new[0] == "task":
        _same_types(new[1], old[1])


def _same_types(new: Task, old: Task) -> None:
    for name in Task.__dataclass_fields__:
        a, b = getattr(new, name), getattr(old, name)
        assert type(a) is type(b), name
        if isinstance(a, tuple):
            assert [type(x) for x in a] == [type(x) for x in b], name


@SETTINGS
@given(st.lists(anything, max_size=6))
def test_the_fast_mapping_gives_the_former_mappings_snapshot(raws: list[Any]) -> None:
    new_shared, old_shared = Shared(), OldShared()
    for raw in raws:
        _same(
            _outcome(task_from_asana, raw, new_shared),
            _outcome(old_task_from_asana, raw, old_shared),
        )
        _same(_outcome(task_from_asana, raw, None), _outcome(old_task_from_asana, raw, None))


@SETTINGS
@given(st.lists(usual_tasks, min_size=1, max_size=6))
def test_a_usual_task_takes_the_fast_path_and_shares_what_repeats(
    raws: list[dict[str, Any]],
) -> None:
    from delegator.asana import mapping

    shared = Shared()
    made = [mapping._fast(raw, shared) for raw in raws]  # none is unusual: no fallback
    for raw, task in zip(raws, made, strict=True):
        assert task == old_task_from_asana(raw)
    seen: dict[object, object] = {}
    for task in made:
        for part in (
            *task.projects,
            *task.tags,
            *task.memberships,
            *task.custom_fields,
            *task.followers,
        ):
            assert seen.setdefault(part, part) is part  # one object for equal values


@SETTINGS
@given(tasks)
def test_a_mapping_that_is_not_a_dict_is_mapped_the_same(raw: dict[str, Any]) -> None:
    # The general mapping takes any Mapping; the fast path only dicts.
    _same(
        _outcome(task_from_asana, MappingProxyType(raw), None),
        _outcome(old_task_from_asana, raw, None),
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"gid": "1", "custom_fields": [{"gid": "4", "number_value": True}]},  # a bool is a number
        {"gid": "1", "custom_fields": [{"gid": "4", "number_value": 2**1100}]},  # overflows float
        {"gid": "1", "custom_fields": [{"gid": None}]},  # str(None): "None", as before
        {"gid": "1", "custom_fields": [{"gid": "4", "date_value": "2026-12-24"}]},
        {"gid": "1", "custom_fields": [{"gid": "4", "multi_enum_values": 5}]},  # not iterable
        {"gid": 17, "tags": "urgent", "memberships": 3},
        {"gid": "1", "created_at": "2026-11-20T08:12:00", "due_on": "soon"},  # first error wins
        {"gid": "1", "assignee": {"gid": 100, "email": "A@B.C"}},
        {"data": {"gid": "1", "name": "wrapped"}},
        {"data": [], "gid": "2"},
    ],
)
def test_odd_tasks_are_mapped_as_before(raw: dict[str, Any]) -> None:
    raw = json.loads(json.dumps(raw))
    _same(_outcome(task_from_asana, raw, Shared()), _outcome(old_task_from_asana, raw, OldShared()))


ZERO = {"gid": "4", "name": "Estimate", "number_value": 0.0}
MINUS_ZERO = {"gid": "4", "name": "Estimate", "number_value": -0.0}


@pytest.mark.parametrize(
    "raws",
    [
        # Equal values (0.0 == -0.0) shared: the first one seen stays, whichever path made it.
        [{"gid": "1", "custom_fields": [ZERO, MINUS_ZERO]}],
        [{"gid": "1", "custom_fields": [MINUS_ZERO]}, {"gid": "2", "custom_fields": [ZERO]}],
        [
            {"gid": "1", "tags": 5, "custom_fields": [ZERO]},
            {"gid": "2", "custom_fields": [MINUS_ZERO]},
        ],
        [
            {"gid": "1", "custom_fields": [ZERO]},
            {"gid": "2", "tags": 5, "custom_fields": [MINUS_ZERO]},
        ],
        [
            {"gid": "1", "assignee": {"gid": "7", "email": "Anna@X.example"}},
            {"gid": "2", "assignee": {"gid": "7", "email": "anna@x.example"}},
        ],
    ],
)
def test_equal_pieces_are_shared_as_before(raws: list[dict[str, Any]]) -> None:
    new_shared, old_shared = Shared(), OldShared()
    for raw in raws:
        _same(
            _outcome(task_from_asana, raw, new_shared),
            _outcome(old_task_from_asana, raw, old_shared),
        )
        _same(_outcome(task_from_asana, raw, None), _outcome(old_task_from_asana, raw, None))


def test_a_task_from_asana_with_everything() -> None:
    raw = {
        "gid": "9001", "name": "Pay invoice", "notes": "n", "completed": False,
        "assignee": {"gid": "100", "name": "Anna", "email": "ANNA@x.example"},
        "due_on": "2026-11-30", "due_at": None, "start_on": None, "start_at": None,
        "created_at": "2026-11-20T08:12:00.000Z", "modified_at": "2026-11-21T08:12:00.000Z",
        "tags": [{"gid": "301", "name": "urgent"}], "projects": [{"gid": "201", "name": "Admin"}],
        "memberships": [{"project": {"gid": "201", "name": "Admin"}, "section": {"gid": "302", "name": "Inbox"}}],
        "followers": [{"gid": "100", "email": "anna@x.example"}],
        "custom_fields": [
            {"gid": "401", "name": "Priority", "resource_subtype": "enum", "enum_value": {"gid": "5", "name": "High"}, "display_value": "High"},
            {"gid": "402", "name": "Estimate", "resource_subtype": "number", "number_value": 30, "display_value": "30"},
            {"gid": "403", "name": "Deadline", "resource_subtype": "date", "date_value": {"date": "2026-12-24", "date_time": None}},
            {"gid": "404", "name": "Areas", "resource_subtype": "multi_enum", "multi_enum_values": [{"gid": "6", "name": "Ops"}]},
        ],
        "parent": None, "permalink_url": "https://app.asana.com/0/201/9001",
    }  # fmt: skip
    from delegator.asana import mapping

    task = mapping._fast(raw, Shared())
    assert task == old_task_from_asana(raw)
    assert repr(task) == repr(old_task_from_asana(raw))
    assert task.memberships == (Membership(Ref("201", "Admin"), Ref("302", "Inbox")),)
    assert task.assignee == UserRef("100", "Anna", "anna@x.example")
    estimate = task.field("Estimate")
    assert isinstance(estimate, FieldValue)
    assert estimate.number == 30.0
    assert type(estimate.number) is float


_ = (Mapping, Sequence)  # the oracle's imports
