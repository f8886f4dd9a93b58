"""``delegator config``: the effective settings, secrets masked, each with its origin."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from delegator.cli import main
from delegator.cli.config import duration_text, shown_text, shown_value
from delegator.redact import forget_secrets
from delegator.settings import SECRET_SETTINGS, SETTING_KEYS, Settings, load_settings

SMTP_PASSWORD = "Tr0ub4dor&3-smtp"
DB_PASSWORD = "db-Pa55word-xyz"


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("DELEGATOR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "absent.yaml"))
    yield
    forget_secrets()


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A settings file, variables overriding some of it, and secrets from files."""
    config = tmp_path / "delegator.yaml"
    config.write_text(
        "rules: {dir: /srv/rules}\n"
        "database: {url: 'postgresql+psycopg://delegator@db:5432/delegator'}\n"
        "asana: {requests_per_minute: 150}\n"
        "http: {port: 9000}\n"
        "smtp: {host: smtp.example.com, username: ops@example.com}\n"
    )
    smtp = tmp_path / "smtp_password"
    smtp.write_text(SMTP_PASSWORD + "\n")
    database = tmp_path / "db_password"
    database.write_text(DB_PASSWORD + "\n")
    monkeypatch.setenv("DELEGATOR_CONFIG", str(config))
    monkeypatch.setenv("DELEGATOR_HTTP_PORT", "9100")
    monkeypatch.setenv("DELEGATOR_SHUTDOWN_GRACE", "45s")
    monkeypatch.setenv("DELEGATOR_SMTP_PASSWORD_FILE", str(smtp))
    monkeypatch.setenv("DELEGATOR_DATABASE_PASSWORD_FILE", str(database))
    return config


