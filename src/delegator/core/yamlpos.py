"""YAML with positions: plain Python data plus where each key and value was written.

Client files are read with PyYAML's safe loader. Besides the data, the loader keeps the line and
column of every mapping key and every value, keyed by the data path (a tuple of keys and list
indices), so that any error found later can point at ``file:line:col``. Duplicate keys, which
PyYAML would silently resolve to the last one, are reported as errors.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a file, 1-based like compilers print it."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class YamlProblem:
    message: str
    position: Position
    path: Path = ()


@dataclass(slots=True)
class Document:
    """Parsed YAML data with the positions of its values and keys."""

    data: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)

    def position_of(self, path: Path, *, key: bool = False) -> Position:
        """The position of the value (or key) at ``path``, or of its nearest known ancestor."""
        probe = path
        while True:
            if key and probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            if not probe:
                return Position(1, 1)
            probe = probe[:-1]
            key = False


class YamlSyntaxError(Exception):
    """The text is not YAML at all: one error, where the parser gave up."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def load(text: str) -> Document:
    """Parse one YAML document, keeping positions; raise YamlSyntaxError when it is not YAML."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            position = Position(mark.line + 1, mark.column + 1) if mark else Position(1, 1)
            problem = exc.problem or exc.context or "cannot be parsed"
            raise YamlSyntaxError(f"not valid YAML: {problem}", position) from exc
        except yaml.YAMLError as exc:
            raise YamlSyntaxError(f"not valid YAML: {exc}", Position(1, 1)) from exc
        document = Document(data=None)
        if node is not None:
            document.data = _build(loader, node, (), document)
        return document
    finally:
        loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, doc: Document) -> Any:
    doc.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                doc.problems.append(
                    YamlProblem("a mapping key must be plain text", _mark(key_node), path)
                )
                continue
            if not isinstance(key, str):
                # `on:`, `yes:`, a number or a date as a key: keep what was written, as text.
                key = str(key_node.value)
            child: Path = (*path, key)
            if key in result:
                first = doc.keys.get(child)
                where = f" (first written at line {first.line})" if first else ""
                doc.problems.append(
                    YamlProblem(f"duplicate key '{key}'{where}", _mark(key_node), child)
                )
                continue
            doc.keys[child] = _mark(key_node)
            result[key] = _build(loader, value_node, child, doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), doc) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def format_path(path: Path) -> str:
    """``('rules', 0, 'when', 'all', 2)`` -> ``rules[0].when.all[2]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def trace_key(path: Path) -> str:
    """``('rules', 0, 'when', 'all', 2)`` -> ``rules/0/when/all/2``, the key of a trace entry."""
    return "/".join(str(part) for part in path)
