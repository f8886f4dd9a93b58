"""The one door to Asana: base URL, auth, timeouts, the budget, error mapping and retries.

Everything above this module (reads, writes, batch, lookups) is built on `Transport.request`,
in the manner of gidgethub: one request primitive plus an injected sleep and clock, so retry and
rate-limit behaviour is testable without waiting.

The retry loop asks `errors.decide` what to do with each failure:

* RETRY: 429 (the budget pauses every thread of the token for the Retry-After), or a 5xx /
  connection failure / timeout on a read or an idempotent write (jittered exponential backoff);
* VERIFY: the same failure on a create that may have happened (comment, status update, task,
  tag): the caller's `find_existing` looks for it first, and only if it is absent is the
  request sent again; without `find_existing` the error is raised, never blindly re-posted;
* SKIP / FATAL: raised, with the outcome recorded on the exception for the worker.

The token comes from a provider (a callable returning the current secret, e.g. re-reading a
secret file): it is read again after a 401, and the request sent once more if the token is now
another than the one it was sent with (a token renewed meanwhile by another thread's 401 is used
as it is), and on an explicit `reload()`. Every token read is registered with the log redactor first.

`Asana-Change` response headers (Asana's notices of a coming breaking change) are logged once
per change name per process, at warning level, and reported to the observer with each attempt.

What a request costs in CPU matters (an idle cycle is one request per watched source, many
clients a minute), so the hot path avoids `requests`' per-call work that buys nothing here:

* the session does not read the environment (``trust_env = False``): no proxy variables, no
  .netrc scanned on every call; a proxy is given explicitly (`proxy`, the ``asana.proxy``
  setting) and never shown (it may carry credentials);
* the query string is built here, already percent-encoded (`query_string`), with commas and
  colons left as they are (both legal in a query), so neither `requests` nor urllib3 finds
  anything to encode again (urllib3 re-scans a query holding ``%`` byte by byte);
* answers are parsed with orjson from the bytes; what orjson refuses is handed to the standard
  library's parser as before, so an answer that is not JSON is reported exactly as it was.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeAlias
from urllib.parse import quote

import orjson
import requests

from delegator import __version__
from delegator.asana import answers, errors
from delegator.asana.answers import Shape, WrongShape
from delegator.asana.budget import Budget
from delegator.asana.deadline import Deadline, DeadlineAdapter
from delegator.asana.errors import AsanaError, Outcome, RateLimited, RetryPolicy, Unauthorized
from delegator.clock import Clock, Sleep
from delegator.redact import REDACTED, redact_text, register_secret

DEFAULT_BASE_URL = "https://app.asana.com/api/1.0"
USER_AGENT = f"delegator/{__version__} (+python-requests)"
DEFAULT_POLICY = RetryPolicy()
READ_METHODS = frozenset({"GET", "HEAD"})

#: A JSON object as Asana sends it; this layer keeps JSON as dicts.
Record: TypeAlias = dict[str, Any]
#: Query parameters before encoding; None values are left out.
Params: TypeAlias = Mapping[str, str | int | bool | None]
#: Field names for `opt_fields`: any sequence of names ("a,b" is taken as two names).
Fields: TypeAlias = Sequence[str]
#: Looks for the result of an ambiguous create made at or after the given time; None if absent.
Finder: TypeAlias = Callable[[datetime], Record | None]
#: Gives the current token (a secret file read again, a variable); called again after a 401.
TokenProvider: TypeAlias = Callable[[], str]


@dataclass(frozen=True, slots=True)
class ChangeNotice:
    """One ``Asana-Change`` response header: Asana announcing a breaking change.

    ``Asana-Change: name=security_headers;info=https://asa.na/api-sh;affected=true``; the
    header is repeated (or comma-joined) when several changes are under way."""

    name: str
    info: str = ""  # a link to Asana's description of the change
    affected: bool = False  # Asana says this request is affected


@dataclass(frozen=True, slots=True)
class RequestAttempt:
    """One HTTP attempt, as an observer (the service's metrics) sees it: no gids, no token."""

    method: str
    endpoint: str  # the path as a template: "/tasks/{gid}/stories"
    status: int | None  # None when no answer came (connection failure, timeout)
    retry: bool  # this attempt repeats an earlier one of the same request
    rate_limited: bool  # answered 429
    changes: tuple[ChangeNotice, ...] = field(default=())  # Asana-Change headers of the answer


#: Called after every HTTP attempt; it must be quick and must not raise.
Observer: TypeAlias = Callable[[RequestAttempt], None]

_WORD = re.compile(r"[A-Za-z_]+")


def endpoint_template(path: str) -> str:
    """A path with its ids replaced by ``{gid}``: few distinct values, nothing personal."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    return "/" + "/".join(p if _WORD.fullmatch(p) else "{gid}" for p in parts if p)


log = logging.getLogger(__name__)

_CHANGE_SPLIT = re.compile(r",\s*(?=name=)")
_changes_logged: set[str] = set()
_changes_lock = threading.Lock()


def parse_change_headers(values: Sequence[str]) -> tuple[ChangeNotice, ...]:
    """The notices in ``Asana-Change`` header values (each may hold several, comma-joined)."""
    notices: list[ChangeNotice] = []
    for value in values:
        for part in _CHANGE_SPLIT.split(value.strip()):
            fields: dict[str, str] = {}
            for item in part.split(";"):
                key, sep, val = item.strip().partition("=")
                if sep:
                    fields[key.strip().lower()] = val.strip()
            name = fields.get("name", "")
            if name:
                affected = fields.get("affected", "").lower() == "true"
                notices.append(ChangeNotice(name, fields.get("info", ""), affected))
    return tuple(notices)


def _change_headers(response: requests.Response) -> list[str]:
    raw = getattr(response.raw, "headers", None)
    getlist = getattr(raw, "getlist", None)
    if callable(getlist):  # urllib3 keeps a repeated header's values apart
        values = [str(value) for value in getlist("Asana-Change")]
        if values:
            return values
    value = response.headers.get("Asana-Change")
    return [value] if value else []


def log_change_notices(notices: Sequence[ChangeNotice], endpoint: str) -> None:
    """Log each change name once per process, as structured fields."""
    for notice in notices:
        with _changes_lock:
            if notice.name in _changes_logged:
                continue
            _changes_logged.add(notice.name)
        log.warning(
            "asana_change_notice",
            extra={
                "change": notice.name,
                "info": notice.info,
                "affected": notice.affected,
                "endpoint": endpoint,
            },
        )


def forget_logged_changes() -> None:
    """Tests only: log every change name again."""
    with _changes_lock:
        _changes_logged.clear()


def segment(gid: str) -> str:
    """A gid (or "me") made safe to put in a path."""
    if not gid:
        raise ValueError("an Asana gid must not be empty")
    return quote(gid, safe="")


def field_names(fields: Fields) -> tuple[str, ...]:
    """Field names, duplicates removed, order kept ("a,b" is taken as two names)."""
    if isinstance(fields, tuple):
        return _field_names(fields)  # the usual case: a module's constant, cleaned once
    names = fields.split(",") if isinstance(fields, str) else list(fields)
    return tuple(dict.fromkeys(name.strip() for name in names if name.strip()))


@functools.lru_cache(maxsize=256)
def _field_names(fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.strip() for name in fields if name.strip()))


def join_fields(fields: Fields) -> str:
    """`opt_fields` as Asana wants it: one comma-separated value."""
    return ",".join(field_names(fields))


# What a query value may hold unencoded: RFC 3986's unreserved characters, and the comma and
# colon of opt_fields and times (legal in a query, and never separators there). `&`, `=`, `+`,
# `#`, `%`, `/`, spaces and anything beyond ASCII are percent-encoded.
_QUERY_SAFE = ",:"


@functools.lru_cache(maxsize=1024)
def _query_pair(name: str, value: str) -> str:
    return f"{quote(name, safe=_QUERY_SAFE)}={quote(value, safe=_QUERY_SAFE)}"


def query_string(params: Params | None) -> str:
    """The query of `params`, percent-encoded, None values left out, booleans as true/false.

    Encoded pairs are kept (a page's opt_fields, a source's filters come back every cycle), and
    the result holds nothing `requests` or urllib3 would encode again."""
    if not params:
        return ""
    pairs = []
    for name, value in params.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pairs.append(_query_pair(name, text))
    return "&".join(pairs)


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait: to connect, for each read of the socket, and for a whole attempt.

    `total` bounds one attempt from its start to the last byte of the answer, however slowly the
    bytes come (connect and read bound only each wait); past it the attempt is a
    `TransportError`, retried as the policy says."""

    connect: float = 5.0
    read: float = 30.0
    total: float = 60.0

    def __post_init__(self) -> None:
        if min(self.connect, self.read, self.total) <= 0:
            raise ValueError("timeouts are positive numbers of seconds")


DEFAULT_TIMEOUTS = Timeouts()


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: Record
    server_time: datetime | None = None  # Asana's Date header: the clock modified_at uses
    recovered: bool = False  # an ambiguous create that was found already done
    changes: tuple[ChangeNotice, ...] = ()  # Asana-Change headers of the answer
    parsed: Any = None  # what the request's `shape` made of the body (answers.py)

    @property
    def data(self) -> Any:
        return self.body.get("data")


class Transport:
    """Sends requests to Asana for one token. Thread-safe; share it between threads.

    `token` is the token itself or a provider of the current one (read now, after a 401 and on
    `reload()`)."""

    def __init__(
        self,
        token: str | TokenProvider,
        *,
        budget: Budget,
        clock: Clock,
        sleep: Sleep,
        base_url: str = DEFAULT_BASE_URL,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        policy: RetryPolicy = DEFAULT_POLICY,
        session: requests.Session | None = None,
        observer: Observer | None = None,
        write_guard: Callable[[], None] | None = None,
        proxy: str | None = None,
    ) -> None:
        """`proxy`: the URL of an http(s) proxy every request goes through (None: direct); it is
        a secret (it may carry credentials), registered with the log redactor and never shown.
        It applies to the session the transport makes: with a `session` of the caller's, give
        the proxy to that session."""
        if proxy is not None and session is not None:
            raise ValueError("a proxy applies to the transport's own session, not a given one")
        self._provider: TokenProvider = _constant(token) if isinstance(token, str) else token
        self._token_lock = threading.Lock()
        self._known_tokens: list[str] = []
        self._token = self._read_token()
        self.observer = observer
        # Called before every attempt of a request that may change something (not GET or
        # HEAD), after any wait for the budget: it raises to stop the write (a replica whose
        # lease of the client is running out). Its exception propagates as it is, never retried.
        self.write_guard = write_guard
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts
        self.policy = policy
        self.budget = budget
        self.clock = clock
        self.sleep = sleep
        self._session = session if session is not None else _new_session(budget, proxy)
        self._count_lock = threading.Lock()
        self._sent = 0

    def __repr__(self) -> str:  # never the proxy: it may carry credentials
        return f"Transport(base_url={self.base_url!r}, budget={self.budget.key!r})"

    @property
    def requests_sent(self) -> int:
        """HTTP requests this transport has sent (retries included)."""
        return self._sent

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------ the token
    def _read_token(self) -> str:
        token = self._provider()
        if not isinstance(token, str) or not token.strip():
            raise ValueError("an Asana token is required")
        token = token.strip()
        register_secret(token)  # before anything can log it
        with self._token_lock:
            if token not in self._known_tokens:
                self._known_tokens.append(token)
        return token

    def reload(self) -> bool:
        """Read the token from its provider again; True if it changed. The provider's errors
        (an unreadable secret file) are raised and the current token kept."""
        token = self._read_token()
        with self._token_lock:
            changed = token != self._token
            self._token = token
        if changed:
            log.info("asana_token_reloaded")
        return changed

    def _reload_after_401(self, refused: str) -> tuple[bool, str | None]:
        """After a 401 of a request sent with `refused`: whether the token is now another one,
        renewed meanwhile (another thread's request was refused too) or read again now; and when
        reading it again failed, why (the provider's message: an unreadable secret file, an
        OAuth authorisation revoked), which the 401 then carries to the person reading it."""
        with self._token_lock:
            if self._token != refused:
                return True, None
        why: str | None = None
        try:
            self.reload()
        except Exception as exc:  # an unreadable secret: the 401 is the error to report
            log.warning("asana_token_reload_failed", extra={"reason": type(exc).__name__})
            why = redact_text(str(exc)) or None
        with self._token_lock:
            return self._token != refused, why

    def _headers(self) -> dict[str, str]:
        with self._token_lock:
            token = self._token
        return {
            "Authorization": f"Bearer {token}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Record | None = None,
        idempotent: bool | None = None,
        find_existing: Finder | None = None,
        reads: int | None = None,
        writes: int | None = None,
        shape: Shape | None = None,
    ) -> ApiResponse:
        """Send one logical request, retrying as `errors.decide` says.

        `reads` / `writes` are the quota units it costs (default: one of the method's kind; a
        /batch passes its action counts). `find_existing` makes a non-idempotent create safe to
        retry after an ambiguous failure. `shape` parses a 2xx body into what the caller needs
        (``response.parsed``); an answer it refuses is an `errors.UnexpectedAnswer`, retried like
        a 5xx. Without it the body need only be a JSON object.
        """
        method = method.upper()
        if reads is None and writes is None:
            reads, writes = (1, 0) if method in READ_METHODS else (0, 1)
        units = (reads or 0, writes or 0)
        first_sent = self.clock.now()
        rate_limited = transient = 0
        reauthorized = False
        while True:
            retry = rate_limited + transient > 0 or reauthorized
            with self._token_lock:
                sent_with = self._token
            try:
                response = self._send(method, path, params, body, units, shape)
            except AsanaError as error:
                self._observe(method, path, getattr(error, "status", None), retry, error.changes)
                if isinstance(error, Unauthorized) and not reauthorized:
                    reauthorized = True
                    renewed, why = self._reload_after_401(sent_with)
                    if renewed:
                        log.warning("asana_unauthorized_retry", extra={"path": path})
                        continue  # a new token: once more (a 401 was not executed)
                    if why is not None:  # said with the 401, so the cycle's error tells why
                        error = Unauthorized(
                            error.method, error.path, error.status, (*error.messages, why)
                        )
                if isinstance(error, RateLimited):
                    rate_limited += 1
                    failures = rate_limited
                else:
                    transient += 1
                    failures = transient
                decision = errors.decide(
                    error,
                    method=method,
                    idempotent=idempotent,
                    failures=failures,
                    policy=self.policy,
                )
                if decision.outcome is Outcome.RETRY and isinstance(error, RateLimited):
                    log.warning(
                        "asana_rate_limited", extra={"path": path, "wait": round(decision.delay, 1)}
                    )
                    self.budget.rate_limited(decision.delay)  # the next take() waits it out
                    continue
                if decision.outcome is Outcome.RETRY:
                    log.warning(
                        "asana_retry",
                        extra={"path": path, "error": str(error), "wait": round(decision.delay, 2)},
                    )
                    self.sleep(decision.delay)
                    continue
                if decision.outcome is Outcome.VERIFY and find_existing is not None:
                    self.sleep(decision.delay)
                    since = first_sent - timedelta(seconds=self.policy.created_since_margin)
                    existing = find_existing(since)
                    if existing is not None:
                        log.info(
                            "asana_create_found", extra={"path": path, "gid": existing.get("gid")}
                        )
                        found = {"data": existing}
                        parsed = _parse(method, path, 201, found, shape)
                        return ApiResponse(201, found, recovered=True, parsed=parsed)
                    continue
                # VERIFY without a way to look: the create may exist; sending again could double it.
                error.outcome = (
                    Outcome.SKIP if decision.outcome is Outcome.VERIFY else decision.outcome
                )
                raise error  # the 401 may be a new one, saying why the token was not renewed
            self._observe(method, path, response.status, retry, response.changes)
            return response

    def _observe(
        self,
        method: str,
        path: str,
        status: int | None,
        retry: bool,
        changes: tuple[ChangeNotice, ...] = (),
    ) -> None:
        endpoint = endpoint_template(path)
        if changes:
            log_change_notices(changes, endpoint)
        if self.observer is not None:
            attempt = RequestAttempt(method, endpoint, status, retry, status == 429, changes)
            self.observer(attempt)

    def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: Record | None,
        units: tuple[int, int],
        shape: Shape | None = None,
    ) -> ApiResponse:
        query = query_string(params)
        url = f"{self.base_url}{path}?{query}" if query else self.base_url + path
        with self.budget.spend(reads=units[0], writes=units[1]):
            if self.write_guard is not None and method not in READ_METHODS:
                self.write_guard()
            with self._count_lock:
                self._sent += 1
            deadline = Deadline(self.timeouts.total)
            try:
                with deadline:
                    response = self._http(method, url, body)
            except Exception as exc:
                if deadline.expired:
                    raise self._past_deadline(method, path) from exc
                if isinstance(exc, requests.RequestException):
                    raise errors.from_transport(method, path, exc) from exc
                raise
            if deadline.expired:  # the socket was cut: what came may be a truncated answer
                response.close()
                raise self._past_deadline(method, path)
        return self._interpret(method, path, response, shape)

    def _http(self, method: str, url: str, body: Record | None) -> requests.Response:
        """One HTTP exchange through the session: `Session.request` without its merging.

        `Session.request` merges the session's headers, parameters, proxies and settings into
        every request through generic mapping code (on Python 3.11, runtime-checked protocols
        make that a good part of an idle request's CPU). The request is prepared here from the
        session's own values instead (its headers, cookies, proxies, verify, cert) and sent with
        `Session.send`: the same adapters (so `responses` and the deadline's connections work as
        before), the same cookie handling, no redirects followed. (A session given to the
        transport is used for its adapters, headers, cookies, proxies, verify and cert; its
        params, auth and hooks, which nothing here sets, are not applied.)"""
        session = self._session
        headers = dict(session.headers)
        headers.update(self._headers())
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method, url=url, headers=headers, json=body, cookies=session.cookies
        )
        return session.send(
            prepared,
            timeout=(self.timeouts.connect, self.timeouts.read),
            allow_redirects=False,
            stream=False,
            verify=session.verify,
            cert=session.cert,
            proxies=session.proxies,
        )

    def _past_deadline(self, method: str, path: str) -> errors.TransportError:
        return errors.TransportError(
            method,
            path,
            f"no complete answer from Asana within {self.timeouts.total:g} s (the deadline)",
            may_have_reached_server=True,
        )

    def _interpret(
        self, method: str, path: str, response: requests.Response, shape: Shape | None = None
    ) -> ApiResponse:
        changes = parse_change_headers(_change_headers(response))
        payload = decode_json(response)
        if response.status_code >= 300:
            cause = requests.HTTPError(f"HTTP {response.status_code}", response=response)
            error = errors.from_status(
                method,
                path,
                response.status_code,
                payload,
                response.headers,
                self.clock.now(),
                self._redact,
            )
            error.changes = changes
            raise error from cause
        try:
            if payload is _NOT_JSON:
                content_type = response.headers.get("Content-Type", "none").split(";")[0][:60]
                raise WrongShape(f"the answer is not JSON (Content-Type {content_type})")
            if not isinstance(payload, dict):
                raise WrongShape(f"the answer is {answers.kind(payload)}, not a JSON object")
            parsed = shape(payload) if shape is not None else None
        except WrongShape as wrong:
            unexpected = errors.UnexpectedAnswer(method, path, response.status_code, str(wrong))
            unexpected.changes = changes
            raise unexpected from None
        return ApiResponse(
            response.status_code,
            payload,
            _server_time(response.headers.get("Date")),
            changes=changes,
            parsed=parsed,
        )

    def _redact(self, text: str) -> str:
        with self._token_lock:
            known = list(self._known_tokens)
        for token in known:
            text = text.replace(token, REDACTED)
        return text


