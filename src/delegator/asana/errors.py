"""Asana's failures as the project's own exceptions, and the one place that decides what to do next.

The hierarchy::

    AsanaError                    anything that went wrong talking to Asana
    ├── ApiError                  Asana answered with a status other than 2xx (`status`, `messages`)
    │   ├── InvalidRequest        400  the request was wrong; Asana's messages say what
    │   ├── Unauthorized          401  token missing, revoked or expired, or the app disabled
    │   ├── PaymentRequired       402  a premium feature on a free workspace
    │   ├── Forbidden             403  no access to that object
    │   ├── NotFound              404  no such object, or not visible to the token
    │   ├── RateLimited           429  `retry_after` seconds; the request was NOT executed
    │   └── ServerError           5xx  (and any unexpected status): it may have been executed
    │       └── UnexpectedAnswer  a 2xx whose body is not the shape asked for (answers.py)
    └── TransportError            no answer at all: connection failure or timeout;
                                  `may_have_reached_server` says whether it could have run

Every exception names the method and path, never the token or the query string, and is raised
``from`` the ``requests`` exception that caused it (see ``http.py``). `decide` is the single
function that turns an error into retry / verify / skip / fatal; the transport's retry loop and
the worker both ask it, so the policy lives in one place.

Why the retry decision is the project's own and not urllib3's `Retry` or tenacity: a POST that
failed ambiguously (a 5xx or a timeout after it may have reached Asana) is neither retried
blindly nor given up: the client first looks for what it created (`verify`), so a comment or a
status update is never posted twice; neither library has that step.
"""

# The names are the statuses Asana documents, as httpx names its own; an "Error" suffix adds nothing.
# ruff: noqa: N818

from __future__ import annotations

import email.utils
import enum
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any

import requests
import urllib3.exceptions


class AsanaError(Exception):
    """Base of every error the client raises."""

    #: What the client decided when it gave up on the request (`Outcome.SKIP` or `Outcome.FATAL`);
    #: set by the transport when it raises, None on errors built elsewhere.
    outcome: Outcome | None = None
    #: The ``Asana-Change`` notices of the answer (`http.ChangeNotice`), set by the transport.
    changes: tuple[Any, ...] = ()

    def __init__(self, method: str, path: str, detail: str) -> None:
        self.method = method.upper()
        self.path = path
        self.detail = detail
        super().__init__(f"{self.method} {path}: {detail}")

    @property
    def may_have_executed(self) -> bool:
        """Whether Asana may have carried the request out although no success came back."""
        return False


class ApiError(AsanaError):
    """Asana answered with an error status; `messages` are Asana's own explanations."""

    def __init__(self, method: str, path: str, status: int, messages: tuple[str, ...] = ()) -> None:
        self.status = status
        self.messages = messages
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unexpected status"
        detail = f"{status} {reason}"
        if messages:
            detail += ": " + "; ".join(messages)
        super().__init__(method, path, detail)


class InvalidRequest(ApiError):
    """400: a parameter or body Asana rejects. The messages name the field."""


class Unauthorized(ApiError):
    """401: the token is missing, revoked or expired, or the workspace disabled the app."""


class PaymentRequired(ApiError):
    """402: the endpoint or field needs a premium workspace (custom fields, search...)."""


class Forbidden(ApiError):
    """403: the token's user cannot see or change that object."""


class NotFound(ApiError):
    """404: the object does not exist or is not visible to the token's user."""


class RateLimited(ApiError):
    """429: over the token's quota. Asana did not execute the request; retry after `retry_after`."""

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        messages: tuple[str, ...] = (),
        *,
        retry_after: float | None,
    ) -> None:
        super().__init__(method, path, status, messages)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx or an unusable answer: Asana may or may not have carried the request out."""

    @property
    def may_have_executed(self) -> bool:
        return True


class UnexpectedAnswer(ServerError):
    """A 2xx answer that is not the shape the caller needs: not JSON, no ``data``, ``data`` null
    or of the wrong type, a record without a gid, a /batch with the wrong number of results...

    Never read as "nothing there": retried and reported like a 5xx (Asana, or something between,
    misbehaved; a write may have been carried out). `what` says what was wrong."""

    def __init__(self, method: str, path: str, status: int, what: str) -> None:
        self.status = status
        self.messages = (what,)
        self.what = what
        AsanaError.__init__(self, method, path, f"unexpected answer ({status}): {what}")


class TransportError(AsanaError):
    """No HTTP answer: the connection failed or timed out."""

    def __init__(
        self, method: str, path: str, detail: str, *, may_have_reached_server: bool
    ) -> None:
        super().__init__(method, path, detail)
        self.may_have_reached_server = may_have_reached_server

    @property
    def may_have_executed(self) -> bool:
        return self.may_have_reached_server


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
}


def error_messages(body: object) -> tuple[str, ...]:
    """Asana's ``{"errors": [{"message": ...}]}`` as a tuple of messages (empty when absent)."""
    if not isinstance(body, Mapping):
        return ()
    errors = body.get("errors")
    if not isinstance(errors, list):
        return ()
    return tuple(
        str(item["message"]) for item in errors if isinstance(item, Mapping) and "message" in item
    )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def from_status(
    method: str,
    path: str,
    status: int,
    body: object,
    headers: Mapping[str, str],
    now: datetime,
    redact: Callable[[str], str] = str,
) -> ApiError:
    """The exception for an error status (also used for the per-action results of /batch)."""
    messages = tuple(redact(message) for message in error_messages(body))
    if status == 429:
        retry_after = parse_retry_after(_header(headers, "Retry-After"), now)
        return RateLimited(method, path, status, messages, retry_after=retry_after)
    if status in _BY_STATUS:
        return _BY_STATUS[status](method, path, status, messages)
    if 400 <= status < 500:
        return ApiError(method, path, status, messages)
    return ServerError(method, path, status, messages)


