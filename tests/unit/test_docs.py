"""The rules reference stays true: its examples, its schema file and the example rule files.

Every ```yaml block of docs/rules.md and every file under examples goes through the real
validator. What a block is decides how it is validated: a whole file (it has ``version``), part of
a file (only top-level keys: merged into a minimal file), a rule (``when``/``then``), a condition,
an action (both checked alone and inside a minimal file, which catches unknown assistants and
template variables), or a rule test file (``cases``). A block fenced as ```yaml broken must fail.
Test ids name the file and line of the block, so a failure points at the doc.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from delegator.core.diagnostics import RuleError
from delegator.core.engine import Engine
from delegator.core.matrix import DEFAULT_IMPORTANT, DEFAULT_URGENT
from delegator.core.rulefile import ClientFile, parse_client_file, walk_conditions
from delegator.core.ruletests import parse_test_file, run_cases
from delegator.core.schema import (
    ACTION_KINDS,
    CONDITION_KINDS,
    Action,
    Assignment,
    Assistant,
    Client,
    Condition,
    FileHead,
    Rule,
    json_schema,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "rules.md"
SCHEMA_FILE = DOCS / "rules.schema.json"
EXAMPLES = ROOT / "examples"
REGENERATE = "run `delegator schema > docs/rules.schema.json` and commit the result"

_CONDITION = TypeAdapter(Condition)
_ACTION = TypeAdapter(Action)

# A minimal valid client file that fragments are embedded in; pools may name these assistants.
BASE_FILE: dict[str, Any] = {
    "version": 1,
    "client": {
        "name": "Docs",
        "workspace": "1200000000000001",
        "token": {"env": "ASANA_TOKEN_DOCS"},
        "timezone": "Europe/Rome",
    },
    "watch": ["my_tasks"],
    "assistants": {
        "giulia": {"user": "giulia@va-agency.example", "skills": ["admin", "booking"]},
        "marco": {"user": "marco@va-agency.example", "skills": ["admin", "inbox"]},
        "sam": {"user": "1200000000042", "skills": ["admin", "travel"]},
    },
}
HEAD_KEYS = frozenset({"client", "watch", "poll", "assistants", "matrix", "rules"})


# ----------------------------------------------------------------------------- reading the docs


@dataclass(frozen=True)
class Block:
    """A fenced block of a Markdown file: ``line`` is the line of its opening fence."""

    source: str
    line: int
    lang: str
    flags: tuple[str, ...]
    text: str

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def broken(self) -> bool:
        return "broken" in self.flags

    @property
    def header(self) -> str | None:
        """The file a block stands for, from a first line such as ``# rules/acme.yaml``."""
        first = self.text.split("\n", 1)[0]
        found = re.fullmatch(r"#\s*(\S+\.ya?ml)\s*", first)
        return found.group(1) if found else None


