"""Email against a real SMTP server (aiosmtpd) on loopback: what arrives, STARTTLS with a test CA,
logins accepted and refused, a server that is down or says "later", and no password anywhere."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from delegator.clock import ManualClock
from delegator.notify import DeliveryError, Email, Message, SmtpSettings

PASSWORD = "pw-Zk81-very-secret"
NOW = datetime(2025, 3, 7, 16, 0, tzinfo=UTC)
SUMMARY = Message(
    title="Acme:\nweek of 3 March",  # a line break must not reach the header
    markdown=(
        "# This week\n\n"
        "Delegated **12** tasks, 3 overdue.\n\n"
        "- [Pay the invoice](https://app.asana.com/0/0/1201/f) <script>alert(1)</script>\n"
    ),
    html="<body>unused here</body>",
)


@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: bytes | None

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Mailbox:
    """The server's side: what it accepted, the logins it saw, and how it answers."""

    delivered: list[Delivered] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply
    data_reply: str = "250 Message accepted for delivery"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        if self.data_reply.startswith("250"):
            login = session.auth_data.login if session.authenticated else None
            self.delivered.append(
                Delivered(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    session.ssl is not None,
                    login,
                )
            )
        return self.data_reply

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.logins.append((auth_data.login, auth_data.password))
        accepted = auth_data.login == b"anna" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """The client's TLS context: trusts the test CA only."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def start_server(ca: trustme.CA) -> Iterator[Callable[..., tuple[Mailbox, int]]]:
    """Start an SMTP server on a free loopback port; stopped after the test."""
    started: list[Controller] = []

    def start(*, tls: bool = False, auth: bool = False, **options: Any) -> tuple[Mailbox, int]:
        mailbox = Mailbox()
        port = free_port()
        if tls:
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(server_context)
            options.setdefault("tls_context", server_context)
        if auth:
            options.setdefault("authenticator", mailbox.authenticate)
            options.setdefault("auth_require_tls", tls)
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return mailbox, port

    yield start
    for controller in started:
        controller.stop()


def settings(port: int, **changes: Any) -> SmtpSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "username": None,
        "password": None,
        "sender": "delegator@agency.example",
        **changes,
    }
    return SmtpSettings(**values)


def assert_no_password(error: DeliveryError) -> None:
    shown = f"{error} {error!r} {error.__cause__!r} {error.__context__!r}"
    assert PASSWORD not in shown


# ---------------------------------------------------------------------- what arrives


def test_the_email_arrives_with_headers_and_both_parts(
    start_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    mailbox, port = start_server()
    to = ["anna@acme.example", "bob@acme.example"]

    receipt = Email(settings(port), to, clock=ManualClock(NOW)).deliver(SUMMARY)

    (arrived,) = mailbox.delivered
    assert arrived.mail_from == "delegator@agency.example"
    assert arrived.rcpt_tos == to
    message = arrived.parsed()
    assert message["Subject"] == "Acme: week of 3 March"
    assert message["From"] == "delegator@agency.example"
    assert message["To"] == "anna@acme.example, bob@acme.example"
    assert message["Date"] == "Fri, 07 Mar 2025 16:00:00 +0000"
    assert message["Message-ID"] == receipt
    assert receipt.startswith("<")
    assert receipt.endswith("@agency.example>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    rich = message.get_body(("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content().replace("\r\n", "\n") == SUMMARY.markdown
    body = rich.get_content()
    assert "<h1>This week</h1>" in body
    assert "Delegated <strong>12</strong> tasks, 3 overdue." in body
    assert '<a href="https://app.asana.com/0/0/1201/f">Pay the invoice</a>' in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>" not in body
    assert "<title>Acme: week of 3 March</title>" in body


def test_each_email_has_a_message_id_of_its_own(
    start_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    mailbox, port = start_server()
    destination = Email(settings(port), ["anna@acme.example"])

    first = destination.deliver(SUMMARY)
    second = destination.deliver(SUMMARY)

    assert first != second
    assert [d.parsed()["Message-ID"] for d in mailbox.delivered] == [first, second]


def test_description_lists_the_recipients_and_nothing_secret() -> None:
    smtp = settings(587, username="anna", password=PASSWORD)
    destination = Email(smtp, ["anna@acme.example", "bob@acme.example"])

    assert destination.describe == "email to anna@acme.example, bob@acme.example"
    assert PASSWORD not in repr(destination)
    assert PASSWORD not in repr(smtp)


@pytest.mark.parametrize(
    "to", [[], ["not-an-address"], ["anna@acme.example\r\nBcc: eve@evil.example"], "a@b.example"]
)
def test_recipients_must_be_a_list_of_plain_addresses(to: Any) -> None:
    with pytest.raises(ValueError, match="address"):
        Email(settings(587), to)


# ---------------------------------------------------------------------- STARTTLS and login


def test_starttls_then_login_then_the_email(
    start_server: Callable[..., tuple[Mailbox, int]], trusting: ssl.SSLContext
) -> None:
    mailbox, port = start_server(tls=True, auth=True, require_starttls=True)
    smtp = settings(port, starttls=True, username="anna", password=PASSWORD)

    Email(smtp, ["bob@acme.example"], ssl_context=trusting).deliver(SUMMARY)

    (arrived,) = mailbox.delivered
    assert arrived.tls is True
    assert arrived.login == b"anna"
    assert mailbox.logins == [(b"anna", PASSWORD.encode())]


def test_a_login_without_tls_when_the_server_allows_it(
    start_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    mailbox, port = start_server(auth=True)
    smtp = settings(port, username="anna", password=PASSWORD)

    Email(smtp, ["bob@acme.example"]).deliver(SUMMARY)

    assert [(d.tls, d.login) for d in mailbox.delivered] == [(False, b"anna")]


def test_a_refused_login_is_not_retryable_and_never_shows_the_password(
    start_server: Callable[..., tuple[Mailbox, int]], trusting: ssl.SSLContext
) -> None:
    mailbox, port = start_server(tls=True, auth=True)
    smtp = settings(port, starttls=True, username="anna", password=PASSWORD + "-wrong")

    with pytest.raises(DeliveryError) as failed:
        Email(smtp, ["bob@acme.example"], ssl_context=trusting).deliver(SUMMARY)

    assert failed.value.retryable is False
    assert str(failed.value) == (
        f"email to bob@acme.example via 127.0.0.1:{port}: "
        "the server refused the login of anna (SMTP 535)"
    )
    assert_no_password(failed.value)
    assert mailbox.delivered == []


def test_starttls_is_required_when_configured_never_skipped(
    start_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    mailbox, port = start_server(auth=True)  # no TLS on offer
    smtp = settings(port, starttls=True, username="anna", password=PASSWORD)

    with pytest.raises(DeliveryError) as failed:
        Email(smtp, ["bob@acme.example"]).deliver(SUMMARY)

    assert failed.value.retryable is False
    assert "does not offer STARTTLS; not sending in the clear" in str(failed.value)
    assert mailbox.logins == []  # the password never left
    assert mailbox.delivered == []


def test_an_untrusted_certificate_is_not_retryable(
    start_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    mailbox, port = start_server(tls=True)
    smtp = settings(port, starttls=True)

    with pytest.raises(DeliveryError) as failed:
        Email(smtp, ["bob@acme.example"], ssl_context=ssl.create_default_context()).deliver(SUMMARY)

    assert failed.value.retryable is False
    assert "the server's certificate is not trusted" in str(failed.value)
    assert mailbox.delivered == []


def test_login_on_a_server_without_auth_is_not_retryable(
    start_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    _, port = start_server()  # no authenticator: AUTH not offered
    smtp = settings(port, username="anna", password=PASSWORD)

    with pytest.raises(DeliveryError) as failed:
        Email(smtp, ["bob@acme.example"]).deliver(SUMMARY)

    assert failed.value.retryable is False
    assert "does not support AUTH" in str(failed.value)
    assert_no_password(failed.value)


# ---------------------------------------------------------------------- failures


def test_a_server_that_is_down_is_retryable() -> None:
    port = free_port()  # nobody listens there

    with pytest.raises(DeliveryError) as failed:
        Email(settings(port), ["bob@acme.example"]).deliver(SUMMARY)

    assert failed.value.retryable is True
    assert str(failed.value) == (
        f"email to bob@acme.example via 127.0.0.1:{port}: connection refused"
    )
    assert failed.value.__context__ is None


def test_a_server_that_never_greets_times_out_as_retryable() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]

        with pytest.raises(DeliveryError) as failed:
            Email(settings(port), ["bob@acme.example"], timeout=0.3).deliver(SUMMARY)

    assert failed.value.retryable is True
    assert str(failed.value).endswith("no answer within 0.3 s")


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("450 4.2.1 Mailbox busy, try later", True), ("550 5.1.1 No such user", False)],
)
def test_a_refused_recipient_is_retryable_only_when_the_server_says_later(
    start_server: Callable[..., tuple[Mailbox, int]], reply: str, retryable: bool
) -> None:
    mailbox, port = start_server()
    mailbox.refuse["bob@acme.example"] = reply

    with pytest.raises(DeliveryError) as failed:
        Email(settings(port), ["bob@acme.example"]).deliver(SUMMARY)

    assert failed.value.retryable is retryable
    code = reply.split()[0]
    assert str(failed.value).endswith(f"every recipient was refused: bob@acme.example ({code})")


def test_some_recipients_refused_is_a_delivery_that_says_so(
    start_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    mailbox, port = start_server()
    mailbox.refuse["bob@acme.example"] = "550 5.1.1 No such user"

    receipt = Email(settings(port), ["anna@acme.example", "bob@acme.example"]).deliver(SUMMARY)

    (arrived,) = mailbox.delivered
    assert arrived.rcpt_tos == ["anna@acme.example"]
    assert receipt == f"{arrived.parsed()['Message-ID']} (refused: bob@acme.example)"


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("451 4.3.0 Try again later", True), ("554 5.6.0 Message rejected", False)],
)
def test_a_message_refused_at_data_follows_the_reply_code(
    start_server: Callable[..., tuple[Mailbox, int]], reply: str, retryable: bool
) -> None:
    mailbox, port = start_server()
    mailbox.data_reply = reply

    with pytest.raises(DeliveryError) as failed:
        Email(settings(port), ["bob@acme.example"]).deliver(SUMMARY)

    assert failed.value.retryable is retryable
    code, text = reply.split(" ", 1)
    assert str(failed.value).endswith(f"the server answered {code} {text}")
