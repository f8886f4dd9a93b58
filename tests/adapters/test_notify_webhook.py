"""The webhook destination against a real HTTP server on loopback, and `responses` for the failures
a local server cannot stage; the URL (the credential) never shows in any error."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from delegator.core.language import Language
from delegator.notify import (
    DeliveryError,
    FindsPosted,
    Message,
    Webhook,
    webhook_source,
    webhook_url,
)
from delegator.notify.webhook import MAX_TEXT

SECRET = "T0001/B0002/Xq9SeCrEtToKeN42"
SOURCE = "env:SLACK_WEBHOOK_URL"
SUMMARY = Message(
    title="Acme: week of 3 March",
    markdown=(
        "Delegated **12** tasks, _3_ overdue.\n\n"
        "- [Pay the invoice](https://app.asana.com/0/0/1201/f) <due Friday> & more"
    ),
    html="<body>unused here</body>",
    status_type="at_risk",
)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class ChatServer:
    """A webhook receiver on 127.0.0.1: records each POST, answers from a queue (200 "ok" when
    the queue is empty)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: list[Answer] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                server.received.append(Received(self.path, dict(self.headers), body))
                answer = server.answers.pop(0) if server.answers else Answer()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/services/{SECRET}"


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    server = ChatServer()
    server.thread.start()
    yield server
    server.http.shutdown()
    server.http.server_close()
    server.thread.join(timeout=10)


def assert_secret_free(error: DeliveryError, url: str) -> None:
    shown = f"{error} {error!r}"
    assert url not in shown
    assert SECRET not in shown
    assert "Xq9SeCrEt" not in shown
    # Raised outside the except clause: the requests exception is not even its context.
    assert error.__cause__ is None
    assert error.__context__ is None


# ---------------------------------------------------------------------- against a real server


def test_a_summary_is_posted_as_slack_json_to_the_webhook(chat: ChatServer) -> None:
    hook = Webhook(chat.url, SOURCE)

    receipt = hook.deliver(SUMMARY)

    assert receipt == "HTTP 200"
    (posted,) = chat.received
    assert posted.path == f"/services/{SECRET}"
    assert posted.headers["Content-Type"] == "application/json"
    assert posted.body == {
        "text": (
            "*Acme: week of 3 March*\n"
            "Delegated *12* tasks, _3_ overdue.\n\n"
            "• <https://app.asana.com/0/0/1201/f|Pay the invoice> &lt;due Friday&gt; &amp; more"
        ),
        "mrkdwn": True,
    }


def test_the_markdown_style_posts_the_markdown_as_written(chat: ChatServer) -> None:
    Webhook(chat.url, SOURCE, style="markdown").deliver(SUMMARY)

    (posted,) = chat.received
    assert posted.body == {"text": f"**Acme: week of 3 March**\n\n{SUMMARY.markdown}"}


def test_a_server_error_is_retryable_and_names_the_source_not_the_url(chat: ChatServer) -> None:
    chat.answers.append(Answer(500, b"Internal Server Error"))

    with pytest.raises(DeliveryError) as failed:
        Webhook(chat.url, SOURCE).deliver(SUMMARY)

    assert failed.value.retryable is True
    assert str(failed.value) == (
        "webhook from $SLACK_WEBHOOK_URL answered HTTP 500: Internal Server Error"
    )
    assert_secret_free(failed.value, chat.url)


def test_a_webhook_that_is_gone_is_not_retried(chat: ChatServer) -> None:
    chat.answers.append(Answer(404, b"no_service"))

    with pytest.raises(DeliveryError) as failed:
        Webhook(chat.url, SOURCE).deliver(SUMMARY)

    assert failed.value.retryable is False
    assert str(failed.value) == "webhook from $SLACK_WEBHOOK_URL answered HTTP 404: no_service"


def test_a_rate_limit_is_retryable_after_the_wait_the_server_asks(chat: ChatServer) -> None:
    chat.answers.append(Answer(429, b"rate_limited", {"Retry-After": "30"}))

    with pytest.raises(DeliveryError) as failed:
        Webhook(chat.url, SOURCE).deliver(SUMMARY)

    assert failed.value.retryable is True
    assert failed.value.retry_after == 30.0