_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^`]*)$")


def read_blocks(path: Path) -> list[Block]:
    source = path.relative_to(ROOT).as_posix()
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = len(opening["indent"])
        words = opening["info"].split()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            line = lines[j]
            body.append(line[indent:] if not line[:indent].strip() else line.lstrip())
            j += 1
        assert j < len(lines), f"{source}:{i + 1}: a fenced block is never closed"
        lang = words[0] if words else ""
        blocks.append(Block(source, i + 1, lang, tuple(words[1:]), "\n".join(body) + "\n"))
        i = j + 1
    return blocks


# The documents written for rule authors (others, like docs/sandbox.md, show other YAML).
DOC_FILES = [REFERENCE]
ALL_BLOCKS = [block for doc in DOC_FILES for block in read_blocks(doc)]
YAML_BLOCKS = [b for b in ALL_BLOCKS if b.lang in ("yaml", "yml")]
REFERENCE_TEXT = REFERENCE.read_text(encoding="utf-8")


def following(block: Block) -> Block | None:
    """The next fenced block of the same file."""
    later = [b for b in ALL_BLOCKS if b.source == block.source and b.line > block.line]
    return later[0] if later else None


# ----------------------------------------------------------------------------- validating a block


@dataclass
class Outcome:
    """What the validator made of a block: its shape, its errors and the kinds it uses."""

    shape: str
    errors: list[str] = field(default_factory=list)
    conditions: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)


def shapes_of(data: Any) -> tuple[str, ...]:
    """How a parsed block may be read, most likely first; empty when it is none of them."""
    if isinstance(data, list):
        return ("condition",)  # the list shorthand for all:
    if not isinstance(data, dict) or not data:
        return ()
    keys = set(data)
    if "cases" in keys:
        return ("test file",)
    if "version" in keys:
        return ("file",)
    if keys & {"when", "then"}:
        return ("rule",)
    if keys <= HEAD_KEYS:
        return ("file part",)
    candidates = []
    if keys <= set(CONDITION_KINDS):
        candidates.append("condition")
    if keys <= set(ACTION_KINDS):
        candidates.append("action")
    return tuple(candidates)


def _pydantic_errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)]


def _kinds_of(loaded: ClientFile, outcome: Outcome) -> None:
    head = loaded.head
    if head is not None:
        for part in ("urgent", "important"):
            condition = getattr(head.matrix, part)
            if condition is not None:
                outcome.conditions |= {c.kind for c, _ in walk_conditions(condition, ())}
    for numbered in loaded.rules:
        outcome.conditions |= {c.kind for c, _ in walk_conditions(numbered.rule.when, ())}
        outcome.actions |= {a.kind for a in numbered.rule.then}


def _in_doc(errors: tuple[RuleError, ...] | list[RuleError], block: Block) -> list[str]:
    """Errors of a block's text, at their line in the doc."""
    return [
        str(RuleError(block.source, block.line + e.line, e.column, e.key_path, e.message))
        for e in errors
    ]


def _as_file(data: dict[str, Any], shape: str) -> Outcome:
    """A fragment embedded in a minimal file: its errors by key path (lines would not help)."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    loaded = parse_client_file(text, "minimal file")
    outcome = Outcome(shape, [f"{e.key_path}: {e.message}" for e in loaded.errors])
    _kinds_of(loaded, outcome)
    return outcome


def validate_as(shape: str, block: Block, data: Any) -> Outcome:
    if shape == "file":
        loaded = parse_client_file(block.text, block.source)
        outcome = Outcome(shape, _in_doc(loaded.errors, block))
        _kinds_of(loaded, outcome)
        return outcome
    if shape == "test file":
        parsed, errors, _ = parse_test_file(block.text, block.source)
        problems = _in_doc(errors, block)
        return Outcome(shape, problems or ([] if parsed else ["the test file is not understood"]))
    if shape == "file part":
        return _as_file({**BASE_FILE, **data}, shape)
    if shape == "rule":
        return _as_file({**BASE_FILE, "rules": [data]}, shape)
    adapter, rule = (
        (_CONDITION, {"name": "docs", "when": data, "then": [{"tag": "docs"}]})
        if shape == "condition"
        else (_ACTION, {"name": "docs", "when": {"completed": False}, "then": [data]})
    )
    try:
        adapter.validate_python(data)
    except ValidationError as exc:
        return Outcome(shape, _pydantic_errors(exc))
    # Alone it is valid; inside a file the people, pools, skills and templates are checked too.
    outcome = _as_file({**BASE_FILE, "rules": [rule]}, shape)
    if shape == "condition":
        outcome.actions.clear()
    else:
        outcome.conditions.clear()
    return outcome


def validate(block: Block) -> Outcome:
    try:
        data = yaml.safe_load(block.text)
    except yaml.YAMLError as exc:
        return Outcome("not YAML", [str(exc)])
    shapes = shapes_of(data)
    if not shapes:
        return Outcome("")
    outcomes = [validate_as(shape, block, data) for shape in shapes]
    if len(outcomes) == 1:
        return outcomes[0]
    # `tag: x` and `due: ...` are both a condition and an action: valid as either is valid.
    valid = [o for o in outcomes if not o.errors]
    merged = Outcome(" or ".join(o.shape for o in valid or outcomes))
    if not valid:
        merged.errors = [f"as {o.shape}: {e}" for o in outcomes for e in o.errors]
    for outcome in valid:
        merged.conditions |= outcome.conditions
        merged.actions |= outcome.actions
    return merged


def _listing(errors: list[str]) -> str:
    return "\n  ".join(errors)


# ----------------------------------------------------------------------------- (a) examples


def test_the_docs_have_yaml_examples_and_deliberate_mistakes() -> None:
    # Guards the extraction itself: a reference without examples would pass every test below.
    assert REFERENCE in DOC_FILES
    in_reference = [b for b in YAML_BLOCKS if b.source == "docs/rules.md"]
    assert len(in_reference) >= 40, f"only {len(in_reference)} yaml blocks in docs/rules.md"
    assert any(b.broken for b in in_reference), "docs/rules.md shows no `yaml broken` example"
    unknown = [b.where for b in YAML_BLOCKS if set(b.flags) - {"broken"}]
    assert not unknown, f"unknown words after ```yaml (only `broken` is known): {unknown}"


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=[b.where for b in YAML_BLOCKS])
def test_each_yaml_example_in_the_docs_is_judged_as_the_doc_says(block: Block) -> None:
    outcome = validate(block)
    assert outcome.shape, (
        f"{block.where}: cannot tell what this block is: write a whole file (with version:), "
        "top-level keys of a file, a rule (name/when/then), one condition, one action or a "
        f"rule test file (with cases:)\n{block.text}"
    )
    if block.broken:
        assert outcome.errors, (
            f"{block.where}: fenced as ```yaml broken, but the validator accepts it as a "
            f"{outcome.shape}\n{block.text}"
        )
    else:
        assert not outcome.errors, (
            f"{block.where}: invalid {outcome.shape}:\n  {_listing(outcome.errors)}\n{block.text}"
        )


