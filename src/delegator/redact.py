"""Secrets out of every log line, whatever carried them there.

Modules are careful not to log a token, but an exception from a library, a URL in a requests
error or a repr of some object can still carry one. So the last step before a line is rendered
(``logs.py``) replaces, anywhere in the event (nested values, exception text, reprs):

* every secret registered at run time with `register_secret` (each Asana token read, each
  webhook URL, the SMTP and database passwords): exact values, whatever their shape;
* what looks like a secret even when nobody registered it: ``Authorization`` headers and
  ``Bearer`` tokens, Asana personal access tokens, passwords in ``scheme://user:password@``
  and ``password=`` parameters, Slack and Discord webhook paths, and long random-looking path
  segments of URLs;
* values under keys that name a secret (``token=``, ``password=``, ``authorization=`` ...).

The registry (`SecretRegistry`) is thread-safe and only grows, except in tests. There is one
per process, `SECRETS`: the log processors (structlog's and the standard library's, which
libraries log through before any fleet exists) and the settings read at start-up need it without
being handed it, so it is a module-level instance; the fleet holds it (`Fleet.secrets`) and gives
it to what it builds (the destinations), and `register_secret` adds to it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, MutableMapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

REDACTED = "[redacted]"
# Shorter values cannot be told from ordinary words: replacing them would garble every line.
MIN_SECRET_LENGTH = 4
# A URL path this long is the secret part of a webhook URL, and is redacted on its own too
# (a requests error names the path without the host).
_MIN_SECRET_PATH = 16

# Keys whose value is a secret whatever it looks like.
SECRET_KEYS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "password",
        "passwd",
        "secret",
        "authorization",
        "api_key",
        "apikey",
        "smtp_password",
        "database_password",
        "webhook",
        "webhook_url",
    }
)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer x / {'Authorization': 'Basic x'} / authorization=x
    (
        re.compile(r"(?i)(\bauthorization\b['\"]?\s*[:=]\s*['\"]?)(?!\[redacted\])[^'\"\r\n,}]+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9\-._~+/:=]+"), rf"\1{REDACTED}"),
    # Asana personal access tokens: 0/<32 hex>, 1/<user>:<32 hex>, 2/<user>/<app>:<32 hex>
    (re.compile(r"\b\d/\d{6,}(?:/\d{6,})?:[0-9a-fA-F]{32}\b"), REDACTED),
    (re.compile(r"\b0/[0-9a-fA-F]{32}\b"), REDACTED),
    # scheme://user:password@host
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@'\"]*:)(?!\[redacted\]@)[^\s@/'\"]+@"),
        rf"\1{REDACTED}@",
    ),
    # password=..., token=... in query strings and connection strings
    (
        re.compile(
            r"(?i)(?<![\w-])((?:password|passwd|pwd|token|access_token|secret|api_key|apikey|"
            r"sig|signature)=)(?!\[redacted\])[^&\s'\",;)]+"
        ),
        rf"\1{REDACTED}",
    ),
    # Slack-compatible and Discord webhooks: the path is the secret.
    (
        re.compile(r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s'\"?#]+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)(discord(?:app)?\.com/api/webhooks/)[^\s'\"?#]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/services/T[A-Z0-9]{4,}/B[A-Z0-9]{4,}/)[A-Za-z0-9]+"), rf"\1{REDACTED}"),
)

_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s'\"<>]+")
# In a URL, a path segment of 32+ characters mixing letters and digits is a key, not a name.
_SECRET_SEGMENT = re.compile(
    r"(?<=/)(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{32,}(?=$|[/?#])"
)


def _scoped(pattern: re.Pattern[str]) -> str:
    """A pattern as one branch of an alternation: a leading (?i) scoped to the branch."""
    text = pattern.pattern
    return f"(?i:{text[4:]})" if text.startswith("(?i)") else f"(?:{text})"


# Any of the patterns above, in one search: the text that matches none (nearly all of it) is
# returned as it is after one scan instead of one per pattern.
_ANY = re.compile("|".join(_scoped(p) for p in (*(p for p, _ in _PATTERNS), _URL)))


class SecretRegistry:
    """Exact values to redact, matched longest first so no part of a secret is left over."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def snapshot(self) -> frozenset[str]:
        """The values registered now (tests: to put the registry back as it was)."""
        with self._lock:
            return frozenset(self._values)

    def restore(self, values: frozenset[str]) -> None:
        with self._lock:
            self._values = set(values)
            self._pattern = None

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return value in self._values

    def register(self, value: str | None) -> None:
        """Never show ``value`` in a log line; a URL's password and long path are secrets too."""
        if not value:
            return
        self.add(value)
        if "://" in value:
            self.register_url_password(value)
            try:
                parts = urlsplit(value.strip())
            except ValueError:
                return
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if len(path) >= _MIN_SECRET_PATH:
                self.add(path)

    def register_url_password(self, url: str | None) -> None:
        """Never show the password of ``url`` (in its credentials or a ``password=``
        parameter); the rest of the URL may be shown, as a database URL is."""
        if not url:
            return
        try:
            parts = urlsplit(url.strip())
            password = parts.password
        except ValueError:
            match = re.search(r"://[^\s:/@]*:([^\s@/]+)@", url)
            password = match.group(1) if match else None
            parts = None
        if password:
            self.add(password)
        if parts is not None:
            for key, value in parse_qsl(parts.query):
                if key.lower() in {"password", "passwd", "pwd"}:
                    self.add(value)

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern


