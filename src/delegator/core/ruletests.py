"""Rule tests: clients state, in YAML, what their rules must decide for example tasks.

A test file (``*.test.yaml``) names the rule file, a fixed ``now`` and cases; each case is a task
written briefly (``assignee: owner``, ``tags: [urgent]``, ``custom_fields: {Priority: High}``)
and what is expected (``rule``, ``quadrant``, ``actions``, ``skipped``, ``near_miss``). Running
them is pure: the caller reads the files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from delegator.core.context import Directory, Identity, identity_of
from delegator.core.diagnostics import RuleError, make_error, translate, without_echoes
from delegator.core.engine import Decision, Engine, TaskMemory
from delegator.core.model import FieldValue, Membership, Ref, Task, UserRef
from delegator.core.schema import QUADRANTS, FileHead, Quadrant
from delegator.core.yamlpos import YamlSyntaxError, load

OWNER_STAND_IN = Identity(gid="owner", email="owner@client.example", name="The Owner")


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_text)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SectionPlace(_Strict):
    project: Text
    section: Text


class CaseTask(_Strict):
    """A task written briefly; anything left out is empty."""

    gid: Text | None = None
    name: Text = ""
    notes: Text = ""
    assignee: Text = "none"
    tags: Annotated[list[Text], BeforeValidator(_listed)] = Field(default_factory=list)
    projects: Annotated[list[Text], BeforeValidator(_listed)] = Field(default_factory=list)
    sections: list[SectionPlace] = Field(default_factory=list)
    followers: Annotated[list[Text], BeforeValidator(_listed)] = Field(default_factory=list)
    custom_fields: dict[str, str | float | bool | date | list[str] | None] = Field(
        default_factory=dict
    )
    due_on: date | None = None
    due_at: datetime | None = None
    start_on: date | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None
    completed: bool = False
    subtask: bool = False
    permalink_url: Text = ""


class CaseMemory(_Strict):
    acted: Annotated[list[Text], BeforeValidator(_listed)] = Field(default_factory=list)
    commented: Annotated[list[Text], BeforeValidator(_listed)] = Field(default_factory=list)
    override: Text | None = None


class Expect(_Strict):
    rule: Text | None = Field(None, description="the rule that takes the task; null: none")
    quadrant: Quadrant | None = None
    actions: Annotated[list[Text], BeforeValidator(_listed)] | None = None
    skipped: bool | None = None
    near_miss: Text | None = None
    urgent: bool | None = None
    important: bool | None = None


class Case(_Strict):
    name: Text
    task: CaseTask
    memory: CaseMemory | None = None
    expect: Expect


class RuleTestFile(_Strict):
    rules: Text = Field(description="the rule file, relative to this file")
    now: datetime | date
    owner: Text | None = Field(None, description="who 'owner' is: an email or gid")
    cases: list[Case] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Difference:
    key: str
    expected: Any
    actual: Any


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    line: int
    differences: tuple[Difference, ...]
    decision: Decision

    @property
    def passed(self) -> bool:
        return not self.differences


def parse_test_file(
    text: str, source: str
) -> tuple[RuleTestFile | None, list[RuleError], list[int]]:
    """The test file, its errors, and the line of each case."""
    try:
        document = load(text)
    except YamlSyntaxError as exc:
        return None, [make_error(source, exc.position, (), exc.message)], []
    errors = [make_error(source, p.position, p.path, p.message) for p in document.problems]
    if not isinstance(document.data, dict):
        errors.append(make_error(source, document.position_of(()), (), "a test file is a mapping"))
        return None, errors, []
    try:
        parsed = RuleTestFile.model_validate(document.data)
    except ValidationError as exc:
        found = [*errors, *translate(exc, RuleTestFile, document, source)]
        return None, list(without_echoes(found, document)), []
    lines = [document.position_of(("cases", i)).line for i in range(len(parsed.cases))]
    return (parsed if not errors else None), sorted(errors), lines


def directory_for(head: FileHead, owner: Identity) -> Directory:
    """Who is who, from the client file alone (emails and gids as written)."""
    assistants = {
        key: identity_of(a.user, a.name or key.capitalize()) for key, a in head.assistants.items()
    }
    return Directory(owner, assistants)


def owner_identity(head: FileHead, override: str | None) -> Identity:
    """The owner: as given on the command line / in the test, else from the file, else a stand-in."""
    spec = override or (head.client.owner if head.client.owner != "me" else None)
    return identity_of(spec, "Owner") if spec else OWNER_STAND_IN


def _user(spec: str, directory: Directory) -> UserRef | None:
    if spec == "none":
        return None
    person = directory.resolve(spec)
    return UserRef(person.gid or f"user-{spec}", person.name, person.email)


def _field(name: str, value: object) -> FieldValue:
    if isinstance(value, list):
        return FieldValue(name, name, "multi_enum", multi_enum=tuple(str(v) for v in value))
    if isinstance(value, bool) or value is None:
        return FieldValue(name, name, "text", text=None if value is None else str(value).lower())
    if isinstance(value, int | float):
        return FieldValue(name, name, "number", number=float(value))
    if isinstance(value, date):
        return FieldValue(name, name, "date", date=value)
    return FieldValue(name, name, "enum", enum=str(value), display=str(value))


def build_task(case: CaseTask, index: int, directory: Directory) -> Task:
    projects = {p: Ref(f"project-{p}", p) for p in case.projects}
    memberships = []
    for place in case.sections:
        project = projects.setdefault(place.project, Ref(f"project-{place.project}", place.project))
        memberships.append(Membership(project, Ref(f"section-{place.section}", place.section)))
    followers = tuple(u for u in (_user(f, directory) for f in case.followers) if u is not None)
    return Task(
        gid=case.gid or f"case-{index + 1}",
        name=case.name,
        notes=case.notes,
        assignee=_user(case.assignee, directory),
        completed=case.completed,
        due_on=case.due_on,
        due_at=case.due_at,
        start_on=case.start_on,
        created_at=case.created_at,
        modified_at=case.modified_at,
        tags=tuple(Ref(f"tag-{t}", t) for t in case.tags),
        projects=tuple(projects.values()),
        memberships=tuple(memberships),
        followers=followers,
        custom_fields=tuple(_field(k, v) for k, v in case.custom_fields.items()),
        parent=Ref("parent", "parent task") if case.subtask else None,
        permalink_url=case.permalink_url,
    )


def now_of(test: RuleTestFile, engine: Engine) -> datetime:
    if isinstance(test.now, datetime):
        return test.now if test.now.tzinfo else test.now.replace(tzinfo=engine.tz)
    return datetime.combine(test.now, time(9, 0), engine.tz)


def run_cases(test: RuleTestFile, engine: Engine, lines: list[int]) -> list[CaseResult]:
    return list(iter_cases(test, engine, lines))


def iter_cases(test: RuleTestFile, engine: Engine, lines: list[int]) -> Iterator[CaseResult]:
    """Each case's result, one at a time (a runner times each one)."""
    directory = directory_for(engine.head, owner_identity(engine.head, test.owner))
    ctx = engine.context(now_of(test, engine), directory)
    for index, case in enumerate(test.cases):
        task = build_task(case.task, index, directory)
        memory = TaskMemory()
        if case.memory is not None:
            acted_at = ctx.now
            memory = TaskMemory(
                acted=dict.fromkeys(case.memory.acted, acted_at),
                commented=frozenset(case.memory.commented),
                override=case.memory.override,
            )
        decision = engine.explain(task, ctx, memory)
        yield CaseResult(
            case.name,
            lines[index] if index < len(lines) else 0,
            tuple(compare(case.expect, decision)),
            decision,
        )


