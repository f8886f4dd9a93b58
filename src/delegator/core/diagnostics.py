"""Errors in client files, as a compiler prints them: ``file:line:col: key.path: message``.

pydantic reports where in the data a value failed (its ``loc``); this module turns that into the
place in the file the person wrote it, in words a rule author understands, with did-you-mean
hints for mistyped keys and choices. Values under ``client.token`` are never echoed.
"""

from __future__ import annotations

import re
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from typing_extensions import TypeAliasType

from delegator.core.schema import KINDS_OF_FAMILY, UNKNOWN_KIND, OneKey
from delegator.core.suggest import did_you_mean
from delegator.core.yamlpos import Document, Path, Position, format_path


@dataclass(frozen=True, slots=True, order=True)
class RuleError:
    """One problem in a client file, at the place it was written."""

    file: str
    line: int
    column: int
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.key_path}: " if self.key_path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


def make_error(file: str, position: Position, path: Path, message: str) -> RuleError:
    return RuleError(file, position.line, position.column, format_path(path), message)


def without_echoes(errors: list[RuleError], document: Document) -> tuple[RuleError, ...]:
    """Every error once, sorted: where YAML could not make a value (``!!int abc``), that is the
    error shown, not also the schema's complaint about the text kept in its place."""
    problems = {(p.position.line, p.position.column) for p in document.problems}
    yaml_messages = {p.message for p in document.problems}
    return tuple(
        sorted(
            e for e in errors if (e.line, e.column) not in problems or e.message in yaml_messages
        )
    )


# Names a person reads in messages about an unknown key, per model (conditions and actions
# name their family themselves: an unknown key there is an unknown kind).
_UNKNOWN_WHAT = {
    "Assistant": "assistant setting",
    "Client": "client setting",
    "Rule": "rule setting",
    "RuleFile": "top-level key",
    "FileHead": "top-level key",
}