def test_a_body_that_repeats_the_url_is_not_quoted(chat: ChatServer) -> None:
    chat.answers.append(Answer(400, b"bad token Xq9SeCrEtToKeN42"))

    with pytest.raises(DeliveryError) as failed:
        Webhook(chat.url, SOURCE).deliver(SUMMARY)

    assert str(failed.value) == "webhook from $SLACK_WEBHOOK_URL answered HTTP 400"
    assert failed.value.retryable is False
    assert_secret_free(failed.value, chat.url)


def test_a_redirect_is_not_followed(chat: ChatServer) -> None:
    chat.answers.append(Answer(302, b"", {"Location": "/elsewhere"}))

    with pytest.raises(DeliveryError, match=r"answered HTTP 302$") as failed:
        Webhook(chat.url, SOURCE).deliver(SUMMARY)

    assert failed.value.retryable is False
    assert len(chat.received) == 1


def test_a_refused_connection_is_retryable_and_secret_free() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/{SECRET}"

    with pytest.raises(DeliveryError) as failed:
        Webhook(url, SOURCE).deliver(SUMMARY)

    assert failed.value.retryable is True
    assert str(failed.value) == "webhook from $SLACK_WEBHOOK_URL: cannot connect"
    assert_secret_free(failed.value, url)


def test_a_server_that_never_answers_times_out_as_retryable() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/services/{SECRET}"

        with pytest.raises(DeliveryError) as failed:
            Webhook(url, SOURCE, timeout=0.3).deliver(SUMMARY)

    assert failed.value.retryable is True
    assert str(failed.value) == "webhook from $SLACK_WEBHOOK_URL: no answer within 0.3 s"
    assert_secret_free(failed.value, url)


def test_a_given_session_is_used_and_left_open(chat: ChatServer) -> None:
    with requests.Session() as session:
        session.headers["X-Trace"] = "summary-test"
        hook = Webhook(chat.url, SOURCE, session=session)

        assert hook.deliver(SUMMARY) == "HTTP 200"
        assert hook.deliver(SUMMARY) == "HTTP 200"

    assert [r.headers["X-Trace"] for r in chat.received] == ["summary-test"] * 2


# ---------------------------------------------------------------------- with `responses`

URL = f"https://hooks.slack.example/services/{SECRET}"


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (requests.ReadTimeout(f"Read timed out. (url={URL})"), "no answer within 10 s"),
        (requests.ConnectTimeout(f"Connect timed out: {URL}"), "no answer within 10 s"),
        (requests.ConnectionError(f"Max retries exceeded with url: {URL}"), "cannot connect"),
        (
            requests.exceptions.ChunkedEncodingError(f"broken: {URL}"),
            "the request failed (ChunkedEncodingError)",
        ),
    ],
)
def test_requests_failures_carry_the_url_and_are_replaced(
    api: responses.RequestsMock, raised: Exception, expected: str
) -> None:
    api.post(URL, body=raised)

    with pytest.raises(DeliveryError) as failed:
        Webhook(URL, SOURCE).deliver(SUMMARY)

    assert str(failed.value) == f"webhook from $SLACK_WEBHOOK_URL: {expected}"
    assert failed.value.retryable is True
    assert_secret_free(failed.value, URL)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (408, True), (429, True), (400, False), (403, False)],
)
def test_which_statuses_are_worth_another_try(
    api: responses.RequestsMock, status: int, retryable: bool
) -> None:
    api.post(URL, status=status, body="")

    with pytest.raises(DeliveryError) as failed:
        Webhook(URL, SOURCE).deliver(SUMMARY)

    assert failed.value.retryable is retryable
    assert str(failed.value) == f"webhook from $SLACK_WEBHOOK_URL answered HTTP {status}"


def test_any_2xx_is_a_success(api: responses.RequestsMock) -> None:
    api.post(URL, status=204)

    assert Webhook(URL, SOURCE).deliver(SUMMARY) == "HTTP 204"