EXAMPLE_FILES = sorted([*EXAMPLES.rglob("*.yaml"), *EXAMPLES.rglob("*.yml")])


def _example_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_there_are_example_rule_files_and_rule_tests() -> None:
    names = [p.name for p in EXAMPLE_FILES]
    assert any(n.endswith(".test.yaml") for n in names), names
    assert any(not n.endswith(".test.yaml") for n in names), names


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[_example_id(p) for p in EXAMPLE_FILES])
def test_each_example_file_validates(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    source = _example_id(path)
    if path.name.endswith((".test.yaml", ".test.yml")):
        parsed, errors, _ = parse_test_file(text, source)
        assert not errors, _listing([str(e) for e in errors])
        assert parsed is not None
        rule_file = path.parent / parsed.rules
        assert rule_file.is_file(), f"{source}: its rule file {parsed.rules} does not exist"
        loaded = parse_client_file(rule_file.read_text(encoding="utf-8"), str(rule_file))
        assert loaded.valid, _listing([str(e) for e in loaded.errors])
    else:
        loaded = parse_client_file(text, source)
        assert not loaded.errors, _listing([str(e) for e in loaded.errors])
        assert loaded.head is not None
        assert loaded.rules, f"{source}: an example without rules shows nothing"


# The output shown after a broken file is what `delegator check` prints for it.

CHECK_OUTPUTS = [
    (block, after)
    for block in YAML_BLOCKS
    if block.broken
    and block.header is not None
    and (after := following(block)) is not None
    and after.lang in ("console", "text")
    and block.header + ":" in after.text
]


def test_the_docs_show_a_real_error_listing() -> None:
    assert CHECK_OUTPUTS, (
        "docs/rules.md should show a broken file (```yaml broken, first line '# rules/NAME.yaml') "
        "followed by the output of `delegator check` on it"
    )


@pytest.mark.parametrize(
    ("block", "output"), CHECK_OUTPUTS, ids=[b.where for b, _ in CHECK_OUTPUTS]
)
def test_error_listings_in_the_docs_are_what_check_prints(block: Block, output: Block) -> None:
    assert block.header is not None
    loaded = parse_client_file(block.text, block.header)
    expected = [str(error) for error in loaded.errors]
    shown = [line for line in output.text.splitlines() if line.startswith(block.header + ":")]
    assert shown == expected, f"{output.where}: update the listing to what check prints"
    count = len(expected)
    summary = f"{count} error{'s' if count != 1 else ''} in 1 file"
    assert summary in output.text, f"{output.where}: the summary line should say '{summary}'"


# The rule tests shown in the docs pass against the rule file shown in the docs.


def _shape(block: Block) -> tuple[str, ...]:
    try:
        return shapes_of(yaml.safe_load(block.text))
    except yaml.YAMLError:
        return ()


NAMED_FILES = {
    b.header: b
    for b in YAML_BLOCKS
    if not b.broken and b.header is not None and _shape(b) == ("file",)
}
TEST_BLOCKS = [b for b in YAML_BLOCKS if not b.broken and _shape(b) == ("test file",)]


def test_the_docs_show_a_rule_test_for_a_rule_file_they_show() -> None:
    assert TEST_BLOCKS, "docs/rules.md shows no rule test file"
    assert NAMED_FILES, "docs/rules.md shows no rule file named by a '# rules/NAME.yaml' line"


@pytest.mark.parametrize("block", TEST_BLOCKS, ids=[b.where for b in TEST_BLOCKS])
def test_rule_tests_in_the_docs_pass(block: Block) -> None:
    source = block.header or "rules/example.test.yaml"
    parsed, errors, lines = parse_test_file(block.text, source)
    assert parsed is not None, _listing([str(e) for e in errors])
    rules_path = posixpath.normpath(posixpath.join(posixpath.dirname(source), parsed.rules))
    assert rules_path in NAMED_FILES, (
        f"{block.where}: 'rules: {parsed.rules}' names {rules_path}, which no ```yaml block "
        f"of the docs starts with '# {rules_path}' (known: {sorted(NAMED_FILES)})"
    )
    loaded = parse_client_file(NAMED_FILES[rules_path].text, rules_path)
    results = run_cases(parsed, Engine(loaded), lines)
    failed = {r.name: r.differences for r in results if not r.passed}
    assert not failed, f"{block.where}: cases that fail: {failed}"
    after = following(block)
    if after is not None and after.lang == "console" and f"PASS {source}:" in after.text:
        shown = [line for line in after.text.splitlines() if line.startswith(("PASS ", "FAIL "))]
        assert shown == [f"PASS {source}:{r.line} {r.name}" for r in results], (
            f"{after.where}: update the listing to what `delegator test` prints"
        )


# ----------------------------------------------------------------------------- (b) schema file


def test_the_committed_schema_is_what_delegator_schema_prints() -> None:
    assert SCHEMA_FILE.is_file(), f"{SCHEMA_FILE.relative_to(ROOT)} is missing: {REGENERATE}"
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json_schema(), f"docs/rules.schema.json is out of date: {REGENERATE}"


def _modelines() -> Iterator[tuple[str, str, str]]:
    """(where, the file it is in, the schema path it names) for every schema modeline."""
    for path in EXAMPLE_FILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "yaml-language-server:" in line:
                yield f"{_example_id(path)}:{number}", _example_id(path), line
    for block in YAML_BLOCKS:
        for line in block.text.splitlines():
            if "yaml-language-server:" in line and block.header is not None:
                yield block.where, block.header, line


MODELINES = list(_modelines())


def test_example_files_point_their_editor_at_the_schema() -> None:
    assert MODELINES, "no '# yaml-language-server: $schema=...' line in the examples"


@pytest.mark.parametrize(("where", "file", "line"), MODELINES, ids=[m[0] for m in MODELINES])
def test_schema_modelines_lead_to_the_committed_schema(where: str, file: str, line: str) -> None:
    found = re.fullmatch(r"#\s*yaml-language-server:\s*\$schema=(\S+)\s*", line.strip())
    assert found, f"{where}: write the modeline as '# yaml-language-server: $schema=PATH'"
    target = posixpath.normpath(posixpath.join(posixpath.dirname(file), found.group(1)))
    assert target == "docs/rules.schema.json", f"{where}: {found.group(1)} leads to {target}"


def test_the_example_files_are_valid_for_editors_too() -> None:
    # Editors validate with the JSON Schema: it must accept what `delegator check` accepts,
    # shorthands included, and refuse an unknown condition.
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if path.name.endswith(".test.yaml"):
            continue
        data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
        problems = ["/".join(map(str, e.absolute_path)) for e in validator.iter_errors(data)]
        assert problems == [], f"{path}: the schema refuses {problems}"
        data["rules"][0]["when"] = {"nmae": {"contains": "x"}}
        assert list(validator.iter_errors(data)), "the schema accepts an unknown condition"


# ----------------------------------------------------------------------------- (c) coverage


def _section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    assert heading in lines, f"docs/rules.md has no heading '{heading}'"
    level = len(heading) - len(heading.lstrip("#"))
    start = lines.index(heading)
    end = len(lines)
    in_fence = False
    for i in range(start + 1, len(lines)):
        if lines[i].lstrip().startswith("```"):
            in_fence = not in_fence
        hashes = len(lines[i]) - len(lines[i].lstrip("#"))
        if not in_fence and 0 < hashes <= level and lines[i][hashes : hashes + 1] == " ":
            end = i
            break
    return "\n".join(lines[start:end])


def _headed_kinds(section: str) -> set[str]:
    headings = [line for line in section.splitlines() if line.startswith("### ")]
    return {word for line in headings for word in re.findall(r"`([a-z_]+)`", line)}


def _exemplified() -> tuple[set[str], set[str]]:
    conditions: set[str] = set()
    actions: set[str] = set()
    for block in YAML_BLOCKS:
        if block.source == "docs/rules.md" and not block.broken:
            outcome = validate(block)
            if not outcome.errors:
                conditions |= outcome.conditions
                actions |= outcome.actions
    return conditions, actions


def test_every_condition_has_a_heading_and_an_example() -> None:
    headed = _headed_kinds(_section(REFERENCE_TEXT, "## Conditions"))
    missing = [k for k in CONDITION_KINDS if k not in headed]
    assert not missing, f"conditions without a ### heading under '## Conditions': {missing}"
    shown, _ = _exemplified()
    missing = [k for k in CONDITION_KINDS if k not in shown]
    assert not missing, f"conditions no valid yaml example in docs/rules.md uses: {missing}"


def test_every_action_has_a_heading_and_an_example() -> None:
    headed = _headed_kinds(_section(REFERENCE_TEXT, "## Actions"))
    missing = [k for k in ACTION_KINDS if k not in headed]
    assert not missing, f"actions without a ### heading under '## Actions': {missing}"
    _, shown = _exemplified()
    missing = [k for k in ACTION_KINDS if k not in shown]
    assert not missing, f"actions no valid yaml example in docs/rules.md uses: {missing}"


def _table_rows(section: str) -> dict[str, str]:
    """First cell (a `key`) -> the whole row, for every Markdown table row of a section."""
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and (key := re.fullmatch(r"`([a-z_]+)`", cells[0])):
            rows.setdefault(key.group(1), line)
    return rows


def _shown_default(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


SETTINGS_TABLES: list[tuple[str, type[BaseModel]]] = [
    ("## The file, key by key", FileHead),
    ("### `client`", Client),
    ("### `assistants`", Assistant),
    ("### `rules`", Rule),
    ("### `assign`", Assignment),
]


@pytest.mark.parametrize(
    ("heading", "model"), SETTINGS_TABLES, ids=[model.__name__ for _, model in SETTINGS_TABLES]
)
def test_every_setting_is_in_a_table_with_its_default(heading: str, model: type[BaseModel]) -> None:
    rows = _table_rows(_section(REFERENCE_TEXT, heading))
    for name, info in model.model_fields.items():
        key = info.alias or name
        assert key in rows, f"'{heading}' has no table row for `{key}`"
        row = rows[key]
        if info.is_required():
            assert "required" in row or "| yes" in row, f"`{key}` is required: {row}"
        elif info.default is not None and not callable(info.default_factory):
            shown = f"`{_shown_default(info.default)}`"
            assert shown in row, f"the default of `{key}` is {shown}: {row}"


def test_the_default_matrix_shown_is_the_real_one() -> None:
    marked = [b for b in YAML_BLOCKS if b.text.startswith("# the default matrix\n")]
    assert len(marked) == 1, "one ```yaml block should start with '# the default matrix'"
    matrix = yaml.safe_load(marked[0].text)["matrix"]
    assert _CONDITION.validate_python(matrix["urgent"]) == DEFAULT_URGENT
    assert _CONDITION.validate_python(matrix["important"]) == DEFAULT_IMPORTANT


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.lstrip("#").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_links_inside_the_reference_lead_to_headings() -> None:
    anchors = {
        _anchor(line) for line in _outside_fences(REFERENCE_TEXT) if re.match(r"#{1,6} ", line)
    }
    links = re.findall(r"\]\(#([^)]+)\)", REFERENCE_TEXT)
    assert links, "the reference links to none of its sections"
    broken = sorted({link for link in links if link not in anchors})
    assert not broken, f"links to headings that do not exist: {broken}"


def _outside_fences(text: str) -> Iterator[str]:
    in_fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence:
            yield line
