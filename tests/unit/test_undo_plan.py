"""Planning undo: each write taken back from what the task showed before it, a person's later
change kept, latest write first."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from delegator.core.actions import prior
from delegator.core.context import Directory, Identity
from delegator.core.intents import (
    AddTag,
    Assign,
    Comment,
    Follow,
    Intent,
    Move,
    RemoveTag,
    SetDue,
    SetField,
)
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef
from delegator.core.reverts import (
    CorrectComment,
    DeleteComment,
    LeaveProject,
    PlaceBack,
    Reassign,
    RestoreDue,
    RestoreField,
    Retag,
    Unfollow,
    Untag,
)
from delegator.core.undo import Kept, Left, Step, TaskUndo, Write, WriteKind, plan_undo
from delegator.outcomes import intent_detail

ANNA = UserRef("101", "Anna Rossi", "anna@studio.example")
LENA = UserRef("102", "Lena Fischer", "lena@va.example")
MARCO = UserRef("103", "Marco Bianchi", "marco@studio.example")
DIRECTORY = Directory(
    owner=Identity("101", "anna@studio.example", "Anna Rossi"),
    assistants={"lena": Identity("102", "lena@va.example", "Lena Fischer")},
)
OPS = Ref("201", "Operations")
INBOX = Ref("301", "Inbox")
DOING = Ref("302", "Doing")
DELEGATED = Ref("401", "delegated")
PRIORITY = "501"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def task(**changes: Any) -> Task:
    values: dict[str, Any] = {
        "gid": "1",
        "name": "Pay invoice 2041",
        "assignee": ANNA,
        "due_on": date(2026, 11, 30),
        "projects": (OPS,),
        "memberships": (Membership(OPS, INBOX),),
        "custom_fields": (FieldValue(PRIORITY, "Priority", "enum", enum="High"),),
    }
    values.update(changes)
    return Task(**values)


def written(
    entry: int,
    intent: Intent,
    before: Task,
    *,
    assignee: str | None = None,
    story: str | None = None,
    done: bool = True,
    active: bool = True,
    minutes: int = 0,
) -> Write:
    """A journal entry as the effects writer makes it, what the task showed before included."""
    detail = intent_detail(intent)
    shown = prior(intent, before)
    if shown:
        detail["before"] = shown
    if assignee is not None:
        detail["assignee"] = assignee
    if isinstance(intent, Comment):
        detail["text"] = intent.template
    return Write(
        id=entry,
        task_gid=before.gid,
        task_name=before.name,
        kind=WriteKind(intent.kind),
        detail=detail,
        done=done,
        active=active,
        at=T0 + timedelta(minutes=minutes),
        rule="invoices",
        story_gid=story,
    )


def only(writes: list[Write], now: Task, undone: tuple[int, ...] = ()) -> TaskUndo:
    plan = plan_undo(writes, {now.gid: now}, DIRECTORY, undone)
    [one] = plan.tasks
    return one


def reverts(part: TaskUndo) -> list[object]:
    return [s.revert for s in part.steps]


def reasons(part: TaskUndo) -> list[Kept]:
    return [left.reason for left in part.left]


# ----------------------------------------------------------------------------- every kind


def test_an_assignment_goes_back_to_whom_it_was_with() -> None:
    part = only([written(1, Assign("lena"), task(), assignee="102")], task(assignee=LENA))
    assert part.steps == (Step(1, Reassign("101"), "assign back to Anna Rossi"),)
    assert part.left == ()


def test_an_assignment_from_nobody_is_unassigned() -> None:
    write = written(1, Assign("lena"), task(assignee=None), assignee="102")
    assert reverts(only([write], task(assignee=LENA))) == [Reassign(None)]


def test_a_tag_added_is_removed_by_its_gid_and_one_removed_put_back() -> None:
    tagged = task(tags=(DELEGATED,))
    assert reverts(only([written(1, AddTag("Delegated"), task())], tagged)) == [Untag("401")]
    assert reverts(only([written(1, RemoveTag("delegated"), tagged)], task())) == [
        Retag("delegated")
    ]


def test_a_follower_added_is_removed() -> None:
    now = task(followers=(LENA,))
    assert reverts(only([written(1, Follow("lena"), task())], now)) == [Unfollow("102")]
    assert reasons(only([written(1, Follow("lena"), task())], task())) == [Kept.AS_BEFORE]


def test_a_move_goes_back_to_its_section_or_out_of_the_project() -> None:
    moved = task(memberships=(Membership(OPS, DOING),))
    assert reverts(only([written(1, Move("Operations", "Doing"), task())], moved)) == [
        PlaceBack("201", "301")
    ]
    added = task(projects=(), memberships=())
    assert reverts(only([written(1, Move("Operations", "Doing"), added)], moved)) == [
        LeaveProject("201")
    ]


def test_a_field_and_a_due_date_are_set_back() -> None:
    low = task(custom_fields=(FieldValue(PRIORITY, "Priority", "enum", enum="Low"),))
    assert reverts(only([written(1, SetField("priority", "low"), task())], low)) == [
        RestoreField(PRIORITY, "High")
    ]
    later = task(due_on=date(2026, 12, 3))
    assert reverts(only([written(1, SetDue(date(2026, 12, 3)), task())], later)) == [
        RestoreDue("2026-11-30", None)
    ]
    at_noon = datetime(2026, 11, 30, 12, tzinfo=UTC)
    timed = written(1, SetDue(date(2026, 12, 3)), task(due_on=None, due_at=at_noon))
    assert reverts(only([timed], later)) == [RestoreDue(None, at_noon.isoformat())]


def test_a_comment_is_deleted_or_when_its_story_is_unknown_corrected() -> None:
    posted = written(1, Comment("Lena has it", "invoices"), task(), story="9001")
    assert reverts(only([posted], task())) == [DeleteComment("9001")]
    lost = written(1, Comment("Lena has it", "invoices"), task())
    [revert] = reverts(only([lost], task()))
    assert isinstance(revert, CorrectComment)
    assert "invoices" in revert.text


# ----------------------------------------------------------------------------- left as it is


def test_a_person_who_reassigned_it_since_keeps_it_and_is_reported() -> None:
    part = only([written(1, Assign("lena"), task(), assignee="102")], task(assignee=MARCO))
    assert part.steps == ()
    assert part.left == (
        Left(1, "assign to lena", Kept.CHANGED_SINCE, "reassigned to Marco Bianchi since"),
    )
    gone = only([written(1, Assign("lena"), task(), assignee="102")], task(assignee=None))
    assert gone.left[0].note == "unassigned since"


def test_a_later_section_field_or_due_date_is_kept() -> None:
    elsewhere = task(memberships=(Membership(OPS, Ref("303", "Done")),))
    part = only([written(1, Move("Operations", "Doing"), task())], elsewhere)
    assert reasons(part) == [Kept.CHANGED_SINCE]
    assert part.left[0].note == "moved to Done since"
    medium = task(custom_fields=(FieldValue(PRIORITY, "Priority", "enum", enum="Medium"),))
    part = only([written(1, SetField("priority", "low"), task())], medium)
    assert reasons(part) == [Kept.CHANGED_SINCE]
    assert "Medium" in part.left[0].note
    part = only([written(1, SetDue(date(2026, 12, 3)), task())], task(due_on=date(2026, 12, 9)))
    assert reasons(part) == [Kept.CHANGED_SINCE]
    assert "2026-12-09" in part.left[0].note


def test_nothing_to_do_where_the_task_is_already_as_before() -> None:
    writes = [
        written(1, Assign("lena"), task(), assignee="102"),
        written(2, AddTag("delegated"), task(), minutes=1),
        written(3, Move("Operations", "Doing"), task(), minutes=2),
        written(4, SetField("priority", "low"), task(), minutes=3),
        written(5, SetDue(date(2026, 12, 3)), task(), minutes=4),
    ]
    part = only(writes, task())
    assert part.steps == ()
    assert reasons(part) == [Kept.AS_BEFORE] * 5


def test_a_write_journaled_without_what_it_replaced_is_left() -> None:
    write = written(1, Assign("lena"), task(), assignee="102")
    bare = dataclasses.replace(
        write, detail={k: v for k, v in write.detail.items() if k != "before"}
    )
    part = only([bare], task(assignee=LENA))
    assert part.steps == ()
    assert part.left[0].reason is Kept.NO_RECORD
    assert part.left[0].note == "no record of what it replaced"


def test_shadow_failed_gone_and_already_undone_writes_are_left() -> None:
    now = task(assignee=LENA)
    shadow = written(1, Assign("lena"), task(), assignee="102", active=False)
    failed = written(2, Assign("lena"), task(), assignee="102", done=False)
    assert reasons(only([shadow, failed], now)) == [Kept.NOT_WRITTEN, Kept.NOT_WRITTEN]
    undone = written(3, Assign("lena"), task(), assignee="102")
    assert reasons(only([undone], now, undone=(3,))) == [Kept.ALREADY_UNDONE]
    plan = plan_undo([undone], {}, DIRECTORY)
    assert [left.reason for left in plan.tasks[0].left] == [Kept.TASK_GONE]


# ----------------------------------------------------------------------------- order


def test_the_latest_write_is_taken_back_first() -> None:
    first = written(1, Assign("lena"), task(), assignee="102")
    second = written(2, Assign("marco@studio.example"), task(assignee=LENA),
                     assignee="marco@studio.example", minutes=5)  # fmt: skip
    tag = written(3, AddTag("delegated"), task(), minutes=6)
    part = only([first, tag, second], task(assignee=MARCO, tags=(DELEGATED,)))
    assert [s.undoes for s in part.steps] == [3, 2, 1]
    assert reverts(part) == [Untag("401"), Reassign("102"), Reassign("101")]


def test_a_follower_comes_off_after_the_task_is_given_back() -> None:
    """Asana makes an assignee a follower: reassigning after unfollowing would follow again."""
    writes = [
        written(1, Assign("lena"), task(), assignee="102"),
        written(2, Follow("owner"), task(), minutes=1),
        written(3, AddTag("delegated"), task(), minutes=2),
    ]
    part = only(writes, task(assignee=LENA, followers=(ANNA,), tags=(DELEGATED,)))
    assert reverts(part) == [Untag("401"), Reassign("101"), Unfollow("101")]


def test_an_earlier_write_is_compared_with_what_the_later_revert_leaves() -> None:
    # Later cycle moved it on from Doing to Done: taking that back leaves it in Doing, which
    # is what the first write wrote, so both are taken back.
    doing = task(memberships=(Membership(OPS, DOING),))
    done_ = task(memberships=(Membership(OPS, Ref("303", "Done")),))
    first = written(1, Move("Operations", "Doing"), task())
    second = written(2, Move("Operations", "Done"), doing, minutes=5)
    assert reverts(only([first, second], done_)) == [
        PlaceBack("201", "302"),
        PlaceBack("201", "301"),
    ]


def test_the_plan_is_the_same_whatever_order_the_journal_gives() -> None:
    other = task(gid="2", name="Renew domain")
    writes = [
        written(1, Assign("lena"), task(), assignee="102"),
        written(2, AddTag("delegated"), task(), minutes=1),
        written(3, Assign("lena"), other, assignee="102", minutes=1),
        written(4, Comment("Lena has it", "invoices"), task(), story="9", minutes=2),
        written(5, Follow("owner"), other, minutes=2),
    ]
    tasks = {
        "1": task(assignee=LENA, tags=(DELEGATED,)),
        "2": task(gid="2", name="Renew domain", assignee=LENA, followers=(ANNA,)),
    }
    expected = plan_undo(writes, tasks, DIRECTORY)
    assert [t.task_gid for t in expected.tasks] == ["1", "2"]
    assert expected.steps == 5
    shuffled = list(writes)
    for seed in range(10):
        random.Random(seed).shuffle(shuffled)
        assert plan_undo(shuffled, tasks, DIRECTORY) == expected


# ----------------------------------------------------------------------------- property

PEOPLE = [ANNA, LENA, MARCO, None]
OPTIONS = ["High", "Medium", "Low", None]
DAYS = [date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 9), None]


@given(
    kind=st.sampled_from(["assign", "set", "due"]),
    was=st.integers(0, 3),
    wrote=st.integers(0, 2),
    now=st.integers(0, 3),
)
def test_a_value_a_person_set_since_is_never_reverted(
    kind: str, was: int, wrote: int, now: int
) -> None:
    """Whatever the task showed before, what the service wrote and what it shows now: a revert
    is planned only where it still shows what the service wrote, and it restores the value
    before; otherwise the write is left, and a change since is reported as one."""
    if kind == "assign":
        people = [p for p in PEOPLE if p is not None]
        target = people[wrote]
        write = written(1, Assign(target.gid), task(assignee=PEOPLE[was]), assignee=target.gid)
        current = task(assignee=PEOPLE[now])
        before = PEOPLE[was]
        expected: object = Reassign(before.gid if before is not None else None)
    elif kind == "set":

        def with_option(option: str | None) -> Task:
            return task(custom_fields=(FieldValue(PRIORITY, "Priority", "enum", enum=option),))

        write = written(1, SetField("Priority", OPTIONS[wrote]), with_option(OPTIONS[was]))
        current = with_option(OPTIONS[now])
        expected = RestoreField(PRIORITY, OPTIONS[was])
    else:
        day = DAYS[wrote]
        assert day is not None
        write = written(1, SetDue(day), task(due_on=DAYS[was]))
        current = task(due_on=DAYS[now])
        shown = DAYS[was]
        expected = RestoreDue(shown.isoformat() if shown is not None else None, None)
    part = only([write], current)
    if now == wrote and now != was:
        assert reverts(part) == [expected]
    else:
        assert part.steps == ()
        [left] = part.left
        if now == was:
            assert left.reason is Kept.AS_BEFORE
        else:
            assert left.reason is Kept.CHANGED_SINCE


def test_what_cannot_be_written_back_is_left_and_said() -> None:
    no_section = task(memberships=(), projects=(OPS,))
    moved = task(memberships=(Membership(OPS, DOING),))
    part = only([written(1, Move("Operations", "Doing"), no_section)], moved)
    assert reasons(part) == [Kept.CANNOT_RESTORE]
    no_field = task(custom_fields=())
    low = task(custom_fields=(FieldValue(PRIORITY, "Priority", "enum", enum="Low"),))
    part = only([written(1, SetField("Priority", "Low"), no_field)], low)
    assert reasons(part) == [Kept.CANNOT_RESTORE]
    assert part.left[0].note == "the field was not on the task"
