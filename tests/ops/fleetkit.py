"""Replicas of `delegator run` as real processes sharing one PostgreSQL and one sandbox: the world
they serve, their rule files, the processes, a watch on the leases, and the sandbox's request log
read back per client, per process and per task.

Every process gets its own token for each client (the same user: a sandbox user may have many
tokens), so the request log says which process sent each request. The clients are small
businesses of one owner and two assistants; the rule delegates the paperwork (an invoice or a
receipt in the name) and leaves the rest, so what must happen is known from the world alone.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from test_run_process import wait_for as wait_for  # the tests' poll, re-exported

from delegator.sandbox import SandboxServer
from delegator.sandbox.requestlog import LoggedRequest
from delegator.store import SqlStore

REPO = Path(__file__).resolve().parents[2]
LEASE = 6.0  # replica.lease, seconds
DEADLINE = 3.0  # asana.request_deadline: the lease must be at least twice this
ROUND = LEASE / 4  # how often a replica renews and looks for its share (leases.LeaseTimes.every)
PAPERWORK = re.compile(r"\b(invoice|receipt)s?\b", re.IGNORECASE)
# A few names of each kind, numbered: half are paperwork (delegated), half stay with the owner.
_NAMES = (
    "Pay invoice #{n} from Hetzner",
    "Plan the team offsite {n}",
    "Send receipts for trip {n} to the accountant",
    "Review the design draft {n}",
)
TOKENS_PER_CLIENT = 80  # one per process started by a test, at most


@dataclass(frozen=True, slots=True)
class Client:
    """One client: its rule file's key, its workspace, its people and its token variable."""

    index: int

    @property
    def key(self) -> str:
        return f"client-{self.index}"

    @property
    def workspace(self) -> str:
        return f"77000000000{self.index:05d}"

    @property
    def owner(self) -> str:
        return f"owner@client{self.index}.example"

    @property
    def assistants(self) -> tuple[str, str]:
        return (f"ada@client{self.index}.example", f"bo@client{self.index}.example")

    @property
    def variable(self) -> str:
        return f"ASANA_TOKEN_CLIENT_{self.index}"

    def token(self, process: int) -> str:
        """The token process number ``process`` uses for this client (all the owner's)."""
        return f"fleet-token-c{self.index}-p{process}"


def clients(count: int) -> list[Client]:
    return [Client(index) for index in range(1, count + 1)]


def world_fixture(served: Sequence[Client], tasks: int) -> dict[str, Any]:
    """One workspace per client: the owner (with a token for every process), two assistants,
    a project "Work" of ``tasks`` tasks all the owner's, and a project "Digests"."""
    workspaces = []
    for client in served:
        users = [
            {
                "name": f"Owner {client.index}",
                "email": client.owner,
                "tokens": [client.token(n) for n in range(TOKENS_PER_CLIENT)],
                "role": "client",
            },
            *(
                {"name": f"{email.split('@')[0].title()} {client.index}", "email": email,
                 "token": f"fleet-token-c{client.index}-{email.split('@')[0]}",
                 "role": "assistant"}
                for email in client.assistants
            ),
        ]  # fmt: skip
        work = [
            {
                "name": _NAMES[n % len(_NAMES)].format(n=n),
                "section": "Inbox",
                "assignee": client.owner,
                "due_on": f"today+{n % 9}",
                "custom_fields": {"Estimated time": 15},
            }
            for n in range(tasks)
        ]
        workspaces.append(
            {
                "name": f"Client {client.index} Ltd",
                "gid": client.workspace,
                "plan": "paid",
                "users": users,
                "custom_fields": [{"name": "Estimated time", "type": "number"}],
                "projects": [
                    {
                        "name": "Work",
                        "owner": client.owner,
                        "sections": ["Inbox", "Done"],
                        "custom_fields": ["Estimated time"],
                        "tasks": work,
                    },
                    {"name": "Digests", "owner": client.owner, "sections": ["Inbox"]},
                ],
            }
        )
    return {"description": "replicas under test", "workspaces": workspaces}


