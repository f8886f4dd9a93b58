"""Actions -> intents, as desired state: an action already satisfied produces nothing."""

from __future__ import annotations

from collections.abc import Callable

from delegator.core.conditions import field_holds
from delegator.core.context import EvalContext
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
from delegator.core.model import Task, ref_matches
from delegator.core.schema import Action
from delegator.core.timeexpr import add_business_days

Planner = Callable[[Task, EvalContext, frozenset[str]], list[Intent]]


def compile_action(action: Action, rule_name: str) -> Planner:
    """An action of a rule -> a function planning its intents for one task.

    The planner receives the rules that already commented on the task, so a comment is posted
    at most once per task and rule.
    """
    arg = action.argument
    match action.kind:
        case "assign":
            to = arg.to
            pool = tuple(arg.pool or ())
            intent = Assign(to, pool, arg.strategy, arg.skill, arg.overflow)
            if to is not None:
                return lambda t, c, _: (
                    [] if c.directory.resolve(to).is_user(t.assignee) else [intent]
                )
            return lambda t, c, _: (
                [] if any(c.directory.resolve(k).is_user(t.assignee) for k in pool) else [intent]
            )
        case "tag":
            adds = tuple((n.casefold(), AddTag(n)) for n in arg)
            return lambda t, c, _: [i for k, i in adds if k not in t.tag_names]
        case "untag":
            removes = tuple((n.casefold(), RemoveTag(n)) for n in arg)
            return lambda t, c, _: [i for k, i in removes if k in t.tag_names]
        case "follow":
            people = tuple(arg)
            return lambda t, c, _: [
                Follow(who)
                for who in people
                if not any(c.directory.resolve(who).is_user(f) for f in t.followers)
            ]
        case "move":
            project, section = arg.project, arg.section

            def move(t: Task, c: EvalContext, _: frozenset[str]) -> list[Intent]:
                for m in t.memberships:
                    if ref_matches(m.project, project) and (
                        section is None
                        or (m.section is not None and ref_matches(m.section, section))
                    ):
                        return []
                if section is None and any(ref_matches(p, project) for p in t.projects):
                    return []
                return [Move(project, section)]

            return move
        case "set":
            field_key, value = arg.custom_field, arg.value

            def set_field(t: Task, c: EvalContext, _: frozenset[str]) -> list[Intent]:
                current = t.field(field_key)
                if value is None:
                    return (
                        [] if current is None or not current.is_set else [SetField(field_key, None)]
                    )
                if current is not None and field_holds(current, value):
                    return []
                return [SetField(field_key, value)]

            return set_field
        case "due":
            span = arg.in_

            def due(t: Task, c: EvalContext, _: frozenset[str]) -> list[Intent]:
                if t.due_date is not None:
                    return []
                if span.unit == "business_days":
                    return [SetDue(add_business_days(c.today, span.amount, c.holidays))]
                return [SetDue((c.now + span.timedelta()).date())]

            return due
        case "comment":
            intent_comment = Comment(arg, rule_name)
            return lambda t, c, commented: [] if rule_name in commented else [intent_comment]
    raise AssertionError(f"action kind without a planner: {action.kind}")  # pragma: no cover
