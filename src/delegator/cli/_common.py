"""Small helpers shared by the command modules: settings read with a message for every bad
file, and the one place where an error becomes a line on stderr and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

from delegator.redact import redact_text
from delegator.settings import DEFAULT_CONFIG, ENV_PREFIX, Settings, SettingsError, load_settings
from delegator.store import StoreError
from delegator.store.database import is_memory, parse_url

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def read_settings(config: Path | None, environ: Mapping[str, str]) -> Settings:
    """The settings, or SettingsError naming the file and what is wrong with it: missing, a
    folder, unreadable, not UTF-8 text (a binary file), not YAML, or a wrong value."""
    path = config or Path(environ.get(f"{ENV_PREFIX}CONFIG", str(DEFAULT_CONFIG)))
    if path.is_dir():
        raise SettingsError(f"{path}: is a folder, not a settings file")
    try:
        return load_settings(config, environ)
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not a settings file: not UTF-8 text") from None
    except OSError as exc:
        raise SettingsError(
            f"{path}: cannot read the settings file: {exc.strerror or type(exc).__name__}"
        ) from None


def fail(exc: BaseException, args: argparse.Namespace) -> int:
    """The exit code for an error a command did not handle, after one line on stderr: 2 for
    settings, 1 for the store (a newer schema, a read-only or full disk, a server down, a bad
    URL), 1 for anything unexpected, whose full report is written to a file the line names."""
    if isinstance(exc, SettingsError):
        say(str(exc))
        return 2
    if isinstance(exc, StoreError):
        say(str(exc))
        return 1
    where = crash_report(exc, args)
    first = (str(exc).strip().splitlines() or [""])[0]
    command = getattr(args, "command_name", None) or "delegator"
    say(
        f"unexpected error in {command}: {type(exc).__name__}: {first}; "
        + (f"the full report is in {where}" if where else "no report could be written")
    )
    return 1


def say(message: str) -> None:
    print(f"delegator: {redact_text(message)}", file=sys.stderr)


def crash_report(exc: BaseException, args: argparse.Namespace) -> Path | None:
    """Write the traceback (redacted) next to the state database (the state dir), else in the
    system's temporary folder; the file's path, or None when neither can be written."""
    text = "".join(traceback.format_exception(exc))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"crash-{stamp}-{os.getpid()}.txt"
    body = (
        f"delegator {' '.join(getattr(args, 'argv', []) or [])}\n"
        f"at {datetime.now(UTC).isoformat()}\n\n{text}"
    )
    for folder in (_state_dir(args), Path(tempfile.gettempdir())):
        if folder is None:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(redact_text(body), encoding="utf-8")
        except OSError:
            continue
        return path
    return None


def _state_dir(args: argparse.Namespace) -> Path | None:
    """The folder of the SQLite state database the settings name (None: not SQLite, or the
    settings cannot be read)."""
    try:
        config = getattr(args, "config", None)
        settings = read_settings(Path(config) if config else None, os.environ)
        url = parse_url(settings.database_url)
    except (SettingsError, StoreError):
        return None
    if url.get_backend_name() != "sqlite" or is_memory(url) or not url.database:
        return None
    name = url.database.removeprefix("file:").split("?", 1)[0]
    return Path(name).resolve().parent
