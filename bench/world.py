"""The benchmarks' shared world: synthetic workspaces served by the sandbox in a process of its own.

``serve`` runs in that process: ``clients`` workspaces (plus ``spare`` ones no rule file
watches), each with its own people and tokens, every request delayed by ``latency`` seconds. It
sends ``(base_url, spaces)`` (workspace index -> (workspace gid, the owner's token)) once ready,
then answers commands sent on the pipe as ``(command, argument)``:

- ``mark``: requests counted from zero; answers the sandbox's CPU seconds so far;
- ``count``: ``(requests since the mark, CPU seconds so far)``;
- ``writes``: the write requests since the mark (not GET, not inside a batch), by
  ``"METHOD /endpoint"``;
- ``touch``: change ``argument`` tasks as a person would;
- ``latency``: every token's requests delayed by ``argument`` seconds from now on;
- ``spare``: workspace ``argument``'s task gids and its first assistant's gid, its owner's token
  freed of latency and rate limits (for timing bare calls);
- ``stop``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

LATENCY = 0.05  # seconds added to every request

RULES = """\
version: 1
client:
  name: Bench client {c}
  workspace: "{workspace}"
  token: {{ env: BENCH_TOKEN_{c} }}
  timezone: Europe/Rome
  owner: owner@c{c}.synthetic.example
watch:
{watch}
poll: 1m
assistants:
  a1: {{ user: assistant1@c{c}.synthetic.example, capacity: 500, skills: [admin, booking] }}
  a2: {{ user: assistant2@c{c}.synthetic.example, capacity: 500, skills: [admin] }}
rules:
  - name: Money paperwork
    when:
      all:
        - project: Project 001
        - quadrant: [delegate, eliminate]
        - assignee: [owner, none]
        - name: {{ matches: "\\\\b(invoices?|receipts?|expenses?)\\\\b" }}
    then:
      - assign: {{ pool: [a1, a2], skill: admin }}
      - tag: delegated
      - comment: "Hi {{{{ assignee.first_name }}}}: {{{{ task.name }}}}"
  - name: Bookings
    when:
      all:
        - project: [Project 001, Project 002]
        - assignee: owner
        - name: {{ matches: "\\\\b(book|flights?|hotel)\\\\b" }}
    then: [ {{ assign: a1 }}, {{ tag: delegated }} ]
  - name: Inbox chores
    when: {{ all: [ {{ quadrant: eliminate }}, {{ section: Inbox }}, {{ assignee: owner }} ] }}
    then: [ {{ tag: inbox-chore }} ]
    mode: shadow
"""


def fixture(clients: int, projects: int, tasks: int) -> dict[str, Any]:
    """``clients`` workspaces of ``projects`` x ``tasks`` tasks, each with its own people."""
    from delegator.sandbox import synthetic_fixture

    workspaces = []
    for c in range(clients):
        text = json.dumps(synthetic_fixture(projects, tasks, seed=c))
        text = text.replace("synthetic.example", f"c{c}.synthetic.example")
        text = text.replace("synthetic-token-", f"c{c}-synthetic-token-")
        workspace = json.loads(text)["workspaces"][0]
        workspace["name"] = f"Synthetic Co {c}"
        workspaces.append(workspace)
    return {"workspaces": workspaces}


def serve(
    clients: int, projects: int, tasks: int, latency: float, pipe: Connection, spare: int = 0
) -> None:
    """The sandbox: a world of ``clients`` (+ ``spare``) workspaces, answering commands."""
    from delegator.sandbox import ALL_TOKENS, SandboxServer, server, touch_tasks

    # The sandbox's server is threaded (a thread per connection), but its listening socket's
    # backlog is socketserver's default of 5: a fleet opening dozens of connections at once
    # would see SYNs dropped and retried a second later. A backlog as deep as the fleet's.
    server._HttpServer.request_queue_size = 1024
    total = clients + spare
    with SandboxServer.from_fixture(fixture(total, projects, tasks)) as sandbox:
        sandbox.faults.latency(ALL_TOKENS, latency)
        world = sandbox.world
        spaces = {
            c: (
                world.workspace(f"Synthetic Co {c}").gid,
                sandbox.token(f"owner@c{c}.synthetic.example"),
            )
            for c in range(total)
        }
        pipe.send((sandbox.base_url, spaces))
        while True:
            command, argument = pipe.recv()
            if command == "stop":
                break
            if command == "mark":  # a cycle starts: requests counted from zero
                sandbox.requests.reset()
                pipe.send(time.process_time())
            elif command == "count":
                pipe.send((len(sandbox.requests.entries()), time.process_time()))
            elif command == "writes":
                entries = sandbox.requests.entries()
                pipe.send(Counter(e.key for e in entries if e.method != "GET" and not e.in_batch))
            elif command == "touch":
                touch_tasks(world, argument, seed=7)
                pipe.send(True)
            elif command == "latency":
                sandbox.faults.latency(ALL_TOKENS, argument)
                pipe.send(True)
            elif command == "spare":
                gid, token = spaces[argument]
                sandbox.faults.latency(token, 0.0)
                sandbox.faults.no_limits(token)
                owned = [t.gid for t in world.all_tasks() if t.workspace.gid == gid]
                assistant = world.user(f"assistant1@c{argument}.synthetic.example").gid
                pipe.send((owned, assistant))
