"""Naming the database: URLs accepted, refused with reasons, and passwords never shown."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from delegator.store import SqlStore, StoreError, mask_url

SECRET = "s3cr3t-pw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql+psycopg://delegator:{SECRET}@db.example:5432/state",
            "postgresql+psycopg://delegator:***@db.example:5432/state",
        ),
        ("postgresql+psycopg://db.example/state", "postgresql+psycopg://db.example/state"),
        (
            f"postgresql+psycopg://db.example/state?sslmode=require&password={SECRET}",
            "postgresql+psycopg://db.example/state?password=***&sslmode=require",
        ),
        ("sqlite:////var/lib/delegator/state.db", "sqlite:////var/lib/delegator/state.db"),
        # not a URL SQLAlchemy can parse (the port): masked all the same
        (
            f"postgresql://delegator:{SECRET}@db:port/state",
            "postgresql://delegator:***@db:port/state",
        ),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_postgres_urls_mean_psycopg_3(tmp_path: Path) -> None:
    with SqlStore(f"postgres://delegator:{SECRET}@127.0.0.1:1/state") as store:
        assert store.display_url == "postgresql+psycopg://delegator:***@127.0.0.1:1/state"
        assert repr(store) == "SqlStore('postgresql+psycopg://delegator:***@127.0.0.1:1/state')"


def test_an_unreachable_database_is_a_store_error_without_the_password() -> None:
    url = f"postgresql+psycopg://delegator:{SECRET}@127.0.0.1:1/state"
    with SqlStore(url) as store, pytest.raises(StoreError) as failed:
        store.migrate()

    message = str(failed.value)
    assert message.startswith(
        "cannot open or migrate the database at "
        "postgresql+psycopg://delegator:***@127.0.0.1:1/state: connection failed: "
    )
    assert SECRET not in "".join(traceback.format_exception(failed.value))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            f"mysql://root:{SECRET}@db/state",
            "the database URL 'mysql://root:***@db/state' names 'mysql': delegator keeps its "
            "state in SQLite or PostgreSQL; expected sqlite:///path/to/state.db or "
            "postgresql+psycopg://user:password@host:5432/database",
        ),
        (
            f"state.db?password={SECRET}",
            "the database URL 'state.db?password=***' is not valid: expected "
            "sqlite:///path/to/state.db or postgresql+psycopg://user:password@host:5432/database",
        ),
    ],
)
def test_an_unusable_url_is_refused_with_what_would_be_right(url: str, message: str) -> None:
    with pytest.raises(StoreError) as refused:
        SqlStore(url)
    assert str(refused.value) == message


def test_a_missing_driver_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"^cannot open the database at postgresql\+nodriver://"):
        SqlStore(f"postgresql+nodriver://u:{SECRET}@h/db")


def test_the_sqlite_file_and_its_folders_are_created_on_first_run(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "delegator" / "state.db"
    with SqlStore(f"sqlite:///{path}") as store:
        store.migrate()
        store.save_round_robin("acme", "finance", "anna")
    assert path.is_file()
    with SqlStore(f"sqlite:///{path}") as again:
        again.migrate()
        assert again.round_robin("acme") == {"finance": "anna"}
