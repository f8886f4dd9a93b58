"""A client file's text -> validated rules and every error in it, located.

Validation happens in layers so a person sees all mistakes at once and the service loses as
little as possible: the file's head (client, watch, assistants, matrix) is validated as a whole,
each rule on its own, then the cross-references (assistants named in pools, duplicate rule names,
comment templates). A rule with errors is left out and the others are kept; a head with errors
makes the file unusable, since the service would not know whose workspace it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from delegator.core.diagnostics import RuleError, make_error, translate, without_echoes
from delegator.core.schema import (
    Action,
    AllCondition,
    AnyCondition,
    AssignAction,
    AssigneeCondition,
    CommentAction,
    Condition,
    DigestSettings,
    FileHead,
    FollowAction,
    NotCondition,
    QuadrantCondition,
    Rule,
    SummarySettings,
)
from delegator.core.suggest import did_you_mean
from delegator.core.summary_render import PARTS, Kind, compile_message_template
from delegator.core.templates import TemplateError, compile_template
from delegator.core.yamlpos import Document, Path, YamlSyntaxError, load

_RULE = TypeAdapter(Rule)
_CONDITION = TypeAdapter(Condition)
_ACTION = TypeAdapter(Action)
ASSIGNEE_WORDS = ("owner", "none", "any")
PROGRESS_EVERY = 500
FOLLOW_WORDS = ("owner",)


@dataclass(frozen=True, slots=True)
class NumberedRule:
    """A valid rule and its place in the file (``rules[index]``)."""

    index: int
    rule: Rule

    @property
    def path(self) -> Path:
        return ("rules", self.index)


@dataclass(frozen=True, slots=True)
class ClientFile:
    """What a client file yields: its head, its valid rules, and every error found."""

    source: str
    head: FileHead | None
    rules: tuple[NumberedRule, ...]
    errors: tuple[RuleError, ...]
    left_out: tuple[tuple[int, str], ...] = ()  # rules with errors: (index, name)

    @property
    def usable(self) -> bool:
        """Whether the service can run this client (possibly without some rules)."""
        return self.head is not None

    @property
    def valid(self) -> bool:
        return not self.errors


def is_gid(text: str) -> bool:
    return text.isdigit()


def is_email(text: str) -> bool:
    return "@" in text and "." in text.rsplit("@", 1)[-1]


def parse_client_file(
    text: str, source: str, progress: Callable[[int, int], None] | None = None
) -> ClientFile:
    """Validate the text of one client file (``source`` names it in errors).

    ``progress`` is told (rules checked, rules in all) every ``PROGRESS_EVERY`` rules.
    """
    try:
        document = load(text)
    except YamlSyntaxError as exc:
        error = make_error(source, exc.position, (), exc.message)
        return ClientFile(source, None, (), (error,))
    errors = [make_error(source, p.position, p.path, p.message) for p in document.problems]
    # A value YAML could not make (a bad date, `!!int abc`) is kept as the text written; what
    # holds it cannot be trusted: its rule is left out, a head with one makes the file unusable.
    bad_rules: set[int] = set()
    bad_blocks: set[str] = set()
    bad_head = False
    for problem in document.problems:
        where = problem.path
        if len(where) >= 2 and where[0] == "rules" and isinstance(where[1], int):
            bad_rules.add(where[1])
        elif where and where[0] in _MESSAGES:
            bad_blocks.add(str(where[0]))
        else:
            bad_head = True
    data = document.data
    if data is None:
        errors.append(make_error(source, document.position_of(()), (), "the file is empty"))
        return ClientFile(source, None, (), tuple(errors))
    if not isinstance(data, dict):
        errors.append(
            make_error(source, document.position_of(()), (), "a client file is a mapping of keys")
        )
        return ClientFile(source, None, (), tuple(errors))

    head: FileHead | None = None
    try:
        # Summaries and digests are validated on their own: a mistake there is reported but
        # must not stop the delegation itself.
        head = FileHead.model_validate({k: v for k, v in data.items() if k not in _MESSAGES})
    except ValidationError as exc:
        errors.extend(translate(exc, FileHead, document, source))
    if bad_head:
        head = None
    if head is not None:
        matrix_errors = _check_matrix(head, document, source)
        if matrix_errors:
            errors.extend(matrix_errors)
            head = None  # the quadrants cannot be computed: no rule can run
    messages, message_errors = _validate_messages(data, head, document, source)
    errors.extend(message_errors)
    messages = {key: block for key, block in messages.items() if key not in bad_blocks}
    if head is not None and messages:
        head = head.model_copy(update=messages)

    raw_rules = data.get("rules")
    rules: list[NumberedRule] = []
    left_out: list[tuple[int, str]] = []
    if isinstance(raw_rules, list):
        assistants = _assistant_skills(head, data)
        names: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            if progress is not None and index % PROGRESS_EVERY == 0 and index:
                progress(index, len(raw_rules))
            path: Path = ("rules", index)
            rule, rule_errors = _validate_rule(raw, path, assistants, document, source)
            name = raw.get("name") if isinstance(raw, dict) else None
            if isinstance(name, str | int) and not isinstance(name, bool):
                key = str(name).strip().casefold()
                if key in names:
                    rule_errors.append(
                        make_error(
                            source,
                            document.position_of((*path, "name")),
                            (*path, "name"),
                            f"duplicate rule name '{name}' (also rules[{names[key]}])",
                        )
                    )
                else:
                    names[key] = index
            if rule is not None and not rule_errors and index not in bad_rules:
                rules.append(NumberedRule(index, rule))
            else:
                left_out.append((index, str(name) if name is not None else f"rules[{index}]"))
                errors.extend(rule_errors)
    return ClientFile(source, head, tuple(rules), without_echoes(errors, document), tuple(left_out))


def _assistant_skills(head: FileHead | None, data: Mapping[str, Any]) -> dict[str, set[str]]:
    if head is not None:
        return {key: set(a.skills) for key, a in head.assistants.items()}
    raw = data.get("assistants")
    if not isinstance(raw, dict):
        return {}
    out: dict[str, set[str]] = {}
    for key, value in raw.items():
        skills = value.get("skills") if isinstance(value, dict) else None
        out[str(key)] = {str(s) for s in skills} if isinstance(skills, list) else set()
    return out


def walk_conditions(condition: Condition, path: Path) -> Iterator[tuple[Condition, Path]]:
    """Every condition in a tree with its path (``when/all/2/not``...), parents first."""
    yield condition, path
    match condition:
        case AllCondition(all=children) | AnyCondition(any=children):
            for i, child in enumerate(children):
                yield from walk_conditions(child, (*path, condition.kind, i))
        case NotCondition(not_=child):
            yield from walk_conditions(child, (*path, "not"))


def _check_matrix(head: FileHead, document: Document, source: str) -> list[RuleError]:
    errors = []
    for part in ("urgent", "important"):
        condition = getattr(head.matrix, part)
        if condition is None:
            continue
        for node, path in walk_conditions(condition, ("matrix", part)):
            if isinstance(node, QuadrantCondition):
                errors.append(
                    make_error(
                        source,
                        document.position_of(path),
                        path,
                        "the matrix defines the quadrants, so it cannot use the quadrant condition",
                    )
                )
    return errors


_MESSAGES: dict[str, type[SummarySettings] | type[DigestSettings]] = {
    "summary": SummarySettings,
    "digest": DigestSettings,
}


def _validate_messages(
    data: Mapping[str, Any], head: FileHead | None, document: Document, source: str
) -> tuple[dict[str, SummarySettings | DigestSettings], list[RuleError]]:
    """The summary: and digest: blocks; an invalid block is left out, a bad template dropped."""
    blocks: dict[str, SummarySettings | DigestSettings] = {}
    errors: list[RuleError] = []
    for key, model in _MESSAGES.items():
        if key not in data:
            continue
        try:
            block = model.model_validate(data[key] if data[key] is not None else {})
        except ValidationError as exc:
            errors.extend(translate(exc, model, document, source, (key,)))
            continue
        block_errors, broken = _check_messages(key, block, head, document, source)
        errors.extend(block_errors)
        if broken and block.template is not None:
            kept: dict[str, str | None] = {
                p: None if p in broken else getattr(block.template, p) for p in PARTS
            }
            template = None if all(v is None for v in kept.values()) else block.template
            if template is not None:
                template = template.model_copy(update=kept)
            block = block.model_copy(update={"template": template})
        blocks[key] = block
    return blocks, errors


def _check_messages(
    key: str,
    block: SummarySettings | DigestSettings,
    head: FileHead | None,
    document: Document,
    source: str,
) -> tuple[list[RuleError], set[str]]:
    """Destinations that make no sense for this block, and templates that do not compile."""
    errors: list[RuleError] = []

    def add(where: Path, message: str) -> None:
        if where not in document.values and where[:-1] in document.values:
            where = where[:-1]
        errors.append(make_error(source, document.position_of(where), where, message))

    for i, destination in enumerate(block.to):
        where: Path = (key, "to", i, destination.kind)
        if (key, "to", i) not in document.values:
            where = (key, "to", destination.kind)  # to: written as one mapping
        if key == "summary" and destination.email is not None and destination.email.to_assistant:
            add(
                where,
                "email: assistant sends each assistant their own digest: in summary:, write "
                "the client's addresses",
            )
        if key == "digest" and destination.asana_status is not None:
            add(
                where,
                "a project status update is for the client's summary: send digests with "
                "asana_task, email or webhook",
            )
        if key == "digest" and destination.email is not None and destination.email.to_assistant:
            without = sorted(
                k for k, a in (head.assistants.items() if head else ()) if not is_email(a.user)
            )
            if without:
                add(
                    where,
                    f"email: assistant needs each assistant's email as their user, and "
                    f"{', '.join(without)} {'has' if len(without) == 1 else 'have'} none",
                )
    broken: set[str] = set()
    if block.template is not None:
        kind: Kind = "summary" if key == "summary" else "digest"
        for part in PARTS:
            text = getattr(block.template, part)
            if text is None:
                continue
            try:
                compile_message_template(text, kind, part)
            except TemplateError as exc:
                broken.add(part)
                add((key, "template", part), f"{exc} (template line {exc.line})")
    return errors, broken


def _person_problem(value: str, assistants: Mapping[str, set[str]], words: tuple[str, ...]) -> str:
    if value in assistants or value in words or is_gid(value) or is_email(value):
        return ""
    choices = [*words, *assistants]
    return f"unknown assistant '{value}'{did_you_mean(value, choices)}: use " + ", ".join(
        [*words, "an assistant key", "an email or a user gid"]
    )


def _validate_rule(
    raw: Any,
    path: Path,
    assistants: Mapping[str, set[str]],
    document: Document,
    source: str,
) -> tuple[Rule | None, list[RuleError]]:
    """Validate one rule; its conditions and each action on their own, so every error shows."""
    try:
        rule = _RULE.validate_python(raw)
    except ValidationError as exc:
        whole = exc
    else:
        return rule, _check_rule(rule, path, assistants, document, source)
    if not isinstance(raw, dict):
        return None, translate(whole, Rule, document, source, path)
    errors: list[RuleError] = []
    # Everything but when/then, validated with placeholders, then each part on its own. The
    # actions that are valid stay (a rule-level check reads them: expect needs an assign, its
    # done_within agrees with the due the rule sets); an assign that is not is a placeholder one.
    kept: list[Any] = []
    then = raw.get("then")
    for item in then if isinstance(then, list) else []:
        try:
            _ACTION.validate_python(item)
        except ValidationError:
            if isinstance(item, dict) and "assign" in item:
                kept.append({"assign": "x"})
        else:
            kept.append(item)
    shell = {
        **raw,
        "when": {"completed": False},
        "then": raw.get("then") and (kept or [{"tag": "x"}]),
    }
    if "when" not in raw:
        shell.pop("when")
    if "then" not in raw:
        shell.pop("then")
    try:
        _RULE.validate_python(shell)
    except ValidationError as exc:
        errors.extend(translate(exc, Rule, document, source, path))
    parts: dict[str, Any] = {}
    if "when" in raw:
        try:
            parts["when"] = _CONDITION.validate_python(raw["when"])
        except ValidationError as exc:
            errors.extend(translate(exc, Condition, document, source, (*path, "when")))
    actions: list[tuple[int, Action]] = []  # the valid ones, with their place under then:
    if isinstance(raw.get("then"), list):
        for i, item in enumerate(raw["then"]):
            try:
                actions.append((i, _ACTION.validate_python(item)))
            except ValidationError as exc:
                errors.extend(translate(exc, Action, document, source, (*path, "then", i)))
    errors.extend(_check_parts(parts.get("when"), actions, path, assistants, document, source))
    return None, errors


def _check_rule(
    rule: Rule,
    path: Path,
    assistants: Mapping[str, set[str]],
    document: Document,
    source: str,
) -> list[RuleError]:
    then = list(enumerate(rule.then))
    return _check_parts(rule.when, then, path, assistants, document, source)


def _check_parts(
    when: Condition | None,
    then: list[tuple[int, Action]],
    path: Path,
    assistants: Mapping[str, set[str]],
    document: Document,
    source: str,
) -> list[RuleError]:
    """Cross-references of a rule's parts: people, pools, skills, templates.

    ``then`` holds each valid action with its index under ``then:`` in the file.
    """
    errors: list[RuleError] = []

    def add(where: Path, message: str, *, key: bool = False) -> None:
        errors.append(make_error(source, document.position_of(where, key=key), where, message))

    conditions = walk_conditions(when, (*path, "when")) if when is not None else iter(())
    for node, where in conditions:
        if isinstance(node, AssigneeCondition):
            for i, value in enumerate(node.assignee):
                problem = _person_problem(value, assistants, ASSIGNEE_WORDS)
                if problem:
                    item = (*where, "assignee", i)
                    if item not in document.values:
                        item = (*where, "assignee")
                    add(item, problem)
    for i, action in then:
        where = (*path, "then", i, action.kind)
        match action:
            case AssignAction(assign=assign):
                if assign.to is not None:
                    problem = _person_problem(assign.to, assistants, ("owner",))
                    if problem:
                        add((*where, "to") if (*where, "to") in document.values else where, problem)
                for j, key in enumerate(assign.pool or ()):
                    if key not in assistants:
                        hint = did_you_mean(key, assistants)
                        known = ", ".join(assistants) or "none are defined under assistants:"
                        add(
                            (*where, "pool", j),
                            f"unknown assistant '{key}'{hint} (assistants: {known})",
                        )
                if assign.skill is not None and assign.pool:
                    pool_skills = set().union(*(assistants.get(k, set()) for k in assign.pool))
                    if assign.skill not in pool_skills:
                        listed = ", ".join(sorted(pool_skills)) or "none"
                        add(
                            (*where, "skill"),
                            f"no assistant in the pool has the skill '{assign.skill}'"
                            f"{did_you_mean(assign.skill, pool_skills)} (their skills: {listed})",
                        )
            case FollowAction(follow=people):
                for j, value in enumerate(people):
                    problem = _person_problem(value, assistants, FOLLOW_WORDS)
                    if problem:
                        item = (*where, j) if (*where, j) in document.values else where
                        add(item, problem)
            case CommentAction(comment=text):
                try:
                    compile_template(text)
                except TemplateError as exc:
                    add(where, f"{exc} (template line {exc.line})")
            case _:
                pass
    return errors
