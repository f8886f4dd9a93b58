"""YAML with positions: plain Python data plus where each key and value was written.

Client files are read with PyYAML's safe loader, event by event. Besides the data, the loader
keeps the line and column of every mapping key and every value, keyed by the data path (a tuple
of keys and list indices), so that any error found later can point at ``file:line:col``.
Duplicate keys, which PyYAML would silently resolve to the last one, are reported as errors, and
so is a value its tag cannot make (``!!int abc``, the date ``2026-02-30``): the value is kept as
the text written and the error points at it.

The input is bounded (see ``Limits``): the size of the text, how deep it nests, how many values
it holds once aliases are expanded, and how many aliases it uses. A file past a limit is one
located error, found while reading it, so a "billion laughs" file costs no more than its text.
Reading is linear in the size of the text.
"""

from __future__ import annotations

import types
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.reader import ReaderError

Path = tuple[str | int, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_TAG_WORDS = {
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:null": "nothing (null)",
    "tag:yaml.org,2002:timestamp": "a date or a time",
    "tag:yaml.org,2002:binary": "base64 data",
}


@dataclass(frozen=True, slots=True)
class Limits:
    """What one YAML document may hold; past any of these it is refused with one error."""

    max_chars: int = 16 * 1024 * 1024  # a 10,000-rule file is about 4 MB
    max_depth: int = 64  # collections inside collections
    max_nodes: int = 1_000_000  # values, counting what every alias brings in again
    max_aliases: int = 10_000
    max_alias_values: int = 100_000  # values brought in again by aliases, in all


LIMITS = Limits()


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
    # where an alias (or a merged key) stands -> the path its value was written at
    aliases: dict[Path, Path] = field(default_factory=dict)

    def position_of(self, path: Path, *, key: bool = False) -> Position:
        """The position of the value (or key) at ``path``, or of its nearest known ancestor;
        inside an alias, where the value it repeats was written."""
        probe = path
        wanted_key = key
        while True:
            if key and probe in self.keys:
                return self.keys[probe]
            if probe != path and probe in self.aliases:
                return self.position_of((*self.aliases[probe], *path[len(probe) :]), key=wanted_key)
            if probe in self.values:
                return self.values[probe]
            if not probe:
                return Position(1, 1)
            probe = probe[:-1]
            key = False


class YamlSyntaxError(Exception):
    """The text is not YAML at all, or is past a limit: one error, where reading stopped."""

    def __init__(self, message: str, position: Position) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _at(mark: Any) -> Position:
    return Position(mark.line + 1, mark.column + 1) if mark is not None else Position(1, 1)


def _offset_position(text: str, offset: int) -> Position:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return Position(line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def load(text: str, limits: Limits = LIMITS) -> Document:
    """Parse one YAML document, keeping positions; raise YamlSyntaxError when it is not YAML
    or is past one of ``limits``."""
    if len(text) > limits.max_chars:
        raise YamlSyntaxError(
            f"the text is {_size(len(text))}, more than the {_size(limits.max_chars)} "
            "a file may have",
            Position(1, 1),
        )
    loader = _Loader(text)
    try:
        return _Reader(loader, limits).document()
    except YamlSyntaxError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be parsed"
        raise YamlSyntaxError(f"not valid YAML: {problem}", _at(mark)) from None
    except ReaderError as exc:
        position = _offset_position(text, exc.position)
        reason = str(exc.reason)
        if isinstance(exc.character, int) and "#x" not in reason:
            reason = f"the character #x{exc.character:04x}: {reason}"
        raise YamlSyntaxError(f"not valid YAML: {reason}", position) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"not valid YAML: {exc}", Position(1, 1)) from None
    except RecursionError:
        raise YamlSyntaxError("not valid YAML: nested too deeply", Position(1, 1)) from None
    finally:
        loader.dispose()


def _size(chars: int) -> str:
    return f"{chars / (1024 * 1024):.1f} MB" if chars >= 1024 * 1024 else f"{chars:,} characters"


@dataclass(slots=True)
class _Anchor:
    path: Path  # where it was written
    data: Any = None
    raw: str | None = None  # the text written, for a scalar
    size: int = 0  # values, counting what aliases inside it bring in
    closed: bool = False


class _Reader:
    """Builds data and positions from the parser's events (no node graph: linear, bounded)."""

    def __init__(self, loader: yaml.SafeLoader, limits: Limits) -> None:
        self.loader: Any = loader  # the C parser's event methods are untyped
        self.limits = limits
        self.doc = Document(data=None)
        self.anchors: dict[str, _Anchor] = {}
        self.count = 0
        self.aliases = 0
        self.alias_values = 0

    def document(self) -> Document:
        loader = self.loader
        loader.get_event()  # StreamStartEvent
        if not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # DocumentStartEvent
            self.doc.data = self.node((), 0)[0]
            loader.get_event()  # DocumentEndEvent
            if not loader.check_event(yaml.StreamEndEvent):
                event = loader.peek_event()
                raise YamlSyntaxError(
                    "not valid YAML: expected a single document, but found another document",
                    _at(event.start_mark),
                )
        loader.get_event()
        return self.doc

    # positions ----------------------------------------------------------------------------
    def _record(self, path: Path, position: Position, *, key: bool = False) -> None:
        (self.doc.keys if key else self.doc.values)[path] = position

    def _problem(self, message: str, position: Position, path: Path) -> None:
        self.doc.problems.append(YamlProblem(message, position, path))

    def _grow(self, amount: int, position: Position) -> None:
        self.count += amount
        if self.count > self.limits.max_nodes:
            raise YamlSyntaxError(
                f"more than {self.limits.max_nodes:,} values once aliases are expanded: "
                "a file this large (or an alias bomb) is refused",
                position,
            )

    # nodes --------------------------------------------------------------------------------
    def node(self, path: Path, depth: int) -> tuple[Any, str | None]:
        """The next node's data (and the text written, for a scalar)."""
        event = self.loader.get_event()
        position = _at(event.start_mark)
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, path, position)
        anchor_name = event.anchor
        anchor: _Anchor | None = None
        if anchor_name is not None:
            if anchor_name in self.anchors:
                raise YamlSyntaxError(
                    f"not valid YAML: the anchor '{anchor_name}' is defined twice", position
                )
            anchor = _Anchor(path)
            self.anchors[anchor_name] = anchor
        start_count = self.count
        self._record(path, position)
        self._grow(1, position)
        raw: str | None = None
        if isinstance(event, yaml.ScalarEvent):
            data, raw = self._scalar(event, path, position), event.value
        else:
            if depth >= self.limits.max_depth:
                raise YamlSyntaxError(
                    f"nested more than {self.limits.max_depth} levels deep", position
                )
            self._collection_tag(event, path, position)
            if isinstance(event, yaml.SequenceStartEvent):
                data = self._sequence(path, depth)
            else:
                data = self._mapping(path, depth)
        if anchor is not None:
            anchor.data, anchor.raw = data, raw
            anchor.size = self.count - start_count
            anchor.closed = True
        return data, raw

    def _alias(self, event: Any, path: Path, position: Position) -> tuple[Any, str | None]:
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise YamlSyntaxError(
                f"not valid YAML: the alias *{event.anchor} names no anchor written before it",
                position,
            )
        if not anchor.closed:
            raise YamlSyntaxError(
                f"the alias *{event.anchor} is inside the value it names (a loop)", position
            )
        self.aliases += 1
        if self.aliases > self.limits.max_aliases:
            raise YamlSyntaxError(f"more than {self.limits.max_aliases:,} aliases", position)
        self.alias_values += anchor.size
        if self.alias_values > self.limits.max_alias_values:
            raise YamlSyntaxError(
                f"aliases bring in more than {self.limits.max_alias_values:,} values again: "
                "refused (an alias bomb?)",
                position,
            )
        self._grow(anchor.size, position)
        self._record(path, position)
        self.doc.aliases[path] = anchor.path  # the data is shared, not copied
        return anchor.data, anchor.raw

    def _collection_tag(self, event: Any, path: Path, position: Position) -> None:
        tag = event.tag
        if tag is None or tag == "!" or tag in (_MAP, _SEQ):
            return
        self._problem(f"the tag {_short(tag)} is not used in these files", position, path)

    def _scalar(self, event: Any, path: Path, position: Position) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR:
            return value
        constructor = self.loader.yaml_constructors.get(tag)
        if constructor is None or tag in (_MAP, _SEQ, _MERGE):
            self._problem(f"unknown tag {_short(tag)}", position, path)
            return value
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            data = constructor(self.loader, node)
        except Exception as exc:  # a bad value of any kind is the author's error
            self._problem(_cannot_make(value, tag, exc), position, path)
            return value
        if isinstance(data, types.GeneratorType):
            self._problem(f"the tag {_short(tag)} does not fit a single value", position, path)
            return value
        return data

    def _sequence(self, path: Path, depth: int) -> list[Any]:
        loader = self.loader
        items: list[Any] = []
        while not loader.check_event(yaml.SequenceEndEvent):
            items.append(self.node((*path, len(items)), depth + 1)[0])
        loader.get_event()
        return items

    def _mapping(self, path: Path, depth: int) -> dict[Any, Any]:
        loader = self.loader
        result: dict[Any, Any] = {}
        merges: list[tuple[Any, Position, Path]] = []
        while not loader.check_event(yaml.MappingEndEvent):
            key_event = loader.peek_event()
            key_position = _at(key_event.start_mark)
            key = self._key(path, depth)
            if key is _MERGE_KEY:
                where: Path = (*path, "<<")  # positions of what it brings, copied when merged
                merges.append((self.node(where, depth + 1)[0], key_position, where))
                continue
            if key is _NOT_A_KEY:
                self._problem("a mapping key must be plain text", key_position, path)
                self._skip(path, depth)
                continue
            child: Path = (*path, key)
            if key in result:
                first = self.doc.keys.get(child)
                line = f" (first written at line {first.line})" if first else ""
                self._problem(f"duplicate key '{key}'{line}", key_position, child)
                self._skip(path, depth)
                continue
            self._record(child, key_position, key=True)
            result[key] = self.node(child, depth + 1)[0]
        loader.get_event()
        if merges:
            self._merge(result, merges, path)
        return result

    def _key(self, path: Path, depth: int) -> Any:
        event = self.loader.peek_event()
        if isinstance(event, yaml.ScalarEvent):
            self.loader.get_event()
            self._grow(1, _at(event.start_mark))
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
            if tag == _MERGE and event.tag is None:
                return _MERGE_KEY
            # `on:`, `yes:`, a number or a date as a key: keep what was written, as text.
            return event.value
        if isinstance(event, yaml.AliasEvent):
            data, raw = self._alias(self.loader.get_event(), path, _at(event.start_mark))
            if isinstance(data, str):
                return data
            if raw is not None and isinstance(data, Hashable):
                return raw
            return _NOT_A_KEY
        self.node(path, depth + 1)  # a mapping or a list as a key: read it, then refuse it
        return _NOT_A_KEY

    def _skip(self, path: Path, depth: int) -> None:
        """Read a value that is not kept (its key is a duplicate or not text)."""
        self.node((*path, "<<skipped>>"), depth + 1)

    def _merge(
        self, result: dict[Any, Any], merges: list[tuple[Any, Position, Path]], path: Path
    ) -> None:
        """YAML merge keys (``<<: *defaults``): keys written in the mapping win, then the
        merged mappings in the order given."""
        for merged, position, where in merges:
            sources = (
                [(item, (*where, i)) for i, item in enumerate(merged)]
                if isinstance(merged, list)
                else [(merged, where)]
            )
            for source, source_path in sources:
                if not isinstance(source, dict):
                    self._problem(
                        "<< merges a mapping, or a list of mappings, into this one", position, path
                    )
                    continue
                for key, value in source.items():
                    if key in result:
                        continue
                    result[key] = value
                    written: Path = (*source_path, key)
                    self._record((*path, key), self.doc.position_of(written, key=True), key=True)
                    self._record((*path, key), self.doc.position_of(written))
                    self.doc.aliases[(*path, key)] = written


class _Marker:
    pass


_MERGE_KEY = _Marker()
_NOT_A_KEY = _Marker()


def _short(tag: str) -> str:
    return (
        "!!" + tag.removeprefix("tag:yaml.org,2002:")
        if tag.startswith("tag:yaml.org,2002:")
        else tag
    )


def _cannot_make(value: str, tag: str, exc: Exception) -> str:
    shown = value if len(value) <= 40 else value[:37] + "..."
    what = _TAG_WORDS.get(tag, f"a {_short(tag)} value")
    # Python's own words help for a date (day out of range), not for a number.
    reason = str(exc).strip() if tag.endswith(":timestamp") and isinstance(exc, ValueError) else ""
    return f"'{shown}' is not {what}" + (f": {reason}" if reason else "")


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
