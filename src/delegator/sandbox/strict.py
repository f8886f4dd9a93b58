"""Every request checked against Asana's spec before it is answered: the sandbox is strict.

The table is ``contract.json``, derived from Asana's OpenAPI spec by ``tools/asana_contract.py``
(and kept in step with it by ``tests/contract/test_contract_table.py``). A request Asana would
refuse is answered as Asana answers it, 400 with ``{"errors": [{"message": "<field>: <what>",
"help": ...}]}``, one error per problem. Only what Asana refuses is refused: a body field the
spec does not name is ignored, as Asana ignores it.

Each kind of check has a name; a test that needs the sandbox to accept something Asana would
refuse asks for it by name, ``SandboxServer(..., lenient={"html_text"})``:

- ``unknown_parameters``: a query parameter the operation does not declare;
- ``parameter_values``: a query parameter of the wrong type, outside its enum or range
  (``limit`` 1..100), or a required one missing;
- ``opt_fields``: an ``opt_fields`` value outside the operation's enum;
- ``required_fields``: a body field the spec requires, missing (status updates need ``text``);
- ``field_values``: a body field of the wrong type, ``null`` where not nullable, outside its enum;
- ``html_text``: rich text (``html_text``, ``html_notes``) that is not Asana's XML: not well
  formed, a root other than ``<body>``, a tag outside Asana's list, an unknown link attribute.

Refusals are recorded in the server's request log (``RequestLog.refusals()``) and told to
whoever :func:`watch` es, so a test suite can fail a test that was refused without expecting it.
"""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Final

from delegator.sandbox.errors import InvalidRequestError

if TYPE_CHECKING:
    from delegator.sandbox.batch import Action
    from delegator.sandbox.requestlog import RequestLog

CHECKS: Final = frozenset(
    {
        "unknown_parameters",
        "parameter_values",
        "opt_fields",
        "required_fields",
        "field_values",
        "html_text",
    }
)
"""The names ``lenient=`` takes."""

# Asana's rich text (developers.asana.com/docs/rich-text): the tags it reads and writes, the
# root <body>, and the attributes a link may carry (an @-mention is <a data-asana-gid="..."/>).
RICH_TEXT_TAGS: Final = frozenset(
    {
        "body",
        "strong",
        "em",
        "u",
        "s",
        "code",
        "ol",
        "ul",
        "li",
        "a",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "hr",
        "img",
        "table",
        "tr",
        "td",
    }
)
LINK_ATTRIBUTES: Final = frozenset(
    {
        "href",
        "data-asana-gid",
        "data-asana-project",
        "data-asana-accessible",
        "data-asana-dynamic",
        "data-asana-type",
    }
)
RICH_TEXT_FIELDS: Final = ("html_text", "html_notes")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request refused because Asana's spec refuses it."""

    method: str
    path: str
    endpoint: str  # "METHOD /template"
    messages: tuple[str, ...]
    in_batch: bool = False

    def __str__(self) -> str:
        where = " (in a batch)" if self.in_batch else ""
        return f"{self.method} {self.path}{where}: {'; '.join(self.messages)}"


_watchers: list[Callable[[Refusal], None]] = []
_watchers_lock = threading.Lock()


@contextmanager
def watch() -> Iterator[list[Refusal]]:
    """Collect every refusal any sandbox in this process makes while the block runs."""
    seen: list[Refusal] = []
    with _watchers_lock:
        _watchers.append(seen.append)
    try:
        yield seen
    finally:
        with _watchers_lock:
            _watchers.remove(seen.append)


