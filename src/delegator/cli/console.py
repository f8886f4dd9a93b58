"""How the one-off commands write: results on stdout, everything else on stderr.

- **Colour** only on a terminal: never when the stream is not a TTY, when ``NO_COLOR`` is set
  to anything (https://no-color.org), when ``TERM=dumb``, or with ``--no-color``.
- **Logs** of a one-off command go to stderr, warnings and errors only; ``-v`` adds the info
  lines, ``-vv`` the debug ones. The long-running service (`delegator run`) logs as the settings
  say, to stdout, as containers expect.
- **The progress line** (on a terminal only) is cleared before any log line is written, so a
  log line never lands glued to it.
- **Times**: every JSON document writes a moment as ISO 8601 with its offset
  (``2026-12-05T09:30:00+01:00``); human output shows it in the client's time zone, labelled
  with the zone's name.

The standard library's ANSI sequences are all the colour needed: a dependency for four styles
is not worth its weight.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from delegator.logs import configure

_RESET = "\033[0m"
_CODES = {"ok": "32", "fail": "31;1", "warn": "33", "dim": "2", "bold": "1"}


def add_output_flags(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """``-v`` and ``--no-color``, on the main parser and on every command (so both
    ``delegator -v plan`` and ``delegator plan -v`` work)."""
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS if suppress else 0,
        help="log info lines on stderr (-vv: debug lines too)",
    )
    parser.add_argument(
        "--no-color",
        action="store_true",
        default=default if suppress else False,
        help="no colour even on a terminal (as does the NO_COLOR variable)",
    )


def colour_wanted(
    stream: TextIO, *, no_color: bool = False, environ: Mapping[str, str] | None = None
) -> bool:
    env = os.environ if environ is None else environ
    if no_color or "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@dataclasses.dataclass(frozen=True, slots=True)
class Style:
    """Paints words for a terminal, or leaves them as they are."""

    enabled: bool = False

    @classmethod
    def for_stream(cls, stream: TextIO, args: argparse.Namespace | None = None) -> Style:
        no_color = bool(getattr(args, "no_color", False)) if args is not None else False
        return cls(colour_wanted(stream, no_color=no_color))

    def _paint(self, kind: str, text: str) -> str:
        return f"\033[{_CODES[kind]}m{text}{_RESET}" if self.enabled else text

    def ok(self, text: str) -> str:
        return self._paint("ok", text)

    def fail(self, text: str) -> str:
        return self._paint("fail", text)

    def warn(self, text: str) -> str:
        return self._paint("warn", text)

    def dim(self, text: str) -> str:
        return self._paint("dim", text)

    def bold(self, text: str) -> str:
        return self._paint("bold", text)


# ----------------------------------------------------------------------------- progress and logs


class _ProgressState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shown = False


_PROGRESS = _ProgressState()


def show_progress(text: str) -> None:
    """Write (or rewrite) the progress line on stderr; nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return
    with _PROGRESS.lock:
        sys.stderr.write(f"\r\033[K{text}")
        sys.stderr.flush()
        _PROGRESS.shown = True


def end_progress() -> None:
    """Clear the progress line, if one is shown."""
    with _PROGRESS.lock:
        if _PROGRESS.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            _PROGRESS.shown = False


class _LogStream:
    """stderr for log lines: the progress line is cleared before a line is written."""

    def write(self, text: str) -> int:
        with _PROGRESS.lock:
            if _PROGRESS.shown:
                sys.stderr.write("\r\033[K")
                _PROGRESS.shown = False
            return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def log_level(args: argparse.Namespace) -> str:
    verbose = int(getattr(args, "verbose", 0) or 0)
    return "debug" if verbose >= 2 else "info" if verbose == 1 else "warning"


def configure_one_off(log_format: str, args: argparse.Namespace) -> None:
    """Logs of a one-off command: stderr, warnings and errors unless ``-v``."""
    configure(log_format, log_level(args), stream=_LogStream())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- times and JSON


def iso(moment: datetime) -> str:
    """ISO 8601 with the offset; a moment without a zone is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def local(moment: datetime, zone: str | None) -> str:
    """A moment for a person: minutes, in ``zone`` (the client's), labelled with the zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not zone:
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"{moment.astimezone(tz):%Y-%m-%d %H:%M} {zone}"


def plain(value: Any) -> Any:
    """A value made of JSON's types: moments in ISO 8601 with offset, dates as YYYY-MM-DD,
    durations in seconds, enums as their value, dataclasses as objects, sets sorted."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def dump_json(value: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout (or ``stream``)."""
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(plain(value), indent=2, ensure_ascii=False) + "\n")
