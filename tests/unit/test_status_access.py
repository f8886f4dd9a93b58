"""Access to the status page: a link or a session verifies only as signed, with this secret,
before it expires and while not revoked; any change to a token is refused; each grant sees
only its own; and no refusal repeats the token it refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from delegator.redact import forget_secrets
from delegator.settings import SettingsError, load_settings, status_page_off
from delegator.statuspage.access import (
    AccessDenied,
    DenyReason,
    Grant,
    Role,
    new_link_id,
    operator_token_ok,
    path_for_logs,
    require_scope,
    scope_allows,
    sign_link,
    sign_session,
    verify_link,
    verify_session,
)

SECRET = "s" * 20 + "-status-secret-1"  # 36 characters
OTHER = "o" * 20 + "-status-secret-2"
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_secrets()  # the settings read here registered their secrets with the redactor


def never(_: str) -> bool:
    return False


def grant(
    role: Role = Role.CLIENT,
    client: str | None = "acme",
    assistant: str | None = None,
    *,
    issued: datetime = T0,
    lasts: timedelta = 30 * DAY,
) -> Grant:
    return Grant(role, client, assistant, new_link_id(), issued, issued + lasts)


def refused(token: str | None, *, secret: str = SECRET, now: datetime = T0) -> DenyReason:
    with pytest.raises(AccessDenied) as caught:
        verify_link(token, secret, now, never)
    if token:
        assert token not in str(caught.value)
        assert token not in repr(caught.value)
    return caught.value.reason


# ----------------------------------------------------------------------------- links

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=40)


@given(
    role=st.sampled_from([Role.CLIENT, Role.ASSISTANT]),
    client=names,
    assistant=names,
    across=st.booleans(),
    issued=st.integers(0, 4_000_000_000),
    lasts=st.integers(1, 10 * 365 * 86400),
)
def test_a_link_verifies_as_the_grant_it_was_signed_from(
    role: Role, client: str, assistant: str, across: bool, issued: int, lasts: int
) -> None:
    """Any names (quotes, slashes, RTL, emoji) and any whole-second times come back as given."""
    start = datetime.fromtimestamp(issued, UTC)
    if role is Role.CLIENT:
        signed = grant(role, client, None, issued=start, lasts=timedelta(seconds=lasts))
    else:
        who = None if across else client
        signed = grant(role, who, assistant, issued=start, lasts=timedelta(seconds=lasts))
    token = sign_link(signed, SECRET)
    assert all(c.isalnum() or c in "-_." for c in token)  # a URL path segment as it is
    assert verify_link(token, SECRET, start, never) == signed


TOKEN = sign_link(grant(Role.ASSISTANT, "acme", "anna"), SECRET)


@settings(max_examples=300)
@given(position=st.integers(0, len(TOKEN) - 1), byte=st.integers(0, 255))
def test_a_token_changed_at_any_byte_is_refused(position: int, byte: int) -> None:
    raw = bytearray(TOKEN.encode("ascii"))
    if raw[position] == byte:
        return
    raw[position] = byte
    changed = raw.decode("latin-1")
    assert refused(changed) in (DenyReason.MALFORMED, DenyReason.BAD_SIGNATURE)


@given(keep=st.integers(0, len(TOKEN) - 1))
def test_a_truncated_token_is_refused(keep: int) -> None:
    expected = {DenyReason.MALFORMED, DenyReason.BAD_SIGNATURE, DenyReason.MISSING}
    assert refused(TOKEN[:keep]) in expected


@given(tail=st.text(min_size=1, max_size=50))
def test_a_token_with_anything_appended_is_refused(tail: str) -> None:
    assert refused(TOKEN + tail) in (DenyReason.MALFORMED, DenyReason.BAD_SIGNATURE)


def test_each_character_of_the_payload_changed_to_any_url_safe_one_is_refused() -> None:
    """Base64's last character carries spare bits: a change there may decode to the same bytes,
    and must still be refused (the tag covers the text, not the bytes)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    payload, tag = TOKEN.split(".")
    for index, original in enumerate(payload):
        for other in alphabet.replace(original, ""):
            changed = f"{payload[:index]}{other}{payload[index + 1 :]}.{tag}"
            assert refused(changed) is DenyReason.BAD_SIGNATURE


