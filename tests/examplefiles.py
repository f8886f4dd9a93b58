"""The example rule files as the tests use them.

The Italian agency (examples/small-agency.yaml) writes to its people in Italian. The tests of
what a command or page says are worded in English: they read a copy with `language: en`;
the tests of the languages (tests/cli/test_explain_language.py, the demo's) read the Italian.
"""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ITALIAN = "\n  language: it\n"


def in_english(text: str) -> str:
    """The Italian agency's file written for an English reader."""
    assert ITALIAN in text, "the agency example no longer says `language: it`"
    return text.replace(ITALIAN, "\n  language: en\n", 1)


def english_examples(folder: Path) -> Path:
    """A copy of the examples folder (rule files, their tests and tasks), every client in
    English; returns the folder."""
    shutil.copytree(EXAMPLES, folder)
    agency = folder / "small-agency.yaml"
    agency.write_text(in_english(agency.read_text(encoding="utf-8")), encoding="utf-8")
    return folder
