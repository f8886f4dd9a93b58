"""Settings from file and environment; the clients under rules/, reloaded without a restart."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from delegator.clients import TokenError, load_clients, read_token, reload_clients
from delegator.core.schema import TokenSource
from delegator.redact import is_registered
from delegator.settings import SettingsError, load_settings

EXAMPLES = Path("examples")


def test_settings_come_from_the_file_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text(
        "rules: {dir: clients}\n"
        "database: {url: 'sqlite:///x.db'}\n"
        "asana: {requests_per_minute: 150, reconcile_every: 30m}\n"
        "log_level: debug\n"
    )
    settings = load_settings(config, {"DELEGATOR_DATABASE_URL": "postgresql+psycopg://h/db"})
    assert settings.rules_dir == Path("clients")
    assert settings.database_url == "postgresql+psycopg://h/db"
    assert settings.asana_requests_per_minute == 150
    assert settings.reconcile_every == timedelta(minutes=30)
    assert settings.log_level == "debug"
    assert settings.sources["database_url"] == "$DELEGATOR_DATABASE_URL"
    assert settings.sources["rules_dir"] == str(config)


def test_no_file_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, {"DELEGATOR_CONFIG": str(tmp_path / "absent.yaml")})
    assert settings.database_url == "sqlite:///.delegator/state.db"
    assert settings.asana_requests_per_minute == 1500


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        (
            "asana: {requests_per_minute: lots}\n",
            {},
            "asana_requests_per_minute: expected a whole number",
        ),
        ("colour: blue\n", {}, "unknown setting colour"),
        (
            "",
            {"DELEGATOR_LOG_FORMAT": "xml"},
            "$DELEGATOR_LOG_FORMAT: log_format: expected one of auto, json, console",
        ),
        (
            "asana: {reconcile_every: 2 business days}\n",
            {},
            "reconcile_every: use minutes, hours or days",
        ),
        ("[1, 2]\n", {}, "expected a mapping of settings"),
        ("worker: {concurrency: 0}\n", {}, "worker_concurrency: must be more than 0"),
        ("journal: {retention: 2h}\n", {}, "journal_retention: keep the journal at least 1d"),
        ("asana: {proxy: 'socks5://p:1080'}\n", {}, "asana_proxy: expected an http:// or"),
    ],
)
def test_bad_settings_say_which_and_where(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(config, environ)
    assert message in str(caught.value)


def test_tokens_come_from_the_environment_or_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("  2/123:abc\n")
    assert read_token(TokenSource(file=str(secret)), {}) == "2/123:abc"
    assert read_token(TokenSource(env="T"), {"T": "xyz"}) == "xyz"
    with pytest.raises(TokenError, match="the environment variable T is not set"):
        read_token(TokenSource(env="T"), {})
    with pytest.raises(TokenError, match="cannot be read: No such file"):
        read_token(TokenSource(file=str(tmp_path / "none")), {})


def test_clients_are_reloaded_and_a_broken_version_keeps_the_last_good_one(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "small-agency.yaml", tmp_path / "agency.yaml")
    current = {e.key: e for e in load_clients(tmp_path)}
    assert list(current) == ["agency"]
    fresh, changes = reload_clients(tmp_path, current)
    assert changes == []
    assert fresh["agency"] is current["agency"]

    shutil.copy(EXAMPLES / "solo-consultant.yaml", tmp_path / "solo.yaml")
    broken = tmp_path / "agency.yaml"
    broken.write_text(broken.read_text().replace("timezone: Europe/Rome", "timezone: Europe/Rom"))
    stat = broken.stat()
    os.utime(broken, (stat.st_atime, stat.st_mtime + 5))
    fresh, changes = reload_clients(tmp_path, current)
    assert "solo: added" in changes
    [kept] = [c for c in changes if c.startswith("agency:")]
    assert "the new version is invalid, the last valid one keeps running" in kept
    assert "unknown time zone 'Europe/Rom'" in kept
    assert fresh["agency"].engine is current["agency"].engine

    (tmp_path / "solo.yaml").unlink()
    fresh, changes = reload_clients(tmp_path, fresh)
    assert changes == ["solo: removed"]


def test_the_example_settings_file_is_valid() -> None:
    settings = load_settings(Path("config/delegator.example.yaml"), {})
    assert settings.rules_dir == Path("rules")
    assert settings.sources["log_level"] == "config/delegator.example.yaml"


def test_the_settings_file_reports_every_error_at_once_each_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text(
        "rules: {dri: x}\n"
        "asana: {requests_per_minute: lots}\n"
        "log_levl: debug\n"
        "http:\n"
        "  port: 99999\n"
        "shutdown: {grace: !!int soon}\n"
    )
    with pytest.raises(SettingsError) as caught:
        load_settings(config, {}, warn=None)  # stopped at the first one before
    assert str(caught.value).splitlines() == [
        "5 errors in the settings:",
        f"  {config}:1:9: unknown setting rules.dri (did you mean rules.dir?)",
        f"  {config}:2:30: asana_requests_per_minute: expected a whole number, got 'lots'",
        f"  {config}:3:1: unknown setting log_levl (did you mean log_level?)",
        f"  {config}:5:9: http_port: expected a port from 0 (off) to 65535, got 99999",
        f"  {config}:6:19: 'soon' is not a whole number",
    ]


def test_unknown_delegator_variables_are_warned_about_with_the_likely_name(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    environ = {
        "DELEGATOR_CONFIG": str(tmp_path / "absent.yaml"),
        "DELEGATOR_LOG_LEVLE": "debug",
        "DELEGATOR_SMTP_PASSWORD_FLIE": "/run/secrets/x",
        "DELEGATOR_HTTP_PORT": "9000",
        "OTHER_THING": "1",
    }
    settings = load_settings(None, environ, warn=said.append)
    assert settings.http_port == 9000
    assert said == [
        "$DELEGATOR_LOG_LEVLE is not a setting and is ignored (did you mean DELEGATOR_LOG_LEVEL?)",
        "$DELEGATOR_SMTP_PASSWORD_FLIE is not a setting and is ignored "
        "(did you mean DELEGATOR_SMTP_PASSWORD_FILE?)",
    ]


def test_a_token_no_http_header_can_carry_is_refused_when_read_without_showing_it(
    tmp_path: Path,
) -> None:
    from delegator.clients import UnsendableToken, read_token
    from delegator.core.schema import TokenSource

    token = "1/1200:abc\u201cdef"  # a pasted typographic quote
    with pytest.raises(UnsendableToken) as refused:
        read_token(TokenSource(env="ASANA_TOKEN_X"), {"ASANA_TOKEN_X": token})
    message = str(refused.value)
    assert "$ASANA_TOKEN_X" in message
    assert "position 11, LEFT DOUBLE QUOTATION MARK" in message
    assert token not in message
    secret = tmp_path / "token"
    secret.write_text("1/1200:abc\u20acdef\n", encoding="utf-8")
    with pytest.raises(UnsendableToken, match=r"the file .*token.*EURO SIGN"):
        read_token(TokenSource(file=str(secret)), {})


def test_concurrency_retention_and_proxy_are_settings(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text(
        "worker: {concurrency: 64}\n"
        "journal: {retention: 30d}\n"
        "asana: {proxy: 'http://ops:proxy-pw-9@proxy.internal:3128'}\n"
    )
    settings = load_settings(config, {})
    assert settings.worker_concurrency == 64
    assert settings.journal_retention == timedelta(days=30)
    assert settings.asana_proxy == "http://ops:proxy-pw-9@proxy.internal:3128"
    assert is_registered("proxy-pw-9")  # the proxy's password never shows in a log line
    forever = load_settings(None, {"DELEGATOR_JOURNAL_RETENTION": "0"})
    assert forever.journal_retention == timedelta(0)
    defaults = load_settings(None, {"DELEGATOR_CONFIG": str(tmp_path / "absent.yaml")})
    assert (defaults.worker_concurrency, defaults.journal_retention) == (32, timedelta(days=90))
    assert defaults.asana_proxy is None
