"""No secret reaches a log line: a token (and a webhook URL, an SMTP password, a database
password) is fed through every error path, and the captured log text is searched for it.

The logs are configured as the service configures them (``logs.configure``) on a StringIO, in
JSON and on the console; the standard library's records (the Asana client's and urllib3's own)
are searched too.
"""

from __future__ import annotations

import io
import json
import logging
import smtplib
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import structlog

from delegator.bootstrap import Fleet, open_store
from delegator.clients import load_client
from delegator.clock import Clock, ManualClock, SystemClock
from delegator.logs import configure, get_logger
from delegator.redact import (
    REDACTED,
    RedactingFilter,
    forget_secrets,
    redact_text,
    redact_value,
    register_secret,
)
from delegator.sandbox import SandboxServer
from delegator.settings import Settings, load_settings

# An Asana personal access token's shape, and one no pattern knows: only registration hides it.
PAT = "2/1209876543210987/1209876543210999:4f2a9c0d8e7b6a5f4e3d2c1b0a998877"
PLAIN_TOKEN = "zq-plain-token-Hh7Kk2Mm9"
EXAMPLES = Path("examples")
# The test's own servers (the sandbox, the fake mail server) log what they receive: not the service.
TEST_WORLD_LOGGERS = ("mail.log", "delegator.sandbox")


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


class CapturedLogs:
    """Every line the service's logging writes, structlog's and the standard library's."""

    def __init__(self, stream: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
        self.stream = stream
        self.caplog = caplog

    @property
    def text(self) -> str:
        records = [
            self.caplog.handler.format(record)
            for record in self.caplog.records
            if not record.name.startswith(TEST_WORLD_LOGGERS)
        ]
        return "\n".join([self.stream.getvalue(), *records])

    def assert_clean(self, *secrets: str) -> None:
        text = self.text
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into the logs:\n{text}"


@pytest.fixture(params=["json", "console"])
def logs(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> CapturedLogs:
    stream = io.StringIO()
    configure(str(request.param), "debug", stream=stream)
    caplog.set_level(logging.DEBUG)
    return CapturedLogs(stream, caplog)


def rule_file(tmp_path: Path, token_source: str) -> Path:
    """The small agency's rules, with its token read from ``token_source``."""
    text = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
    old = "token: { env: ASANA_TOKEN_NORTHWIND }"
    assert old in text
    path = tmp_path / "rules" / "small-agency.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text.replace(old, f"token: {token_source}"), encoding="utf-8")
    return path


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _waits_nothing() -> ManualClock:
    """Retries and budget waits move this clock instead of taking real time."""
    return ManualClock(datetime.now(UTC))


def run_cycle(
    settings: Settings, rules: Path, environ: dict[str, str], clock: Clock | None = None
) -> list[str]:
    fleet = Fleet(settings, open_store(settings), environ=environ, clock=clock or SystemClock())
    try:
        return fleet.cycle(load_client(rules)).errors
    finally:
        fleet.close()


# ------------------------------------------------------------------ the Asana paths


def test_a_revoked_token_answered_401_by_the_sandbox(logs: CapturedLogs, tmp_path: Path) -> None:
    with SandboxServer.demo() as sandbox:
        token = sandbox.token("anna@northwind.example")
        sandbox.faults.revoke(token)
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'state.db'}", asana_base_url=sandbox.base_url
        )
        errors = run_cycle(
            settings, rule_file(tmp_path, "{env: T}"), {"T": token}, clock=_waits_nothing()
        )
    assert any("401" in e for e in errors), errors
    assert "401" in logs.text
    logs.assert_clean(token)


@pytest.mark.parametrize("token", [PAT, PLAIN_TOKEN])
def test_a_cycle_with_a_bad_token(logs: CapturedLogs, tmp_path: Path, token: str) -> None:
    """A real cycle against the sandbox with a token it does not know."""
    with SandboxServer.demo() as sandbox:
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'state.db'}", asana_base_url=sandbox.base_url
        )
        errors = run_cycle(
            settings, rule_file(tmp_path, "{env: T}"), {"T": token}, clock=_waits_nothing()
        )
        assert sandbox.requests.entries(), "the cycle never reached the sandbox"
    assert errors
    assert "cycle_finished" in logs.text
    logs.assert_clean(token)


def test_connection_refused(logs: CapturedLogs, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
        asana_base_url=f"http://127.0.0.1:{closed_port()}/api/1.0",
    )
    errors = run_cycle(
        settings, rule_file(tmp_path, "{env: T}"), {"T": PLAIN_TOKEN}, clock=_waits_nothing()
    )
    assert any("onnect" in e for e in errors), errors
    logs.assert_clean(PLAIN_TOKEN)


