"""Logging set-up: structlog, JSON lines when not a TTY, readable console output on a TTY.

Global logging state lives here and nowhere else. Every line is an event with fields bound to
it (client, cycle, task, rule); ``cycle_finished`` carries a cycle's counts.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from typing import Any, TextIO

import structlog

from delegator.redact import redact_event

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}  # fmt: skip


class _Current:
    """Whatever ``sys.stdout`` or ``sys.stderr`` is when a line is written (tests and the
    command line may replace them after set-up)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _stream(self) -> TextIO:
        stream: TextIO = getattr(sys, self.name)
        return stream

    def write(self, text: str) -> int:
        return self._stream().write(text)

    def flush(self) -> None:
        self._stream().flush()

    def isatty(self) -> bool:
        return self._stream().isatty()


class _StdlibHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Standard-library records of delegator's modules (the Asana client's waits and retries),
    rendered by structlog's ProcessorFormatter with the same processors as every other line."""


def _not_the_sandbox(record: logging.LogRecord) -> bool:
    # The sandbox is a stand-in for Asana, not the service: its lines stay its own.
    return not record.name.startswith("delegator.sandbox")


# Fields every line of this process carries (the replica id): set once at start-up.
_PROCESS_FIELDS: dict[str, Any] = {}


def bind_process(**fields: Any) -> None:
    """Add ``fields`` to every line this process logs, from any thread."""
    _PROCESS_FIELDS.update(fields)


def _process_fields(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    for key, value in _PROCESS_FIELDS.items():
        event.setdefault(key, value)
    return event


def configure(
    fmt: str = "auto", level: str = "info", stream: TextIO | None = None, *, to: str = "stderr"
) -> None:
    """Route structlog to ``stream`` (else ``sys.stdout`` or ``sys.stderr``, by ``to``) as JSON
    or console lines. The service logs to stdout, as containers expect; one-off commands log to
    stderr so their output stays clean."""
    out: Any = stream if stream is not None else _Current(to)
    tty = out.isatty()
    as_json = fmt == "json" or (fmt == "auto" and not tty)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    # What every line gets, structlog's own and the standard library's.
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _process_fields,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Exceptions become text before redaction, so their text is redacted too.
    final: list[Any] = [redact_event, renderer]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, *final],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # A standard-library record's `extra` fields become the line's fields (ExtraAdder).
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.format_exc_info,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler = _StdlibHandler(out)
    handler.addFilter(_not_the_sandbox)
    handler.setFormatter(formatter)
    stdlib = logging.getLogger("delegator")
    for old in [h for h in stdlib.handlers if isinstance(h, _StdlibHandler)]:
        stdlib.removeHandler(old)
    stdlib.addHandler(handler)
    stdlib.setLevel(_LEVELS[level])


def get_logger(**bound: Any) -> Any:
    return structlog.get_logger("delegator").bind(**bound)


def bound(**fields: Any) -> AbstractContextManager[Any]:
    """Add ``fields`` (client, cycle, task, rule) to every line this thread logs in the block."""
    return structlog.contextvars.bound_contextvars(**fields)
