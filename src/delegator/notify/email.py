"""Summaries by email over SMTP: text/plain (the Markdown as written) with a text/html
alternative rendered safely from it.

STARTTLS, when configured, is required: a server that does not offer it gets nothing, rather than
the credentials and the summary in the clear. Errors say which server and what it answered, but
never the password, nor the server's text after a failed login (some servers echo the
credentials back).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Final

from delegator.clock import Clock, SystemClock
from delegator.notify.markdown import to_email_html
from delegator.notify.message import DeliveryError, Message, one_line

# SMTP reply codes 4xx are transient by definition (RFC 5321 4.2.1); 5xx are permanent.
_SERVER_TEXT_LIMIT: Final = 120


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """How to reach the mail server. ``password`` is a secret: it is left out of ``repr``."""

    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "delegator@localhost"

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


def _checked_address(address: str) -> str:
    """An address fit for a header: one ``local@domain``, no line breaks or commas."""
    text = address.strip()
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain or any(c in text for c in "\r\n,;<> "):
        raise ValueError(f"not an email address: {address!r}")
    return text


class Email:
    """Email to one or more addresses, through one SMTP server.

    ``ssl_context`` defaults to the system's trusted CAs (``SSL_CERT_FILE`` adds a private one);
    ``clock`` gives the Date header, and is injectable so tests can pin it.
    """

    def __init__(
        self,
        smtp: SmtpSettings,
        to: Sequence[str],
        *,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(to, str) or not to:
            raise ValueError("email needs a list of one or more addresses")
        self.smtp = smtp
        self.to = tuple(_checked_address(address) for address in to)
        self.sender = _checked_address(smtp.sender)
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._clock = clock if clock is not None else SystemClock()

    def __repr__(self) -> str:
        return f"Email(to={self.to!r}, server={self.smtp.server!r})"

    @property
    def describe(self) -> str:
        return "email to " + ", ".join(self.to)

    def compose(self, message: Message) -> EmailMessage:
        """The email as it will be sent: subject, sender, recipients, date, a Message-ID, and
        text/plain + text/html alternatives."""
        title = one_line(message.title)
        email = EmailMessage()
        email["Subject"] = title
        email["From"] = self.sender
        email["To"] = ", ".join(self.to)
        email["Date"] = format_datetime(self._clock.now().astimezone(UTC))
        domain = Address(addr_spec=self.sender).domain or "localhost"
        email["Message-ID"] = make_msgid(domain=domain)
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        email.set_content(message.markdown or title)
        email.add_alternative(to_email_html(message.markdown or title, title), subtype="html")
        return email

    def deliver(self, message: Message) -> str:
        """Send it; the Message-ID (and the recipients the server refused, if some were)."""
        email = self.compose(message)
        failure: DeliveryError | None = None
        try:
            refused = self._send(email)
        except Exception as exc:  # mapped below, outside this clause: see _failure
            failure = self._failure(exc)
        if failure is not None:
            raise failure
        receipt = str(email["Message-ID"])
        if refused:
            receipt += " (refused: " + ", ".join(sorted(refused)) + ")"
        return receipt

    def _send(self, email: EmailMessage) -> dict[str, tuple[int, bytes]]:
        smtp = smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.smtp.starttls:
                if not smtp.has_extn("starttls"):
                    raise _NoStartTlsError
                context = self._ssl_context or ssl.create_default_context()
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.smtp.username:
                smtp.login(self.smtp.username, self.smtp.password or "")
            return smtp.send_message(email, from_addr=self.sender, to_addrs=list(self.to))
        finally:
            _quit(smtp)

    def _failure(self, exc: Exception) -> DeliveryError:
        """The DeliveryError for what went wrong: retryable when it may pass (a 4xx reply, a lost
        or refused connection, a timeout), not when it needs a person (5xx, a refused login, no
        STARTTLS, an untrusted certificate)."""
        where = f"{self.describe} via {self.smtp.server}"
        if isinstance(exc, _NoStartTlsError):
            return DeliveryError(
                f"{where}: the server does not offer STARTTLS; not sending in the clear",
                retryable=False,
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"{where}: the server refused the login of {self.smtp.username} "
                f"(SMTP {exc.smtp_code})",
                retryable=_transient(exc.smtp_code),
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(
                f"{where}: the server does not support {_unsupported(exc)}", retryable=False
            )
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = {address: code for address, (code, _) in exc.recipients.items()}
            listed = ", ".join(f"{address} ({code})" for address, code in sorted(codes.items()))
            return DeliveryError(
                f"{where}: every recipient was refused: {listed}",
                retryable=all(_transient(code) for code in codes.values()),
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            return DeliveryError(
                f"{where}: the server answered {exc.smtp_code} {_server_text(exc.smtp_error)}",
                retryable=_transient(exc.smtp_code),
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            if "timed out" in str(exc):  # smtplib reports a read timeout as a disconnection
                return DeliveryError(
                    f"{where}: no answer within {self.timeout:g} s", retryable=True
                )
            return DeliveryError(f"{where}: the server closed the connection", retryable=True)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"{where}: the server's certificate is not trusted ({exc.verify_message})",
                retryable=False,
            )
        if isinstance(exc, ssl.SSLError):
            return DeliveryError(f"{where}: TLS failed ({exc.reason})", retryable=True)
        if isinstance(exc, TimeoutError | socket.timeout):
            return DeliveryError(f"{where}: no answer within {self.timeout:g} s", retryable=True)
        if isinstance(exc, ConnectionRefusedError):
            return DeliveryError(f"{where}: connection refused", retryable=True)
        if isinstance(exc, socket.gaierror):
            return DeliveryError(f"{where}: the host name does not resolve", retryable=True)
        if isinstance(exc, OSError):  # smtplib's other errors are OSErrors too
            reason = exc.strerror or type(exc).__name__
            return DeliveryError(f"{where}: {reason}", retryable=True)
        raise exc  # a programming error, not a delivery problem


class _NoStartTlsError(Exception):
    """The server's EHLO did not list STARTTLS."""


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session politely; a failure here must not turn a sent email into a resend."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _transient(code: int) -> bool:
    return 400 <= code < 500


def _server_text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    line = " ".join(text.split())
    return line[:_SERVER_TEXT_LIMIT]


def _unsupported(exc: smtplib.SMTPNotSupportedError) -> str:
    text = str(exc).lower()
    if "auth" in text:
        return "AUTH (login)"
    if "starttls" in text:
        return "STARTTLS"
    return "what was asked"
