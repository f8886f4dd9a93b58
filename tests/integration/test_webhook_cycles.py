"""Webhooks driving the service, end to end: the real scheduler, store, receiver (uvicorn) and
the sandbox delivering over loopback as Asana does. A change is delegated within the debounce
window, not at the next poll; a forged delivery reads nothing; a lost delivery is caught by the
safety poll; a webhook Asana deleted is subscribed again; a burst of edits is one or two
cycles; rule files added, changed and removed subscribe and unsubscribe; no secret is kept in
the clear."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from delegator.bootstrap import Fleet, Hooks, open_store, start_hooks
from delegator.ports import CycleRecord, SubscriptionState
from delegator.sandbox import SandboxServer
from delegator.sandbox.records import Task
from delegator.scheduler import Service
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.subscriptions import HooksMode

ROOT = Path(__file__).resolve().parents[2]
CLIENT = "northwind"
OWNER = "anna@northwind.example"
ASSISTANTS = {"giulia@va-agency.example", "marco@va-agency.example"}
# Asana's timing, shortened: deliveries batched over 0.2 s, retried after 0.2 s.
FAST = {"batch_window": 0.2, "heartbeat_interval": None, "timeout": 2.0, "retry_base": 0.2,
        "retry_max": 1.0}  # fmt: skip
SEAL_KEY = "a-test-seal-key-of-forty-characters-long!"


def client_file(*, my_tasks: bool = False, projects: tuple[str, ...] = ("Operations",
                "Client Admin")) -> str:  # fmt: skip
    """The example agency's file, watching only projects (unless ``my_tasks``), polled every
    5 minutes: what happens within seconds is the webhooks' doing."""
    text = (ROOT / "examples" / "small-agency.yaml").read_text(encoding="utf-8")
    watch = "".join(f"  - project: {{ name: {name} }}\n" for name in projects)
    if my_tasks:
        watch = "  - my_tasks\n" + watch
    start = text.index("watch:\n") + len("watch:\n")
    end = text.index("\npoll:")
    return text[:start] + watch + text[end:].replace("poll: 2m", "poll: 5m", 1)


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@dataclass
class Running:
    sandbox: SandboxServer
    service: Service
    hooks: Hooks
    store: SqlStore
    rules: Path
    database: Path

    @property
    def world(self) -> Any:
        return self.sandbox.world

    def cycles(self) -> list[CycleRecord]:
        return [c for c in self.store.cycles(CLIENT, limit=500) if c.finished_at is not None]

    def active(self) -> list[str]:
        rows = self.store.subscriptions(CLIENT)
        return sorted(r.resource for r in rows if r.state is SubscriptionState.ACTIVE)

    def remote(self) -> list[str]:
        return sorted(h.resource.gid for h in self.sandbox.webhooks.all() if h.active)

    def new_task(self, name: str, project: str = "Operations") -> Task:
        world = self.world
        operations = world.project(project)
        return world.create_task(
            world.workspace("Northwind Studio"), name, by=world.user(OWNER),
            assignee=world.user(OWNER), memberships=[(operations, None)],
        )  # fmt: skip

    def delegated(self, task: Task) -> bool:
        return task.assignee is not None and task.assignee.email in ASSISTANTS

    def run_timer_cycle(self) -> None:
        """The client's poll comes round now (the safety poll, were it due)."""
        self.service.scheduler.modify_job(f"client:{CLIENT}", next_run_time=datetime.now(UTC))


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def make(*, text: str | None = None, **overrides: Any) -> Running:
        sandbox = SandboxServer.demo(webhooks=FAST).start()
        rules = tmp_path / "rules"
        rules.mkdir(exist_ok=True)
        (rules / f"{CLIENT}.yaml").write_text(text or client_file(), encoding="utf-8")
        database = tmp_path / "state.db"
        settings = replace(
            Settings(),
            rules_dir=rules,
            database_url=f"sqlite:///{database}",
            asana_base_url=sandbox.base_url,
            webhooks_seal_key=SEAL_KEY,
            webhooks_host="127.0.0.1",
            webhooks_port=0,
            webhooks_debounce=timedelta(seconds=1),
            http_port=0,
            **overrides,
        )
        store = open_store(settings)
        environ = {"ASANA_TOKEN_NORTHWIND": sandbox.token(OWNER)}
        fleet = Fleet(settings, store, environ=environ)
        service = Service(fleet, rules, reload_seconds=0.3)
        hooks = start_hooks(settings, store, service.wake, loopback=True)
        fleet.subscriber = hooks.subscriber
        running = Running(sandbox, service, hooks, store, rules, database)
        started.append(running)
        service.start()
        return running

    yield make
    for running in started:
        running.service.stop(grace=10)
        running.hooks.stop()
        running.sandbox.stop()


