"""JSON read with bounds: how deep it may nest, and errors located as ``line:col``.

Python's parser recurses once per level: a file nested thousands deep ends in RecursionError,
not in a message. Nesting is measured first, in one linear scan, then the text is parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 100  # an Asana task is about 5 levels deep

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JsonInputError(ValueError):
    """Not JSON, or past a bound; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


def _where(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def load_json(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text nested at most ``max_depth`` deep; JsonInputError says what and where."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                line, column = _where(text, match.start())
                raise JsonInputError(f"nested more than {max_depth} levels deep", line, column)
        elif token in ("]", "}"):
            depth -= 1
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonInputError(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:  # not reached after the scan; kept as a guard
        raise JsonInputError("nested too deeply", 1, 1) from None