@pytest.mark.parametrize("case", ["missing", "folder", "not-utf8", "empty"])
def test_a_token_file_that_cannot_be_read(logs: CapturedLogs, tmp_path: Path, case: str) -> None:
    token_file = tmp_path / "secrets" / "asana"
    token_file.parent.mkdir()
    if case == "folder":
        token_file.mkdir()
    elif case == "not-utf8":
        # The decoder's error object holds the bytes it read: the token must not follow.
        token_file.write_bytes(PLAIN_TOKEN.encode() + b"\xff\xfe\n")
    elif case == "empty":
        token_file.write_text("\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'state.db'}")
    errors = run_cycle(settings, rule_file(tmp_path, f"{{file: {token_file}}}"), {})
    assert any(str(token_file) in e for e in errors), errors
    assert "client_unavailable" in logs.text
    logs.assert_clean(PLAIN_TOKEN)


# ------------------------------------------------------------------ exceptions and values


def test_an_exception_carrying_a_registered_token_logged_with_its_traceback(
    logs: CapturedLogs,
) -> None:
    register_secret(PLAIN_TOKEN)
    log = get_logger(client="acme")
    try:
        raise RuntimeError(f"request failed with token {PLAIN_TOKEN}")
    except RuntimeError as exc:
        log.exception("call_failed", error=exc, args=[{"token_seen": PLAIN_TOKEN}])
    assert "call_failed" in logs.text
    assert "RuntimeError: request failed with token [redacted]" in logs.text
    logs.assert_clean(PLAIN_TOKEN)


def test_tokens_and_headers_nobody_registered_are_still_recognised(logs: CapturedLogs) -> None:
    log = get_logger()
    headers = {"Authorization": f"Bearer {PLAIN_TOKEN}", "Accept": "application/json"}
    try:
        raise ValueError(f"bad answer to {headers!r} using {PAT}")
    except ValueError:
        log.exception("call_failed", headers=headers, raw=f"Authorization: Bearer {PAT}")
    log.info("retrying", token=PLAIN_TOKEN, sync_url=f"https://x.example/?access_token={PAT}")
    assert "application/json" in logs.text  # redaction keeps what is not secret
    logs.assert_clean(PLAIN_TOKEN, PAT)


def test_a_webhook_url_in_a_requests_error(logs: CapturedLogs) -> None:
    """A Slack-compatible webhook on a closed port: requests names the path in its error."""
    path = "/services/T0123ABCD/B0456EFGH/Xk29sLpQ0wErTy7UuIoP3aSd"
    webhook = f"http://127.0.0.1:{closed_port()}{path}"
    register_secret(webhook)  # as the webhook notifier does when it reads the URL
    log = get_logger(client="acme")
    with pytest.raises(requests.ConnectionError) as raised:
        requests.post(webhook, json={"text": "summary"}, timeout=5)
    assert path in str(raised.value)  # the error does carry the secret part
    try:
        raise raised.value
    except requests.ConnectionError as exc:
        log.exception("summary_send_failed", error=exc, url=webhook)
    assert "summary_send_failed" in logs.text
    logs.assert_clean(path, "Xk29sLpQ0wErTy7UuIoP3aSd")


def test_webhook_urls_nobody_registered_are_still_recognised(logs: CapturedLogs) -> None:
    secret = "Xk29sLpQ0wErTy7UuIoP3aSd"
    get_logger().error(
        "send_failed",
        slack=f"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/{secret}",
        discord=f"https://discord.com/api/webhooks/123456/{secret}",
        other=f"https://hooks.example.com/incoming/{secret}abcdefghijkl",
    )
    assert "hooks.slack.com/services/[redacted]" in logs.text
    logs.assert_clean(secret)


def test_a_database_url_whose_password_cannot_connect(logs: CapturedLogs, tmp_path: Path) -> None:
    password = "db-S3cret-pw-42"
    url = f"postgresql+psycopg://delegator:{password}@127.0.0.1:{closed_port()}/delegator"
    settings = load_settings(
        None, {"DELEGATOR_CONFIG": str(tmp_path / "none.yaml"), "DELEGATOR_DATABASE_URL": url}
    )
    log = get_logger()
    log.info("settings_loaded", settings=settings, url=url)
    with pytest.raises(Exception) as raised:
        open_store(settings)
    try:
        raise raised.value
    except Exception as exc:
        log.exception("store_unavailable", error=exc, cause=exc.__cause__)
    assert "store_unavailable" in logs.text
    logs.assert_clean(password)


