"""`delegator run` as an orchestrator runs it: a real process against the sandbox (served by the
test), ready on /readyz, counted on /metrics, stopped by signals; and afterwards the store and the
sandbox agree, with nothing written twice."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from delegator.cycles import Count
from delegator.sandbox import ALL_TOKENS, Faults, SandboxServer
from delegator.sandbox.requestlog import LoggedRequest
from delegator.store import SqlStore

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ANNA = "anna@northwind.example"
LENA = "lena@fischer-consulting.example"
AGENCY = "small-agency"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    """Poll until ``condition`` gives something true; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


class Held:
    """The sandbox's sleep for injected latency: says when a request is being held, and lets
    the test release it instead of leaving a thread asleep."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.released = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.holding.set()
        self.released.wait(seconds)


class Delegator:
    """One ``delegator`` process, its output in a file."""

    def __init__(self, tmp_path: Path, name: str, env: dict[str, str], *args: str) -> None:
        self.output = tmp_path / f"{name}.log"
        self.port = int(env.get("DELEGATOR_HTTP_PORT", "0"))
        with self.output.open("w", encoding="utf-8") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                [sys.executable, "-m", "delegator", *args],
                cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8")

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text().splitlines() if line.startswith("{")]

    def event_names(self) -> list[str]:
        return [e["event"] for e in self.events()]

    def get(self, path: str) -> requests.Response | None:
        try:
            return requests.get(f"http://127.0.0.1:{self.port}{path}", timeout=5)
        except requests.ConnectionError:
            return None

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"delegator exited with {self.process.returncode}:\n{self.text()}")
        response = self.get("/readyz")
        return response is not None and response.status_code == 200

    def cycles(self, client: str, result: str = "ok") -> float:
        response = self.get("/metrics")
        if response is None:
            return 0.0
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == "delegator_cycles_total" and sample.labels == {
                    "client": client,
                    "result": result,
                }:
                    return float(sample.value)
        return 0.0

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, seconds: float) -> int:
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {seconds}s:\n{self.text()}") from None


@pytest.fixture
def processes() -> Iterator[list[Delegator]]:
    started: list[Delegator] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


@pytest.fixture
def held() -> Iterator[Held]:
    made = Held()
    yield made
    made.released.set()


@pytest.fixture
def sandbox(held: Held) -> Iterator[SandboxServer]:
    with SandboxServer.demo(faults=Faults(), sleep=held) as server:
        yield server


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("small-agency.yaml", "solo-consultant.yaml"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


def environment(
    sandbox: SandboxServer, tmp_path: Path, rules: Path, database_url: str, **settings: str
) -> dict[str, str]:
    """The process's environment: no DELEGATOR_* of the test run's own, the sandbox's tokens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DELEGATOR_")}
    env.update(
        DELEGATOR_CONFIG=str(tmp_path / "no-config.yaml"),
        DELEGATOR_ASANA_BASE_URL=sandbox.base_url,
        DELEGATOR_DATABASE_URL=database_url,
        DELEGATOR_RULES_DIR=str(rules),
        DELEGATOR_LOG_FORMAT="json",
        DELEGATOR_HTTP_HOST="127.0.0.1",
        DELEGATOR_HTTP_PORT=str(free_port()),
        DELEGATOR_SHUTDOWN_GRACE="20s",
        ASANA_TOKEN_NORTHWIND=sandbox.token(ANNA),
        ASANA_TOKEN_FISCHER=sandbox.token(LENA),
    )
    env.update({f"DELEGATOR_{name.upper()}": value for name, value in settings.items()})
    return env


def writes_by(sandbox: SandboxServer, user: str) -> list[LoggedRequest]:
    token = sandbox.token(user)
    return [e for e in sandbox.requests.entries() if e.method != "GET" and e.token == token]


def assert_store_and_sandbox_agree(
    sandbox: SandboxServer, database_url: str, since: datetime
) -> None:
    """Every open delegation is with its assistant in Asana, and every comment the service wrote
    is in the journal once: none lost, none written twice."""
    anna = sandbox.world.user(ANNA)
    comments = {
        story.gid: (task.gid, story.text)
        for task in sandbox.world.all_tasks()
        for story in task.stories
        if story.resource_subtype == "comment_added"
        and story.created_by is anna
        and story.created_at >= since
    }
    assert comments
    assert max(Counter(comments.values()).values()) == 1
    with SqlStore(database_url) as store:
        assert store.pending_actions(AGENCY) == []
        delegations = store.delegations(AGENCY)
        journaled = {
            a.story_gid
            for a in store.actions(client=AGENCY, kinds=("comment",))
            if a.status == "done"
        }
    assert delegations
    for delegation in delegations:
        task = sandbox.world.task(delegation.task_gid)
        assert task.assignee is not None
        assert task.assignee.gid == delegation.assignee_gid
    assert journaled == set(comments)


