"""Summaries to a chat: a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat ...).

The webhook URL is the credential: whoever has it can post. It is read from an environment
variable or a file (``webhook_url``), kept only inside ``Webhook``, and never appears in a key, a
description, a log line or an error: ``requests`` puts the URL into its exceptions, so they are
caught here and replaced by a message that names the source instead (``$SLACK_WEBHOOK_URL``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Literal, Protocol
from urllib.parse import urlsplit

import requests

from delegator.core.language import Language, Phrases
from delegator.notify.message import DeliveryError, Message
from delegator.notify.slack import message_text

# Slack cuts a message's text at 40,000 characters; stay under it and say so.
MAX_TEXT: Final = 39_000
CUT = Phrases(
    {
        "cut": {
            Language.EN: "(cut: too long for one message)",
            Language.IT: "(tagliato: troppo lungo per un solo messaggio)",
        }
    }
)
USER_AGENT: Final = "delegator (summaries)"
# Statuses worth another try later: timeouts, too early, rate limited.
RETRYABLE_4XX: Final = frozenset({408, 425, 429})
# A body worth quoting in an error: a short code such as Slack's "no_service".
_SHORT_REASON = re.compile(r"^[A-Za-z0-9_ .:-]{1,60}$")

Style = Literal["slack", "markdown"]


class SecretSource(Protocol):
    """Where a secret is read from: exactly one of an environment variable or a file (the rule
    file's ``{env: NAME}`` / ``{file: /run/secrets/NAME}``)."""

    @property
    def env(self) -> str | None: ...

    @property
    def file(self) -> str | None: ...


def webhook_source(source: SecretSource) -> str:
    """The secret-free name of a source: ``env:SLACK_WEBHOOK_URL`` or ``file:/run/secrets/x``."""
    if source.env is not None:
        return f"env:{source.env}"
    if source.file is not None:
        return f"file:{source.file}"
    raise ValueError("a webhook source names an environment variable (env) or a file (file)")


def describe_source(source: str) -> str:
    """``env:NAME`` as ``$NAME``, ``file:/path`` as ``file /path``: for messages."""
    kind, _, name = source.partition(":")
    if kind == "env":
        return f"${name}"
    if kind == "file":
        return f"file {name}"
    return source


def webhook_url(source: SecretSource, environ: Mapping[str, str]) -> str:
    """The webhook URL from the environment or a file, checked to be an http(s) URL.

    Raises DeliveryError (not retryable) naming the variable or file, never the URL.
    """
    if source.env is not None:
        value = environ.get(source.env, "").strip()
        if not value:
            raise DeliveryError(
                f"the environment variable {source.env} (a webhook URL) is not set",
                retryable=False,
            )
    elif source.file is not None:
        value = _read(source.file)
        if not value:
            raise DeliveryError(f"the webhook URL file {source.file} is empty", retryable=False)
    else:
        raise DeliveryError("a webhook needs {env: NAME} or {file: PATH}", retryable=False)
    if not _is_http_url(value):
        raise DeliveryError(
            f"{describe_source(webhook_source(source))} does not hold an http(s) URL",
            retryable=False,
        )
    return value


def _read(path: str) -> str:
    failure: DeliveryError | None = None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        failure = DeliveryError(
            f"the webhook URL file {path} cannot be read: {reason}", retryable=False
        )
    raise failure


def _is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


class Webhook:
    """An incoming webhook that takes ``{"text": ...}``.

    ``style="slack"`` (the default) sends Slack's mrkdwn; ``"markdown"`` sends the Markdown as
    written, for Mattermost and Rocket.Chat, which render Markdown in the same field. ``source``
    is the secret-free name of where the URL came from (``env:SLACK_WEBHOOK_URL``).
    """

    def __init__(
        self,
        url: str,
        source: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        style: Style = "slack",
    ) -> None:
        if not _is_http_url(url):
            raise ValueError(f"{describe_source(source)} does not hold an http(s) URL")
        self._url = url
        self.source = source
        self.timeout = timeout
        self.style: Style = style
        self._session = session

    def __repr__(self) -> str:
        return f"Webhook(source={self.source!r})"

    @property
    def describe(self) -> str:
        return f"webhook from {describe_source(self.source)}"

    def payload(self, message: Message) -> dict[str, object]:
        """The JSON body: the whole message as ``text``."""
        if self.style == "slack":
            text = message_text(message.title, message.markdown)
        else:
            title = " ".join(message.title.split())
            text = f"**{title}**\n\n{message.markdown}" if message.markdown else f"**{title}**"
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + "\n… " + CUT.say(message.language, "cut")
        body: dict[str, object] = {"text": text}
        if self.style == "slack":
            body["mrkdwn"] = True
        return body

    def deliver(self, message: Message) -> str:
        """POST the message; ``"HTTP 200"`` (or whichever 2xx came back)."""
        payload = self.payload(message)
        response: requests.Response | None = None
        failure: DeliveryError | None = None
        try:
            response = self._post(payload)
        except requests.Timeout:
            failure = DeliveryError(
                f"{self.describe}: no answer within {self.timeout:g} s", retryable=True
            )
        except requests.ConnectionError:
            failure = DeliveryError(f"{self.describe}: cannot connect", retryable=True)
        except requests.RequestException as exc:  # the URL is in its message: name the kind only
            failure = DeliveryError(
                f"{self.describe}: the request failed ({type(exc).__name__})", retryable=True
            )
        # Raised outside the except clauses, so the requests exception (and its URL) is not
        # even the context of the error.
        if failure is not None:
            raise failure
        assert response is not None
        return self._receipt(response)

    def _post(self, payload: dict[str, object]) -> requests.Response:
        headers = {"User-Agent": USER_AGENT}
        if self._session is not None:
            return self._session.post(
                self._url,
                json=payload,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,  # a redirect would be followed as a GET, losing the post
            )
        with requests.Session() as session:
            return session.post(
                self._url,
                json=payload,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )

    def _receipt(self, response: requests.Response) -> str:
        status = response.status_code
        if 200 <= status < 300:
            return f"HTTP {status}"
        reason = self._reason(response)
        retry_after = _seconds(response.headers.get("Retry-After"))
        raise DeliveryError(
            f"{self.describe} answered HTTP {status}{reason}",
            retryable=status >= 500 or status in RETRYABLE_4XX,
            retry_after=retry_after,
        )

    def _reason(self, response: requests.Response) -> str:
        """Slack's short error code ("no_service", "invalid_payload"), when that is all the body
        says and it repeats nothing of the URL."""
        try:
            text = response.text.strip()
        except (UnicodeDecodeError, LookupError):
            return ""
        if not _SHORT_REASON.match(text):
            return ""
        parts = urlsplit(self._url)
        secrets = [segment for segment in parts.path.split("/") if len(segment) >= 6]
        if parts.query:
            secrets.append(parts.query)
        if any(secret in text for secret in secrets):
            return ""
        return f": {text}"


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None
