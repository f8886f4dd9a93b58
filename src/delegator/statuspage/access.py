"""Who may see what on the status page: signed links for clients and assistants, signed sessions
for operators, and the scope each grants.

Nothing here reads a clock, a file or the store: it is handed the secret, the time and a way to
ask whether a link was revoked. A link's token says whose it is and until when, signed with
``status.secret``; the store keeps each link's record (never its token) so it can be listed and
revoked, and a token whose id the store does not know is refused like a revoked one.

A token is ``<payload>.<tag>``, both base64url without padding (safe in a URL path):

- payload: compact JSON ``[1, purpose, role, client, assistant, id, issued, expires]`` (version
  1; purpose ``"link"`` or ``"session"``; times in whole epoch seconds, UTC);
- tag: HMAC-SHA256, keyed with the secret, over ``b"delegator status\\0" + payload`` as written.

The tag covers the payload's text exactly as sent, so any change to any character (one that
decodes to the same bytes included) fails the check, and the payload is parsed only after the
tag matched. The purpose is inside what is signed: a link is never taken for a session cookie,
nor a cookie for a link.

The standard library's ``hmac`` signs and checks (``compare_digest``: constant time): HMAC-SHA256
and a constant-time compare are all this needs, and ``hmac`` is the reference implementation
Python ships, so no signing library (itsdangerous, a JWT package) is added for one primitive.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

# The signing secret must be random text this long at least (status.secret is checked so too).
MIN_SECRET_LENGTH: Final = 32
# Longer than any token this module makes: anything longer is refused before any work.
MAX_TOKEN_LENGTH: Final = 2048
_VERSION: Final = 1
_DOMAIN: Final = b"delegator status\0"
_LINK: Final = "link"
_SESSION: Final = "session"
_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}")  # a SHA-256 tag: 43 characters


class Role(enum.StrEnum):
    OPERATOR = "operator"  # signs in with the operator token: sees every client
    CLIENT = "client"  # a client's link: that client's pages only
    ASSISTANT = "assistant"  # an assistant's link: their own delegations only


class DenyReason(enum.StrEnum):
    """Why a request was refused."""

    MISSING = "missing"  # no token or cookie at all
    MALFORMED = "malformed"  # not a token this service makes
    BAD_SIGNATURE = "bad_signature"  # altered, or signed with another secret
    EXPIRED = "expired"
    REVOKED = "revoked"  # revoked, or unknown to this service's store
    WRONG_SCOPE = "wrong_scope"  # a valid grant, for someone else's page


_MESSAGES: Final = {
    DenyReason.MISSING: "Sign in, or open the link you were sent.",
    DenyReason.MALFORMED: "This link is not complete or not one of ours: open it again from the "
    "message you were sent.",
    DenyReason.BAD_SIGNATURE: "This link is not valid: open it again from the message you were sent.",
    DenyReason.EXPIRED: "This link has expired: ask for a new one.",
    DenyReason.REVOKED: "This link was withdrawn: ask for a new one.",
    DenyReason.WRONG_SCOPE: "This link does not open this page.",
}


class AccessDenied(Exception):  # noqa: N818 - the name says what happened, as ports.py's do
    """A request refused; ``str()`` is for people and never holds the token."""

    def __init__(self, reason: DenyReason) -> None:
        super().__init__(_MESSAGES[reason])
        self.reason = reason

    def __repr__(self) -> str:
        return f"AccessDenied({self.reason.value})"


@dataclass(frozen=True, slots=True)
class Grant:
    """What a verified link or session lets its holder see, and until when."""

    role: Role
    client: str | None  # a client link: whose; an assistant link: None for every client
    assistant: str | None  # an assistant link: whose
    link_id: str  # the link's id in the store; a session's own random id
    issued_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        wanted = {
            Role.OPERATOR: self.client is None and self.assistant is None,
            Role.CLIENT: bool(self.client) and self.assistant is None,
            Role.ASSISTANT: bool(self.assistant),
        }
        if not wanted[self.role]:
            raise ValueError(
                f"a {self.role.value} grant names "
                + {
                    Role.OPERATOR: "no client and no assistant",
                    Role.CLIENT: "a client and no assistant",
                    Role.ASSISTANT: "an assistant",
                }[self.role]
            )
        if not self.link_id:
            raise ValueError("a grant needs an id")
        if self.expires_at <= self.issued_at:
            raise ValueError("a grant expires after it is issued")


_ID_ALPHABET: Final = string.ascii_letters + string.digits


def new_link_id() -> str:
    """A fresh link id: 12 random letters and digits (71 bits; not a secret: the tag is). No
    ``-`` or ``_``: an id starting with ``-`` would read as an option in ``links revoke ID``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


# ----------------------------------------------------------------------------- links


def sign_link(grant: Grant, secret: str) -> str:
    """The token of a client's or an assistant's link (a URL path segment)."""
    if grant.role is Role.OPERATOR:
        raise ValueError("operators sign in; they get no link")
    return _sign(_LINK, grant, secret)


