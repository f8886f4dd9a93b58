"""The rule file format, version 1, as pydantic models.

These models are the single description of what a client may write: they validate files and
they produce the JSON Schema that editors use (``delegator schema``). Conditions and actions are
closed sets: each is a mapping with exactly one key naming its kind, so an unknown kind is
reported as an unknown key with the valid ones suggested, never as a muddled union error.
Shorthands (``tag: urgent`` for ``tag: {any: [urgent]}``) are expanded before validation.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, PydanticKnownError
from typing_extensions import TypeAliasType

from delegator.core.cron import Cron
from delegator.core.estimate import DEFAULT_TIME_FIELD
from delegator.core.language import Language, LanguageError, Voice, parse_locale
from delegator.core.regex import compile_pattern
from delegator.core.suggest import did_you_mean
from delegator.core.timeexpr import (
    DateRange,
    Duration,
    WorkingHours,
    parse_date,
    parse_date_range,
    parse_duration,
    parse_working_hours,
)

QUADRANTS = ("do", "schedule", "delegate", "eliminate")
Quadrant = Literal["do", "schedule", "delegate", "eliminate"]


def _as_text(value: Any) -> Any:
    """YAML reads unquoted gids as numbers; a name or gid is always text here."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str | int) and not isinstance(value, bool) else value


def _parse_moment(value: Any) -> date | Duration:
    if isinstance(value, datetime | date):
        return parse_date(value)
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            pass
        try:
            return parse_duration(value)
        except ValueError:
            pass
    raise ValueError(
        f"expected a date (2026-12-01) or a duration from now (3d, 2 business days), got {value}"
    )


MAX_ZONE_NAME = 64  # the longest IANA name is about 30 characters


def _check_timezone(name: str) -> str:
    if len(name) > MAX_ZONE_NAME:
        raise ValueError(
            f"unknown time zone: {len(name)} characters is longer than any time zone name "
            "(use an IANA name such as Europe/Rome)"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, an odd path
        hint = did_you_mean(name, sorted(available_timezones()))
        advice = hint or " (use an IANA name such as Europe/Rome)"
        raise ValueError(f"unknown time zone '{name}'{advice}") from None
    return name


_TEXT_OR_NUMBER = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
_ONE_OR_MANY = {
    "anyOf": [
        {"type": "string"},
        {"type": "integer"},
        {"type": "array", "items": _TEXT_OR_NUMBER, "minItems": 1},
    ]
}
Text = Annotated[str, BeforeValidator(_as_text), WithJsonSchema(_TEXT_OR_NUMBER)]
Name = Annotated[Text, Field(min_length=1)]
Names = Annotated[
    list[Name], BeforeValidator(_as_list), Field(min_length=1), WithJsonSchema(_ONE_OR_MANY)
]
# Words compared with task text keep their spaces (" AI " is not "AI").
Word = Annotated[str, Field(min_length=1)]
Words = Annotated[
    list[Word], BeforeValidator(_as_list), Field(min_length=1), WithJsonSchema(_ONE_OR_MANY)
]
DurationText = Annotated[
    Duration,
    PlainValidator(parse_duration),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*\d+\s*[A-Za-z ]+$",
            "examples": ["30m", "2h", "3d", "1w", "2 business days"],
            "description": "a number and a unit: m, h, d, w or business days",
        }
    ),
]
DateText = Annotated[
    date,
    PlainValidator(parse_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-12-24"]}),
]
MomentText = Annotated[
    date | Duration,
    PlainValidator(_parse_moment),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "a date (YYYY-MM-DD) or a duration from now (3d, 2 business days)",
            "examples": ["2026-12-01", "3d", "2 business days"],
        }
    ),
]
PeriodText = Annotated[
    DateRange,
    PlainValidator(parse_date_range),
    PlainSerializer(str),
    WithJsonSchema(
        {"type": "string", "examples": ["2026-12-24..2027-01-06", "2027-04-05"]},
    ),
]
HoursText = Annotated[
    WorkingHours,
    PlainValidator(parse_working_hours),
    PlainSerializer(str),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            "examples": ["Mon-Fri 09:00-17:00", "Mon-Thu 09:00-17:00; Fri 09:00-13:00"],
        }
    ),
]
TimeZoneName = Annotated[
    Text,
    PlainValidator(lambda v: _check_timezone(_as_text(v)) if isinstance(v, str) else _bad_zone(v)),
    WithJsonSchema({"type": "string", "examples": ["Europe/Rome", "America/New_York"]}),
]