def test_a_text_too_long_for_one_message_is_cut(api: responses.RequestsMock) -> None:
    api.post(URL, status=200)
    long = Message("Long", "x" * (MAX_TEXT + 500), "<body/>")

    Webhook(URL, SOURCE).deliver(long)

    sent = json.loads(api.calls[0].request.body or b"{}")
    assert len(sent["text"]) < MAX_TEXT + 100
    assert sent["text"].endswith("(cut: too long for one message)")


# ---------------------------------------------------------------------- identity and the URL


def test_description_and_repr_name_the_source_never_the_url() -> None:
    hook = Webhook(URL, SOURCE)

    assert hook.describe == "webhook from $SLACK_WEBHOOK_URL"
    assert repr(hook) == "Webhook(source='env:SLACK_WEBHOOK_URL')"
    assert Webhook(URL, "file:/run/secrets/chat").describe == "webhook from file /run/secrets/chat"


def test_a_webhook_cannot_look_for_what_it_posted() -> None:
    assert not isinstance(Webhook(URL, SOURCE), FindsPosted)  # a chat has no read-back


def test_a_webhook_needs_an_http_url_and_does_not_echo_it() -> None:
    with pytest.raises(ValueError, match=r"^\$SLACK_WEBHOOK_URL does not hold an http\(s\) URL$"):
        Webhook(f"ftp://files.example/{SECRET}", SOURCE)


@dataclass
class Source:
    env: str | None = None
    file: str | None = None


def test_the_url_is_read_from_the_environment() -> None:
    environ = {"SLACK_WEBHOOK_URL": f"  {URL}\n"}

    assert webhook_url(Source(env="SLACK_WEBHOOK_URL"), environ) == URL
    assert webhook_source(Source(env="SLACK_WEBHOOK_URL")) == "env:SLACK_WEBHOOK_URL"


def test_the_url_is_read_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "chat-url"
    secret.write_text(URL + "\n", encoding="utf-8")

    assert webhook_url(Source(file=str(secret)), {}) == URL
    assert webhook_source(Source(file=str(secret))) == f"file:{secret}"


def test_a_missing_variable_is_named(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as failed:
        webhook_url(Source(env="SLACK_WEBHOOK_URL"), {"OTHER": URL})

    assert (
        str(failed.value) == "the environment variable SLACK_WEBHOOK_URL (a webhook URL) is not set"
    )
    assert failed.value.retryable is False


def test_a_missing_or_empty_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")

    with pytest.raises(DeliveryError) as unreadable:
        webhook_url(Source(file=str(missing)), {})
    with pytest.raises(DeliveryError) as blank:
        webhook_url(Source(file=str(empty)), {})

    assert str(unreadable.value) == (
        f"the webhook URL file {missing} cannot be read: No such file or directory"
    )
    assert unreadable.value.__context__ is None
    assert str(blank.value) == f"the webhook URL file {empty} is empty"


def test_a_value_that_is_not_a_url_is_refused_without_showing_it() -> None:
    environ = {"SLACK_WEBHOOK_URL": f"hooks.slack.example/services/{SECRET}"}

    with pytest.raises(DeliveryError) as failed:
        webhook_url(Source(env="SLACK_WEBHOOK_URL"), environ)

    assert str(failed.value) == "$SLACK_WEBHOOK_URL does not hold an http(s) URL"
    assert SECRET not in str(failed.value)


def test_a_source_names_a_variable_or_a_file() -> None:
    with pytest.raises(DeliveryError, match="needs"):
        webhook_url(Source(), {})
    with pytest.raises(ValueError, match="environment variable"):
        webhook_source(Source())


def test_a_message_in_italian_is_cut_with_an_italian_note(api: responses.RequestsMock) -> None:
    api.post(URL, status=200)
    long = Message("Lungo", "x" * (MAX_TEXT + 500), "<body/>", language=Language.IT)

    Webhook(URL, SOURCE).deliver(long)

    sent = json.loads(api.calls[0].request.body or b"{}")
    assert sent["text"].endswith("(tagliato: troppo lungo per un solo messaggio)")
