"""The Prometheus metrics: what a cycle and each HTTP attempt to Asana add, in a registry of the
service's own, and the exposition Prometheus scrapes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from prometheus_client.parser import text_string_to_metric_families

from delegator import __version__
from delegator.asana import AsanaClient, BudgetRegistry, RetryPolicy
from delegator.asana.http import RequestAttempt, endpoint_template
from delegator.bootstrap import Fleet
from delegator.clients import load_clients
from delegator.clock import ManualClock
from delegator.core.engine import Decision
from delegator.core.model import Task
from delegator.cycles import Count, CycleCounts, ErrorKind
from delegator.metrics import Metrics
from delegator.sandbox import SandboxServer
from delegator.service import CycleReport, Step, TaskReport
from delegator.settings import Settings
from delegator.store import SqlStore

BASE = "https://asana.test/api/1.0"
TOKEN = "0/metrics-secret-token-77aa"
EXAMPLES = Path("examples")
FINISHED = datetime(2026, 11, 27, 9, 0, 5, tzinfo=UTC)


def value(metrics: Metrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def report(client: str = "agency", **counts: int) -> CycleReport:
    made = CycleReport(client, "Agency", FINISHED - timedelta(seconds=5), dry_run=False)
    made.counts = CycleCounts.from_mapping(counts)
    return made


def with_steps(made: CycleReport, *steps: tuple[str, str]) -> CycleReport:
    task = Task(gid="1", name="Pay the invoice")
    made.tasks.append(
        TaskReport(
            task, Decision(task, "delegate", True, False), steps=[Step(k, k, s) for k, s in steps]
        )
    )
    return made


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/tasks/1200000000000001", "/tasks/{gid}"),
        ("/tasks/1200000000000001/addTag", "/tasks/{gid}/addTag"),
        ("/users/me", "/users/me"),
        ("/users/anna@northwind.example", "/users/{gid}"),
        ("/workspaces/77/tags?opt_fields=name", "/workspaces/{gid}/tags"),
        ("/batch", "/batch"),
    ],
)
def test_an_endpoint_is_named_by_its_template_never_by_an_id_or_an_email(
    path: str, template: str
) -> None:
    assert endpoint_template(path) == template


def test_a_cycle_counts_its_result_duration_tasks_actions_queue_and_last_success() -> None:
    metrics = Metrics()
    done = with_steps(
        report(tasks_seen=34, queued=2),
        ("assign", "done"), ("tag", "done"), ("comment", "failed"),
    )  # fmt: skip
    done.add_error(ErrorKind.TASK, "task 1: 500 Internal Server Error")
    metrics.observe_cycle(done, 2.5, FINISHED)

    assert value(metrics, "delegator_cycles_total", client="agency", result="errors") == 1
    assert value(metrics, "delegator_cycle_duration_seconds_count", client="agency") == 1
    assert value(metrics, "delegator_cycle_duration_seconds_sum", client="agency") == 2.5
    assert value(metrics, "delegator_tasks_seen_total", client="agency") == 34
    assert (
        value(metrics, "delegator_actions_total", client="agency", kind="assign", result="done")
        == 1
    )
    assert (
        value(metrics, "delegator_actions_total", client="agency", kind="comment", result="failed")
        == 1
    )
    assert value(metrics, "delegator_queued_tasks", client="agency") == 2
    assert value(metrics, "delegator_last_success_timestamp_seconds", client="agency") == (
        FINISHED.timestamp()
    )


@pytest.mark.parametrize(
    ("counts", "result"), [({"client_failed": 1}, "failed"), ({"interrupted": 1}, "interrupted")]
)
def test_a_cycle_that_failed_or_was_cut_short_is_no_success(
    counts: dict[str, int], result: str
) -> None:
    metrics = Metrics()
    metrics.observe_cycle(report(queued=0), 1.0, FINISHED)
    metrics.observe_cycle(report(queued=5, **counts), 1.0, FINISHED + timedelta(minutes=2))
    assert value(metrics, "delegator_cycles_total", client="agency", result=result) == 1
    assert value(metrics, "delegator_cycles_total", client="agency", result="ok") == 1
    # The last success and the queue are those of the last good cycle.
    assert value(metrics, "delegator_last_success_timestamp_seconds", client="agency") == (
        FINISHED.timestamp()
    )
    assert value(metrics, "delegator_queued_tasks", client="agency") == 0


def test_each_http_attempt_is_counted_with_429s_and_retries() -> None:
    metrics = Metrics()
    metrics.observe_request(RequestAttempt("GET", "/tasks/{gid}", 429, False, True))
    metrics.observe_request(RequestAttempt("GET", "/tasks/{gid}", 200, True, False))
    metrics.observe_request(RequestAttempt("POST", "/tasks/{gid}/stories", None, False, False))
    assert (
        value(
            metrics,
            "delegator_asana_requests_total",
            method="GET",
            endpoint="/tasks/{gid}",
            status="429",
        )
        == 1
    )
    assert (
        value(
            metrics,
            "delegator_asana_requests_total",
            method="GET",
            endpoint="/tasks/{gid}",
            status="200",
        )
        == 1
    )
    assert (
        value(
            metrics,
            "delegator_asana_requests_total",
            method="POST",
            endpoint="/tasks/{gid}/stories",
            status="error",
        )
        == 1
    )
    assert value(metrics, "delegator_asana_rate_limited_total") == 1
    assert value(metrics, "delegator_asana_retries_total") == 1


def test_summary_sends_and_a_removed_client_and_separate_registries() -> None:
    metrics, other = Metrics(), Metrics()
    metrics.summary_sent("agency", "summary", "webhook", "sent")
    metrics.summary_sent("agency", "digest", "email", "failed")
    assert (
        value(
            metrics,
            "delegator_summary_sends_total",
            client="agency",
            kind="summary",
            destination="webhook",
            result="sent",
        )
        == 1
    )
    assert (
        value(
            metrics,
            "delegator_summary_sends_total",
            client="agency",
            kind="digest",
            destination="email",
            result="failed",
        )
        == 1
    )
    assert (
        value(
            other,
            "delegator_summary_sends_total",
            client="agency",
            kind="summary",
            destination="webhook",
            result="sent",
        )
        == 0
    )

    metrics.observe_cycle(report(queued=1), 1.0, FINISHED)
    metrics.forget_client("agency")
    metrics.forget_client("never-seen")
    assert metrics.registry.get_sample_value("delegator_queued_tasks", {"client": "agency"}) is None
    assert value(metrics, "delegator_cycles_total", client="agency", result="ok") == 1


def test_the_exposition_is_prometheus_text_with_the_build_version() -> None:
    metrics = Metrics()
    metrics.observe_cycle(report(), 0.3, FINISHED)
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    assert {
        "delegator_cycles", "delegator_cycle_duration_seconds", "delegator_tasks_seen",
        "delegator_actions", "delegator_asana_requests", "delegator_asana_rate_limited",
        "delegator_asana_retries", "delegator_queued_tasks",
        "delegator_last_success_timestamp_seconds", "delegator_summary_sends", "delegator_build_info",
    } <= set(families)  # fmt: skip
    [build] = families["delegator_build_info"].samples
    assert build.labels == {"version": __version__}


# ---------------------------------------------------------------------- fed by the real code
@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def test_the_asana_client_tells_its_observer_of_every_attempt(
    api: responses.RequestsMock,
) -> None:
    clock = ManualClock(FINISHED)
    seen: list[RequestAttempt] = []
    task = {"data": {"gid": "123", "name": "x"}}
    api.get(f"{BASE}/tasks/123", status=429, json={"errors": [{"message": "slow down"}]},
            headers={"Retry-After": "2"})  # fmt: skip
    api.get(f"{BASE}/tasks/123", json=task)
    api.get(f"{BASE}/tasks/124", body=requests.ConnectionError("connection refused"))
    api.get(f"{BASE}/tasks/124", status=503, json={"errors": [{"message": "down"}]})
    api.get(f"{BASE}/tasks/124", json=task)
    with AsanaClient(
        TOKEN, base_url=BASE, clock=clock, sleep=clock.sleep, budgets=BudgetRegistry(),
        retry=RetryPolicy(jitter=lambda ceiling: ceiling), observer=seen.append,
    ) as client:  # fmt: skip
        client.get_task("123", ["name"])
        client.get_task("124", ["name"])
    assert seen == [
        RequestAttempt("GET", "/tasks/{gid}", 429, retry=False, rate_limited=True),
        RequestAttempt("GET", "/tasks/{gid}", 200, retry=True, rate_limited=False),
        RequestAttempt("GET", "/tasks/{gid}", None, retry=False, rate_limited=False),
        RequestAttempt("GET", "/tasks/{gid}", 503, retry=True, rate_limited=False),
        RequestAttempt("GET", "/tasks/{gid}", 200, retry=True, rate_limited=False),
    ]
    assert TOKEN not in repr(seen)


def test_a_fleet_with_metrics_counts_real_cycles_against_the_sandbox(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(EXAMPLES / "small-agency.yaml", rules / "small-agency.yaml")
    metrics = Metrics()
    with SandboxServer.demo() as sandbox, SqlStore(f"sqlite:///{tmp_path / 's.db'}") as store:
        store.migrate()
        environ = {"ASANA_TOKEN_NORTHWIND": sandbox.token("anna@northwind.example")}
        settings = Settings(rules_dir=rules, asana_base_url=sandbox.base_url)
        fleet = Fleet(settings, store, environ=environ, metrics=metrics)
        [entry] = load_clients(rules)
        first = fleet.cycle(entry, keep_tasks=False)
        sent = len(sandbox.requests)
    assert first.result == "ok"
    assert value(metrics, "delegator_cycles_total", client="small-agency", result="ok") == 1
    assert value(metrics, "delegator_tasks_seen_total", client="small-agency") == 34
    done = sum(
        s.value
        for f in text_string_to_metric_families(metrics.exposition().decode())
        if f.name == "delegator_actions"
        for s in f.samples
        if s.name == "delegator_actions_total" and s.labels["result"] == "done"
    )
    assert done == first.counts[Count.ACTIONS_DONE] > 0
    requests_counted = sum(
        s.value
        for f in text_string_to_metric_families(metrics.exposition().decode())
        if f.name == "delegator_asana_requests"
        for s in f.samples
        if s.name == "delegator_asana_requests_total"
    )
    assert requests_counted == sent == first.requests