def _check_locale(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a locale such as it_IT or en_GB, got {value!r}")
    try:
        return parse_locale(value)
    except LanguageError as exc:
        raise ValueError(str(exc)) from None


LocaleName = Annotated[
    Text,
    PlainValidator(_check_locale),
    WithJsonSchema({"type": "string", "examples": ["it_IT", "en_GB", "it_CH", "en_US"]}),
]
Scalar = str | float | bool | date


def _bad_zone(value: Any) -> str:
    raise ValueError(f"expected an IANA time zone name such as Europe/Rome, got {value!r}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    # The short forms a model accepts besides its mapping (``tag: x``, ``assign: giulia``...),
    # as JSON Schema alternatives, so editors accept what ``delegator check`` accepts.
    shorthand_schemas: ClassVar[tuple[dict[str, Any], ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(core_schema)
        if not cls.shorthand_schemas:
            return reference
        definition = handler.resolve_ref_schema(reference)
        long_form = dict(definition)
        definition.clear()
        alternatives = [
            {**alt, "items": dict(reference)} if alt.get("items") == "self" else alt
            for alt in cls.shorthand_schemas
        ]
        definition["anyOf"] = [*alternatives, long_form]
        for key in ("title", "description"):
            if key in long_form:
                definition[key] = long_form[key]
        return reference


def _exactly_one(model: BaseModel, keys: tuple[str, ...], what: str) -> None:
    given = [k for k in keys if getattr(model, k) is not None]
    if len(given) != 1:
        aliases = [
            (type(model).model_fields[k].alias or k) for k in (given or keys)
        ]  # pragma: no branch
        if not given:
            raise ValueError(f"write one of {', '.join(aliases)}")
        raise ValueError(f"write only one of {', '.join(aliases)}")


# ----------------------------------------------------------------------------- conditions


class TextMatch(Strict):
    """Compare a task's name or notes; case-insensitive unless ``case_sensitive: true``."""

    contains: Words | None = None
    equals: Words | None = None
    starts_with: Words | None = None
    ends_with: Words | None = None
    matches: str | None = Field(None, description="a regular expression (RE2 syntax)")
    case_sensitive: bool = False

    @field_validator("matches")
    @classmethod
    def _regex_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            compile_pattern(pattern, case_sensitive=True)
        return pattern

    @model_validator(mode="after")
    def _one_operator(self) -> TextMatch:
        _exactly_one(self, ("contains", "equals", "starts_with", "ends_with", "matches"), "text")
        return self


class TagMatch(Strict):
    """Tags by name: any of, all of, none of. ``tag: x`` means ``tag: {any: [x]}``."""

    shorthand_schemas = (_ONE_OR_MANY,)

    any: Names | None = None
    all: Names | None = None
    none: Names | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str | int | list) and not isinstance(value, bool):
            return {"any": _as_list(value)}
        return value

    @model_validator(mode="after")
    def _something(self) -> TagMatch:
        if self.any is None and self.all is None and self.none is None:
            raise ValueError("write a tag name, or any:, all: or none: with a list of tags")
        return self


class SectionMatch(Strict):
    """A section by name or gid, optionally within one project."""

    shorthand_schemas = (_TEXT_OR_NUMBER,)

    name: Name
    project: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str | int) and not isinstance(value, bool):
            return {"name": value}
        return value


class FieldMatch(Strict):
    """A custom field's value, by field name or gid."""

    name: Name | None = None
    gid: Name | None = None
    equals: Scalar | list[Text] | None = None
    in_: list[Scalar] | None = Field(None, alias="in")
    not_in: list[Scalar] | None = None
    gt: float | date | None = None
    gte: float | date | None = None
    lt: float | date | None = None
    lte: float | date | None = None
    is_set: bool | None = None
    contains: Text | None = None

    @model_validator(mode="after")
    def _shape(self) -> FieldMatch:
        _exactly_one(self, ("name", "gid"), "custom_field")
        operators = ("equals", "in_", "not_in", "gt", "gte", "lt", "lte", "is_set", "contains")
        if all(getattr(self, k) is None for k in operators):
            raise ValueError(
                "write what to compare: equals, in, not_in, gt, gte, lt, lte, is_set or contains"
            )
        return self


class DateWindow(Strict):
    """When a task is due (or starts), relative to now or against a date."""

    within: DurationText | None = None
    before: MomentText | None = None
    after: MomentText | None = None
    none: bool | None = None

    @model_validator(mode="after")
    def _shape(self) -> DateWindow:
        if all(getattr(self, k) is None for k in ("within", "before", "after", "none")):
            raise ValueError("write within, before, after or none")
        if self.none is not None and any(
            getattr(self, k) is not None for k in ("within", "before", "after")
        ):
            raise ValueError("none cannot be combined with within, before or after")
        return self


class Age(Strict):
    """How long ago a task was created or last modified."""

    older_than: DurationText | None = None
    newer_than: DurationText | None = None

    @model_validator(mode="after")
    def _shape(self) -> Age:
        if self.older_than is None and self.newer_than is None:
            raise ValueError("write older_than or newer_than")
        return self


class OneKey(Strict):
    """A member of a closed set written as a mapping with exactly one key naming its kind.

    Conditions and actions are such sets: each kind is its own model holding its typed argument
    under that key (``NameCondition.name`` is a ``TextMatch``), and the set is a discriminated
    union of them (``Condition``, ``Action``), so code reads them with an exhaustive ``match``.
    """

    kind: ClassVar[str]  # the key naming the kind, as written in files
    family: ClassVar[str]  # what a person calls one: "condition", "action"


QuadrantList = Annotated[
    list[Quadrant],
    BeforeValidator(_as_list),
    Field(min_length=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(QUADRANTS)},
                {"type": "array", "items": {"enum": list(QUADRANTS)}, "minItems": 1},
            ]
        }
    ),
]


