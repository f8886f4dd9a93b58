"""The engine's decisions: who wins a task, what is planned, and why."""

from __future__ import annotations

from datetime import date, datetime

from corekit import NOW, context, engine_for

from delegator.core.engine import TaskMemory
from delegator.core.intents import (
    AddTag,
    Assign,
    Comment,
    Follow,
    Move,
    RemoveTag,
    SetDue,
    SetField,
)
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef

ANNA = UserRef("100", "Anna Rossi", "anna@northwind.example")
GIULIA = UserRef("102", "Giulia Bianchi", "giulia@va-agency.example")

TWO_RULES = """\
- name: Invoices
  when: { all: [ { name: { contains: invoice } }, { assignee: owner } ] }
  then:
    - assign: { pool: [giulia, marco], skill: admin }
    - tag: delegated
    - follow: owner
    - comment: "Hi {{ assignee.first_name }}: {{ task.name }}"
- name: Everything of the owner
  when: { assignee: owner }
  then: [ { tag: seen } ]
"""


def test_first_matching_rule_wins_and_plans_its_actions_in_order() -> None:
    engine = engine_for(TWO_RULES)
    task = Task("1", name="Pay invoice 42", assignee=ANNA, due_on=date(2026, 11, 30))
    decision = engine.decide(task, context(engine))
    assert (decision.quadrant, decision.rule) == ("delegate", "Invoices")
    assert decision.intents == (
        Assign(None, ("giulia", "marco"), "least_loaded", "admin", "queue"),
        AddTag("delegated"),
        Follow("owner"),
        Comment("Hi {{ assignee.first_name }}: {{ task.name }}", "Invoices"),
    )


def test_continue_lets_later_rules_act_too() -> None:
    engine = engine_for(
        TWO_RULES.replace("- name: Everything", "  continue: true\n- name: Everything")
    )
    task = Task("1", name="Pay invoice", assignee=ANNA)
    decision = engine.decide(task, context(engine))
    assert [o.rule for o in decision.outcomes] == ["Invoices", "Everything of the owner"]
    assert decision.intents[-1] == AddTag("seen")


def test_actions_already_in_place_plan_nothing() -> None:
    engine = engine_for(TWO_RULES)
    done = Task(
        "1", name="Pay invoice", assignee=ANNA, tags=(Ref("7", "Delegated"),), followers=(ANNA,)
    )
    decision = engine.decide(done, context(engine), TaskMemory(commented=frozenset({"Invoices"})))
    assert decision.rule == "Invoices"
    assert decision.intents == (Assign(None, ("giulia", "marco"), "least_loaded", "admin"),)
    with_giulia = Task("2", name="Pay invoice", assignee=GIULIA)
    assert engine.decide(with_giulia, context(engine)).rule is None


def test_a_rule_acts_once_unless_it_repeats() -> None:
    once = engine_for(TWO_RULES)
    task = Task("1", name="Pay invoice", assignee=ANNA)
    memory = TaskMemory(acted={"Invoices": datetime(2026, 11, 20, tzinfo=NOW.tzinfo)})
    decision = once.decide(task, context(once), memory)
    assert decision.rule == "Invoices"  # it still holds the task: later rules do not take it
    assert decision.intents == ()
    assert decision.outcomes[0].already_acted == memory.acted["Invoices"]
    again = engine_for(
        TWO_RULES.replace("- name: Everything", "  repeat: true\n- name: Everything")
    )
    decision = again.decide(task, context(again), memory)
    assert [i.kind for i in decision.intents] == ["assign", "tag", "follow", "comment"]
    memory_with_comment = TaskMemory(acted=memory.acted, commented=frozenset({"Invoices"}))
    decision = again.decide(task, context(again), memory_with_comment)
    assert [i.kind for i in decision.intents] == ["assign", "tag", "follow"]