SECRETS = SecretRegistry()
"""The process's secrets: what every log line, stored error and sent message is redacted of."""


def register_secret(value: str | None) -> None:
    """Never show ``value`` in a log line; a URL's password and long path are secrets too."""
    SECRETS.register(value)


def register_url_password(url: str | None) -> None:
    """Never show the password of ``url``; the rest of the URL may be shown."""
    SECRETS.register_url_password(url)


def forget_secrets() -> None:
    """Empty the registry (tests only: a running service never forgets a secret)."""
    SECRETS.clear()


def is_registered(value: str) -> bool:
    return value.strip() in SECRETS


def redact_text(text: str) -> str:
    """``text`` with every registered secret and everything that looks like one replaced."""
    exact = SECRETS.pattern()
    if _ANY.search(text) is None and (exact is None or exact.search(text) is None):
        return text
    if exact is not None:
        text = exact.sub(REDACTED, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _URL.sub(lambda m: _SECRET_SEGMENT.sub(REDACTED, m.group(0)), text)


_T = TypeVar("_T")


def redact_outgoing(value: _T) -> _T:
    """``value`` fit to leave the process: the one redaction for what the service stores (the
    errors of cycles, the results of actions, the last error of a send) and what it sends
    (summaries, comments, status updates), as for log lines. Text is redacted; mappings and
    lists are walked (a value under a key that names a secret is replaced); None and numbers
    pass unchanged."""
    if isinstance(value, str):
        return redact_text(value)  # type: ignore[return-value]
    if isinstance(value, Mapping | list | tuple):
        return redact_value(value)  # type: ignore[no-any-return]
    return value


def redact_value(value: Any) -> Any:
    """A value fit for a log line: strings redacted, containers walked, other objects replaced
    by their redacted repr when their repr carries a secret (renderers show reprs)."""
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, bytes):
        shown = repr(value)
        redacted = redact_text(shown)
        return value if redacted == shown else redacted
    if isinstance(value, Mapping):
        return {key: _redact_item(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [redact_value(item) for item in value]
        return items if isinstance(value, list | set | frozenset) else tuple(items)
    shown = repr(value)
    redacted = redact_text(shown)
    return value if redacted == shown else redacted


def _redact_item(key: Any, value: Any) -> Any:
    if isinstance(key, str) and key.lower() in SECRET_KEYS and value not in (None, ""):
        return REDACTED
    return redact_value(value)


def redact_event(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: runs after exceptions are formatted, before the renderer."""
    for key in list(event_dict):
        event_dict[key] = _redact_item(key, event_dict[key])
    return event_dict


class RedactingFilter(logging.Filter):
    """The same redaction for standard-library log records (libraries' own loggers): the
    message is formatted and redacted, and exception text is redacted once formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
            record.exc_info = None
        return True