_NOT_JSON: Final = object()


def decode_json(response: requests.Response) -> object:
    """The answer's JSON ({} for an empty body), or `_NOT_JSON`.

    orjson parses what Asana sends (UTF-8 JSON) from the bytes; anything it refuses goes to
    `requests`' own parser, as every answer did before: other encodings, what the standard
    library takes and orjson does not (NaN, 1e400, lone surrogates), and what neither takes,
    which is then `_NOT_JSON` for the same reasons as before. (One difference is left: an
    integer beyond 64 bits comes back a float from orjson; Asana sends none, and a gid is a
    string.)"""
    content = response.content
    if not content:
        return {}
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    try:
        payload: object = response.json()
    except (ValueError, RecursionError):  # not JSON, or nested beyond what Python parses
        return _NOT_JSON
    return payload


def _parse(method: str, path: str, status: int, body: Record, shape: Shape | None) -> Any:
    """`shape` applied to a body that did not come from the wire (a create found again)."""
    if shape is None:
        return None
    try:
        return shape(body)
    except WrongShape as wrong:
        raise errors.UnexpectedAnswer(method, path, status, str(wrong)) from None


def _constant(token: str) -> TokenProvider:
    def provider() -> str:
        return token

    return provider


def _new_session(budget: Budget, proxy: str | None = None) -> requests.Session:
    session = requests.Session()
    # The environment is not read on every request (proxy variables, .netrc, CA bundle
    # variables scanned per call cost more CPU than the rest of an idle request): the proxy is
    # the setting's, and the CA bundle variables `requests` honours are read once, here.
    session.trust_env = False
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    if proxy is not None:
        register_secret(proxy)  # the URL, and its password alone (redact.py)
        session.proxies = {"http": proxy, "https": proxy}
    # Enough pooled connections for every request the budget lets be in flight at once.
    size = budget.limits.max_reads + budget.limits.max_writes
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _server_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