@pytest.fixture
def running(start: Callable[..., Running]) -> Running:
    running = start()
    wait_for(lambda: len(running.active()) == 2, "both projects subscribed")
    wait_for(lambda: len(running.cycles()) >= 1, "the first cycle")
    return running


def test_each_watched_project_is_subscribed_through_the_handshake(running: Running) -> None:
    world = running.world
    projects = sorted(world.project(name).gid for name in ("Operations", "Client Admin"))
    assert running.active() == projects
    assert running.remote() == projects
    assert running.hooks.server.receiver.counts().handshakes == 2
    targets = [h.target for h in running.sandbox.webhooks.all()]
    assert all(t.startswith(running.hooks.public_url + "/webhooks/asana/") for t in targets)


def test_a_new_task_is_delegated_within_seconds_not_at_the_next_poll(running: Running) -> None:
    before = len(running.cycles())
    task = running.new_task("Invoice 2026-118 for Acme")
    wait_for(lambda: running.delegated(task), "the task delegated", seconds=15)
    wait_for(lambda: len(running.cycles()) > before, "its cycle finished")  # after its writes
    # One cycle (or two: the service's own writes come back as a delivery, read and let be)
    # where the poll (5 minutes) would have run none.
    assert 1 <= len(running.cycles()) - before <= 2


def test_a_forged_delivery_is_refused_and_nothing_is_read(running: Running) -> None:
    """Somebody who learnt a webhook's URL posts to it: 401, no cycle, no request to Asana."""
    requests_before = len(running.sandbox.requests)
    cycles_before = len(running.cycles())
    target = running.sandbox.webhooks.all()[0].target
    body = b'{"events":[{"action":"added","resource":{"gid":"1","resource_type":"task"}}]}'
    forged = hmac.new(b"a guess", body, hashlib.sha256).hexdigest()
    answer = requests.post(
        target, data=body, timeout=5,
        headers={"Content-Type": "application/json", "X-Hook-Signature": forged},
    )  # fmt: skip
    assert answer.status_code == 401
    unsigned = requests.post(
        target, data=body, headers={"Content-Type": "application/json"}, timeout=5
    )
    assert unsigned.status_code == 401
    time.sleep(2.5)  # more than the debounce: a cycle it had woken would have run
    assert len(running.cycles()) == cycles_before
    assert len(running.sandbox.requests) == requests_before
    assert running.hooks.server.receiver.counts().bad_signatures == 2


def test_a_badly_signed_delivery_is_refused_and_its_retry_taken(running: Running) -> None:
    running.sandbox.webhooks.faults.bad_signature()
    task = running.new_task("Receipt for the new monitors")
    wait_for(lambda: running.delegated(task), "the task delegated after the retry")
    assert running.hooks.server.receiver.counts().bad_signatures >= 1


def test_a_lost_delivery_is_caught_by_the_safety_poll(running: Running) -> None:
    running.sandbox.webhooks.faults.lose(count=10)
    task = running.new_task("Expenses for the Milan trip")
    running.sandbox.webhooks.flush()
    time.sleep(2.5)  # no delivery came: nothing ran
    assert not running.delegated(task)
    running.run_timer_cycle()
    wait_for(lambda: running.delegated(task), "the task delegated by the safety poll")


def test_a_webhook_asana_deleted_is_subscribed_again(start: Callable[..., Running]) -> None:
    # A safety poll shorter than the poll: each timer cycle checks the webhooks with Asana.
    running = start(webhooks_safety_poll=timedelta(seconds=1))
    wait_for(lambda: len(running.active()) == 2, "both projects subscribed")
    operations = running.world.project("Operations").gid
    gone = next(h for h in running.sandbox.webhooks.all() if h.resource.gid == operations)
    running.sandbox.webhooks.delete(gone.gid)
    assert operations not in running.remote()
    time.sleep(1.1)
    running.service.judge_hooks()  # as its job does every 10 s: healthy, checked each safety poll
    running.run_timer_cycle()
    wait_for(lambda: operations in running.remote(), "Operations subscribed again")
    # Asana's side is active once the handshake is answered; the store's once the 201 answer to
    # the subscription is back and saved, a moment later.
    wait_for(lambda: len(running.active()) == 2, "both subscriptions active in the store")
    task = running.new_task("Invoice for the deleted webhook's project")
    wait_for(lambda: running.delegated(task), "a change delegated through the new webhook")


