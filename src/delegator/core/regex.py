"""Regular expressions from clients, run by RE2: linear time, no catastrophic backtracking.

Client files are untrusted text; a pattern such as ``(a+)+$`` would stall Python's backtracking
engine on a long name. RE2 guarantees time linear in the input, at the price of two features it
refuses at load time: backreferences and lookaround.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, cast

import re2


class Pattern(Protocol):
    def search(self, text: str) -> Any: ...


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are reported to the client, not logged to stderr


class RegexError(ValueError):
    """A pattern that cannot be used; the message says why, for a person."""


def compile_pattern(pattern: str, *, case_sensitive: bool) -> Pattern:
    source = pattern if case_sensitive else f"(?i:{pattern})"
    try:
        return cast(Pattern, re2.compile(source, options=_OPTIONS))
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        reason = reason.split(": ", 1)[0] if ": " in reason else reason
        try:
            re.compile(pattern)
        except re.error as py_exc:
            raise RegexError(f"invalid regex: {py_exc}") from None
        raise RegexError(
            f"invalid regex: {reason} (backreferences and lookaround are not supported: "
            "patterns run in linear time)"
        ) from None