def verify_link(
    token: str | None, secret: str, now: datetime, is_revoked: Callable[[str], bool]
) -> Grant:
    """The grant of a link's token, or AccessDenied: missing, malformed, bad_signature,
    expired (at ``expires_at`` and after), revoked (``is_revoked(id)``: also for ids the store
    does not know). The signature is checked before anything in the token is read."""
    grant = _verify(_LINK, token, secret, now)
    if is_revoked(grant.link_id):
        raise AccessDenied(DenyReason.REVOKED)
    return grant


# ----------------------------------------------------------------------------- operators


def sign_session(now: datetime, ttl: timedelta, secret: str) -> str:
    """An operator's session cookie, signed in at ``now``, for ``ttl``."""
    issued = _whole_seconds(now)
    grant = Grant(Role.OPERATOR, None, None, new_link_id(), issued, issued + ttl)
    return _sign(_SESSION, grant, secret)


def verify_session(cookie: str | None, secret: str, now: datetime) -> Grant:
    """The operator's grant of a session cookie, or AccessDenied (as ``verify_link``). Sessions
    are not recorded: a new ``status.secret`` ends them all."""
    return _verify(_SESSION, cookie, secret, now)


def operator_token_ok(given: str | None, configured: str | None) -> bool:
    """Whether ``given`` is the operator token, in time that says nothing of either: both are
    hashed first, so even their lengths are compared in constant time. No configured token:
    nobody signs in."""
    if not configured or given is None:
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8", "surrogatepass")).digest(),
        hashlib.sha256(configured.encode("utf-8")).digest(),
    )


# ----------------------------------------------------------------------------- scope


def scope_allows(grant: Grant, *, client: str | None = None, assistant: str | None = None) -> bool:
    """Whether ``grant`` may see what belongs to ``client`` (and, within it, ``assistant``).

    An operator sees everything. A client link sees its own client (any assistant's work there),
    nothing across clients (``client=None``). An assistant link sees only that assistant's work:
    within its client, or across every client when the link names none."""
    if grant.role is Role.OPERATOR:
        return True
    if grant.role is Role.CLIENT:
        return client is not None and client == grant.client
    if assistant is None or assistant != grant.assistant:
        return False
    return grant.client is None or client == grant.client


def require_scope(grant: Grant, *, client: str | None = None, assistant: str | None = None) -> None:
    """``scope_allows``, or AccessDenied(wrong_scope)."""
    if not scope_allows(grant, client=client, assistant=assistant):
        raise AccessDenied(DenyReason.WRONG_SCOPE)


# Link pages: /c/<token> for a client's, /a/<token> for an assistant's.
LINK_PREFIX: Final = {Role.CLIENT: "/c/", Role.ASSISTANT: "/a/"}
_LINK_PATH = re.compile(r"^(/[ca]/)[^/?#]+")


def path_for_logs(path: str) -> str:
    """A request path fit for a log line: a link's token replaced by ``<token>``."""
    return _LINK_PATH.sub(r"\1<token>", path)


# ----------------------------------------------------------------------------- the format


def _sign(purpose: str, grant: Grant, secret: str) -> str:
    _check_secret(secret)
    fields = [
        _VERSION,
        purpose,
        grant.role.value,
        grant.client,
        grant.assistant,
        grant.link_id,
        _epoch(grant.issued_at),
        _epoch(grant.expires_at),
    ]
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    payload = _b64(text)
    return f"{payload}.{_tag(payload, secret)}"


def _verify(purpose: str, token: str | None, secret: str, now: datetime) -> Grant:
    _check_secret(secret)
    if not token:
        raise AccessDenied(DenyReason.MISSING)
    if len(token) > MAX_TOKEN_LENGTH or not _SHAPE.fullmatch(token):
        raise AccessDenied(DenyReason.MALFORMED)
    payload, tag = token.split(".")
    if not hmac.compare_digest(tag, _tag(payload, secret)):
        raise AccessDenied(DenyReason.BAD_SIGNATURE)
    grant = _parse(purpose, payload)  # signed by us: only a purpose mismatch is expected here
    if _aware(now) >= grant.expires_at:
        raise AccessDenied(DenyReason.EXPIRED)
    return grant


def _parse(purpose: str, payload: str) -> Grant:
    try:
        fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        version, written_for, role, client, assistant, link_id, issued, expires = fields
        if version != _VERSION or written_for != purpose:
            raise ValueError(f"a {written_for} token of version {version}")
        if not all(isinstance(v, str | None) for v in (client, assistant)):
            raise ValueError("names are text")
        if not isinstance(link_id, str) or not all(type(t) is int for t in (issued, expires)):
            raise ValueError("an id and whole seconds")
        return Grant(Role(role), client, assistant, link_id, _moment(issued), _moment(expires))
    except (ValueError, TypeError, binascii.Error, OverflowError):
        raise AccessDenied(DenyReason.MALFORMED) from None


def _tag(payload: str, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), _DOMAIN + payload.encode("ascii"), hashlib.sha256)
    return _b64(digest.digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _check_secret(secret: str) -> None:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"the status page's secret must be {MIN_SECRET_LENGTH} characters or more")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a moment without a time zone")
    return moment


def _whole_seconds(moment: datetime) -> datetime:
    return _aware(moment).astimezone(UTC).replace(microsecond=0)


def _epoch(moment: datetime) -> int:
    return int(_whole_seconds(moment).timestamp())


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
