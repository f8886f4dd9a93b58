"""Every command's ``--json`` is one document that its schema in docs/json/ describes, and every
moment in it is ISO 8601 with an offset."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from delegator.cli import main
from delegator.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "json"
EXAMPLES = ROOT / "examples"
# Anything that looks like a moment: a date followed by a time, written any way.
LOOKS_LIKE_A_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")

COMMANDS: dict[str, list[str]] = {
    "check": ["check", "--json", str(EXAMPLES)],
    "test": ["test", "--json", str(EXAMPLES)],
    "explain": [
        "explain", "--json", "--rules", str(EXAMPLES / "small-agency.yaml"),
        "--task", str(EXAMPLES / "tasks" / "invoice.json"), "--now", "2026-11-27T10:00",
    ],
    "plan": ["plan", "--json"],
    "once": ["once", "--json"],
    "history": ["history", "--json"],
    "status": ["status", "--json"],
    "summary": ["summary", "--json", "--digests"],
    "config": ["config", "--json"],
    "prune": ["prune", "--json", "--dry-run"],
    "undo": ["undo", "--json", "--cycle", "1", "--dry-run"],
    "suggest": ["suggest", "--json", "--client", "small-agency"],
    "links": ["links", "list", "--json"],
}  # fmt: skip


@pytest.fixture
def sandbox(examples_on_sandbox: SandboxServer) -> SandboxServer:
    return examples_on_sandbox


def moments(value: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from moments(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from moments(item, f"{where}[{index}]")
    elif isinstance(value, str) and LOOKS_LIKE_A_MOMENT.match(value):
        yield where, value


def test_every_printing_command_has_a_schema() -> None:
    assert sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.json")) == sorted(
        COMMANDS
    )
    for path in SCHEMAS.glob("*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_each_command_prints_one_document_its_schema_describes(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once"]) == 0  # a journal, summaries and history to show
    capsys.readouterr()
    for name, argv in COMMANDS.items():
        code = main(argv)
        out = capsys.readouterr().out
        assert code in (0, 2), f"{name}: exit {code}"
        document = json.loads(out)  # one document, nothing else on stdout
        assert document["command"] == name
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
        errors = sorted(
            Draft202012Validator(schema).iter_errors(document), key=lambda e: list(e.path)
        )
        assert not errors, f"{name}: " + "; ".join(
            f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]
        )
        for where, value in moments(document):
            if where.endswith(".text") or ".detail." in where:
                continue  # free text that happens to start with a date
            assert ISO_WITH_OFFSET.match(value), f"{name}: {where} = {value!r}"


def test_a_schema_refuses_a_moment_without_offset() -> None:
    """The schemas check moments: a naive or space-separated time is refused."""
    schema = json.loads((SCHEMAS / "history.schema.json").read_text(encoding="utf-8"))
    document: dict[str, Any] = {
        "command": "history",
        "since": "2026-12-01 10:00:00",
        "client": None,
        "task": None,
        "actions": [],
        "overrides": [],
    }
    assert list(Draft202012Validator(schema).iter_errors(document))
    document["since"] = "2026-12-01T10:00:00+01:00"
    assert not list(Draft202012Validator(schema).iter_errors(document))