def test_opt_out_tag_and_overrides_are_never_touched() -> None:
    engine = engine_for(TWO_RULES)
    kept = Task("1", name="Pay invoice", assignee=ANNA, tags=(Ref("3", "KEEP"),))
    decision = engine.decide(kept, context(engine))
    assert (decision.skipped, decision.outcomes) == ("tagged keep: never touched", ())
    taken = Task("2", name="Pay invoice", assignee=ANNA)
    decision = engine.decide(taken, context(engine), TaskMemory(override="Anna took it back"))
    assert decision.skipped == "taken back by a person: Anna took it back"
    head = engine_for(TWO_RULES).head.model_dump(by_alias=True)
    assert head["client"]["overrides"] == "respect"


def test_overrides_can_be_ignored_by_the_client() -> None:
    from corekit import HEAD

    engine = engine_for(
        TWO_RULES, HEAD.replace("  owner: anna", "  overrides: ignore\n  owner: anna")
    )
    taken = Task("2", name="Pay invoice", assignee=ANNA)
    assert engine.decide(taken, context(engine), TaskMemory(override="x")).rule == "Invoices"


def test_completed_tasks_are_left_alone_unless_the_rule_asks_for_them() -> None:
    engine = engine_for(
        """\
        - name: Untag finished
          when: { all: [ { completed: true }, { tag: delegated } ] }
          then: [ { untag: delegated } ]
        - name: Any task of the owner
          when: { assignee: owner }
          then: [ { tag: seen } ]
        """
    )
    finished = Task("1", assignee=ANNA, completed=True, tags=(Ref("1", "delegated"),))
    decision = engine.decide(finished, context(engine))
    assert (decision.rule, decision.intents) == ("Untag finished", (RemoveTag("delegated"),))
    plain_finished = Task("2", assignee=ANNA, completed=True)
    assert engine.decide(plain_finished, context(engine)).rule is None
    assert (
        engine.explain(plain_finished, context(engine)).rule_traces[1].note
        == "the task is completed"
    )


def test_shadow_rules_plan_and_say_so() -> None:
    engine = engine_for(
        """\
        - name: Try me
          when: { assignee: owner }
          then: [ { tag: maybe } ]
          mode: shadow
        """
    )
    decision = engine.explain(Task("1", assignee=ANNA), context(engine))
    assert decision.outcomes[0].shadow
    assert decision.rule_traces[0].status == "acts (shadow)"


def test_limit_defers_the_tasks_beyond_it_in_order() -> None:
    engine = engine_for(
        """\
        - name: Two per cycle
          when: { assignee: owner }
          then: [ { tag: x } ]
          limit: 2
        """
    )
    tasks = [Task(str(i), assignee=ANNA) for i in range(5)]
    plan = engine.plan(tasks, context(engine))
    assert [d.rule for d in plan.decisions] == ["Two per cycle", "Two per cycle", None, None, None]
    assert [(d.task.gid, rule) for d, rule in plan.deferred] == [
        ("2", "Two per cycle"), ("3", "Two per cycle"), ("4", "Two per cycle"),
    ]  # fmt: skip


def test_each_action_plans_only_what_is_missing() -> None:
    engine = engine_for(
        """\
        - name: Everything
          when: { assignee: any }
          then:
            - assign: giulia
            - tag: [a, b]
            - untag: [c, d]
            - follow: [owner, marco]
            - move: { project: Operations, section: Doing }
            - set: { custom_field: Priority, value: Low }
            - due: { in: 2 business days }
        """
    )
    ctx = context(engine)
    bare = Task(
        "1", assignee=ANNA, tags=(Ref("1", "A"), Ref("2", "c")), followers=(ANNA,),
        memberships=(Membership(Ref("9", "Operations"), Ref("8", "Inbox")),),
        custom_fields=(FieldValue("401", "Priority", "enum", enum="High"),),
    )  # fmt: skip
    assert engine.decide(bare, ctx).intents == (
        Assign("giulia"),
        AddTag("b"),
        RemoveTag("c"),
        Follow("marco"),
        Move("Operations", "Doing"),
        SetField("Priority", "Low"),
        SetDue(date(2026, 12, 1)),
    )
    marco = UserRef("103", "Marco Verdi", "marco@va-agency.example")
    done = Task(
        "2", assignee=GIULIA, tags=(Ref("1", "a"), Ref("2", "b")), followers=(ANNA, marco),
        memberships=(Membership(Ref("9", "Operations"), Ref("8", "Doing")),),
        custom_fields=(FieldValue("401", "Priority", "enum", enum="low"),),
        due_on=date(2026, 12, 24),
    )  # fmt: skip
    decision = engine.decide(done, ctx)
    assert (decision.rule, decision.intents) == ("Everything", ())


