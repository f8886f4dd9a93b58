"""The log lines of a cycle, as JSON: each bound to its client and cycle, each rule's line to its
task and rule, one ``cycle_finished`` with the counts; nothing left bound after the cycle."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.cycles import Count
from delegator.logs import configure, get_logger
from delegator.sandbox import SandboxServer
from delegator.settings import Settings
from delegator.store import SqlStore

EXAMPLES = Path("examples")


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_of_a_cycle_names_its_client_and_cycle(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("small-agency.yaml", "solo-consultant.yaml"):
        shutil.copy(EXAMPLES / name, rules / name)
    stream = io.StringIO()
    configure("json", "info", stream=stream)
    with SandboxServer.demo() as sandbox, SqlStore(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.migrate()
        environ = {"ASANA_TOKEN_NORTHWIND": sandbox.token("anna@northwind.example")}
        fleet = Fleet(Settings(rules_dir=rules, asana_base_url=sandbox.base_url), store, environ)
        reports = fleet.cycle_all(load_clients(rules), keep_tasks=False)
        get_logger().info("after_the_cycles")
    logged = lines(stream)
    by_client = {r.client: r for r in reports}

    applied = [line for line in logged if line["event"] == "rule_applied"]
    assert len(applied) == by_client["small-agency"].counts[Count.MATCHED] - 1  # one is shadow
    for line in applied:
        assert line["client"] == "small-agency"
        assert line["cycle"] == by_client["small-agency"].cycle_id
        assert line["task"].isdigit()
        assert line["rule"]
        assert all(step.endswith(":done") for step in line["steps"])

    [unavailable] = [line for line in logged if line["event"] == "client_unavailable"]
    assert unavailable["client"] == "solo-consultant"
    assert unavailable["reason"] == "the environment variable ASANA_TOKEN_FISCHER is not set"

    finished = {line["client"]: line for line in logged if line["event"] == "cycle_finished"}
    assert set(finished) == {"small-agency", "solo-consultant"}
    agency = finished["small-agency"]
    assert agency["cycle"] == by_client["small-agency"].cycle_id
    assert (agency["result"], agency["tasks_seen"], agency["errors"]) == ("ok", 34, [])
    assert agency["actions_done"] == by_client["small-agency"].counts[Count.ACTIONS_DONE]
    assert isinstance(agency["seconds"], float)
    solo = finished["solo-consultant"]
    assert (solo["result"], solo["client_failed"]) == ("failed", 1)
    assert solo["cycle"] == by_client["solo-consultant"].cycle_id is not None

    [after] = [line for line in logged if line["event"] == "after_the_cycles"]
    assert not {"client", "cycle", "task", "rule"} & set(after)