@given(secret=st.text(min_size=32, max_size=64))
def test_a_token_never_verifies_under_another_secret(secret: str) -> None:
    if secret == SECRET:
        return
    assert refused(TOKEN, secret=secret) is DenyReason.BAD_SIGNATURE


def test_a_payload_rewritten_and_signed_with_another_secret_is_refused() -> None:
    """Whose a link is can only be changed by re-signing it, and only the secret signs."""
    payload = TOKEN.split(".")[0]
    fields = json.loads(base64.urlsafe_b64decode(payload + "=="))
    fields[3] = "globex"
    forged = sign_link(Grant(Role.ASSISTANT, "globex", "anna", fields[5], T0, T0 + DAY), OTHER)
    assert refused(forged) is DenyReason.BAD_SIGNATURE


@given(lasts=st.integers(1, 400 * 86400), after=st.integers(-5, 5))
def test_a_link_expires_at_its_expiry_exactly(lasts: int, after: int) -> None:
    signed = grant(lasts=timedelta(seconds=lasts))
    token = sign_link(signed, SECRET)
    now = signed.expires_at + after * SECOND
    if after < 0:
        assert verify_link(token, SECRET, now, never) == signed
    else:
        assert refused(token, now=now) is DenyReason.EXPIRED


def test_a_link_is_good_until_a_microsecond_before_its_expiry() -> None:
    signed = grant()
    token = sign_link(signed, SECRET)
    assert verify_link(token, SECRET, signed.expires_at - timedelta(microseconds=1), never)
    assert refused(token, now=signed.expires_at) is DenyReason.EXPIRED


def test_a_revoked_or_unknown_link_is_refused_after_its_signature_is_checked() -> None:
    signed = grant()
    token = sign_link(signed, SECRET)
    asked: list[str] = []

    def revoked(link_id: str) -> bool:
        asked.append(link_id)
        return True

    with pytest.raises(AccessDenied) as caught:
        verify_link(token, SECRET, T0, revoked)
    assert caught.value.reason is DenyReason.REVOKED
    assert asked == [signed.link_id]
    asked.clear()
    with pytest.raises(AccessDenied):
        verify_link(token[:-1] + ("A" if token[-1] != "A" else "B"), SECRET, T0, revoked)
    assert asked == []  # a forged token never reaches the store


@pytest.mark.parametrize("token", [None, ""])
def test_no_token_is_missing(token: str | None) -> None:
    assert refused(token) is DenyReason.MISSING


@pytest.mark.parametrize(
    "token",
    ["x", "a.b", "....", "../../etc/passwd", "a" * 5000, TOKEN.replace(".", "", 1), " " + TOKEN],
)
def test_what_is_no_token_is_malformed(token: str) -> None:
    assert refused(token) is DenyReason.MALFORMED


def test_a_refusal_says_why_for_people_and_never_the_token() -> None:
    expired = sign_link(grant(lasts=DAY), SECRET)
    with pytest.raises(AccessDenied) as caught:
        verify_link(expired, SECRET, T0 + 2 * DAY, never)
    assert str(caught.value) == "This link has expired: ask for a new one."
    assert expired not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_short_secret_signs_nothing() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        sign_link(grant(), "too-short")


# ----------------------------------------------------------------------------- sessions