def test_default_matrix_puts_tasks_in_quadrants() -> None:
    engine = engine_for("[]")
    ctx = context(engine)

    def quadrant(**fields: object) -> str:
        return engine.decide(Task("1", **fields), ctx).quadrant  # type: ignore[arg-type]

    assert quadrant(due_on=date(2026, 11, 30)) == "delegate"
    assert quadrant(due_on=date(2026, 11, 30), tags=(Ref("1", "important"),)) == "do"
    high = FieldValue("401", "Priority", "enum", enum="High")
    assert quadrant(custom_fields=(high,)) == "schedule"
    assert quadrant(due_on=date(2026, 12, 20)) == "eliminate"
    assert quadrant(due_on=date(2026, 11, 2)) == "delegate"  # overdue


def test_explain_traces_every_rule_and_finds_near_misses() -> None:
    engine = engine_for(
        """\
        - name: Invoices
          when:
            all:
              - name: { contains: invoice }
              - assignee: owner
              - tag: admin
        - name: Bookings
          when: { all: [ { name: { contains: book } }, { assignee: owner } ] }
          then: [ { tag: b } ]
        """.replace(
            "              - tag: admin\n",
            "              - tag: admin\n          then: [ { tag: a } ]\n",
        )
    )
    decision = engine.explain(Task("1", name="Pay invoice", assignee=ANNA), context(engine))
    assert decision.rule is None
    assert [(t.rule, t.status) for t in decision.rule_traces] == [
        ("Invoices", "no match"),
        ("Bookings", "no match"),
    ]
    assert [(m.rule, m.failed.path, m.failed.actual) for m in decision.near_misses] == [
        ("Invoices", "rules/0/when/all/2", []),
        ("Bookings", "rules/1/when/all/0", "Pay invoice"),
    ]
    assert decision.urgent_trace is not None
    assert decision.urgent_trace.path == "matrix/urgent"


def test_explain_marks_rules_after_the_winner_as_not_reached() -> None:
    engine = engine_for(TWO_RULES)
    decision = engine.explain(Task("1", name="invoice", assignee=ANNA), context(engine))
    assert [(t.rule, t.status) for t in decision.rule_traces] == [
        ("Invoices", "acts"),
        ("Everything of the owner", "not reached"),
    ]


def test_a_shadow_rule_never_takes_a_task_from_the_rules_below() -> None:
    engine = engine_for(
        """\
        - name: Trying
          when: { assignee: owner }
          then: [ { tag: maybe } ]
          mode: shadow
        - name: Live
          when: { assignee: owner }
          then: [ { tag: live } ]
        """
    )
    decision = engine.decide(Task("1", assignee=ANNA), context(engine))
    assert [(o.rule, o.shadow) for o in decision.outcomes] == [("Trying", True), ("Live", False)]
    explained = engine.explain(Task("1", assignee=ANNA), context(engine))
    assert [t.status for t in explained.rule_traces] == ["acts (shadow)", "acts"]


def test_a_task_can_be_given_back_to_the_owner() -> None:
    engine = engine_for(
        """\
        - name: Escalate
          when: { tag: escalate }
          then: [ { assign: owner } ]
        """
    )
    escalated = Task("1", assignee=GIULIA, tags=(Ref("1", "escalate"),))
    assert engine.decide(escalated, context(engine)).intents == (Assign("owner"),)
    back = Task("2", assignee=ANNA, tags=(Ref("1", "escalate"),))
    assert engine.decide(back, context(engine)).intents == ()