@cache
def contract() -> dict[str, Any]:
    """The table derived from the spec (``contract.json`` beside this module)."""
    text = resources.files("delegator.sandbox").joinpath("contract.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


@cache
def _templates() -> list[tuple[str, str, re.Pattern[str]]]:
    found = []
    for key in contract()["operations"]:
        method, template = key.split(" ", 1)
        regex = re.sub(r"\\{\w+\\}", "[^/]+", re.escape(template))
        found.append((method, template, re.compile(f"^{regex}$")))
    # Literal segments before parameters: /users/me/... is not /users/{user_gid} by accident.
    found.sort(key=lambda item: item[1].count("{"))
    return found


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The contract entry of a request: ``("GET /tasks/{task_gid}", entry)``."""
    for own, template, pattern in _templates():
        if own == method and pattern.match(path):
            key = f"{method} {template}"
            return key, contract()["operations"][key]
    return None


class Strictness:
    """The checks one server makes (all of them, less those named ``lenient``)."""

    def __init__(self, lenient: Iterable[str] = (), log: RequestLog | None = None) -> None:
        names = frozenset(lenient)
        unknown = names - CHECKS
        if unknown:
            raise ValueError(
                f"unknown leniency {sorted(unknown)}: the checks are {', '.join(sorted(CHECKS))}"
            )
        self.lenient = names
        self.log = log

    def screen(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Any,
        actions: list[Action | InvalidRequestError] | None,
    ) -> list[Action | InvalidRequestError] | None:
        """Refuse the request (raise) or, for a batch, each action Asana would refuse."""
        problems = self.problems(method, path, query, body)
        if problems:
            self._refused(Refusal(method, path, _key(method, path), tuple(problems)))
            raise InvalidRequestError(*problems)
        if actions is None:
            return None
        screened: list[Action | InvalidRequestError] = []
        for action in actions:
            if isinstance(action, InvalidRequestError):
                screened.append(action)
                continue
            found = self.problems(action.method, action.path, action.query, action.body)
            if found:
                refusal = Refusal(
                    action.method,
                    action.path,
                    _key(action.method, action.path),
                    tuple(found),
                    in_batch=True,
                )
                self._refused(refusal)
                screened.append(InvalidRequestError(*found))
            else:
                screened.append(action)
        return screened

    def problems(self, method: str, path: str, query: Mapping[str, str], body: Any) -> list[str]:
        """What Asana would refuse in this request ("<field>: <what>" each); [] when nothing."""
        found = operation_of(method, path)
        if found is None:
            return []  # no route: the dispatcher answers 404
        _, entry = found
        problems = self._query(entry, query)
        if "body" in entry and isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
            problems += self._body(entry["body"], body["data"])
        return problems

    # ------------------------------------------------------------------ query
    def _query(self, entry: Mapping[str, Any], query: Mapping[str, str]) -> list[str]:
        declared = {n: p for n, p in entry["parameters"].items() if p["in"] == "query"}
        problems: list[str] = []
        if "unknown_parameters" not in self.lenient:
            problems += [
                f"{name}: Unknown parameter for this endpoint"
                for name in sorted(query)
                if name not in declared
            ]
        if "parameter_values" not in self.lenient:
            for name, spec in sorted(declared.items()):
                if name not in query:
                    if spec.get("required"):
                        problems.append(f"{name}: Missing input")
                    continue
                if name != "opt_fields":
                    problems += _parameter(name, spec, query[name])
        if "opt_fields" not in self.lenient and query.get("opt_fields") and entry["opt_fields"]:
            allowed = {*entry["opt_fields"], *entry.get("opt_fields_undeclared", ())}
            unknown = [
                f.strip() for f in query["opt_fields"].split(",") if f.strip() not in allowed
            ]
            problems += [f"opt_fields: Unknown field: {name}" for name in unknown if name]
        return problems

    # ------------------------------------------------------------------ body
    def _body(self, spec: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        if "required_fields" not in self.lenient:
            problems += [f"{name}: Missing input" for name in spec["required"] if name not in data]
        fields: Mapping[str, Any] = spec["fields"]
        for name in sorted(data):
            field = fields.get(name)
            if field is None:
                continue  # Asana ignores a field its schema does not name
            value = data[name]
            if "field_values" not in self.lenient:
                problems += _field(name, field, value)
            if (
                "html_text" not in self.lenient
                and name in RICH_TEXT_FIELDS
                and isinstance(value, str)
            ):
                problems += [f"{name}: {why}" for why in rich_text_problems(value)]
        return problems

    def _refused(self, refusal: Refusal) -> None:
        if self.log is not None:
            self.log.refused(refusal)
        with _watchers_lock:
            watchers = list(_watchers)
        for watcher in watchers:
            watcher(refusal)


def _key(method: str, path: str) -> str:
    found = operation_of(method, path)
    return found[0] if found else f"{method} {path}"


def _parameter(name: str, spec: Mapping[str, Any], raw: str) -> list[str]:
    kind = spec.get("type", "string")
    value: Any = raw
    if raw == "" and spec.get("allow_empty"):
        return []
    if kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            return [f"{name}: Not a valid integer: {raw}"]
    elif kind == "boolean" and raw not in ("true", "false"):
        return [f"{name}: Not a boolean (true or false): {raw}"]
    if "enum" in spec and value not in spec["enum"]:
        return [f"{name}: Not one of {', '.join(map(str, spec['enum']))}: {raw}"]
    low, high = spec.get("minimum"), spec.get("maximum")
    if kind == "integer" and (
        (low is not None and value < low) or (high is not None and value > high)
    ):
        return [f"{name}: Must be between {low} and {high}, got {value}"]
    return []


_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, Mapping),
}


def _field(name: str, spec: Mapping[str, Any], value: Any) -> list[str]:
    if value is None:
        return [] if spec.get("nullable") else [f"{name}: Cannot be null"]
    kind = spec.get("type")
    if kind is not None and not _TYPES.get(kind, lambda _: True)(value):
        return [f"{name}: Not a{'n' if kind[0] in 'aeiou' else ''} {kind}: {value!r}"]
    items = spec.get("items")
    if kind == "array" and items is not None:
        check = _TYPES.get(items, lambda _: True)
        if not all(check(item) for item in value):
            return [f"{name}: Every item must be a {items}"]
    if "enum" in spec and value not in spec["enum"]:
        return [f"{name}: Not one of {', '.join(map(str, spec['enum']))}: {value!r}"]
    return []


def rich_text_problems(text: str) -> list[str]:
    """Why Asana would refuse this rich text ([] when it is well-formed ``<body>`` XML in its tags)."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        return ["Rich text may not declare a document type or entities"]
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - no DTD or entities reach the parser
    except ElementTree.ParseError as error:
        return [f"Not valid XML ({error}): rich text is XML with a <body> root"]
    problems: list[str] = []
    if root.tag != "body":
        problems.append(f"The root element must be <body>, not <{root.tag}>")
    unknown = sorted({element.tag for element in root.iter()} - RICH_TEXT_TAGS)
    problems += [f"Unsupported tag <{tag}>" for tag in unknown]
    for element in root.iter("a"):
        bad = sorted(set(element.attrib) - LINK_ATTRIBUTES)
        problems += [f"Unsupported attribute {name} on <a>" for name in bad]
    return problems


def describe(refusals: Sequence[Refusal]) -> str:
    return "\n".join(f"  {refusal}" for refusal in refusals)