def test_an_operator_session_lasts_its_ttl_and_only_under_its_secret() -> None:
    cookie = sign_session(T0, timedelta(hours=12), SECRET)
    seen = verify_session(cookie, SECRET, T0 + timedelta(hours=12) - SECOND)
    assert (seen.role, seen.client, seen.assistant) == (Role.OPERATOR, None, None)
    assert seen.expires_at == T0 + timedelta(hours=12)
    with pytest.raises(AccessDenied) as caught:
        verify_session(cookie, SECRET, T0 + timedelta(hours=12))
    assert caught.value.reason is DenyReason.EXPIRED
    with pytest.raises(AccessDenied) as caught:
        verify_session(cookie, OTHER, T0)
    assert caught.value.reason is DenyReason.BAD_SIGNATURE


def test_a_link_is_no_session_and_a_session_no_link() -> None:
    cookie = sign_session(T0, timedelta(hours=12), SECRET)
    with pytest.raises(AccessDenied) as caught:
        verify_session(TOKEN, SECRET, T0)
    assert caught.value.reason is DenyReason.MALFORMED
    assert refused(cookie) is DenyReason.MALFORMED


def test_operators_get_no_link() -> None:
    with pytest.raises(ValueError, match="operators"):
        sign_link(Grant(Role.OPERATOR, None, None, "x", T0, T0 + DAY), SECRET)


@pytest.mark.parametrize(
    ("given", "configured", "ok"),
    [
        ("correct-horse-battery", "correct-horse-battery", True),
        ("correct-horse-batterY", "correct-horse-battery", False),
        ("correct-horse-battery ", "correct-horse-battery", False),
        ("", "correct-horse-battery", False),
        (None, "correct-horse-battery", False),
        ("anything", None, False),
        ("", "", False),
        ("\udcff", "correct-horse-battery", False),
    ],
)
def test_the_operator_token_must_match_exactly(
    given: str | None, configured: str | None, ok: bool
) -> None:
    assert operator_token_ok(given, configured) is ok


# ----------------------------------------------------------------------------- scope


def test_an_operator_sees_everything() -> None:
    operator = Grant(Role.OPERATOR, None, None, "s1", T0, T0 + DAY)
    assert scope_allows(operator)
    assert scope_allows(operator, client="acme", assistant="anna")


def test_a_client_link_sees_its_client_only() -> None:
    acme = grant(Role.CLIENT, "acme")
    assert scope_allows(acme, client="acme")
    assert scope_allows(acme, client="acme", assistant="anna")
    assert not scope_allows(acme, client="globex")
    assert not scope_allows(acme)  # every client's page
    assert not scope_allows(acme, assistant="anna")  # an assistant across clients
    assert not scope_allows(acme, client="ACME")


def test_an_assistant_link_sees_that_assistant_only() -> None:
    anna_at_acme = grant(Role.ASSISTANT, "acme", "anna")
    assert scope_allows(anna_at_acme, client="acme", assistant="anna")
    assert not scope_allows(anna_at_acme, client="globex", assistant="anna")
    assert not scope_allows(anna_at_acme, client="acme", assistant="bruno")
    assert not scope_allows(anna_at_acme, client="acme")  # the client's own page
    anna_everywhere = grant(Role.ASSISTANT, None, "anna")
    assert scope_allows(anna_everywhere, client="acme", assistant="anna")
    assert scope_allows(anna_everywhere, client="globex", assistant="anna")
    assert scope_allows(anna_everywhere, assistant="anna")
    assert not scope_allows(anna_everywhere, client="acme")
    assert not scope_allows(anna_everywhere, client="acme", assistant="bruno")


def test_out_of_scope_is_refused_as_wrong_scope() -> None:
    with pytest.raises(AccessDenied) as caught:
        require_scope(grant(Role.CLIENT, "acme"), client="globex")
    assert caught.value.reason is DenyReason.WRONG_SCOPE
    require_scope(grant(Role.CLIENT, "acme"), client="acme")


