"""Settings from mounted files (``DELEGATOR_<NAME>_FILE``), the database password kept out of
the URL, and a strict start: bad settings stop every command before it does anything."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from delegator.redact import forget_secrets, is_registered
from delegator.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    yield
    forget_secrets()


def settings_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {"DELEGATOR_CONFIG": str(tmp_path / "absent.yaml"), **variables}


def test_a_setting_is_read_from_the_file_its_file_variable_names(tmp_path: Path) -> None:
    secret = tmp_path / "smtp_password"
    secret.write_text("correct horse battery\n")
    port = tmp_path / "port"
    port.write_text("9100\r\n")
    settings = load_settings(
        None,
        settings_env(
            tmp_path,
            DELEGATOR_SMTP_PASSWORD_FILE=str(secret),
            DELEGATOR_HTTP_PORT_FILE=str(port),
        ),
    )
    assert settings.smtp_password == "correct horse battery"
    assert settings.http_port == 9100
    assert settings.sources["smtp_password"] == f"$DELEGATOR_SMTP_PASSWORD_FILE ({secret})"
    assert settings.sources["http_port"] == f"$DELEGATOR_HTTP_PORT_FILE ({port})"
    assert is_registered("correct horse battery")


def test_a_file_variable_beats_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text("database: {url: 'sqlite:///from-config.db'}\n")
    url = tmp_path / "url"
    url.write_text("sqlite:///from-secret.db\n")
    settings = load_settings(config, {"DELEGATOR_DATABASE_URL_FILE": str(url)})
    assert settings.database_url == "sqlite:///from-secret.db"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "$DELEGATOR_SMTP_PASSWORD_FILE: cannot read {path}: No such file or directory"),
        ("folder", "$DELEGATOR_SMTP_PASSWORD_FILE: cannot read {path}: Is a directory"),
        ("binary", "$DELEGATOR_SMTP_PASSWORD_FILE: {path} is not UTF-8 text"),
        ("empty", "$DELEGATOR_SMTP_PASSWORD_FILE ({path}): smtp_password: expected text"),
    ],
)
def test_an_unreadable_file_is_an_error_naming_the_variable_and_path_not_the_content(
    tmp_path: Path, setup: str, message: str
) -> None:
    path = tmp_path / "smtp_password"
    if setup == "folder":
        path.mkdir()
    elif setup == "binary":
        path.write_bytes(b"hunter2-secret\xff\xfe")
    elif setup == "empty":
        path.write_text("\n")
    with pytest.raises(SettingsError) as raised:
        load_settings(None, settings_env(tmp_path, DELEGATOR_SMTP_PASSWORD_FILE=str(path)))
    assert str(raised.value) == message.format(path=path)
    assert "hunter2" not in str(raised.value)


def test_a_setting_and_its_file_variable_together_are_an_error(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("one\n")
    with pytest.raises(SettingsError, match=r"^\$DELEGATOR_SMTP_PASSWORD and "):
        load_settings(
            None,
            settings_env(
                tmp_path,
                DELEGATOR_SMTP_PASSWORD="two",
                DELEGATOR_SMTP_PASSWORD_FILE=str(secret),
            ),
        )


def test_an_empty_file_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DELEGATOR_SMTP_PASSWORD_FILE is set but empty"):
        load_settings(None, settings_env(tmp_path, DELEGATOR_SMTP_PASSWORD_FILE=""))


def test_the_database_password_goes_into_the_url(tmp_path: Path) -> None:
    secret = tmp_path / "postgres_password"
    secret.write_text("p@ss:w/rd\n")
    settings = load_settings(
        None,
        settings_env(
            tmp_path,
            DELEGATOR_DATABASE_URL="postgresql+psycopg://delegator@db:5432/delegator",
            DELEGATOR_DATABASE_PASSWORD_FILE=str(secret),
        ),
    )
    # Characters that mean something in a URL are escaped, so the driver reads them back.
    assert (
        settings.database_url == "postgresql+psycopg://delegator:p%40ss%3Aw%2Frd@db:5432/delegator"
    )
    assert settings.database_password == "p@ss:w/rd"
    assert is_registered("p@ss:w/rd")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///state.db", "a SQLite database takes no password"),
        ("postgresql+psycopg://u:other@db/x", "the database URL has a password already"),
        ("not a url", "database_url: not a valid URL"),
    ],
)
def test_a_database_password_that_cannot_apply_is_an_error(
    tmp_path: Path, url: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings(
            None,
            settings_env(tmp_path, DELEGATOR_DATABASE_URL=url, DELEGATOR_DATABASE_PASSWORD="pw-x1"),
        )
    assert "pw-x1" not in str(raised.value)
    assert "other" not in str(raised.value)


def test_a_password_in_the_database_url_is_registered_as_a_secret(tmp_path: Path) -> None:
    load_settings(
        None, settings_env(tmp_path, DELEGATOR_DATABASE_URL="postgresql://u:in-url-pw@db/x")
    )
    assert is_registered("in-url-pw")
    assert not is_registered("postgresql://u:in-url-pw@db/x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", timedelta(seconds=30)), ("45 seconds", timedelta(seconds=45)), ("2m", timedelta(minutes=2))],
)  # fmt: skip
def test_a_grace_period_can_be_written_in_seconds(
    tmp_path: Path, text: str, expected: timedelta
) -> None:
    settings = load_settings(None, settings_env(tmp_path, DELEGATOR_SHUTDOWN_GRACE=text))
    assert settings.shutdown_grace == expected


def _delegator(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command, with arguments from this test
        [sys.executable, "-m", "delegator", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _clean_environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DELEGATOR_")}
    src = Path(__file__).resolve().parents[2] / "src"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    env["DELEGATOR_CONFIG"] = str(tmp_path / "absent.yaml")
    env["DELEGATOR_DATABASE_URL"] = f"sqlite:///{tmp_path / 'state' / 'state.db'}"
    env["DELEGATOR_RULES_DIR"] = str(Path("examples").resolve())
    return env


@pytest.mark.slow
@pytest.mark.parametrize("command", [["run"], ["run", "--sandbox"], ["once"], ["plan"], ["config"]])
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DELEGATOR_HTTP_PORT", "99999", "$DELEGATOR_HTTP_PORT: http_port: expected a port from 0"),
        ("DELEGATOR_SMTP_PASSWORD_FILE", "/nonexistent/smtp", "$DELEGATOR_SMTP_PASSWORD_FILE: cannot read /nonexistent/smtp"),
    ],
)  # fmt: skip
def test_invalid_settings_stop_a_command_before_it_does_anything(
    tmp_path: Path, command: list[str], variable: str, value: str, message: str
) -> None:
    env = _clean_environment(tmp_path)
    env[variable] = value
    result = _delegator(command, env, cwd=Path.cwd())
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"delegator: {message}"), result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "state").exists()  # no store opened, no cycle run