def test_json_shows_every_setting_its_value_and_origin(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["config_file"] == str(configured)
    assert document["config_file_found"] is True
    rows = {row["name"]: row for row in document["settings"]}
    assert set(rows) == set(SETTING_KEYS)
    assert rows["rules_dir"] == {
        "name": "rules_dir",
        "key": "rules.dir",
        "env": "DELEGATOR_RULES_DIR",
        "value": "/srv/rules",
        "shown": "/srv/rules",
        "source": str(configured),
    }
    assert (rows["http_port"]["value"], rows["http_port"]["source"]) == (
        9100,
        "$DELEGATOR_HTTP_PORT",
    )
    assert rows["asana_requests_per_minute"]["value"] == 150
    assert (rows["shutdown_grace"]["value"], rows["shutdown_grace"]["source"]) == (
        "45s",
        "$DELEGATOR_SHUTDOWN_GRACE",
    )
    assert (rows["reconcile_every"]["value"], rows["reconcile_every"]["source"]) == (
        "1h",
        "default",
    )
    assert rows["smtp_starttls"]["value"] is True
    assert rows["smtp_from"]["value"] is None
    assert rows["smtp_from"]["shown"] == "-"
    assert rows["smtp_password"]["value"] == "********"
    assert rows["smtp_password"]["source"] == (
        f"$DELEGATOR_SMTP_PASSWORD_FILE ({tmp_path / 'smtp_password'})"
    )
    assert rows["database_password"]["value"] == "********"
    # The URL the service uses, password merged in and masked; where the URL came from.
    assert rows["database_url"]["value"] == "postgresql+psycopg://delegator:***@db:5432/delegator"
    assert rows["database_url"]["source"] == str(configured)


def test_text_lists_each_setting_on_a_line_and_never_a_secret(
    configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == f"settings file: {configured}"
    assert lines[1].split() == ["setting", "value", "from"]
    assert len(lines) == 2 + len(SETTING_KEYS)
    assert next(line.split() for line in lines if line.strip().startswith("http.port ")) == [
        "http.port",
        "9100",
        "$DELEGATOR_HTTP_PORT",
    ]
    assert next(line.split() for line in lines if line.strip().startswith("log.level ")) == [
        "log.level",
        "info",
        "default",
    ]
    assert SMTP_PASSWORD not in out
    assert DB_PASSWORD not in out
    assert "smtp.password" in out


def test_an_explicit_settings_file_is_used_and_a_missing_one_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("log: {level: debug}\n")
    assert main(["config", "--config", str(other), "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["settings"]}
    assert (rows["log_level"]["value"], rows["log_level"]["source"]) == ("debug", str(other))
    assert main(["config"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"settings file: {tmp_path / 'absent.yaml'} (not found: defaults and environment only)"
    )


def test_a_password_written_into_the_database_url_is_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "DELEGATOR_DATABASE_URL", "postgresql://u:inline-secret-1@db/x?sslmode=require"
    )
    assert main(["config", "--json"]) == 0
    out = capsys.readouterr().out
    assert "inline-secret-1" not in out
    rows = {row["name"]: row for row in json.loads(out)["settings"]}
    assert rows["database_url"]["value"] == "postgresql://u:***@db/x?sslmode=require"


@pytest.mark.parametrize("variable", ["DELEGATOR_LOG_LEVEL", "DELEGATOR_LOG_LEVEL_FILE"])
def test_invalid_settings_exit_2_with_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    monkeypatch.setenv(variable, "/no/such/file" if variable.endswith("_FILE") else "loud")
    assert main(["config"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    expected = (
        "cannot read /no/such/file"
        if variable.endswith("_FILE")
        else "log_level: expected one of debug, info, warning, error, got 'loud'"
    )
    assert captured.err.startswith(f"delegator: ${variable}")
    assert expected in captured.err


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30, "30s"), (90, "90s"), (60, "1m"), (3600, "1h"), (86400, "1d"), (604800, "1w"), (0, "0s")],
)
def test_durations_are_shown_as_the_settings_file_takes_them(seconds: int, text: str) -> None:
    assert duration_text(timedelta(seconds=seconds)) == text


ROOT = Path(__file__).resolve().parents[2]


def test_the_example_settings_file_loads_shows_every_setting_and_its_default() -> None:
    example = ROOT / "config" / "delegator.example.yaml"
    settings = load_settings(example, {})
    text = example.read_text(encoding="utf-8")
    for name, key in SETTING_KEYS.items():
        section, field = key.split(".")
        assert re.search(rf"^{section}:", text, re.MULTILINE), section
        assert re.search(rf"^  #? ?{field}:", text, re.MULTILINE), f"{key} is not documented"
        if name in settings.sources:  # given in the file: the default, as the file says
            assert getattr(settings, name) == getattr(Settings(), name), key


def test_the_operations_guide_lists_every_setting_with_its_variable_and_default() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([a-z_.]+)` \| `(DELEGATOR_[A-Z_]+)(?:\(_FILE\))?` \| ([^|]+) \|",
        guide,
        re.MULTILINE,
    )
    listed = {key: (variable, default.strip()) for key, variable, default in rows}
    assert set(listed) == set(SETTING_KEYS.values())
    defaults = Settings()
    for name, key in SETTING_KEYS.items():
        variable, default = listed[key]
        assert variable == f"DELEGATOR_{name.upper()}"
        shown = shown_value(name, getattr(defaults, name))
        if name in SECRET_SETTINGS or shown is None:
            assert default in ("none", f"`{shown}`"), key
        else:
            assert default == f"`{shown_text(shown)}`", key


def test_the_operations_guide_lists_every_metric_with_its_labels() -> None:
    from prometheus_client.metrics import MetricWrapperBase

    from delegator.metrics import Metrics

    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(delegator_[a-z_]+)` \|([^|]*)\|", guide, re.MULTILINE)
    listed = {name: set(re.findall(r"`([a-z_]+)`", labels)) for name, labels in rows}
    suffix = {"counter": "_total", "info": "_info"}
    exposed = {
        metric._name + suffix.get(metric._type, ""): set(metric._labelnames)
        for metric in vars(Metrics()).values()
        if isinstance(metric, MetricWrapperBase)
    }
    if "delegator_build_info" in exposed:  # an Info's labels are its values
        exposed["delegator_build_info"] = {"version"}
    assert listed == exposed