def from_transport(method: str, path: str, exc: requests.RequestException) -> TransportError:
    """A connection failure or timeout, with whether the request may have reached Asana."""
    return TransportError(
        method,
        path,
        f"{_transport_kind(exc)} ({type(exc).__name__})",
        may_have_reached_server=_may_have_reached_server(exc),
    )


def _transport_kind(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting to Asana"
    if isinstance(exc, requests.Timeout):
        return "timed out waiting for Asana's answer"
    if isinstance(exc, requests.ConnectionError):
        return "connection to Asana failed"
    return "request to Asana failed"


def _may_have_reached_server(exc: requests.RequestException) -> bool:
    # Only a failure to open the connection proves the request was never sent; a reset or a read
    # timeout after sending leaves it unknown, so those count as "may have reached".
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.InvalidURL):
        return False
    if isinstance(exc, requests.ConnectionError):
        cause: object = exc.args[0] if exc.args else None
        if isinstance(cause, urllib3.exceptions.MaxRetryError):
            cause = cause.reason
        if isinstance(cause, urllib3.exceptions.NewConnectionError):
            return False  # includes NameResolutionError: nothing was sent
    return True


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # requests' headers are case-insensitive already; a plain dict (from /batch) may not be.
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


# ---------------------------------------------------------------- the decision


class Outcome(enum.StrEnum):
    RETRY = "retry"  # send the same request again after `delay`
    VERIFY = "verify"  # a create may have happened: look for it, send again only if absent
    SKIP = "skip"  # give up on this request; the rest of the cycle goes on
    FATAL = "fatal"  # stop this client's cycle: credentials, quota or Asana itself is the problem


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    delay: float
    reason: str


def equal_jitter(ceiling: float) -> float:
    """Half the backoff fixed, half random: spreads retries while keeping a minimum wait."""
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - spreading retries, not secrecy


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The defaults give 4 sends over about 0.5 + 1 + 2 s for a flaky Asana."""

    max_attempts: int = 4  # sends per request when 5xx / connection errors / timeouts happen
    max_rate_limited: int = 5  # 429 answers tolerated per request before the cycle stops
    backoff_base: float = 1.0  # seconds before the first retry (before jitter)
    backoff_cap: float = 30.0
    default_retry_after: float = 30.0  # a 429 without Retry-After
    max_retry_after: float = 900.0  # a longer wait ends the cycle instead of blocking a thread
    created_since_margin: float = 60.0  # clock skew allowed when looking for an ambiguous create
    jitter: Callable[[float], float] = field(default=equal_jitter, compare=False)

    def backoff(self, failures: int) -> float:
        """Delay before the send that follows the `failures`-th failure (1-based)."""
        return self.jitter(min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1)))


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def decide(
    error: AsanaError,
    *,
    method: str,
    idempotent: bool | None = None,
    failures: int,
    policy: RetryPolicy,
) -> Decision:
    """Retry, verify, skip or fatal for `error`, the `failures`-th of its kind for this request.

    `idempotent` defaults to what the method implies (POST is not); the client declares its
    idempotent POSTs (addTag, removeTag, addFollowers, addProject, sections/addTask).
    """
    if idempotent is None:
        idempotent = method.upper() in IDEMPOTENT_METHODS
    if isinstance(error, RateLimited):
        wait = policy.default_retry_after if error.retry_after is None else error.retry_after
        if failures > policy.max_rate_limited:
            return Decision(Outcome.FATAL, 0.0, f"rate limited {failures} times in a row")
        if wait > policy.max_retry_after:
            return Decision(Outcome.FATAL, 0.0, f"Asana asks to wait {wait:.0f} s")
        # Not executed, so safe for every method, creates included.
        return Decision(Outcome.RETRY, wait, "rate limited; Asana did not execute it")
    if isinstance(error, ServerError | TransportError):
        if failures >= policy.max_attempts:
            if isinstance(error, TransportError):
                return Decision(Outcome.FATAL, 0.0, f"Asana unreachable after {failures} attempts")
            return Decision(Outcome.SKIP, 0.0, f"Asana failed {failures} times on this request")
        delay = policy.backoff(failures)
        if not idempotent and error.may_have_executed:
            return Decision(Outcome.VERIFY, delay, "a create may have happened before the failure")
        return Decision(Outcome.RETRY, delay, "transient failure")
    if isinstance(error, Unauthorized):
        return Decision(Outcome.FATAL, 0.0, "the token is not accepted")
    # 400, 402, 403, 404, 412 and other 4xx: this request cannot succeed as sent; others can.
    return Decision(Outcome.SKIP, 0.0, "Asana refused this request")
