"""Actions -> intents, as desired state: an action already satisfied produces nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

from delegator.core.conditions import field_holds
from delegator.core.context import Directory, EvalContext, Identity
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
from delegator.core.model import Ref, Task, UserRef, ref_matches
from delegator.core.schema import (
    Action,
    AssignAction,
    CommentAction,
    DueAction,
    FollowAction,
    MoveAction,
    SetAction,
    TagAction,
    UntagAction,
)
from delegator.core.timeexpr import add_business_days

Planner = Callable[[Task, EvalContext, frozenset[str]], list[Intent]]


def compile_action(action: Action, rule_name: str) -> Planner:
    """An action of a rule -> a function planning its intents for one task.

    The planner receives the rules that already commented on the task, so a comment is posted
    at most once per task and rule.
    """
    match action:
        case AssignAction(assign=assign):
            to = assign.to
            pool = tuple(assign.pool or ())
            intent = Assign(to, pool, assign.strategy, assign.skill, assign.overflow)
            if to is not None:
                return lambda t, c, _: (
                    [] if c.directory.resolve(to).is_user(t.assignee) else [intent]
                )
            return lambda t, c, _: (
                [] if any(c.directory.resolve(k).is_user(t.assignee) for k in pool) else [intent]
            )
        case TagAction(tag=tags):
            adds = tuple((n.casefold(), AddTag(n)) for n in tags)
            return lambda t, c, _: [i for k, i in adds if k not in t.tag_names]
        case UntagAction(untag=tags):
            removes = tuple((n.casefold(), RemoveTag(n)) for n in tags)
            return lambda t, c, _: [i for k, i in removes if k in t.tag_names]
        case FollowAction(follow=followers):
            people = tuple(followers)
            return lambda t, c, _: [
                Follow(who)
                for who in people
                if not any(c.directory.resolve(who).is_user(f) for f in t.followers)
            ]
        case MoveAction(move=placement):
            project, section = placement.project, placement.section
            return lambda t, c, _: [] if _placed(t, project, section) else [Move(project, section)]
        case SetAction(set_=setting):
            field_key, value = setting.custom_field, setting.value
            return lambda t, c, _: (
                [] if _field_set(t, field_key, value) else [SetField(field_key, value)]
            )
        case DueAction(due=default):
            span = default.in_

            def due(t: Task, c: EvalContext, _: frozenset[str]) -> list[Intent]:
                if t.due_date is not None:
                    return []
                if span.unit == "business_days":
                    return [SetDue(add_business_days(c.today, span.amount, c.holidays))]
                return [SetDue((c.now + span.timedelta()).date())]

            return due
        case CommentAction(comment=text):
            intent_comment = Comment(text, rule_name)
            return lambda t, c, commented: [] if rule_name in commented else [intent_comment]
        case _:
            assert_never(action)


def _placed(task: Task, project: str, section: str | None) -> bool:
    for m in task.memberships:
        if ref_matches(m.project, project) and (
            section is None or (m.section is not None and ref_matches(m.section, section))
        ):
            return True
    return section is None and any(ref_matches(p, project) for p in task.projects)


def _field_set(task: Task, key: str, value: object) -> bool:
    current = task.field(key)
    if value is None:
        return current is None or not current.is_set
    return current is not None and field_holds(current, value)


def in_place(
    intent: Intent, task: Task, directory: Directory, assignee: Identity | None = None
) -> bool:
    """Whether the task already shows what the intent would write (``assignee``: whom an
    ``Assign`` chose). A comment is never judged from the task: it is looked for instead."""
    match intent:
        case Assign():
            return assignee is not None and assignee.is_user(task.assignee)
        case AddTag(name=name):
            return name.casefold() in task.tag_names
        case RemoveTag(name=name):
            return name.casefold() not in task.tag_names
        case Follow(who=who):
            return any(directory.resolve(who).is_user(f) for f in task.followers)
        case Move(project=project, section=section):
            return _placed(task, project, section)
        case SetField(field=key, value=value):
            return _field_set(task, key, value)
        case SetDue(due_on=due_on):
            return task.due_on == due_on
        case Comment():
            return False
        case _:
            assert_never(intent)


def _user(user: UserRef | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"gid": user.gid, "name": user.name, "email": user.email}


def _ref(ref: Ref | None) -> dict[str, str] | None:
    return None if ref is None else {"gid": ref.gid, "name": ref.name}


def prior(intent: Intent, task: Task) -> dict[str, Any]:
    """What the task showed, before the write, of what the intent changes: the journal keeps
    it beside the write, for the history ("was Anna Rossi") and for taking a write back.

    JSON's types only. A tag added or removed and a follower added need no more than the write
    itself (the tag was absent, or present; the person did not follow); a comment changes
    nothing that was there."""
    match intent:
        case Assign():
            return {"assignee": _user(task.assignee)}
        case AddTag() | RemoveTag() | Follow() | Comment():
            return {}
        case Move(project=project):
            for membership in task.memberships:
                if ref_matches(membership.project, project):
                    return {
                        "project": _ref(membership.project),
                        "section": _ref(membership.section),
                    }
            in_project = next((p for p in task.projects if ref_matches(p, project)), None)
            return {"project": _ref(in_project), "section": None}
        case SetField(field=key):
            current = task.field(key)
            if current is None:
                return {"field": None, "value": None}
            value = current.value
            return {
                "field": {"gid": current.gid, "name": current.name},
                "value": value.isoformat() if hasattr(value, "isoformat") else value,
            }
        case SetDue():
            return {
                "due_on": task.due_on.isoformat() if task.due_on is not None else None,
                "due_at": task.due_at.isoformat() if task.due_at is not None else None,
            }
        case _:
            assert_never(intent)
