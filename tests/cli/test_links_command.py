"""`delegator links`: a link issued for a client or an assistant the rule files know opens the
status page as them until it expires or is revoked; its token is printed once, by create, and
never by list, in JSON or in the logs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from delegator.cli import main
from delegator.redact import forget_secrets
from delegator.statuspage.access import (
    AccessDenied,
    DenyReason,
    Grant,
    Role,
    verify_link,
)
from delegator.store import SqlStore

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCHEMA = json.loads((ROOT / "docs" / "json" / "links.schema.json").read_text(encoding="utf-8"))
SECRET = "links-test-secret-0123456789abcdefXYZ"
PUBLIC = "https://status.agency.example"


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The example rule files, a fresh SQLite store, and a status secret."""
    for name in list(os.environ):
        if name.startswith("DELEGATOR_"):
            monkeypatch.delenv(name)
    database = tmp_path / "state.db"
    monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("DELEGATOR_RULES_DIR", str(EXAMPLES))
    monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("DELEGATOR_STATUS_SECRET", SECRET)
    yield database
    forget_secrets()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stored(database: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{database}")
    store.migrate()
    return store


def opened(token: str, database: Path, now: datetime | None = None) -> Grant:
    """The grant the status page would find in ``token``."""
    with stored(database) as store:
        return verify_link(token, SECRET, now or datetime.now(UTC), store.link_revoked)


def token_of(printed: str) -> str:
    return printed.strip().splitlines()[-1].rsplit("/", 1)[-1]


def create(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "links", "create", "--json", *argv)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    assert not list(Draft202012Validator(SCHEMA).iter_errors(document))
    return document


# ----------------------------------------------------------------------------- create


def test_a_client_link_is_printed_at_the_public_url_and_opens_as_that_client(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, settings: Path
) -> None:
    monkeypatch.setenv("DELEGATOR_STATUS_PUBLIC_URL", PUBLIC + "/")
    before = datetime.now(UTC).replace(microsecond=0)
    code, out, err = run(capsys, "links", "create", "--client", "small-agency", "--note", "Anna")
    assert code == 0, err
    first, url = out.strip().splitlines()
    assert url.startswith(f"{PUBLIC}/c/")
    assert first.startswith("link ")
    assert "for client small-agency, expires" in first
    grant = opened(token_of(out), settings)
    assert (grant.role, grant.client, grant.assistant) == (Role.CLIENT, "small-agency", None)
    assert before <= grant.issued_at <= datetime.now(UTC)
    assert grant.expires_at - grant.issued_at == timedelta(days=30)  # status.link_ttl
    with stored(settings) as store:
        (record,) = store.links()
    assert (record.id, record.note) == (grant.link_id, "Anna")
    assert err == ""


def test_a_client_is_named_by_its_file_or_its_name(
    capsys: pytest.CaptureFixture[str], settings: Path
) -> None:
    document = create(capsys, "--client", "northwind studio")
    assert document["link"]["client"] == "small-agency"


def test_without_a_public_url_the_path_is_printed_and_the_setting_named(
    capsys: pytest.CaptureFixture[str], settings: Path
) -> None:
    code, out, err = run(capsys, "links", "create", "--client", "solo-consultant")
    assert code == 0
    assert out.strip().splitlines()[-1].startswith("/c/")
    assert "status.public_url is not set" in err
    document = create(capsys, "--client", "solo-consultant")
    assert document["url"] is None
    assert document["path"].startswith("/c/")


def test_an_assistant_link_opens_as_that_assistant_within_its_client(
    capsys: pytest.CaptureFixture[str], settings: Path
) -> None:
    document = create(capsys, "--client", "small-agency", "--assistant", "giulia")
    assert document["path"].startswith("/a/")
    grant = opened(document["path"].removeprefix("/a/"), settings)
    assert (grant.role, grant.client, grant.assistant) == (
        Role.ASSISTANT,
        "small-agency",
        "giulia",
    )


def test_an_assistant_alone_gets_a_link_across_clients(
    capsys: pytest.CaptureFixture[str], settings: Path
) -> None:
    document = create(capsys, "--assistant", "sam", "--expires", "2h")
    grant = opened(document["path"].removeprefix("/a/"), settings)
    assert (grant.role, grant.client, grant.assistant) == (Role.ASSISTANT, None, "sam")
    assert grant.expires_at - grant.issued_at == timedelta(hours=2)
    with pytest.raises(AccessDenied) as caught:
        opened(document["path"].removeprefix("/a/"), settings, grant.expires_at)
    assert caught.value.reason is DenyReason.EXPIRED


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--client", "small-agncy"],
            "no client 'small-agncy' in {rules} (did you mean 'small-agency'?)",
        ),
        (
            ["--client", "small-agency", "--assistant", "giula"],
            "no assistant 'giula' in the rule file of small-agency (did you mean 'giulia'?)",
        ),
        (
            ["--client", "small-agency", "--assistant", "sam"],
            "no assistant 'sam' in the rule file of small-agency",
        ),
        (["--assistant", "marko"], "no assistant 'marko' in any rule file (did you mean 'marco'?)"),
        ([], "give --client, --assistant or both"),
        (["--client", "small-agency", "--expires", "soon"], "--expires:"),
        (["--client", "small-agency", "--expires", "0m"], "at least 1m"),
        (["--client", "small-agency", "--expires", "3bd"], "--expires: use minutes"),
    ],
)
def test_whom_the_rule_files_do_not_know_gets_no_link(
    capsys: pytest.CaptureFixture[str], settings: Path, argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "links", "create", *argv)
    assert code == 2
    assert out == ""
    assert message.format(rules=EXAMPLES) in err
    with stored(settings) as store:
        assert store.links() == []