_TYPE_WORDS = {
    "string_type": "text",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "date_type": "a date",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"'{value}'"
    return type(value).__name__


def _unwrap(annotation: Any, tag: Any = None) -> tuple[Any, bool]:
    """The type that holds a value: aliases, ``Annotated`` and ``None`` taken off, a union of
    models narrowed to the member named by ``tag`` (pydantic puts a discriminated union's tag
    in ``loc``); whether ``tag`` was that member's name."""
    while True:
        if isinstance(annotation, TypeAliasType):
            annotation = annotation.__value__
            continue
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [_strip(a) for a in get_args(annotation) if a is not type(None)]
            named = [m for m in members if isinstance(m, type) and m.__name__ == tag]
            if named:
                return named[0], True
            structured = [
                m
                for m in members
                if (isinstance(m, type) and issubclass(m, BaseModel))
                or get_origin(_strip(m)) in (list, dict)
            ]
            annotation = structured[0] if structured else members[0]
        else:
            return annotation, False


def _strip(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _model_at(root: Any, loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model whose mapping holds the last element of ``loc``."""
    current: Any = root
    for part in loc[:-1]:
        current, tag = _unwrap(current, part)
        if tag:
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (
                    f
                    for name, f in current.model_fields.items()
                    if (f.alias or name) == part or name == part
                ),
                None,
            )
            if field is not None:
                current = field.annotation
            continue
        origin = get_origin(current)
        if origin is list and isinstance(part, int):
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
    current, _ = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unknown_key(holder: type[BaseModel] | None) -> tuple[str, list[str]]:
    """What a person calls the mapping an unknown key is in, and the keys it has."""
    if holder is None:
        return "key", []
    if issubclass(holder, OneKey):
        return holder.family, list(KINDS_OF_FAMILY[holder.family])
    return _UNKNOWN_WHAT.get(holder.__name__, "key"), _keys_of(holder)


def _each_unknown_kind(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """A mapping naming no kind: an unknown key error for each of its keys, at the key."""
    out: list[ErrorDetails] = []
    for error in errors:
        if error["type"] != UNKNOWN_KIND:
            out.append(error)
            continue
        out.extend(
            {
                "type": "extra_forbidden",
                "loc": (*error["loc"], key),
                "msg": "unknown key",
                "input": error["input"][key],
            }
            for key in (error.get("ctx") or {}).get("keys", ())
        )
    return out


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[Path, bool]:
    """Follow ``loc`` through the data as written; skip pydantic's own loc entries."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":
            return tuple(path), True
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
            path.append(part)
    return tuple(path), False


def _literal_choices(error: Any) -> list[str]:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return re.findall(r"'([^']*)'", expected) or re.findall(r"(\w+)", expected)


def translate(
    exc: ValidationError,
    model: Any,
    document: Document,
    file: str,
    prefix: Path = (),
) -> list[RuleError]:
    """pydantic's errors for ``model`` (a model or a type such as ``Condition``) validated at
    ``prefix`` of the document -> RuleErrors."""
    data = document.data
    for part in prefix:
        data = data[part]
    seen: dict[Path, RuleError] = {}
    out: list[RuleError] = []
    for error in _each_unknown_kind(exc.errors(include_url=False)):
        loc = tuple(error["loc"])
        rel_path, at_key = _data_path(data, loc)
        path = (*prefix, *rel_path)
        secret = path[:2] == ("client", "token")
        kind = error["type"]
        value = error.get("input")
        key_position = False
        shown_path: Path = path
        if kind == "extra_forbidden":
            key = loc[-1]
            what, choices = _unknown_key(_model_at(model, loc))
            hint = did_you_mean(str(key), choices)
            if not hint and choices:
                hint = f" (expected one of: {', '.join(choices)})"
            message = f"unknown {what} '{key}'{hint}"
            key_position = True
        elif kind == "missing":
            missing = loc[-1]
            message = f"missing required key '{missing}'"
            shown_path = (*path, str(missing))
            key_position = True
        elif kind == "literal_error":
            choices = _literal_choices(error)
            shown = "" if secret else f"{_describe(value)} is not allowed: "
            message = f"{shown}expected one of {', '.join(choices)}"
            if isinstance(value, str):
                message += did_you_mean(value, choices)
        elif kind in ("value_error", "assertion_error"):
            cause = (error.get("ctx") or {}).get("error")
            message = str(cause) if cause is not None else error["msg"]
        elif kind in _TYPE_WORDS:
            got = "" if secret else f", got {_describe(value)}"
            message = f"expected {_TYPE_WORDS[kind]}{got}"
        elif kind in ("too_short", "string_too_short"):
            message = "must not be empty"
        elif kind in ("greater_than_equal", "greater_than"):
            bound = (error.get("ctx") or {}).get("ge", (error.get("ctx") or {}).get("gt"))
            message = f"must be at least {bound}" + ("" if secret else f", got {_describe(value)}")
        elif kind == "string_pattern_mismatch" and at_key:
            message = (
                f"invalid key {_describe(loc[-2]) if len(loc) > 1 else ''}: use lower-case letters, "
                "digits, - and _, starting with a letter"
            )
            key_position = True
        else:
            message = error["msg"]
        position = document.position_of(path, key=key_position or at_key)
        if at_key:
            shown_path = path
        rule_error = make_error(file, position, shown_path, message)
        # A value that matches no member of a union is reported once per member: keep one.
        previous = seen.get(path)
        if previous is not None and kind in _TYPE_WORDS:
            merged = _merge_type_errors(previous, rule_error)
            out[out.index(previous)] = merged
            seen[path] = merged
            continue
        seen[path] = rule_error
        out.append(rule_error)
    return out


def _merge_type_errors(first: RuleError, second: RuleError) -> RuleError:
    words_a = first.message.removeprefix("expected ").split(", got ")
    words_b = second.message.removeprefix("expected ").split(", got ")
    if words_b[0] in words_a[0]:
        return first
    got = f", got {words_a[1]}" if len(words_a) > 1 else ""
    message = f"expected {words_a[0]} or {words_b[0]}{got}"
    return RuleError(first.file, first.line, first.column, first.key_path, message)