def test_a_burst_of_fifty_edits_is_one_or_two_cycles(running: Running) -> None:
    """Fifty tasks written in a burst (the owner's own work: no rule takes them, so no write of
    the service echoes back): the debounce makes them one cycle, two at most."""
    time.sleep(2.5)  # the echo of the first cycle's writes has come and gone
    before = len(running.cycles())
    for n in range(50):  # over about a second: several deliveries (batched over 0.2 s)
        running.new_task(f"Brand strategy draft {n:03d}")
        time.sleep(0.015)

    def seen() -> int:
        done = running.cycles()[: len(running.cycles()) - before]
        return sum(c.counts.to_mapping().get("tasks_seen", 0) for c in done)

    wait_for(lambda: seen() >= 50, "the fifty tasks read")
    time.sleep(2.5)  # more than the debounce: any further cycle would have run
    assert 1 <= len(running.cycles()) - before <= 2


def test_rule_files_changed_and_removed_subscribe_and_unsubscribe(running: Running) -> None:
    path = running.rules / f"{CLIENT}.yaml"
    path.write_text(client_file(projects=("Operations",)), encoding="utf-8")
    operations = running.world.project("Operations").gid
    wait_for(lambda: running.remote() == [operations], "Client Admin unsubscribed")
    assert running.active() == [operations]
    path.unlink()
    wait_for(lambda: running.remote() == [], "every webhook deleted with the client file")
    wait_for(lambda: running.store.subscriptions(CLIENT) == [], "its rows gone")


def test_a_client_watching_my_tasks_keeps_polling_at_its_poll(
    start: Callable[..., Running],
) -> None:
    running = start(text=client_file(my_tasks=True))
    wait_for(lambda: len(running.active()) == 2, "both projects subscribed")
    running.service.judge_hooks()
    hooks = running.hooks.subscriber.health(CLIENT)
    assert hooks is not None
    assert hooks.mode is HooksMode.POLLED
    assert "my tasks" in (hooks.reason or "")
    job = running.service.scheduler.get_job(f"client:{CLIENT}")
    assert job.trigger.interval == timedelta(minutes=5)


def test_healthy_webhooks_turn_the_poll_into_the_safety_poll(running: Running) -> None:
    running.service.judge_hooks()
    hooks = running.hooks.subscriber.health(CLIENT)
    assert hooks is not None
    assert hooks.mode is HooksMode.HEALTHY, hooks
    job = running.service.scheduler.get_job(f"client:{CLIENT}")
    assert job.trigger.interval == timedelta(hours=1)
    picture = running.service.readiness()
    (client,) = picture.clients
    assert client.state.hooks is not None
    assert client.state.hooks.healthy
    assert client.healthy  # judged against the safety poll, not stale after 3 polls


def test_no_webhook_secret_is_kept_in_the_clear(running: Running) -> None:
    stored = running.database.read_bytes()
    for hook in running.sandbox.webhooks.all():
        assert hook.secret.encode() not in stored
    for row in running.store.subscriptions(CLIENT):
        assert row.sealed_secret is not None


def test_status_shows_each_clients_webhooks_and_judges_it_by_the_safety_poll(
    running: Running, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from delegator.cli import main

    monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{running.database}")
    monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", running.sandbox.token(OWNER))
    capsys.readouterr()
    assert main(["status", "--rules", str(running.rules)]) == 0
    text = capsys.readouterr().out
    assert "webhooks    healthy: 2 of 2 live, last heard" in text, text
    assert "every 60m" in text, text
    assert main(["status", "--rules", str(running.rules), "--json"]) == 0
    (client,) = json.loads(capsys.readouterr().out)["clients"]
    assert client["webhooks"]["mode"] == "healthy"
    assert client["webhooks"]["polling_seconds"] == 3600
