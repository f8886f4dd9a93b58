"""A client's OAuth token source: the rule file's form, what reading it gives, the token
provider bootstrap builds for it, and the agency's app in the settings (a secret, shown masked).
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from delegator.asana.oauth import OAuthApp, OAuthError, RefreshingToken
from delegator.bootstrap import oauth_app, token_provider
from delegator.cli.config import MASK, effective_settings
from delegator.clients import (
    ExchangedToken,
    NoOAuthApp,
    TokenError,
    UnsendableToken,
    check_token,
    read_refresh_token,
    read_token,
    token_id,
)
from delegator.clock import ManualClock
from delegator.core.rulefile import parse_client_file
from delegator.core.schema import TokenSource
from delegator.redact import is_registered
from delegator.settings import Settings, SettingsError, load_settings

HEAD = """\
version: 1
client:
  name: Northwind Studio
  workspace: "1100000000000001"
  token: {token}
  timezone: Europe/Rome
watch: [my_tasks]
assistants:
  giulia: {{ user: giulia@va-agency.example, skills: [admin] }}
rules: []
"""
OAUTH_ENV = "{ oauth: { refresh_token: { env: NORTHWIND_REFRESH } } }"
REFRESH = "1/refresh-token-2b7e51"
SECRET = "app-secret-9d0c3f1a"
CLOCK = ManualClock(datetime(2026, 12, 1, 9, tzinfo=UTC))


def errors(token: str) -> list[str]:
    return [str(e) for e in parse_client_file(HEAD.format(token=token), "rules/acme.yaml").errors]


def source(token: str) -> TokenSource:
    loaded = parse_client_file(HEAD.format(token=token), "rules/acme.yaml")
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    assert loaded.head is not None
    return loaded.head.client.token


# ---------------------------------------------------------------- the rule file


def test_an_oauth_refresh_token_from_a_variable_or_a_file_is_accepted() -> None:
    by_env = source(OAUTH_ENV)
    assert by_env.oauth is not None
    assert by_env.oauth.refresh_token.env == "NORTHWIND_REFRESH"
    assert (by_env.env, by_env.file) == (None, None)
    by_file = source("{ oauth: { refresh_token: { file: /run/secrets/northwind } } }")
    assert by_file.oauth is not None
    assert by_file.oauth.refresh_token.file == "/run/secrets/northwind"


def test_a_refresh_token_written_inline_is_refused_located_and_never_echoed() -> None:
    [error] = errors(f"{{ oauth: {{ refresh_token: {REFRESH!r} }} }}")
    assert error.startswith("rules/acme.yaml:5:")
    assert "client.token.oauth.refresh_token: never write a refresh token in a rule file" in error
    assert REFRESH not in error


def test_a_token_written_inline_is_still_refused_naming_the_oauth_form() -> None:
    [error] = errors(repr(REFRESH))
    assert "client.token: never write a token in a rule file" in error
    assert "{oauth: {refresh_token: {file: /run/secrets/NAME}}}" in error
    assert REFRESH not in error


@pytest.mark.parametrize(
    ("token", "where", "problem"),
    [
        ("{ env: A, oauth: { refresh_token: { env: B } } }", "client.token", "write only one of"),
        ("{ oauth: {} }", "client.token.oauth.refresh_token", "missing required key"),
        ("{ oauth: { refresh_token: {} } }", "client.token.oauth.refresh_token", "write one of"),
        (
            "{ oauth: { refresh_token: { env: A, file: b } } }",
            "client.token.oauth.refresh_token",
            "write only one of",
        ),
        ("{ oauth: { refresh_token: { env: A }, scope: x } }", "client.token.oauth", "scope"),
    ],
)
def test_a_wrong_oauth_source_is_located(token: str, where: str, problem: str) -> None:
    found = errors(token)
    assert found, token
    assert any(e.startswith("rules/acme.yaml:5:") and f"{where}" in e for e in found), found
    assert any(problem in e for e in found), found


@given(st.text(alphabet=string.ascii_letters + string.digits + "/:-_", min_size=12, max_size=60))
def test_no_inline_refresh_token_is_ever_echoed(secret: str) -> None:
    found = errors(f"{{ oauth: {{ refresh_token: '{secret}' }} }}")
    assert found
    assert all(secret not in e for e in found)


# ---------------------------------------------------------------- reading and the provider


def test_read_token_says_an_oauth_source_is_exchanged_and_check_token_reads_it(
    tmp_path: Path,
) -> None:
    oauth = source(OAUTH_ENV)
    with pytest.raises(ExchangedToken):
        read_token(oauth, {"NORTHWIND_REFRESH": REFRESH})
    check_token(oauth, {"NORTHWIND_REFRESH": REFRESH})
    assert is_registered(REFRESH)
    with pytest.raises(TokenError, match="the environment variable NORTHWIND_REFRESH is not set"):
        check_token(oauth, {})
    with pytest.raises(UnsendableToken, match="refresh token in \\$NORTHWIND_REFRESH"):
        check_token(oauth, {"NORTHWIND_REFRESH": "1/refresh\u201dtoken"})
    empty = tmp_path / "refresh"
    empty.write_text("\n")
    by_file = source(f"{{ oauth: {{ refresh_token: {{ file: {empty} }} }} }}")
    with pytest.raises(TokenError, match=f"the refresh token file {empty} is empty"):
        read_refresh_token(by_file, {})


def test_the_budget_identity_of_an_oauth_source_is_its_refresh_token_source() -> None:
    assert token_id(source(OAUTH_ENV)) == "oauth:NORTHWIND_REFRESH"
    by_file = source("{ oauth: { refresh_token: { file: /run/secrets/n } } }")
    assert token_id(by_file) == "oauth:file:/run/secrets/n"
    assert token_id(source("{ env: ASANA_TOKEN }")) == "env:ASANA_TOKEN"


def test_an_oauth_source_without_the_agencys_app_is_a_token_error() -> None:
    with pytest.raises(
        NoOAuthApp, match=r"set asana\.oauth_client_id and asana\.oauth_client_secret"
    ):
        token_provider(source(OAUTH_ENV), {}, None, clock=CLOCK)


def test_clients_of_one_refresh_token_share_its_access_token() -> None:
    clock = CLOCK
    app = OAuthApp("1200000000000001", SECRET, "https://asana.test/-/oauth_token")
    shared: dict[str, RefreshingToken] = {}
    environ = {"NORTHWIND_REFRESH": REFRESH}
    token_provider(source(OAUTH_ENV), environ, app, clock=clock, shared=shared)
    token_provider(source(OAUTH_ENV), environ, app, clock=clock, shared=shared)
    assert list(shared) == ["oauth:NORTHWIND_REFRESH"]
    unreadable = token_provider(source(OAUTH_ENV), {}, app, clock=clock)
    with pytest.raises(OAuthError, match="NORTHWIND_REFRESH is not set"):
        unreadable()


def test_a_variable_source_gives_a_provider_that_reads_it_again() -> None:
    environ = {"ASANA_TOKEN": "0/first-token-abc"}
    provider = token_provider(source("{ env: ASANA_TOKEN }"), environ, None, clock=CLOCK)
    assert provider() == "0/first-token-abc"
    environ["ASANA_TOKEN"] = "0/second-token-def"
    assert provider() == "0/second-token-def"
    environ.clear()
    with pytest.raises(ValueError, match="ASANA_TOKEN is not set"):
        provider()


# ---------------------------------------------------------------- the agency's app


def test_the_app_comes_from_the_environment_its_secret_registered_and_shown_masked(
    tmp_path: Path,
) -> None:
    secret_file = tmp_path / "client_secret"
    secret_file.write_text(SECRET + "\n")
    settings = load_settings(
        None,
        {
            "DELEGATOR_CONFIG": str(tmp_path / "absent.yaml"),
            "DELEGATOR_ASANA_OAUTH_CLIENT_ID": "1200000000000001",
            "DELEGATOR_ASANA_OAUTH_CLIENT_SECRET_FILE": str(secret_file),
        },
        warn=None,
    )
    assert settings.asana_oauth_client_id == "1200000000000001"
    assert settings.asana_oauth_client_secret == SECRET
    assert is_registered(SECRET)
    rows = {row["key"]: row for row in effective_settings(settings)}
    assert rows["asana.oauth_client_secret"]["value"] == MASK
    assert rows["asana.oauth_client_id"]["value"] == "1200000000000001"
    assert SECRET not in repr(settings.sources)
    app = oauth_app(settings)
    assert app is not None
    assert app.token_url == "https://app.asana.com/-/oauth_token"
    assert SECRET not in repr(app)


def test_the_settings_file_takes_the_app_under_asana(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text(
        "asana:\n"
        "  base_url: http://127.0.0.1:8123/api/1.0\n"
        "  oauth_client_id: '1200000000000001'\n"
        "  oauth_client_secret: s3cret-from-the-file\n"
    )
    settings = load_settings(config, {}, warn=None)
    app = oauth_app(settings)
    assert app is not None
    assert app.token_url == "http://127.0.0.1:8123/-/oauth_token"  # beside the sandbox's API
    explicit = Settings(
        asana_oauth_client_id="1",
        asana_oauth_client_secret="s",
        asana_oauth_token_url="https://login.example/-/oauth_token",
    )
    assert oauth_app(explicit) == OAuthApp("1", "s", "https://login.example/-/oauth_token")
    assert oauth_app(Settings()) is None


def test_an_app_id_without_its_secret_is_a_located_settings_error(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text("asana:\n  oauth_client_id: '1200000000000001'\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config, {}, warn=None)
    assert str(caught.value) == (
        f"{config}:2:20: asana_oauth_client_id: the agency's Asana app needs "
        "asana.oauth_client_secret too ($DELEGATOR_ASANA_OAUTH_CLIENT_SECRET or "
        "$DELEGATOR_ASANA_OAUTH_CLIENT_SECRET_FILE)"
    )


def test_a_token_url_with_credentials_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="asana_oauth_token_url: expected a URL without"):
        load_settings(
            None,
            {
                "DELEGATOR_CONFIG": str(tmp_path / "absent.yaml"),
                "DELEGATOR_ASANA_OAUTH_TOKEN_URL": "https://u:p@login.example/-/oauth_token",
            },
            warn=None,
        )