class ConditionModel(OneKey):
    family = "condition"


class NameCondition(ConditionModel):
    kind = "name"
    name: TextMatch


class NotesCondition(ConditionModel):
    kind = "notes"
    notes: TextMatch


class TagCondition(ConditionModel):
    kind = "tag"
    tag: TagMatch


class ProjectCondition(ConditionModel):
    kind = "project"
    project: Names


class SectionCondition(ConditionModel):
    kind = "section"
    section: SectionMatch


class AssigneeCondition(ConditionModel):
    kind = "assignee"
    assignee: Names


class CustomFieldCondition(ConditionModel):
    kind = "custom_field"
    custom_field: FieldMatch


class DueCondition(ConditionModel):
    kind = "due"
    due: DateWindow


class StartCondition(ConditionModel):
    kind = "start"
    start: DateWindow


class OverdueCondition(ConditionModel):
    kind = "overdue"
    overdue: bool


class CreatedCondition(ConditionModel):
    kind = "created"
    created: Age


class ModifiedCondition(ConditionModel):
    kind = "modified"
    modified: Age


class CompletedCondition(ConditionModel):
    kind = "completed"
    completed: bool


class SubtaskCondition(ConditionModel):
    kind = "subtask"
    subtask: bool


class QuadrantCondition(ConditionModel):
    kind = "quadrant"
    quadrant: QuadrantList


class AllCondition(ConditionModel):
    kind = "all"
    all: Annotated[list[Condition], Field(min_length=1)]


class AnyCondition(ConditionModel):
    kind = "any"
    any: Annotated[list[Condition], Field(min_length=1)]


class NotCondition(ConditionModel):
    kind = "not"
    not_: Condition = Field(alias="not")


CONDITION_MODELS: tuple[type[ConditionModel], ...] = (
    NameCondition, NotesCondition, TagCondition, ProjectCondition, SectionCondition,
    AssigneeCondition, CustomFieldCondition, DueCondition, StartCondition, OverdueCondition,
    CreatedCondition, ModifiedCondition, CompletedCondition, SubtaskCondition, QuadrantCondition,
    AllCondition, AnyCondition, NotCondition,
)  # fmt: skip
CONDITION_KINDS: tuple[str, ...] = tuple(m.kind for m in CONDITION_MODELS)
_CONDITION_TAGS = {m.kind: m.__name__ for m in CONDITION_MODELS}


def _condition_shape(value: Any) -> Any:
    if isinstance(value, list):  # a list of conditions means all of them
        return {"all": value}
    return _one_key(
        value,
        "condition",
        CONDITION_KINDS,
        "put them in a list under all: (every one must hold) or any: (one is enough)",
    )


def _one_key(value: Any, family: str, kinds: tuple[str, ...], several: str) -> Any:
    """The checks every one-key mapping shares, before the kind's own model validates it.

    A kind written with no value (``name:``) counts as not written. Unknown keys are reported
    by the kind's model when exactly one kind is written, else here, each at its key.
    """
    if not isinstance(value, dict):
        raise PydanticKnownError("dict_type")
    if any(value.get(kind, False) is None for kind in kinds):
        value = {k: v for k, v in value.items() if not (v is None and k in kinds)}
    given = [kind for kind in kinds if kind in value]
    if len(given) != 1:
        unknown = [k for k in value if k not in kinds]
        if unknown:
            raise PydanticCustomError(
                UNKNOWN_KIND, "unknown {family}", {"family": family, "keys": unknown}
            )
        if not given:
            raise ValueError(f"empty {family}: write one of " + ", ".join(kinds))
        article = "an" if family[0] in "aeiou" else "a"
        raise ValueError(
            f"{article} {family} has exactly one key, this one has {', '.join(given)}: {several}"
        )
    return value


UNKNOWN_KIND = "unknown_kind"  # the error type of keys naming no kind, with ctx family and keys


def _condition_tag(value: Any) -> str | None:
    for key in value:  # one known key, by now (_condition_shape)
        tag = _CONDITION_TAGS.get(key)
        if tag is not None:
            return tag
    return None  # pragma: no cover - _condition_shape lets no such mapping through


Condition = TypeAliasType(
    "Condition",
    Annotated[
        Annotated[NameCondition, Tag("NameCondition")]
        | Annotated[NotesCondition, Tag("NotesCondition")]
        | Annotated[TagCondition, Tag("TagCondition")]
        | Annotated[ProjectCondition, Tag("ProjectCondition")]
        | Annotated[SectionCondition, Tag("SectionCondition")]
        | Annotated[AssigneeCondition, Tag("AssigneeCondition")]
        | Annotated[CustomFieldCondition, Tag("CustomFieldCondition")]
        | Annotated[DueCondition, Tag("DueCondition")]
        | Annotated[StartCondition, Tag("StartCondition")]
        | Annotated[OverdueCondition, Tag("OverdueCondition")]
        | Annotated[CreatedCondition, Tag("CreatedCondition")]
        | Annotated[ModifiedCondition, Tag("ModifiedCondition")]
        | Annotated[CompletedCondition, Tag("CompletedCondition")]
        | Annotated[SubtaskCondition, Tag("SubtaskCondition")]
        | Annotated[QuadrantCondition, Tag("QuadrantCondition")]
        | Annotated[AllCondition, Tag("AllCondition")]
        | Annotated[AnyCondition, Tag("AnyCondition")]
        | Annotated[NotCondition, Tag("NotCondition")],
        Discriminator(_condition_tag),
        BeforeValidator(_condition_shape),
    ],
)
"""One condition: a mapping with exactly one key naming its kind (a list means all of them)."""