def test_no_link_without_the_status_secret(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, settings: Path
) -> None:
    monkeypatch.delenv("DELEGATOR_STATUS_SECRET")
    code, out, err = run(capsys, "links", "create", "--client", "small-agency")
    assert code == 2
    assert out == ""
    assert "links need status.secret ($DELEGATOR_STATUS_SECRET" in err
    assert not settings.exists() or stored(settings).links() == []


def test_no_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "links")
    assert code == 2
    assert "give an action: create, list or revoke" in err


# ----------------------------------------------------------------------------- list


def test_the_list_never_shows_a_token_or_the_secret_nor_do_the_logs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELEGATOR_STATUS_PUBLIC_URL", PUBLIC)
    code, out, issued_logs = run(capsys, "-v", "links", "create", "--client", "small-agency")
    assert code == 0
    token = token_of(out)
    other = create(capsys, "--assistant", "sam", "--note", "Sam's list")
    tokens = [token, other["path"].removeprefix("/a/")]
    assert "status_link_issued" in issued_logs  # the debug logs were on, and said something
    code, text, text_logs = run(capsys, "-v", "links", "list")
    assert code == 0
    code, data, data_logs = run(capsys, "-v", "links", "list", "--json")
    assert code == 0
    for shown in (issued_logs, text, text_logs, data, data_logs):
        assert SECRET not in shown
        for t in tokens:
            assert t not in shown
            assert t.split(".")[1] not in shown  # not even the signature
    header, *rows = text.splitlines()  # both issued in the same second: in either order
    assert header.split() == ["id", "whose", "issued", "expires", "state", "note"]
    (sam,) = [row for row in rows if "assistant sam (every client)" in row]
    assert sam.rstrip().endswith("active  Sam's list")
    assert any("client small-agency" in row for row in rows)
    document = json.loads(data)
    assert not list(Draft202012Validator(SCHEMA).iter_errors(document))
    assert sorted(link["kind"] for link in document["links"]) == ["assistant", "client"]


def test_the_list_by_client(capsys: pytest.CaptureFixture[str]) -> None:
    create(capsys, "--client", "small-agency")
    mine = create(capsys, "--client", "solo-consultant")
    code, out, _ = run(capsys, "links", "list", "--client", "Fischer Consulting", "--json")
    assert code == 0
    assert [link["id"] for link in json.loads(out)["links"]] == [mine["link"]["id"]]
    code, _, err = run(capsys, "links", "list", "--client", "fischer")
    assert code == 2
    assert "no client 'fischer'" in err
    code, out, _ = run(capsys, "links", "list", "--client", "solo-consultant")
    assert "client solo-consultant" in out
    assert "small-agency" not in out


def test_an_empty_list_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "links", "list") == (0, "no links\n", "")


# ----------------------------------------------------------------------------- revoke


def test_a_revoked_link_is_refused_from_then_on(
    capsys: pytest.CaptureFixture[str], settings: Path
) -> None:
    document = create(capsys, "--client", "small-agency")
    kept = create(capsys, "--client", "small-agency")
    token = document["path"].removeprefix("/c/")
    assert opened(token, settings).link_id == document["link"]["id"]
    code, out, _ = run(capsys, "links", "revoke", document["link"]["id"])
    assert code == 0
    assert out.startswith(f"revoked link {document['link']['id']} for client small-agency")
    with pytest.raises(AccessDenied) as caught:
        opened(token, settings)
    assert caught.value.reason is DenyReason.REVOKED
    assert opened(kept["path"].removeprefix("/c/"), settings)  # only that one
    code, out, _ = run(capsys, "links", "revoke", document["link"]["id"], "--json")
    assert code == 0
    again = json.loads(out)
    assert not list(Draft202012Validator(SCHEMA).iter_errors(again))
    assert again["revoked"] is False
    assert again["link"]["state"] == "revoked"
    code, out, _ = run(capsys, "links", "list")
    assert "revoked " in out


def test_an_unknown_link_cannot_be_revoked(capsys: pytest.CaptureFixture[str]) -> None:
    document = create(capsys, "--client", "small-agency")
    wanted = document["link"]["id"][:-1]
    code, out, err = run(capsys, "links", "revoke", wanted)
    assert code == 2
    assert out == ""
    assert f"no link {wanted!r} (did you mean {document['link']['id']!r}?)" in err


def test_a_link_from_another_database_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Same secret, another store: the link's id is unknown there, so it is refused."""
    document = create(capsys, "--client", "small-agency")
    with pytest.raises(AccessDenied) as caught:
        opened(document["path"].removeprefix("/c/"), tmp_path / "other.db")
    assert caught.value.reason is DenyReason.REVOKED
