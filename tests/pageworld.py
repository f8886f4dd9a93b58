"""A status page over a store the service filled against the sandbox, served for real (uvicorn
on loopback): shared by the page's HTTP tests (tests/ops) and its browser tests (tests/browser).

The demo world, plus a task named with markup, template syntax, right-to-left marks and an
emoji, which a rule delegates: every page that lists it must show it as text.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from delegator.appserver import AppServer
from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.clock import ManualClock
from delegator.sandbox import SandboxServer
from delegator.settings import Settings
from delegator.statuspage.access import Grant, Role, new_link_id, sign_link
from delegator.statuspage.app import create_app
from delegator.statuspage.views import Site
from delegator.store import SqlStore
from examplefiles import in_english

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "s" * 40
OPERATOR = "operator-token-0123456789"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
HOSTILE = '<script>alert("x")</script> {{ 7*7 }} \u202eevil\u202c 🧾 fattura'


@dataclass
class Running:
    url: str
    store: SqlStore
    sandbox: SandboxServer
    clock: ManualClock
    revoked: set[str]
    fleet: Fleet
    rules: Path

    def cycle(self, key: str) -> None:
        """One cycle of a client, a minute later."""
        self.clock.advance(minutes=1)
        self.fleet.cycle(next(e for e in load_clients(self.rules) if e.key == key))

    def link(self, role: Role, *, client: str | None = None, assistant: str | None = None,
             days: int = 30, issued: datetime | None = None) -> str:  # fmt: skip
        at = issued or self.clock.now()
        grant = Grant(role, client, assistant, new_link_id(), at, at + timedelta(days=days))
        token = sign_link(grant, SECRET)
        prefix = "/c/" if role is Role.CLIENT else "/a/"
        return f"{self.url}{prefix}{token}"

    def operator(self) -> requests.Session:
        session = requests.Session()
        answer = session.post(f"{self.url}/sign-in", data={"token": OPERATOR},
                              allow_redirects=False, timeout=10)  # fmt: skip
        assert answer.status_code == 303, answer.text
        return session


@contextmanager
def page_world(tmp_path: Path) -> Iterator[Running]:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(EXAMPLES / "solo-consultant.yaml", rules / "solo-consultant.yaml")
    # The pages' words are asserted in English; a test of the client's language writes it back.
    agency = in_english((EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8"))
    (rules / "small-agency.yaml").write_text(agency, encoding="utf-8")
    clock = ManualClock(START)
    store = SqlStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    with SandboxServer.demo(clock=clock) as sandbox:
        world = sandbox.world
        owner = world.user("anna@northwind.example")
        project = world.project("Operations")
        world.create_task(world.workspace("Northwind Studio"), f"Pay invoice {HOSTILE}",
                          by=owner, assignee=owner, memberships=[(project, None)])  # fmt: skip
        settings = Settings(
            rules_dir=rules, asana_base_url=sandbox.base_url, status_secret=SECRET,
            status_operator_token=OPERATOR,
        )  # fmt: skip
        environ = {
            "ASANA_TOKEN_NORTHWIND": sandbox.token("anna@northwind.example"),
            "ASANA_TOKEN_FISCHER": sandbox.token("lena@fischer-consulting.example"),
        }
        fleet = Fleet(settings, store, environ=environ, clock=clock)
        for entry in load_clients(rules):
            fleet.cycle(entry)
        clock.advance(minutes=5)
        revoked: set[str] = set()
        site = Site(settings, store, lambda: load_clients(rules), clock.now)
        app = create_app(site, lambda link_id: link_id in revoked)
        server = AppServer(app, "127.0.0.1", 0, purpose="for the status page",
                           name="the status page", component="status_page", event="status_page")  # fmt: skip
        with server:
            yield Running(server.url.rstrip("/"), store, sandbox, clock, revoked, fleet, rules)
        for runtime in fleet.runtimes.values():
            runtime.backend.close()
    store.close()
