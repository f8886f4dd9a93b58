"""OAuth for a client that authorised the agency's Asana app: refresh tokens made access tokens.

Asana's token endpoint (``POST https://app.asana.com/-/oauth_token``, form-encoded) exchanges a
long-lived refresh token for an access token that lasts an hour (``expires_in: 3600``):
``grant_type=refresh_token``, the app's ``client_id`` and ``client_secret``, and the
``refresh_token``. Should an answer carry a new refresh token, it is kept in memory and used for
the next exchange (the variable or file the refresh token came from is never written).

`RefreshingToken` holds one refresh token's current access token, in memory only:

* `current()` hands the access token out, exchanging first when there is none yet or less than
  the margin (5 minutes) of its life is left;
* `renew(refused)` exchanges at once, unless the access token is already another than the one
  refused (someone renewed it meanwhile);
* one exchange at a time: threads asking meanwhile wait for it and share its result;
* a network failure, a 429 or a 5xx of the endpoint is retried with backoff, a bounded number of
  times (`RetryPolicy`), then is a `RefreshFailed`;
* ``invalid_grant`` (the client revoked the app, or the refresh token is wrong) is a `Revoked`,
  kept: the endpoint is not asked again with that refresh token; a new one in its variable or
  file is used at the next need.

`provider()` makes a `TokenProvider` for one `AsanaClient`: its first call is `current()`, and
every later one (the transport asks again after a 401, and on ``reload()``) is `renew()` of the
token it handed out before.

The client secret, every refresh token and every access token are registered with the log
redactor as soon as they are read or received; none is in a message, a repr or a log line.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import requests

from delegator import __version__
from delegator.asana.errors import RetryPolicy
from delegator.clock import Clock
from delegator.redact import register_secret

DEFAULT_TOKEN_URL: Final = "https://app.asana.com/-/oauth_token"  # noqa: S105 - a URL
TOKEN_PATH: Final = "/-/oauth_token"  # noqa: S105 - a path
#: An access token lasts an hour (Asana's documented ``expires_in``) when the answer omits it.
DEFAULT_LIFETIME: Final = timedelta(seconds=3600)
#: Exchange again when less than this is left of the access token's life.
DEFAULT_MARGIN: Final = timedelta(minutes=5)
REVOKED_ADVICE: Final = (
    "the OAuth authorisation was revoked: ask the client to authorise the app again"
)

log = logging.getLogger(__name__)

_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")
_API_SUFFIX = re.compile(r"/api/1\.0/?$")


def token_url_for(base_url: str) -> str:
    """The token endpoint beside an API base URL: ``https://app.asana.com/api/1.0`` gives
    Asana's ``https://app.asana.com/-/oauth_token``, a sandbox's ``http://127.0.0.1:PORT/api/1.0``
    the sandbox's own."""
    return _API_SUFFIX.sub("", base_url.rstrip("/")) + TOKEN_PATH


class OAuthError(ValueError):
    """An access token cannot be had; the message names the refresh token's source, never a
    secret. A ValueError, as every token provider's failure is."""


class Revoked(OAuthError):  # noqa: N818 - says what happened to the authorisation
    """Asana answered ``invalid_grant``: the client revoked the app (or the token is wrong)."""


class RefreshFailed(OAuthError):  # noqa: N818 - the exchange itself failed
    """The token endpoint refused the app, or did not answer after the retries."""


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """The agency's Asana app: its id and secret, and where tokens are exchanged."""

    client_id: str
    client_secret: str = field(repr=False)
    token_url: str = DEFAULT_TOKEN_URL

    def __post_init__(self) -> None:
        register_secret(self.client_secret)


@dataclass(frozen=True, slots=True)
class Grant:
    """What the token endpoint answered: an access token, when it expires, and a new refresh
    token when Asana sent one."""

    access_token: str = field(repr=False)
    expires_at: datetime
    refresh_token: str | None = field(default=None, repr=False)