@pytest.mark.parametrize(
    ("role", "client", "assistant"),
    [
        (Role.OPERATOR, "acme", None),
        (Role.CLIENT, None, None),
        (Role.CLIENT, "acme", "anna"),
        (Role.ASSISTANT, "acme", None),
        (Role.CLIENT, "", None),
    ],
)
def test_a_grant_names_what_its_role_needs(
    role: Role, client: str | None, assistant: str | None
) -> None:
    with pytest.raises(ValueError, match="grant names"):
        Grant(role, client, assistant, "x", T0, T0 + DAY)


def test_a_link_id_is_letters_and_digits_so_it_never_reads_as_an_option() -> None:
    ids = {new_link_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 12 and i.isascii() and i.isalnum() for i in ids)


def test_a_link_token_is_kept_out_of_a_logged_path() -> None:
    assert path_for_logs(f"/c/{TOKEN}") == "/c/<token>"
    assert path_for_logs(f"/a/{TOKEN}/tasks/1201?x=1") == "/a/<token>/tasks/1201?x=1"
    assert path_for_logs("/operator/clients/acme") == "/operator/clients/acme"


# ----------------------------------------------------------------------------- settings


def env(**values: str) -> dict[str, str]:
    return {"DELEGATOR_CONFIG": "/nonexistent/delegator.yaml"} | {
        f"DELEGATOR_STATUS_{k.upper()}": v for k, v in values.items()
    }


def test_the_status_settings_have_their_defaults() -> None:
    defaults = load_settings(None, env())
    assert (defaults.status_host, defaults.status_port) == ("0.0.0.0", 8070)  # noqa: S104
    assert defaults.status_secret is None
    assert defaults.status_operator_token is None
    assert defaults.status_public_url is None
    assert (defaults.status_session, defaults.status_link_ttl) == (timedelta(hours=12), 30 * DAY)
    assert "status.secret is not set" in str(status_page_off(defaults))


def test_the_status_settings_are_read_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text(
        "status:\n  port: 9443\n  public_url: https://status.agency.example/\n"
        "  session: 8h\n  link_ttl: 7d\n"
    )
    (tmp_path / "secret").write_text(SECRET + "\n")
    read = load_settings(
        config,
        {"DELEGATOR_STATUS_SECRET_FILE": str(tmp_path / "secret")}
        | {"DELEGATOR_STATUS_OPERATOR_TOKEN": "operator-token-0123"},
    )
    assert read.status_port == 9443
    assert read.status_public_url == "https://status.agency.example"
    assert (read.status_session, read.status_link_ttl) == (timedelta(hours=8), 7 * DAY)
    assert read.status_secret == SECRET
    assert read.status_operator_token == "operator-token-0123"
    assert status_page_off(read) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"secret": "short"}, "status_secret: must be at least 32 characters"),
        (
            {"secret": SECRET, "operator_token": "short"},
            "status_operator_token: must be at least 16 characters",
        ),
        ({"operator_token": "operator-token-0123"}, "status_operator_token needs status.secret"),
        ({"secret": SECRET, "operator_token": SECRET}, "must differ from status.secret"),
        ({"port": "8090"}, "status_port: 8090 is webhooks.port already"),
        ({"public_url": "ftp://status"}, "status_public_url: expected an https:// URL"),
        ({"session": "0m"}, "status_session"),
        ({"link_ttl": "soon"}, "status_link_ttl"),
    ],
)
def test_bad_status_settings_stop_the_start_naming_the_setting(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, env(**values))
    assert message in str(caught.value)
    for secret in ("secret", "operator_token"):
        if secret in values:
            assert values[secret] not in str(caught.value)


def test_a_bad_status_secret_in_the_file_is_reported_at_its_line(tmp_path: Path) -> None:
    config = tmp_path / "delegator.yaml"
    config.write_text("log:\n  level: info\nstatus:\n  secret: not-long-enough\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config, {})
    assert str(caught.value).startswith(f"{config}:4:11: status_secret: must be at least 32")
    assert "not-long-enough" not in str(caught.value)
