"""Reading client files from disk: the thin edge between the filesystem and the pure core."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from delegator.core.diagnostics import RuleError
from delegator.core.rulefile import ClientFile, parse_client_file

TEST_SUFFIX = ".test.yaml"


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIX)


def expand(paths: Iterable[str | Path], *, tests: bool) -> list[Path]:
    """Files and folders -> the rule files (``tests=False``) or test files (``tests=True``)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates = sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")])
            found.extend(p for p in candidates if is_test_file(p) == tests)
        elif is_test_file(path) == tests:
            found.append(path)
    return found


def read_client_file(path: Path) -> ClientFile:
    """Parse one client file; an unreadable file is reported like any other error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return parse_client_file_error(path, f"cannot read the file: {reason}")
    return parse_client_file(text, str(path))


def parse_client_file_error(path: Path, message: str) -> ClientFile:
    return ClientFile(str(path), None, (), (RuleError(str(path), 1, 1, "", message),))