def exchange(
    app: OAuthApp,
    refresh_token: str,
    *,
    session: requests.Session,
    now: datetime,
    timeout: tuple[float, float] = (5.0, 30.0),
) -> Grant:
    """One exchange of a refresh token; raises `Revoked`, `RefreshFailed`, or (for a failure
    worth trying again: no answer, 429, 5xx) `_Transient`."""
    form = {
        "grant_type": "refresh_token",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "refresh_token": refresh_token,
    }
    try:
        response = session.post(
            app.token_url,
            data=form,
            headers={"Accept": "application/json", "User-Agent": f"delegator/{__version__}"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise _Transient(f"no answer ({type(exc).__name__})") from None
    status = response.status_code
    try:
        payload = response.json()
    except ValueError:
        payload = None
    body = payload if isinstance(payload, dict) else {}
    if status == 429 or status >= 500:
        raise _Transient(f"HTTP {status}")
    code = body.get("error")
    code = code if isinstance(code, str) and _ERROR_CODE.match(code) else None
    if status >= 300 or code is not None:
        if code == "invalid_grant":
            raise Revoked(REVOKED_ADVICE)
        if code == "invalid_client" or status == 401:
            raise RefreshFailed(
                "Asana refused the agency's app (invalid_client): check the settings "
                "asana.oauth_client_id and asana.oauth_client_secret"
            )
        raise RefreshFailed(f"Asana's token endpoint answered HTTP {status} ({code or 'no code'})")
    access = body.get("access_token")
    if not isinstance(access, str) or not _sendable(access):
        raise RefreshFailed("Asana's token endpoint answered without a usable access_token")
    register_secret(access)
    lifetime = body.get("expires_in")
    seconds = (
        float(lifetime)
        if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0
        else DEFAULT_LIFETIME.total_seconds()
    )
    rotated = body.get("refresh_token")
    if isinstance(rotated, str) and rotated.strip():
        rotated = rotated.strip()
        register_secret(rotated)
    else:
        rotated = None
    return Grant(access.strip(), now + timedelta(seconds=seconds), rotated)


class _Transient(Exception):  # noqa: N818 - internal: a failure the retries may get past
    """No answer, a 429 or a 5xx from the token endpoint."""


def _sendable(token: str) -> bool:
    """Non-empty, and only what an HTTP header carries (printable Latin-1)."""
    text = token.strip()
    return bool(text) and all(0x20 <= ord(char) <= 0xFF for char in text)


class RefreshingToken:
    """The access token of one refresh token, kept fresh; share it between threads and clients.

    `refresh_token` reads the refresh token from its source (a variable, a file) and raises
    `OAuthError` when it cannot; it is read at each exchange, so a new one written there after
    the client authorised the app again is used without a restart. `label` names the source in
    messages (``$ACME_REFRESH_TOKEN``), never the secret.
    """

    def __init__(
        self,
        app: OAuthApp,
        refresh_token: Callable[[], str],
        *,
        label: str,
        clock: Clock,
        session: requests.Session | None = None,
        margin: timedelta = DEFAULT_MARGIN,
        policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        proxy: str | None = None,
    ) -> None:
        self.app = app
        self.label = label
        self.clock = clock
        self.margin = margin
        self.policy = policy if policy is not None else RetryPolicy()
        self.timeout = timeout
        self._read = refresh_token
        self._session = session if session is not None else _session(proxy)
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires_at: datetime | None = None
        self._margin_now = margin
        self._source: str | None = None  # the refresh token as last read from its source
        self._rotated: str | None = None  # a newer one Asana sent, kept in memory
        self._revoked_for: str | None = None  # the source's refresh token Asana refused
        self.exchanges = 0  # exchanges that gave an access token

    def __repr__(self) -> str:
        return f"RefreshingToken({self.label!r}, expires_at={self._expires_at!r})"

    # ------------------------------------------------------------ asking for the token
    def current(self) -> str:
        """The access token, exchanged first when missing or within the margin of expiry."""
        with self._lock:
            if self._access is not None and not self._due():
                return self._access
            return self._refresh()

    def renew(self, refused: str | None) -> str:
        """A new access token, the one `refused` (answered 401) being no good; when the access
        token is already another one, still fresh, that one (it was renewed meanwhile)."""
        with self._lock:
            if self._access is not None and self._access != refused and not self._due():
                return self._access
            return self._refresh()

    def due(self) -> bool:
        """True when the next `current()` exchanges first (or fails: a revoked authorisation)."""
        with self._lock:
            return self._access is None or self._due()

    def provider(self) -> Callable[[], str]:
        """A token provider for one client: `current()` first, then `renew()` of what it gave."""
        given: list[str] = []

        def token() -> str:
            value = self.renew(given[0]) if given else self.current()
            given[:] = [value]
            return value

        return token

    # ------------------------------------------------------------ the exchange
    def _due(self) -> bool:
        if self._revoked_for is not None:
            return True
        expires = self._expires_at
        return expires is None or self.clock.now() >= expires - self._margin_now

    def _refresh(self) -> str:
        """Exchange the refresh token (the lock held): the new access token, or an OAuthError."""
        source = self._read().strip()
        register_secret(source)
        if source != self._source:  # first read, or a new authorisation written there
            self._source, self._rotated, self._revoked_for = source, None, None
        if self._revoked_for == source:
            raise Revoked(f"{REVOKED_ADVICE} (the refresh token in {self.label})")
        refresh = self._rotated or source
        failures = 0
        while True:
            started = self.clock.now()
            try:
                grant = exchange(
                    self.app, refresh, session=self._session, now=started, timeout=self.timeout
                )
            except Revoked:
                self._revoked_for = source
                self._access = self._expires_at = None
                log.warning("asana_oauth_revoked", extra={"source": self.label})
                raise Revoked(f"{REVOKED_ADVICE} (the refresh token in {self.label})") from None
            except RefreshFailed as exc:
                raise RefreshFailed(f"{exc} (the refresh token in {self.label})") from None
            except _Transient as exc:
                failures += 1
                if failures >= self.policy.max_attempts:
                    raise RefreshFailed(
                        f"no access token from Asana's token endpoint after {failures} attempts "
                        f"(last: {exc}) for the refresh token in {self.label}"
                    ) from None
                delay = self.policy.backoff(failures)
                log.warning(
                    "asana_oauth_retry",
                    extra={"source": self.label, "error": str(exc), "wait": round(delay, 2)},
                )
                self.clock.sleep(delay)
                continue
            break
        if grant.refresh_token is not None and grant.refresh_token != refresh:
            self._rotated = grant.refresh_token
        self._access, self._expires_at = grant.access_token, grant.expires_at
        lifetime = grant.expires_at - started
        self._margin_now = min(self.margin, lifetime / 2)
        self.exchanges += 1
        log.info(
            "asana_oauth_refreshed",
            extra={"source": self.label, "expires_in": round(lifetime.total_seconds())},
        )
        return grant.access_token


def _session(proxy: str | None) -> requests.Session:
    """A session of its own for the token endpoint: the environment not read (as the API's),
    the proxy the one given (``asana.proxy``)."""
    session = requests.Session()
    session.trust_env = False
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    if proxy is not None:
        register_secret(proxy)
        session.proxies = {"http": proxy, "https": proxy}
    return session