for _model in (AllCondition, AnyCondition, NotCondition):
    _model.model_rebuild()


# ----------------------------------------------------------------------------- actions


class Assignment(Strict):
    """Assign to one person, or to the best assistant of a pool."""

    shorthand_schemas = (_TEXT_OR_NUMBER,)

    to: Name | None = Field(None, description="an assistant key, an email or a user gid")
    pool: list[Name] | None = Field(None, min_length=1, description="assistant keys")
    strategy: Literal["round_robin", "least_loaded"] = "least_loaded"
    skill: Name | None = None
    overflow: Literal["queue", "skip"] = "queue"

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str | int) and not isinstance(value, bool):
            return {"to": value}
        return value

    @model_validator(mode="after")
    def _shape(self) -> Assignment:
        _exactly_one(self, ("to", "pool"), "assign")
        if self.to is not None and (self.skill is not None):
            raise ValueError("skill applies to a pool; with to: the person is already named")
        return self


class Placement(Strict):
    """Move the task into a section of a project (added to the project when missing)."""

    project: Name
    section: Name | None = None


class FieldSetting(Strict):
    """Set a custom field (by name or gid) to a value: an option name, number, text or date."""

    custom_field: Name
    value: Scalar | list[Text] | None


class DueDefault(Strict):
    """Give a due date to a task that has none."""

    in_: DurationText = Field(alias="in")


class ActionModel(OneKey):
    family = "action"


class AssignAction(ActionModel):
    kind = "assign"
    assign: Assignment


class TagAction(ActionModel):
    kind = "tag"
    tag: Names


class UntagAction(ActionModel):
    kind = "untag"
    untag: Names


class FollowAction(ActionModel):
    kind = "follow"
    follow: Names


class MoveAction(ActionModel):
    kind = "move"
    move: Placement


class SetAction(ActionModel):
    kind = "set"
    set_: FieldSetting = Field(alias="set")


class DueAction(ActionModel):
    kind = "due"
    due: DueDefault


class CommentAction(ActionModel):
    kind = "comment"
    comment: Annotated[str, Field(min_length=1)]


ACTION_MODELS: tuple[type[ActionModel], ...] = (
    AssignAction, TagAction, UntagAction, FollowAction, MoveAction, SetAction, DueAction,
    CommentAction,
)  # fmt: skip
ACTION_KINDS: tuple[str, ...] = tuple(m.kind for m in ACTION_MODELS)
_ACTION_TAGS = {m.kind: m.__name__ for m in ACTION_MODELS}


def _action_shape(value: Any) -> Any:
    return _one_key(
        value, "action", ACTION_KINDS, "write each action as its own list item under then:"
    )


def _action_tag(value: Any) -> str | None:
    for key in value:  # one known key, by now (_action_shape)
        tag = _ACTION_TAGS.get(key)
        if tag is not None:
            return tag
    return None  # pragma: no cover - _action_shape lets no such mapping through


Action = TypeAliasType(
    "Action",
    Annotated[
        Annotated[AssignAction, Tag("AssignAction")]
        | Annotated[TagAction, Tag("TagAction")]
        | Annotated[UntagAction, Tag("UntagAction")]
        | Annotated[FollowAction, Tag("FollowAction")]
        | Annotated[MoveAction, Tag("MoveAction")]
        | Annotated[SetAction, Tag("SetAction")]
        | Annotated[DueAction, Tag("DueAction")]
        | Annotated[CommentAction, Tag("CommentAction")],
        Discriminator(_action_tag),
        BeforeValidator(_action_shape),
    ],
)
"""One action: a mapping with exactly one key naming its kind."""

KINDS_OF_FAMILY: dict[str, tuple[str, ...]] = {"condition": CONDITION_KINDS, "action": ACTION_KINDS}

# ----------------------------------------------------------------------------- expectations

Stage = Literal["acknowledged", "started", "done"]
STAGES: tuple[Stage, ...] = ("acknowledged", "started", "done")
EscalationStep = Literal["comment", "follow", "tag", "summary"]
ESCALATION_STEPS: tuple[EscalationStep, ...] = ("comment", "follow", "tag", "summary")