def compare(expect: Expect, decision: Decision) -> list[Difference]:
    given = expect.model_fields_set
    out: list[Difference] = []
    if "rule" in given and (expect.rule or None) != decision.rule:
        out.append(Difference("rule", expect.rule, decision.rule))
    if expect.quadrant is not None and expect.quadrant != decision.quadrant:
        out.append(Difference("quadrant", expect.quadrant, decision.quadrant))
    if expect.actions is not None:
        actual = [intent.kind for intent in decision.intents]
        if actual != list(expect.actions):
            out.append(Difference("actions", list(expect.actions), actual))
    if expect.skipped is not None and expect.skipped != (decision.skipped is not None):
        out.append(Difference("skipped", expect.skipped, decision.skipped or False))
    if expect.urgent is not None and expect.urgent != decision.urgent:
        out.append(Difference("urgent", expect.urgent, decision.urgent))
    if expect.important is not None and expect.important != decision.important:
        out.append(Difference("important", expect.important, decision.important))
    if expect.near_miss is not None:
        misses = [m.rule for m in decision.near_misses]
        if expect.near_miss not in misses:
            out.append(Difference("near_miss", expect.near_miss, misses))
    return out


__all__ = ["QUADRANTS", "CaseResult", "RuleTestFile", "parse_test_file", "run_cases"]