def rule_file(client: Client, *, summaries: bool) -> str:
    """The client's rules: paperwork to the assistants (assign, tag, comment); with
    ``summaries`` a status update and a digest task every minute."""
    ada, bo = client.assistants
    text = f"""\
version: 1
client:
  name: Client {client.index}
  workspace: "{client.workspace}"
  token: {{ env: {client.variable} }}
  timezone: UTC
  owner: {client.owner}
watch:
  - project: {{ name: Work }}
poll: 1m
assistants:
  ada: {{ user: {ada}, capacity: 1000 }}
  bo: {{ user: {bo}, capacity: 1000 }}
"""
    if summaries:
        text += """\
summary:
  schedule: "* * * * *"
  to:
    - asana_status: { project: Work }
digest:
  schedule: "* * * * *"
  send_empty: true
  to:
    - asana_task: { project: Digests }
"""
    text += """\
rules:
  - name: Paperwork goes to the assistants
    when:
      all:
        - assignee: [owner]
        - name: { matches: "\\\\b(invoice|receipt)s?\\\\b" }
    then:
      - assign: { pool: [ada, bo], strategy: least_loaded }
      - tag: delegated
      - comment: "Yours now, {{ assignee.first_name }}: {{ task.name }}"
"""
    return text


def write_rules(folder: Path, served: Iterable[Client], *, summaries: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for client in served:
        (folder / f"{client.key}.yaml").write_text(rule_file(client, summaries=summaries))
    return folder


def environment(
    sandbox: SandboxServer,
    tmp_path: Path,
    rules: Path,
    database_url: str,
    served: Iterable[Client],
    process: int,
    replica: str | None,
    **settings: str,
) -> dict[str, str]:
    """A replica's environment: process number ``process``'s tokens, short leases, JSON logs,
    no HTTP endpoint, no DELEGATOR_* of the test run's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DELEGATOR_")}
    env.update(
        DELEGATOR_CONFIG=str(tmp_path / "no-config.yaml"),
        DELEGATOR_ASANA_BASE_URL=sandbox.base_url,
        DELEGATOR_DATABASE_URL=database_url,
        DELEGATOR_RULES_DIR=str(rules),
        DELEGATOR_LOG_FORMAT="json",
        DELEGATOR_HTTP_PORT="0",
        DELEGATOR_SHUTDOWN_GRACE="20s",
        DELEGATOR_REPLICA_LEASE=f"{LEASE:g}s",
        DELEGATOR_ASANA_REQUEST_DEADLINE=f"{DEADLINE:g}s",
    )
    if replica is not None:
        env["DELEGATOR_REPLICA_ID"] = replica
    for client in served:
        env[client.variable] = client.token(process)
    env.update({f"DELEGATOR_{name.upper()}": value for name, value in settings.items()})
    return env


class Process:
    """One ``delegator`` process (``run`` or ``once``), its output in a file."""

    def __init__(
        self, tmp_path: Path, name: str, env: dict[str, str], *args: str, number: int = 0
    ) -> None:
        self.name = name
        self.env = env
        self.number = number  # which tokens it uses (Client.token)
        self.output = tmp_path / f"{name}.log"
        self.started = time.monotonic()
        self.ended: float | None = None  # when the test saw it end (monotonic)
        self.killed_at: datetime | None = None  # when the test killed it (wall clock, UTC)
        self.paused_at: datetime | None = None  # when the test stopped it with SIGSTOP
        with self.output.open("w", encoding="utf-8") as sink:
            self.process = subprocess.Popen(  # noqa: S603 - our own command
                [sys.executable, "-m", "delegator", *args],
                cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def replica(self) -> str | None:
        return self.env.get("DELEGATOR_REPLICA_ID")

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8")

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self.text().splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:  # a line cut short by SIGKILL
                continue
            if name is None or event.get("event") == name:
                found.append(event)
        return found

    def running(self) -> bool:
        return self.process.poll() is None

    def signal(self, signum: int) -> None:
        if signum == signal.SIGSTOP:
            self.paused_at = datetime.now(UTC)
        self.process.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL, and reaped: its pid is gone when this returns."""
        self.ended = time.monotonic()
        self.killed_at = datetime.now(UTC)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def wait(self, seconds: float) -> int:
        try:
            code = self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} still running after {seconds}s:\n{self.tail()}"
            ) from None
        if self.ended is None:
            self.ended = time.monotonic()
        return code

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])


# ---------------------------------------------------------------------------------- the leases
@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # monotonic
    holders: dict[str, str | None]  # client -> the holder key of its live lease, or None
    pids: dict[str, int]  # holder key -> its process id (from the replicas table)


