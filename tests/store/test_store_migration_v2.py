"""Version 2 on a database that version 1 filled: every row stays, the new columns are empty and the
new table works."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from storekit import T0, act

from delegator.ports import Delegation, Override
from delegator.store import MIGRATIONS, SqlStore
from delegator.store.database import open_engine, parse_url
from delegator.store.migrations import upgrade


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    opened = open_engine(parse_url(database_url))
    yield opened
    opened.dispose()


def _version_1(engine: Engine) -> None:
    """A database as delegator 1 left it, with a delegation written by hand in v1's columns."""
    assert upgrade(engine, "test", MIGRATIONS[:1]) == [1]
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO delegations (client, task_gid, task_name, rule, assistant,"
                " assignee_gid, delegated_at, tag, status, closed_at, permalink_url, due_on)"
                " VALUES ('acme', '1201', 'Pay the invoice', 'Invoices to Anna', 'anna', '501',"
                " :at, 'delegated', 'open', NULL, 'https://app.asana.com/0/0/1201', :due)"
            ),
            {"at": T0, "due": date(2025, 3, 7)},
        )


def test_version_2_keeps_the_rows_of_version_1(database_url: str, engine: Engine) -> None:
    _version_1(engine)
    with SqlStore(database_url) as store:
        store.save_round_robin("acme", "finance", "anna")  # v1's tables work before the upgrade
        act(store, task="1201")
        store.record_override(
            Override("acme", "1300", "Book the venue", "Venues", "assigned back", T0)
        )
        assert store.schema_version() == 1

        store.migrate()

        assert store.schema_version() >= 2  # and on to the newest
        (kept,) = store.delegations("acme")
        assert kept == Delegation(
            client="acme",
            task_gid="1201",
            task_name="Pay the invoice",
            rule="Invoices to Anna",
            assistant="anna",
            assignee_gid="501",
            delegated_at=T0,
            tag="delegated",
            permalink_url="https://app.asana.com/0/0/1201",
            due_on=date(2025, 3, 7),
        )
        assert (kept.minutes, kept.minutes_from) == (None, None)
        assert store.round_robin("acme") == {"finance": "anna"}
        assert [a.task_gid for a in store.actions("acme")] == ["1201"]
        assert [o.task_gid for o in store.overrides("acme")] == ["1300"]
        assert store.sends() == []


def test_after_version_2_delegations_carry_minutes_and_sends_are_claimed(
    database_url: str, engine: Engine
) -> None:
    _version_1(engine)
    with SqlStore(database_url) as store:
        store.migrate()
        booking = Delegation("acme", "1202", "Book a table", "Bookings", "bob", "502", T0)
        store.record_delegation(replace(booking, minutes=25, minutes_from="field"))
        claimed = store.claim_send(
            client="acme",
            kind="summary",
            recipient="",
            destination="webhook:env:SLACK_WEBHOOK_URL",
            period=T0 + timedelta(days=4),
            period_start=T0 - timedelta(days=3),
            at=T0 + timedelta(days=4),
        )

        by_task = {d.task_gid: d for d in store.delegations("acme")}
        assert (by_task["1202"].minutes, by_task["1202"].minutes_from) == (25, "field")
        assert (by_task["1201"].minutes, by_task["1201"].minutes_from) == (None, None)
        assert claimed is not None
        assert [s.id for s in store.sends("acme")] == [claimed]
