"""Logging set-up: structlog, JSON lines when not a TTY, readable console output on a TTY.

Global logging state lives here and nowhere else. Every line is an event with fields bound to
it (client, cycle, task, rule); ``cycle_finished`` carries a cycle's counts.
"""

from __future__ import annotations

import logging
import sys
from contextlib import AbstractContextManager
from typing import Any, TextIO

import structlog

from delegator.redact import redact_event

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}  # fmt: skip


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (it may be replaced after set-up)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(fmt: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog to ``stream`` (stderr by default) as JSON or console lines."""
    out: Any = stream if stream is not None else _CurrentStderr()
    tty = stream.isatty() if stream is not None else sys.stderr.isatty()
    as_json = fmt == "json" or (fmt == "auto" and not tty)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_event,  # after exceptions become text, so their text is redacted too
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger("delegator").bind(**bound)


def bound(**fields: Any) -> AbstractContextManager[Any]:
    """Add ``fields`` (client, cycle, task, rule) to every line this thread logs in the block."""
    return structlog.contextvars.bound_contextvars(**fields)
