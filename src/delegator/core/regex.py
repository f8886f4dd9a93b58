"""Regular expressions from clients, run by RE2: linear time, no catastrophic backtracking.

Client files are untrusted text; a pattern such as ``(a+)+$`` would stall Python's backtracking
engine on a long name. RE2 guarantees time linear in the input, at the price of two features it
refuses at load time: backreferences and lookaround.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol, cast

import re2


class _Compiled(Protocol):
    def search(self, text: str) -> Any: ...


class Pattern:
    """A compiled client pattern; ``holds(text)`` says whether it occurs anywhere in ``text``.

    ``matcher``, when the binding's matcher is reachable, is what ``holds`` calls once the text
    is UTF-8: ``(match, anchor, no_match)``, where ``match(anchor, data, 0, len(data))[0]`` is
    ``no_match`` when the pattern does not occur in ``data``. The compiled rules call it
    directly, with each task's text encoded once however many patterns read it.
    """

    __slots__ = ("holds", "matcher", "source")

    def __init__(self, compiled: _Compiled, source: str) -> None:
        self.source = source
        self.matcher = _matcher(compiled)
        self.holds = _fast_search(compiled, self.matcher)


Matcher = tuple[Callable[[Any, bytes, int, int], Any], Any, Any]


def _matcher(compiled: _Compiled) -> Matcher | None:
    # The google-re2 wrapper's search() builds a match object and offset tables in Python,
    # which costs more than RE2 itself on short task names: reach for the binding's matcher.
    raw = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    null = getattr(re2, "_NULL_SPAN", None)
    match = getattr(raw, "Match", None)
    if match is None or anchor is None or null is None:
        return None
    return match, anchor, null


def _fast_search(compiled: _Compiled, matcher: Matcher | None) -> Callable[[str], bool]:
    if matcher is not None:
        match, anchor, null = matcher

        def holds(text: str) -> bool:
            encoded = text.encode()
            return bool(match(anchor, encoded, 0, len(encoded))[0] != null)

        return holds
    search = compiled.search  # the public API, where the binding's internals are not reachable
    return lambda text: search(text) is not None


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are reported to the client, not logged to stderr
_OPTIONS.never_capture = True  # rules only ask whether a pattern occurs


class RegexError(ValueError):
    """A pattern that cannot be used; the message says why, for a person."""


def compile_pattern(pattern: str, *, case_sensitive: bool) -> Pattern:
    source = pattern if case_sensitive else f"(?i:{pattern})"
    try:
        compiled = cast(_Compiled, re2.compile(source, options=_OPTIONS))
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
    return Pattern(compiled, pattern)
