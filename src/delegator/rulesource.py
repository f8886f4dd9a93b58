"""Reading client files from disk: the thin edge between the filesystem and the pure core.

Whatever is wrong with a file (missing, a folder, unreadable, not UTF-8 text, too large, or a
fault in checking it) comes back as an error of that file, never as an exception: one bad file
must not stop the command or the service that reads the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from delegator.core.diagnostics import RuleError
from delegator.core.rulefile import ClientFile, parse_client_file
from delegator.core.yamlpos import LIMITS

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
            found.extend(p for p in candidates if is_test_file(p) == tests and not p.is_dir())
        elif is_test_file(path) == tests:
            found.append(path)
    return found


class UnreadableFileError(Exception):
    """A file that cannot be read as text; the message says why, in words."""


def read_text(path: Path, *, max_bytes: int = LIMITS.max_chars) -> str:
    """The file's text (UTF-8, at most ``max_bytes``); UnreadableFileError says why it cannot be."""
    try:
        if path.is_dir():
            raise UnreadableFileError("it is a folder, not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableFileError(
                f"the file is {size / 1048576:.1f} MB, more than the "
                f"{max_bytes / 1048576:.0f} MB a file may have"
            )
        with path.open("rb") as stream:  # at most the limit: a device or a pipe never ends
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableFileError(exc.strerror or str(exc)) from None
    if len(data) > max_bytes:
        raise UnreadableFileError(f"the file is more than {max_bytes / 1048576:.0f} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            f"not UTF-8 text (byte {exc.start + 1} cannot be read): is it a binary file?"
        ) from None


def read_client_file(path: Path, progress: Callable[[int, int], None] | None = None) -> ClientFile:
    """Parse one client file; an unreadable file, or any fault in checking it, is reported like
    any other error of that file."""
    try:
        text = read_text(path)
    except UnreadableFileError as exc:
        return parse_client_file_error(path, f"cannot read the file: {exc}")
    try:
        return parse_client_file(text, str(path), progress)
    except Exception as exc:  # a fault in the checker: this file is out, the others go on
        return parse_client_file_error(path, fault_message(exc))


def fault_message(exc: BaseException) -> str:
    detail = str(exc).strip()
    shown = detail if len(detail) <= 200 else detail[:197] + "..."
    return (
        f"the file cannot be checked ({type(exc).__name__}{': ' + shown if shown else ''}); "
        "the client is left out until it is fixed"
    )


def parse_client_file_error(path: Path, message: str) -> ClientFile:
    return ClientFile(str(path), None, (), (RuleError(str(path), 1, 1, "", message),))
