"""Helpers for the pure core's tests: client files written inline, an engine, a moment."""

from __future__ import annotations

import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

from delegator.core.context import Directory, EvalContext, Identity
from delegator.core.engine import Engine
from delegator.core.rulefile import ClientFile, parse_client_file

ROME = ZoneInfo("Europe/Rome")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ROME)  # a Friday
OWNER = Identity(gid="100", email="anna@northwind.example", name="Anna Rossi")
DIRECTORY = Directory(
    OWNER,
    {
        "giulia": Identity(gid="102", email="giulia@va-agency.example", name="Giulia Bianchi"),
        "marco": Identity(gid="103", email="marco@va-agency.example", name="Marco Verdi"),
    },
)

HEAD = """\
version: 1
client:
  name: Northwind Studio
  workspace: "1100000000000001"
  token: { env: ASANA_TOKEN_NORTHWIND }
  timezone: Europe/Rome
  owner: anna@northwind.example
watch: [my_tasks]
assistants:
  giulia: { user: giulia@va-agency.example, skills: [admin, booking] }
  marco: { user: marco@va-agency.example, skills: [admin, inbox] }
"""


def client_text(rules: str, head: str = HEAD) -> str:
    """A valid client file with the given ``rules:`` block (YAML, unindented)."""
    return head + "rules:\n" + textwrap.indent(textwrap.dedent(rules), "  ")


def parse(rules: str, head: str = HEAD) -> ClientFile:
    return parse_client_file(client_text(rules, head), "acme.yaml")


def engine_for(rules: str, head: str = HEAD) -> Engine:
    loaded = parse(rules, head)
    assert loaded.errors == (), [str(e) for e in loaded.errors]
    return Engine(loaded)


def context(engine: Engine, now: datetime = NOW) -> EvalContext:
    return engine.context(now, DIRECTORY)