class Expectation(Strict):
    """What the assistant is expected to do with a task the rule delegates, and by when.

    Every duration counts the assistant's working time: their hours (always, when they have
    none), less weekends and the client's holidays for day units, less their time away."""

    acknowledged_within: DurationText | None = Field(
        None, description="a comment, a like or a change by the assignee"
    )
    started_within: DurationText | None = Field(
        None,
        description="a change by the assignee (section, field, subtask completed...) or "
        "started_when holding",
    )
    done_within: DurationText | None = Field(
        None, description="the task completed; default: the due date the rule sets, if any"
    )
    started_when: Condition | None = Field(
        None, description="a condition on the task that also counts as started"
    )
    remind_before: DurationText = Field(
        Duration(1, "hours"),
        description="working time before a deadline when the assistant is reminded",
    )
    escalate_to: Name = Field("owner", description="owner, an assistant key, an email or a gid")
    escalate: list[EscalationStep] = Field(
        default_factory=lambda: list(ESCALATION_STEPS), min_length=1,
        description="what an escalation does: comment, follow, tag and summary",
    )  # fmt: skip
    escalation_tag: Name = Field("late", description="the tag an escalation adds")
    reassign: bool = Field(
        False, description="after a second miss, give the task to another assistant of the pool"
    )

    @model_validator(mode="after")
    def _shape(self) -> Expectation:
        given = [s for s in STAGES if getattr(self, f"{s}_within") is not None]
        if not given and self.started_when is None:
            raise ValueError(
                "needs at least one of acknowledged_within, started_within, done_within"
            )
        if self.started_when is not None and self.started_within is None:
            raise ValueError("started_when needs started_within: by when is it expected?")
        ordered = [getattr(self, f"{s}_within") for s in given]
        for (first, a), (second, b) in zip(
            zip(given, ordered, strict=True),
            zip(given[1:], ordered[1:], strict=True),
            strict=False,
        ):
            if _comparable(a, b) and _length(a) > _length(b):
                raise ValueError(
                    f"{second}_within ({b}) is shorter than {first}_within ({a}): "
                    f"a task is {first} before it is {second}"
                )
        if len(set(self.escalate)) != len(self.escalate):
            raise ValueError("escalate lists a step twice")
        return self


def _comparable(a: Duration, b: Duration) -> bool:
    """Whether two durations compare without knowing the assistant's hours."""
    days = ("days", "weeks", "business_days")
    return (a.unit in days) == (b.unit in days)


def _length(duration: Duration) -> float:
    if duration.unit == "weeks":
        return duration.amount * 5.0
    if duration.unit in ("days", "business_days"):
        return float(duration.amount)
    return duration.timedelta().total_seconds()


class BounceSettings(Strict):
    """How an assistant says "not for me": a tag, or a comment starting with the command."""

    tag: Name = Field("not-delegable", description="the tag an assistant adds to bounce a task")
    command: Text | None = Field(
        "not for me",
        description="a comment by the assignee starting with these words bounces the task; "
        "the rest of the comment is the reason (null: no comment command)",
    )
    to: Literal["owner", "next_assistant"] = Field(
        "owner", description="where a bounced task goes, unless its rule says otherwise"
    )

    @field_validator("command")
    @classmethod
    def _words(cls, command: str | None) -> str | None:
        if command is not None and not command.strip():
            raise ValueError("an empty command would match every comment: write null for none")
        return command


# The comment commands of a file that writes no ``bounce.command``, by the client's language.
BOUNCE_COMMANDS: dict[Language, tuple[str, ...]] = {
    Language.EN: ("not for me",),
    Language.IT: ("non fa per me", "not for me"),
}


# ----------------------------------------------------------------------------- rules


class Rule(Strict):
    """When the conditions hold for a task, carry out the actions."""

    name: Name
    description: Text | None = None
    when: Condition
    then: list[Action] = Field(min_length=1)
    mode: Literal["active", "shadow"] = "active"
    limit: int | None = Field(None, ge=1, description="at most this many tasks per cycle")
    continue_: bool = Field(False, alias="continue")
    repeat: bool = False
    minutes: int | None = Field(
        None,
        ge=1,
        description="minutes a task of this rule usually takes: the time given back when the "
        "task has no estimate field",
    )
    expect: Expectation | None = Field(
        None, description="by when the assistant acknowledges, starts and finishes the task"
    )
    on_bounce: Literal["owner", "next_assistant"] | None = Field(
        None,
        description="where a task the assistant bounces goes: back to the owner, or to the "
        "next assistant of the pool with the skill (default: the file's bounce.to)",
    )

    @model_validator(mode="after")
    def _expectation_agrees(self) -> Rule:
        """A due date the rule sets and its done_within say the same thing, or the task would
        be late before it is missed (or missed before it is late)."""
        due = next((a.due.in_ for a in self.then if isinstance(a, DueAction)), None)
        done = self.expect.done_within if self.expect is not None else None
        if (
            due is not None
            and done is not None
            and _comparable(due, done)
            and _length(done) > _length(due)
        ):
            raise ValueError(
                f"expect: done_within ({done}) is later than the due date the rule sets "
                f"(due in {due}): the task would be overdue before the expectation is "
                "missed; make them agree, or drop done_within to use the due date"
            )
        delegates = any(isinstance(a, AssignAction) for a in self.then)
        if (self.expect is not None or self.on_bounce is not None) and not delegates:
            key = "expect" if self.expect is not None else "on_bounce"
            raise ValueError(f"{key}: applies to delegated tasks: the rule needs an assign:")
        return self


# ----------------------------------------------------------------------------- client


_NEVER_INLINE = (
    "never write a token in a rule file: use {env: VARIABLE}, {file: /run/secrets/NAME} or "
    "{oauth: {refresh_token: {file: /run/secrets/NAME}}}"
)