def test_sigterm_mid_cycle_exits_0_and_the_next_start_finishes_the_work(
    sandbox: SandboxServer,
    tmp_path: Path,
    rules: Path,
    database_url: str,
    processes: list[Delegator],
) -> None:
    since = datetime.now(UTC).replace(microsecond=0)
    env = environment(sandbox, tmp_path, rules, database_url)
    sandbox.faults.latency(ALL_TOKENS, 0.15)  # a first cycle of the agency takes seconds
    first = Delegator(tmp_path, "first", env, "run")
    processes.append(first)
    wait_for(first.ready, "/readyz to answer 200")
    health = first.get("/healthz")
    assert health is not None
    assert health.status_code == 200
    wait_for(lambda: writes_by(sandbox, ANNA), "the agency's first write")

    first.signal(signal.SIGTERM)
    assert first.wait(30) == 0, first.text()
    events = first.events()
    names = [e["event"] for e in events]
    assert names[-1] == "service_stopped", names
    [interrupted] = [
        e
        for e in events[names.index("stopping") :]
        if e["event"] == "cycle_interrupted" and e["client"] == AGENCY
    ]
    assert isinstance(interrupted["cycle"], int)  # the line is bound to its client and cycle
    with SqlStore(database_url) as store:
        last = store.cycles(AGENCY, limit=1)[0]
        assert last.counts[Count.INTERRUPTED] == 1
        assert store.pending_actions(AGENCY) == []  # the task in hand was finished

    sandbox.faults.latency(ALL_TOKENS, 0)
    second = Delegator(tmp_path, "second", env, "run")
    processes.append(second)
    wait_for(lambda: second.cycles(AGENCY) >= 1, "a good cycle of the agency")
    second.signal(signal.SIGTERM)
    assert second.wait(30) == 0, second.text()
    assert_store_and_sandbox_agree(sandbox, database_url, since)


def test_a_second_signal_exits_at_once_and_the_next_start_reconciles_the_write_in_flight(
    sandbox: SandboxServer, held: Held, tmp_path: Path, rules: Path, processes: list[Delegator]
) -> None:
    since = datetime.now(UTC).replace(microsecond=0)
    database_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = environment(sandbox, tmp_path, rules, database_url, shutdown_grace="60s")
    anna = sandbox.token(ANNA)

    def hold_after_three_writes(entry: LoggedRequest) -> None:
        if entry.token == anna and entry.method != "GET" and len(writes_by(sandbox, ANNA)) == 3:
            sandbox.faults.latency(anna, 60)  # the next request is carried out, then held

    sandbox.requests.subscribe(hold_after_three_writes)
    run = Delegator(tmp_path, "run", env, "run")
    processes.append(run)
    wait_for(held.holding.is_set, "a request of the agency held in flight")
    run.signal(signal.SIGTERM)
    wait_for(lambda: "stopping" in run.event_names(), "the first signal to be handled")
    run.signal(signal.SIGTERM)
    assert run.wait(10) == 128 + signal.SIGTERM, run.text()
    assert run.event_names()[-1] == "second_signal_exit_now"
    with SqlStore(database_url) as store:
        assert store.pending_actions(AGENCY)  # cut short: the journal knows what was in flight

    sandbox.faults.latency(anna, 0)
    held.released.set()
    once = Delegator(tmp_path, "once", env, "once")
    processes.append(once)
    assert once.wait(60) == 0, once.text()
    assert_store_and_sandbox_agree(sandbox, database_url, since)


def test_the_grace_period_running_out_exits_1(
    sandbox: SandboxServer, held: Held, tmp_path: Path, rules: Path, processes: list[Delegator]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'state.db'}"
    env = environment(sandbox, tmp_path, rules, database_url, shutdown_grace="1s")
    sandbox.faults.latency(ALL_TOKENS, 60)  # the first call of every cycle never ends in time
    run = Delegator(tmp_path, "run", env, "run")
    processes.append(run)
    wait_for(held.holding.is_set, "a request held in flight")
    run.signal(signal.SIGTERM)
    assert run.wait(20) == 1, run.text()
    [exceeded] = [e for e in run.events() if e["event"] == "shutdown_grace_exceeded"]
    assert exceeded["grace"] == 1.0
    assert any(job.startswith("client:") for job in exceeded["running"])


def test_a_port_in_use_stops_the_start_before_any_work(
    sandbox: SandboxServer, tmp_path: Path, rules: Path, processes: list[Delegator]
) -> None:
    env = environment(sandbox, tmp_path, rules, f"sqlite:///{tmp_path / 'state.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["DELEGATOR_HTTP_PORT"])))
        taken.listen()
        run = Delegator(tmp_path, "run", env, "run")
        processes.append(run)
        assert run.wait(30) == 2
    assert f"delegator: cannot listen on 127.0.0.1:{env['DELEGATOR_HTTP_PORT']}" in run.text()
    assert len(sandbox.requests) == 0


def test_run_sandbox_keeps_the_settings_from_the_environment(
    tmp_path: Path, processes: list[Delegator]
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DELEGATOR_")}
    env.update(
        DELEGATOR_CONFIG=str(tmp_path / "no-config.yaml"),
        DELEGATOR_LOG_FORMAT="json",
        DELEGATOR_HTTP_HOST="127.0.0.1",
        DELEGATOR_HTTP_PORT=str(port),
    )
    run = Delegator(tmp_path, "sandboxed", env, "run", "--sandbox")
    processes.append(run)
    wait_for(run.ready, "/readyz of run --sandbox")
    wait_for(
        lambda: run.cycles(AGENCY) >= 1 and run.cycles("solo-consultant") >= 1,
        "both example clients' first cycles on /metrics",
    )
    response = run.get("/readyz")
    assert response is not None
    assert {c["client"]: c["status"] for c in response.json()["clients"]} == {
        AGENCY: "ok",
        "solo-consultant": "ok",
    }
    run.signal(signal.SIGINT)
    assert run.wait(30) == 0, run.text()
    [started] = [e for e in run.events() if e["event"] == "web_started"]
    assert started["url"] == f"http://127.0.0.1:{port}"