@dataclass
class LeaseWatch:
    """Samples the leases and replicas tables every ``every`` seconds from the test process."""

    database_url: str
    every: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> LeaseWatch:
        self._thread = threading.Thread(target=self._run, name="lease-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def dump(self, path: Path, since: float) -> None:
        """The samples as JSON lines (seconds from ``since``), for a post-mortem."""
        with path.open("w", encoding="utf-8") as sink:
            for sample in self.samples:
                line = {"t": round(sample.at - since, 2), "holders": sample.holders,
                        "pids": sample.pids}  # fmt: skip
                sink.write(json.dumps(line) + "\n")

    def _run(self) -> None:
        with SqlStore(self.database_url) as store:
            while not self._stop.is_set():
                at = time.monotonic()
                try:
                    leases = store.leases()
                    replicas = store.replicas()
                except Exception as exc:  # the schema is not there yet: the first start makes it
                    self.errors.append(str(exc))
                else:
                    holders = {x.client: (x.holder if x.live else None) for x in leases}
                    self.samples.append(Sample(at, holders, {r.key: r.pid for r in replicas}))
                self._stop.wait(self.every)


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch when a client's lease was held by no running process."""

    client: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def unserved(
    samples: Sequence[Sample],
    served: Iterable[str],
    alive: Callable[[int, float], bool],
    since: float,
    until: float,
) -> list[Gap]:
    """The stretches between ``since`` and ``until`` when a client's live lease was held by no
    running process (``alive(pid, at)``): free, expired, or still held by a killed process."""
    gaps: list[Gap] = []
    for client in served:
        start: float | None = None
        for sample in samples:
            if not since <= sample.at <= until:
                continue
            holder = sample.holders.get(client)
            pid = sample.pids.get(holder) if holder is not None else None
            ok = pid is not None and alive(pid, sample.at)
            if not ok and start is None:
                start = sample.at
            elif ok and start is not None:
                gaps.append(Gap(client, start, sample.at))
                start = None
        if start is not None:
            gaps.append(Gap(client, start, until))
    return gaps


# ---------------------------------------------------------------------------- the request log
def writes(sandbox: SandboxServer) -> list[LoggedRequest]:
    """Every write the sandbox carried out or refused, batch actions one by one (not the batch
    envelope)."""
    return [
        e
        for e in sandbox.requests.entries(include_batched=True)
        if e.method != "GET" and not (e.endpoint == "/batch" and not e.in_batch)
    ]


def task_of(entry: LoggedRequest) -> str | None:
    """The task a write is about (``/tasks/{gid}/...``), else None."""
    parts = entry.path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] == "tasks" and parts[1].isdigit():
        return parts[1]
    return None


def of_client(entries: Iterable[LoggedRequest], client: Client) -> list[LoggedRequest]:
    prefix = f"fleet-token-c{client.index}-"
    return [e for e in entries if e.token is not None and e.token.startswith(prefix)]


def repeated(entries: Iterable[LoggedRequest]) -> dict[tuple[str, str], list[LoggedRequest]]:
    """The successful writes made more than once to one task, by (task gid, kind of write)."""
    made: dict[tuple[str, str], list[LoggedRequest]] = {}
    for e in entries:
        if e.status < 300 and (gid := task_of(e)) is not None:
            made.setdefault((gid, e.key), []).append(e)
    return {key: sent for key, sent in made.items() if len(sent) > 1}


def duplicates(entries: Iterable[LoggedRequest]) -> dict[tuple[str, str], int]:
    """How many times each write made more than once to one task was made."""
    return {key: len(sent) for key, sent in repeated(entries).items()}


def process_of(entry: LoggedRequest) -> int | None:
    """The number of the process that sent a request (its token says)."""
    token = entry.token or ""
    if not token.startswith("fleet-token-c") or "-p" not in token:
        return None
    return int(token.rsplit("-p", 1)[1])


def dump(entries: Iterable[LoggedRequest], path: Path) -> None:
    """The requests as JSON lines, for a post-mortem."""
    with path.open("w", encoding="utf-8") as sink:
        for e in entries:
            sink.write(json.dumps({"at": e.at.isoformat(), "key": e.key, "path": e.path,
                                   "status": e.status, "process": process_of(e),
                                   "token": e.token, "body": e.body}, default=str) + "\n")  # fmt: skip