class RefreshTokenSource(Strict):
    """Where an OAuth refresh token is read from: a variable or a file, never the rule file."""

    env: Name | None = Field(None, description="an environment variable holding the refresh token")
    file: Name | None = Field(
        None, description="a file holding the refresh token (a mounted secret)"
    )

    @model_validator(mode="before")
    @classmethod
    def _never_inline(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "never write a refresh token in a rule file: use {env: VARIABLE} or "
                "{file: /run/secrets/NAME}"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> RefreshTokenSource:
        _exactly_one(self, ("env", "file"), "refresh_token")
        return self


class OAuthSource(Strict):
    """The client authorised the agency's Asana app: its refresh token, exchanged for access
    tokens with the app's id and secret (the settings ``asana.oauth_client_id`` and
    ``asana.oauth_client_secret``)."""

    refresh_token: RefreshTokenSource = Field(
        description="where the client's OAuth refresh token is read from: {env: ...} or {file: ...}"
    )


class TokenSource(Strict):
    """Where the Asana token is read from; the token itself is never written in the file."""

    env: Name | None = Field(None, description="an environment variable holding the token")
    file: Name | None = Field(None, description="a file holding the token (a mounted secret)")
    oauth: OAuthSource | None = Field(
        None, description="the client's OAuth refresh token for the agency's Asana app"
    )

    @model_validator(mode="before")
    @classmethod
    def _never_inline(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(_NEVER_INLINE)
        return value

    @model_validator(mode="after")
    def _shape(self) -> TokenSource:
        _exactly_one(self, ("env", "file", "oauth"), "token")
        return self


class Client(Strict):
    name: Name
    workspace: Name = Field(description="the Asana workspace gid")
    token: TokenSource
    timezone: TimeZoneName
    owner: Name = Field("me", description="me (the token's user), an email or a user gid")
    opt_out_tag: Name = Field("keep", description="tasks with this tag are never touched")
    overrides: Literal["respect", "ignore"] = "respect"
    holidays: list[DateText] = Field(default_factory=list)
    plan: Literal["free", "paid"] = Field(
        "paid",
        description="the workspace's Asana plan: its request rate (free 150, paid 1,500 a minute)",
    )
    language: Literal["en", "it"] | None = Field(
        None,
        description="it or en: the language of the texts the service writes for this client "
        "(comments, summaries, digests, explain and plan); default: the locale's, else en",
    )
    locale: LocaleName | None = Field(
        None,
        description="how dates and numbers are written, such as it_IT, it_CH, en_GB, en_US; "
        "default: the language's (it_IT, en_GB)",
    )

    @model_validator(mode="after")
    def _language(self) -> Client:
        try:
            Voice.of(self.language, self.locale)
        except LanguageError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def voice(self) -> Voice:
        """The language and locale of everything the service writes for this client."""
        return Voice.of(self.language, self.locale)

    @field_validator("workspace")
    @classmethod
    def _gid(cls, value: str) -> str:
        if not value.isdigit():
            raise ValueError(f"workspace must be the workspace's gid (digits), got {value!r}")
        return value


class ProjectRef(Strict):
    shorthand_schemas = (_TEXT_OR_NUMBER,)

    gid: Name | None = None
    name: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        value = _as_text(value)
        if isinstance(value, str):
            return {"gid": value} if value.isdigit() else {"name": value}
        return value

    @model_validator(mode="after")
    def _shape(self) -> ProjectRef:
        _exactly_one(self, ("gid", "name"), "project")
        return self


class WatchSource(Strict):
    """A place tasks come from: the owner's My Tasks, a project, a section or a tag."""

    shorthand_schemas = ({"const": "my_tasks"},)

    my_tasks: bool | None = None
    project: ProjectRef | None = None
    section: SectionMatch | None = None
    tag: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if value == "my_tasks":
            return {"my_tasks": True}
        if isinstance(value, str):
            raise ValueError(
                f"unknown source {value!r}: write my_tasks, or project:, section: or tag:"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> WatchSource:
        _exactly_one(self, ("my_tasks", "project", "section", "tag"), "watch")
        return self


class Assistant(Strict):
    user: Name = Field(description="the assistant's Asana email or user gid")
    name: Text | None = None
    capacity: int = Field(20, ge=0, description="max open tasks delegated by this service")
    hours: HoursText | None = Field(None, description="working hours; default: always")
    timezone: TimeZoneName | None = Field(None, description="default: the client's")
    skills: Names = Field(default_factory=list)
    away: list[PeriodText] = Field(default_factory=list)
    language: Literal["en", "it"] | None = Field(
        None, description="it or en: the language of this assistant's digest; default: the client's"
    )


class Matrix(Strict):
    """What makes a task urgent and what makes it important (the Covey/Eisenhower matrix)."""

    urgent: Condition | None = None
    important: Condition | None = None


# ----------------------------------------------------------------------------- summaries


def _schedule(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(
            f'expected a cron schedule in quotes such as "0 17 * * FRI", got {value!r}'
        )
    return Cron.parse(value).text


ScheduleText = Annotated[
    str,
    PlainValidator(_schedule),
    WithJsonSchema(
        {
            "type": "string",
            "description": "a cron schedule (minute hour day-of-month month day-of-week) or "
            "@hourly, @daily, @weekly, @monthly, @yearly",
            "examples": ["0 17 * * FRI", "0 8 * * MON-FRI", "@daily"],
        }
    ),
]

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ASSISTANT_ADDRESS = "assistant"  # email: assistant sends a digest to each assistant's address


class _OneOrList:
    """JSON Schema of a list that may also be written as its single item."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        return {"anyOf": [schema["items"], schema]}


def _listed(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class SecretSource(Strict):
    """Where a webhook URL is read from: anyone holding the URL can post, so it is a secret."""

    env: Name | None = Field(None, description="an environment variable holding the URL")
    file: Name | None = Field(None, description="a file holding the URL (a mounted secret)")

    @model_validator(mode="before")
    @classmethod
    def _never_inline(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                "never write a webhook URL in a rule file (anyone who reads it can post to the "
                "channel): use {env: VARIABLE} or {file: /run/secrets/NAME}"
            )
        return value

    @field_validator("env", "file")
    @classmethod
    def _not_the_url(cls, value: str | None) -> str | None:
        if value is not None and _URL.match(value):
            raise ValueError(
                "write the name of the variable or file that holds the URL, never the URL itself"
            )
        return value

    @model_validator(mode="after")
    def _shape(self) -> SecretSource:
        _exactly_one(self, ("env", "file"), "webhook")
        return self


class ProjectTarget(Strict):
    """A project, by name or gid: for a status update, or for a new task."""

    shorthand_schemas = (_TEXT_OR_NUMBER,)

    project: ProjectRef

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str | int) and not isinstance(value, bool):
            return {"project": value}
        return value


class CommentTarget(Strict):
    """A task to comment on, by gid (the last number in its Asana URL)."""

    shorthand_schemas = (_TEXT_OR_NUMBER,)

    task: Name

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str | int) and not isinstance(value, bool):
            return {"task": value}
        return value

    @field_validator("task")
    @classmethod
    def _gid(cls, value: str) -> str:
        if not value.isdigit():
            raise ValueError(
                f"task must be the task's gid (digits, the last number in its URL), got {value!r}"
            )
        return value


class EmailTarget(Strict):
    """Email addresses, or ``assistant``: each assistant's own address (digests only)."""

    shorthand_schemas = (_ONE_OR_MANY,)

    to: Names

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str | list):
            return {"to": value}
        return value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if address == ASSISTANT_ADDRESS:
                if len(value) > 1:
                    raise ValueError("write assistant alone: it means each assistant's address")
            elif not _EMAIL.match(address):
                raise ValueError(f"'{address}' is not an email address (name@example.com)")
        return value

    @property
    def to_assistant(self) -> bool:
        """Whether this sends to each assistant's own address (``email: assistant``)."""
        return self.to == [ASSISTANT_ADDRESS]


class Destination(Strict):
    """Where a summary or digest goes: a mapping with exactly one key naming its kind."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    asana_status: ProjectTarget | None = Field(None, description="a project status update")
    asana_comment: CommentTarget | None = Field(None, description="a comment on a task")
    asana_task: ProjectTarget | None = Field(None, description="a new task in a project")
    webhook: SecretSource | None = Field(None, description="a Slack-compatible incoming webhook")
    email: EmailTarget | None = Field(None, description="email over SMTP")

    @model_validator(mode="after")
    def _one_kind(self) -> Destination:
        given = [k for k in DESTINATION_KINDS if getattr(self, k) is not None]
        if not given:
            raise ValueError("empty destination: write one of " + ", ".join(DESTINATION_KINDS))
        if len(given) > 1:
            raise ValueError(
                f"a destination has exactly one key, this one has {', '.join(given)}: "
                "write each destination as its own list item under to:"
            )
        return self

    @property
    def kind(self) -> DestinationKind:
        return next(k for k in DESTINATION_KINDS if getattr(self, k) is not None)

    @property
    def argument(self) -> ProjectTarget | CommentTarget | SecretSource | EmailTarget:
        value = getattr(self, self.kind)
        assert value is not None
        return value  # type: ignore[no-any-return]


DestinationKind = Literal["asana_status", "asana_comment", "asana_task", "webhook", "email"]
DESTINATION_KINDS: tuple[DestinationKind, ...] = (
    "asana_status", "asana_comment", "asana_task", "webhook", "email",
)  # fmt: skip

Destinations = Annotated[
    list[Destination], BeforeValidator(_listed), Field(min_length=1), _OneOrList()
]
TemplateText = Annotated[str, Field(min_length=1)]


class MessageTemplates(Strict):
    """Jinja2 templates (run in a sandbox) that replace the default text of a message."""

    title: TemplateText | None = Field(None, description="one line: subject, status title")
    markdown: TemplateText | None = Field(None, description="the body for Slack and email")
    asana: TemplateText | None = Field(None, description="the body for Asana, as rich text")

    @model_validator(mode="after")
    def _something(self) -> MessageTemplates:
        if self.title is None and self.markdown is None and self.asana is None:
            raise ValueError("write title, markdown or asana")
        return self


class SummarySettings(Strict):
    """The client's summary: when, where, over what period, and how it reads."""

    schedule: ScheduleText = Field(description="cron, in the client's time zone")
    to: Destinations
    period: DurationText | None = Field(
        None, description="how far back it looks; default: since the previous scheduled run"
    )
    due_soon: DurationText = Field(
        "3d",  # parsed like a written value, and shown as written in the JSON Schema
        validate_default=True,
        description='"due in the next days": days or weeks',
    )
    time_field: Name = Field(
        DEFAULT_TIME_FIELD,
        description="a custom field with each task's estimate, in minutes (hours when its "
        "name says hours)",
    )
    template: MessageTemplates | None = None

    @field_validator("period")
    @classmethod
    def _period(cls, period: Duration | None) -> Duration | None:
        if period is not None and (period.unit in ("minutes", "business_days")):
            raise ValueError(f"write the period in hours, days or weeks (got {period})")
        return period

    @field_validator("due_soon")
    @classmethod
    def _whole_days(cls, due_soon: Duration) -> Duration:
        if due_soon.unit not in ("days", "weeks"):
            raise ValueError(f"write due_soon in days or weeks (got {due_soon})")
        return due_soon

    @property
    def cron(self) -> Cron:
        return Cron.parse(self.schedule)

    @property
    def due_soon_days(self) -> int:
        return self.due_soon.timedelta().days


class DigestSettings(Strict):
    """Each assistant's digest: when (in the assistant's time zone), where, and how it reads."""

    schedule: ScheduleText = Field(description="cron, in each assistant's time zone")
    to: Destinations
    send_empty: bool = Field(
        False, description="send a digest even when nothing is new, due today or overdue"
    )
    template: MessageTemplates | None = None

    @property
    def cron(self) -> Cron:
        return Cron.parse(self.schedule)


AssistantKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$")]


class FileHead(Strict):
    """Everything in a client file but the rules, which are validated one by one."""

    version: Literal[1]
    client: Client
    watch: list[WatchSource] = Field(min_length=1)
    poll: DurationText = Field(Duration(5, "minutes"), description="at least 1m")
    assistants: dict[AssistantKey, Assistant] = Field(default_factory=dict)
    matrix: Matrix = Field(default_factory=Matrix)
    summary: SummarySettings | None = Field(None, description="the client's scheduled summary")
    digest: DigestSettings | None = Field(None, description="each assistant's scheduled digest")
    bounce: BounceSettings = Field(
        default_factory=BounceSettings,
        description='how an assistant says "not for me" about a delegated task',
    )
    rules: list[Any] = Field(default_factory=list)

    @property
    def bounce_commands(self) -> tuple[str, ...]:
        """The words a bouncing comment may start with: the file's ``bounce.command``; when the
        file writes none, the client's language's ("non fa per me" in Italian, and "not for me"
        too); none for ``command: null``."""
        if "command" in self.bounce.model_fields_set:
            return (self.bounce.command,) if self.bounce.command else ()
        return BOUNCE_COMMANDS[self.client.voice.language]

    @field_validator("poll")
    @classmethod
    def _often_enough(cls, poll: Duration) -> Duration:
        if poll.unit == "business_days" or poll.timedelta().total_seconds() < 60:
            raise ValueError(f"poll every 1m or more, in m, h or d (got {poll})")
        return poll


class RuleFile(FileHead):
    """A client's rule file (version 1)."""

    model_config = ConfigDict(title="delegator rule file", extra="forbid", frozen=True)

    rules: list[Rule] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a rule file, for editors and the YAML language server."""
    schema = RuleFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    definitions = schema["$defs"]
    definitions["Condition"] = _one_key_schema(
        definitions, "Condition", CONDITION_MODELS, list_means_all=True
    )
    definitions["Action"] = _one_key_schema(definitions, "Action", ACTION_MODELS)
    schema["$defs"] = dict(sorted(definitions.items()))
    return schema


def _one_key_schema(
    definitions: dict[str, Any],
    name: str,
    models: tuple[type[OneKey], ...],
    *,
    list_means_all: bool = False,
) -> dict[str, Any]:
    """A union of one-key models as editors best complete it: one mapping, a key per kind.

    pydantic writes the union as ``oneOf`` its members; folded into one mapping of at most one
    key, an editor offers every kind as a key and names the wrong one.
    """
    description = f"One {models[0].family}: a mapping with exactly one key naming its kind."
    properties: dict[str, Any] = {}
    for model in models:
        member = definitions.pop(model.__name__)
        ((key, value),) = member["properties"].items()
        title = value.pop("title", None)
        alternatives = value["anyOf"] if list(value) == ["anyOf"] else [value]
        properties[key] = {"anyOf": [*alternatives, {"type": "null"}], "default": None}
        if title is not None:
            properties[key]["title"] = title
    mapping = {
        "additionalProperties": False,
        "description": description,
        "maxProperties": 1,
        "minProperties": 1,
        "properties": properties,
        "title": name,
        "type": "object",
    }
    if not list_means_all:
        return mapping
    shorthand = {"items": {}, "minItems": 1, "type": "array"}  # a list means all of them
    return {"anyOf": [shorthand, mapping], "description": description, "title": name}