def test_an_smtp_login_failure_whose_answer_echoes_the_password(
    logs: CapturedLogs, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    password = "smtp-Hunter2-Pass"
    secret_file = tmp_path / "smtp_password"
    secret_file.write_text(password + "\n")
    settings = load_settings(
        None,
        {
            "DELEGATOR_CONFIG": str(tmp_path / "none.yaml"),
            "DELEGATOR_SMTP_HOST": "127.0.0.1",
            "DELEGATOR_SMTP_USERNAME": "ops@example.com",
            "DELEGATOR_SMTP_PASSWORD_FILE": str(secret_file),
        },
    )

    def refuse(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        # A careless server that quotes what it was given.
        assert isinstance(data, LoginPassword)
        return AuthResult(
            success=False, handled=False, message=f"535 5.7.8 refused {data.password.decode()}"
        )

    port = closed_port()
    controller = Controller(
        object(), hostname="127.0.0.1", port=port, authenticator=refuse, auth_require_tls=False
    )
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            assert settings.smtp_username is not None
            assert settings.smtp_password is not None
            with pytest.raises(smtplib.SMTPAuthenticationError) as raised:
                smtp.login(settings.smtp_username, settings.smtp_password)
    finally:
        controller.stop()
    assert password in str(raised.value)  # the failure does carry the secret
    try:
        raise raised.value
    except smtplib.SMTPAuthenticationError as exc:
        get_logger(client="acme").exception("digest_send_failed", error=exc)
    assert "digest_send_failed" in logs.text
    logs.assert_clean(password)


# ------------------------------------------------------------------ the redactor itself


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def", "Authorization: [redacted]"),
        ("{'Authorization': 'Basic dXNlcjpwYXNz', 'Accept': '*/*'}", "{'Authorization': '[redacted]', 'Accept': '*/*'}"),
        ("sent Bearer abc123", "sent Bearer [redacted]"),
        (f"pat {PAT}.", "pat [redacted]."),
        ("legacy 0/0123456789abcdef0123456789abcdef", "legacy [redacted]"),
        ("1/1204567890:0123456789abcdef0123456789abcdef", "[redacted]"),
        ("postgresql+psycopg://user:pw@db:5432/x", "postgresql+psycopg://user:[redacted]@db:5432/x"),
        ("host=db password=hunter2 user=x", "host=db password=[redacted] user=x"),
        ("https://x.example/a?token=abc&page=2", "https://x.example/a?token=[redacted]&page=2"),
        ("https://hooks.slack.com/services/T1/B2/c3", "https://hooks.slack.com/services/[redacted]"),
        ("https://api.example/k/abcdefghijklmnopqrstuvwxyz0123456789/x", "https://api.example/k/[redacted]/x"),
        # Ordinary text stays as it is: gids, paths, words, long names without digits.
        ("GET /tasks/1209876543210987/stories", "GET /tasks/1209876543210987/stories"),
        ("/srv/pytest-of-root/test_the_webhook_never_leaks_into_logs0/x", "/srv/pytest-of-root/test_the_webhook_never_leaks_into_logs0/x"),
        ("the token file /run/secrets/asana is empty", "the token file /run/secrets/asana is empty"),
        ("sqlite:////var/lib/delegator/state.db", "sqlite:////var/lib/delegator/state.db"),
    ],
)  # fmt: skip
def test_patterns(text: str, expected: str) -> None:
    assert redact_text(text) == expected


def test_registered_secrets_are_replaced_longest_first_and_short_ones_ignored() -> None:
    register_secret("abcd-secret")
    register_secret("abcd-secret-longer")
    register_secret("abc")  # too short to tell from ordinary words
    assert redact_text("x abcd-secret-longer y abcd-secret z abc") == (
        f"x {REDACTED} y {REDACTED} z abc"
    )


def test_values_are_walked_and_objects_replaced_only_when_their_repr_carries_a_secret() -> None:
    register_secret(PLAIN_TOKEN)

    class Holder:
        def __repr__(self) -> str:
            return f"Holder({PLAIN_TOKEN})"

    value = {"a": [PLAIN_TOKEN, (1, Holder())], "password": "x", "n": None, "ok": 3.5}
    assert redact_value(value) == {
        "a": [REDACTED, (1, f"Holder({REDACTED})")],
        "password": REDACTED,
        "n": None,
        "ok": 3.5,
    }
    harmless = object()
    assert redact_value(harmless) is harmless


def test_the_processor_runs_on_the_rendered_event(logs: CapturedLogs) -> None:
    register_secret(PLAIN_TOKEN)
    structlog.get_logger("delegator").info(f"event with {PLAIN_TOKEN}", nested={"k": PLAIN_TOKEN})
    line = logs.stream.getvalue().strip()
    assert PLAIN_TOKEN not in line
    if line.startswith("{"):
        assert json.loads(line)["nested"] == {"k": REDACTED}


def test_secrets_registered_from_many_threads_are_all_kept() -> None:
    import threading

    values = [f"thread-secret-{n:04d}" for n in range(200)]
    threads = [threading.Thread(target=register_secret, args=(v,)) for v in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = redact_text(" ".join(values))
    assert "thread-secret" not in text
    assert text == " ".join([REDACTED] * len(values))


def test_the_standard_library_filter_redacts_messages_arguments_and_tracebacks() -> None:
    register_secret(PLAIN_TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.ops.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise RuntimeError(f"failed with {PLAIN_TOKEN}")
        except RuntimeError:
            logger.exception("request with %s and %s", PLAIN_TOKEN, {"Authorization": "Bearer x1"})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "RuntimeError: failed with [redacted]" in text
    assert "request with [redacted] and {'Authorization': '[redacted]'}" in text
    assert PLAIN_TOKEN not in text
