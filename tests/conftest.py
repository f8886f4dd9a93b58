"""Two databases for every test of state: a test taking ``store`` or ``database_url`` (the store
suite, the service's cycle tests) runs on a SQLite file and on a real PostgreSQL
(DELEGATOR_TEST_DATABASE_URL), each test in a fresh schema.

Locally the PostgreSQL half skips when the variable is unset; under CI it fails instead, so a
broken database set-up cannot pass for a green build.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import structlog

from delegator.redact import SECRETS
from delegator.sandbox import strict
from delegator.store import SqlStore
from delegator.store.database import parse_url

DATABASE_URL_VARIABLE = "DELEGATOR_TEST_DATABASE_URL"
# The tests `make test-fast` leaves out, measured (tools/slow_tests.py writes the list).
SLOW_TESTS_LIST = Path(__file__).parent / "slow-tests.txt"


def _slow_tests() -> frozenset[str]:
    try:
        lines = SLOW_TESTS_LIST.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return frozenset()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@pytest.fixture(autouse=True)
def _secrets_of_this_test_only() -> Iterator[None]:
    """What a test registers as a secret is forgotten after it: the registry is process-wide, and
    a secret that is an ordinary word (CI's database password is "delegator") would otherwise
    redact that word in every later test's output."""
    before = SECRETS.snapshot()
    yield
    SECRETS.restore(before)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the measured slow tests ``slow`` (``make test-fast`` runs ``-m "not slow"``)."""
    slow = _slow_tests()
    for item in items:
        if item.nodeid.split("[", 1)[0] in slow:
            item.add_marker(pytest.mark.slow)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Logging is global state: each test starts and ends with structlog's defaults, and
    without the handler ``configure`` gives delegator's standard-library loggers."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
    stdlib = logging.getLogger("delegator")
    for handler in list(stdlib.handlers):
        stdlib.removeHandler(handler)
    stdlib.setLevel(logging.NOTSET)


@pytest.fixture(autouse=True)
def _no_contract_refusals(request: pytest.FixtureRequest) -> Iterator[None]:
    """The sandbox is strict: a test it refused a request for a contract reason (a request
    Asana's spec refuses, see delegator/sandbox/strict.py) fails, unless it is marked
    ``contract_refusals_expected``. The refusals are the client's bugs, or the test's."""
    with strict.watch() as refused:
        yield
    if refused and request.node.get_closest_marker("contract_refusals_expected") is None:
        pytest.fail(
            "the sandbox refused requests that Asana's spec refuses "
            "(mark the test contract_refusals_expected if that is what it tests):\n"
            + strict.describe(refused),
            pytrace=False,
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file in a folder that does not exist yet, or a PostgreSQL
    schema made for this test and dropped after it."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'delegator.db'}"
        return
    base = os.environ.get(DATABASE_URL_VARIABLE)
    if not base:
        reason = f"{DATABASE_URL_VARIABLE} is not set: no PostgreSQL to test the store against"
        if _in_ci():
            pytest.fail(f"{reason} (CI is set: .ci/run should have started one)")
        pytest.skip(reason)
    schema = f"store_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(parse_url(base), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = parse_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    """A migrated store on an empty database."""
    with SqlStore(database_url) as opened:
        opened.migrate()
        yield opened
