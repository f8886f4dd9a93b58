"""The OAuth token endpoint: ``POST /-/oauth_token``, beside ``/api/1.0`` as at Asana.

Only the refresh grant is served (the sandbox has no browser to authorise an app in):
``grant_type=refresh_token`` with ``client_id``, ``client_secret`` (in the form, or as HTTP
Basic credentials) and ``refresh_token``, form-encoded. The answer is Asana's::

    {
        "access_token": "...",
        "token_type": "bearer",
        "expires_in": 3600,
        "data": {"id": ..., "gid": "...", "name": "...", "email": "..."},
    }

An access token lasts the world's ``access_token_lifetime`` on the world's clock, then is
answered 401 by the API; a refresh token revoked in the world (``world.revoke_refresh_token``)
or with ``faults.revoke(refresh_token)`` is ``400 invalid_grant``, and a failure injected for
the refresh token (``faults.fail_next(refresh_token)``) answers 500. Errors have OAuth's shape:
``{"error": "invalid_grant", "error_description": "..."}``. The request log records each
exchange (``count("POST", "/-/oauth_token")``), never a secret.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from delegator.sandbox.faults import Faults
from delegator.sandbox.requestlog import LoggedRequest, RequestLog
from delegator.sandbox.routing import Reply
from delegator.sandbox.world import OAuthRefusal, World

TOKEN_PATH: Final = "/-/oauth_token"  # noqa: S105 - a path


def is_token_request(target: str) -> bool:
    """Whether a request target (path and query) is the token endpoint's."""
    return urlsplit(target).path.rstrip("/") == TOKEN_PATH


def token_endpoint(
    world: World,
    faults: Faults,
    log: RequestLog,
    method: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Reply:
    """Answer one request to the token endpoint, and log it (without its secrets)."""
    user_gid: str | None = None
    try:
        if method != "POST":
            raise OAuthRefusal("invalid_request", "The token endpoint takes POST", 405)
        form = _form(body)
        client_id, client_secret = _client(form, headers)
        grant_type = form.get("grant_type", "")
        if grant_type != "refresh_token":
            raise OAuthRefusal(
                "unsupported_grant_type",
                "The sandbox exchanges refresh tokens only (grant_type=refresh_token)",
            )
        refresh_token = form.get("refresh_token", "")
        if not refresh_token:
            raise OAuthRefusal("invalid_request", "refresh_token: Missing input")
        if faults.is_revoked(refresh_token):
            raise OAuthRefusal("invalid_grant", "The refresh token is invalid, expired or revoked")
        failure = faults.failure(refresh_token)
        if failure is not None:
            reply = Reply(
                failure.status,
                {"errors": [{"message": "Server Error (injected by the sandbox)"}]},
            )
        else:
            token, seconds, user = world.exchange_refresh_token(
                client_id, client_secret, refresh_token
            )
            user_gid = user.gid
            reply = Reply(
                200,
                {
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": seconds,
                    "data": {
                        "id": int(user.gid),
                        "gid": user.gid,
                        "name": user.name,
                        "email": user.email,
                    },
                },
            )
    except OAuthRefusal as refusal:
        reply = Reply(
            refusal.status, {"error": refusal.error, "error_description": refusal.description}
        )
    reply.headers.setdefault("Cache-Control", "no-store")
    log.append(
        LoggedRequest(
            at=world.clock.now(),
            method=method,
            path=TOKEN_PATH,
            endpoint=TOKEN_PATH,
            query={},
            body=None,  # the form holds the client secret and the refresh token
            token=None,
            user_gid=user_gid,
            status=reply.status,
            units=0,
        )
    )
    return reply


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise OAuthRefusal("invalid_request", "The form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def _client(form: Mapping[str, str], headers: Mapping[str, Any]) -> tuple[str, str]:
    """The app's credentials: HTTP Basic, or ``client_id`` and ``client_secret`` in the form."""
    for key, value in headers.items():
        if key.lower() == "authorization" and str(value).lower().startswith("basic "):
            try:
                decoded = base64.b64decode(str(value)[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthRefusal("invalid_client", "Malformed Basic credentials", 401) from None
            client_id, _, secret = decoded.partition(":")
            return unquote(client_id), unquote(secret)
    return form.get("client_id", ""), form.get("client_secret", "")
