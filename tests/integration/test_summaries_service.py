"""Summaries and digests end to end: the service's cycles against the sandbox, a real store, and
real destinations on loopback (the sandbox for Asana, an HTTP server for the webhook, an SMTP
server for email). Time is one manual clock shared by the sandbox, the Asana client and the
summaries, starting on Tuesday 1 December 2026 at 10:00 in Rome.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from delegator.bootstrap import Fleet
from delegator.clients import ClientEntry, load_clients
from delegator.cycles import Count
from delegator.sandbox import ManualClock, SandboxServer
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.summaries import LEASE, Period, SendOutcome, Summaries
from examplefiles import in_english

EXAMPLES = Path("examples")
ANNA = "anna@northwind.example"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday, 10:00 in Rome
FIRST_RUN = datetime(2026, 12, 1, 16, 1, tzinfo=UTC)  # 17:01 in Rome: the daily 17:00 is due
SUMMARY_BLOCK = """\
summary:
  schedule: "0 17 * * *"
  to:
    - asana_status: { project: Operations }
    - webhook: { env: CHAT_WEBHOOK }
    - email: [anna@northwind.example]
  time_field: Estimated time

digest:
  schedule: "0 9 * * *"
  to:
    - webhook: { env: CHAT_WEBHOOK }
"""


@dataclass
class Chat:
    """A Slack-compatible webhook receiver: records posts, answers with queued statuses."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    url: str = ""


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@pytest.fixture
def chat() -> Iterator[Chat]:
    chat = Chat()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            chat.posts.append(json.loads(body))
            status = chat.statuses.pop(0) if chat.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    chat.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/secret-part"
    yield chat
    server.shutdown()
    server.server_close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    # In English: the summaries' and digests' words are asserted as an English client reads them.
    text = in_english((EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8"))
    start, end = text.index("summary:"), text.index("rules:")
    (folder / "small-agency.yaml").write_text(text[:start] + SUMMARY_BLOCK + "\n" + text[end:])
    return folder


@dataclass
class World:
    sandbox: SandboxServer
    store: SqlStore
    clock: ManualClock
    rules_dir: Path
    chat: Chat
    mailbox: Mailbox
    settings: Settings
    environ: dict[str, str]

    def fleet(self) -> Fleet:
        """A fresh fleet: a new process after a restart, over the same store."""
        return Fleet(self.settings, self.store, environ=self.environ, clock=self.clock)

    def entry(self) -> ClientEntry:
        return next(e for e in load_clients(self.rules_dir) if e.key == "small-agency")

    def status_updates(self) -> list[Any]:
        """The status updates posted since the test began (the world has older ones)."""
        updates = self.sandbox.world.project("Operations").status_updates
        return [u for u in updates if u.created_at >= START]

    def at(self, moment: datetime) -> None:
        self.clock.advance(seconds=(moment - self.clock()).total_seconds())


@pytest.fixture
def world(
    sandbox: SandboxServer,
    store: SqlStore,
    clock: ManualClock,
    rules_dir: Path,
    chat: Chat,
    mailbox: tuple[Mailbox, int],
) -> World:
    box, port = mailbox
    settings = Settings(
        rules_dir=rules_dir, asana_base_url=sandbox.base_url, smtp_host="127.0.0.1",
        smtp_port=port, smtp_starttls=False, smtp_from="delegator@northwind.example",
        summary_backoff=timedelta(minutes=1), summary_attempts=3,
    )  # fmt: skip
    environ = {"ASANA_TOKEN_NORTHWIND": sandbox.token(ANNA), "CHAT_WEBHOOK": chat.url}
    return World(sandbox, store, clock, rules_dir, chat, box, settings, environ)


def summaries_only(outcomes: list[SendOutcome]) -> list[SendOutcome]:
    return [o for o in outcomes if o.kind == "summary"]


def delegate(world: World, fleet: Fleet) -> None:
    """A cycle that delegates the backlog, then Giulia finishes one of her tasks."""
    report = fleet.cycle(world.entry())
    assert report.counts[Count.ACTIONS_DONE] > 0, report.errors


def test_a_summary_says_what_happened_from_the_store_and_asana(world: World) -> None:
    fleet = world.fleet()
    delegate(world, fleet)
    giulia = world.sandbox.world.user("giulia@va-agency.example")
    done = next(d for d in world.store.delegations("small-agency") if d.assistant == "giulia")
    world.clock.advance(hours=2)
    world.sandbox.world.complete(world.sandbox.world.task(done.task_gid), by=giulia)
    anna = world.sandbox.world.user(ANNA)
    taken = next(d for d in world.store.delegations("small-agency") if d.task_gid != done.task_gid)
    world.sandbox.world.assign(world.sandbox.world.task(taken.task_gid), anna, by=anna)
    world.clock.advance(minutes=5)
    fleet.cycle(world.entry(), full=True)  # notices the completion and the take-back

    summaries = fleet.summaries()
    world.clock.advance(minutes=1)
    period = Period(START - timedelta(days=1), world.clock())
    summary = summaries.summary(world.entry(), period)

    delegated = world.store.delegations("small-agency", status=None)
    assert len(summary.delegated) == len(delegated)
    assert sum(c.count for c in summary.by_assistant) == len(delegated)
    assert [t.gid for t in summary.done] == [done.task_gid]
    assert summary.time_given_back.tasks == 1
    assert summary.time_given_back.from_field == 1  # the demo world's "Estimated time"
    assert summary.time_given_back.minutes == done.minutes
    assert done.minutes
    assert [t.gid for t in summary.taken_back] == [taken.task_gid]
    assert "Anna" in summary.taken_back[0].reason
    assert {t.gid for t in summary.still_open} == {
        d.task_gid for d in world.store.delegations("small-agency", status="open")
    }
    assert summary.matrix is not None
    assert summary.matrix.delegate + summary.matrix.eliminate > 0
    assert summary.matrix.held_by_owner > 0
    assert all(t.url.startswith("https://app.asana.com/") for t in summary.still_open)
    assert summary.status_type in ("on_track", "at_risk", "off_track")
    rendered = summaries.render_summary(world.entry(), period)
    assert done.task_name in rendered.markdown
    assert rendered.html.startswith("<body>")


def test_exactly_one_summary_per_period_and_destination_across_restarts(world: World) -> None:
    fleet = world.fleet()
    delegate(world, fleet)

    # The service starts at 10:00: yesterday's 17:00 run is recorded, not sent late.
    assert fleet.summaries().tick([world.entry()]) == []
    assert world.status_updates() == []
    assert world.chat.posts == []
    assert world.mailbox.messages == []

    world.at(FIRST_RUN)
    sent = summaries_only(fleet.summaries().tick([world.entry()]))
    assert sorted(o.destination.split(":")[0] for o in sent) == ["asana_status", "email", "webhook"]
    assert {o.status for o in sent} == {"sent"}
    assert len(world.status_updates()) == 1
    update = world.status_updates()[0]
    assert update.status_type in ("on_track", "at_risk", "off_track")
    assert "Northwind Studio" in update.title
    assert len(world.mailbox.messages) == 1
    message = world.mailbox.messages[0]
    assert message["To"] == ANNA
    assert "Northwind Studio" in message["Subject"]
    summary_posts = [p for p in world.chat.posts if "Northwind Studio" in p["text"]]
    assert len(summary_posts) == 1

    # The same minute again, then a restart (a new fleet over the same store): nothing more.
    world.clock.advance(minutes=1)
    assert summaries_only(fleet.summaries().tick([world.entry()])) == []

    restarted = world.fleet()
    assert summaries_only(restarted.summaries().tick([world.entry()])) == []

    # Down from Tuesday evening to Thursday evening: Wednesday's and Thursday's runs were
    # missed; the latest is sent once, not twice and not zero times.
    world.at(FIRST_RUN + timedelta(days=2, hours=1))
    late = summaries_only(restarted.summaries().tick([world.entry()]))
    assert sorted(o.destination.split(":")[0] for o in late) == ["asana_status", "email", "webhook"]
    assert len(world.status_updates()) == 2
    assert len(world.mailbox.messages) == 2
    assert summaries_only(restarted.summaries().tick([world.entry()])) == []
    sends = world.store.sends("small-agency", kind="summary", statuses=("sent",))
    periods = {(s.destination, s.period) for s in sends}
    assert len(periods) == len(sends) == 6


def test_a_failing_destination_is_retried_with_backoff_and_blocks_nothing(world: World) -> None:
    fleet = world.fleet()
    delegate(world, fleet)
    summaries = fleet.summaries()
    summaries.tick([world.entry()])  # the baseline
    world.at(FIRST_RUN)
    world.chat.statuses = [500]
    outcomes = {
        o.destination.split(":")[0]: o for o in summaries_only(summaries.tick([world.entry()]))
    }
    assert outcomes["webhook"].status == "failed"
    assert "500" in outcomes["webhook"].detail
    assert world.chat.url not in outcomes["webhook"].detail
    assert outcomes["asana_status"].status == "sent"
    assert outcomes["email"].status == "sent"

    # Not again before the backoff is over; then once, successfully.
    assert summaries_only(summaries.tick([world.entry()])) == []
    world.clock.advance(minutes=1, seconds=1)
    retried = summaries_only(summaries.tick([world.entry()]))
    assert [(o.destination.split(":")[0], o.status) for o in retried] == [("webhook", "sent")]
    assert len([p for p in world.chat.posts if "Northwind Studio" in p["text"]]) == 2
    assert len(world.status_updates()) == 1  # the others were not sent again
    record = world.store.last_send("small-agency", "summary", "", "webhook:env:CHAT_WEBHOOK")
    assert record is not None
    assert record.status == "sent"
    assert record.attempts == 2


def test_a_destination_that_keeps_failing_is_given_up_and_reported(world: World) -> None:
    fleet = world.fleet()
    delegate(world, fleet)
    summaries = fleet.summaries()
    summaries.tick([world.entry()])
    world.at(FIRST_RUN)
    world.chat.statuses = [503, 503, 503]
    first = summaries_only(summaries.tick([world.entry()]))
    assert [o.status for o in first if o.destination.startswith("webhook")] == ["failed"]
    world.clock.advance(minutes=1, seconds=1)
    summaries.tick([world.entry()])
    world.clock.advance(minutes=2, seconds=1)
    last = summaries_only(summaries.tick([world.entry()]))
    assert [o.status for o in last] == ["gave_up"]  # 3 attempts, the setting
    world.clock.advance(hours=1)
    assert summaries_only(summaries.tick([world.entry()])) == []
    # The next summary tells the client what did not arrive.
    summary = summaries.summary(world.entry(), Period(START, world.clock()))
    assert any(p.what == "delivery" and "webhook" in p.text for p in summary.problems)
    assert not any(world.chat.url in p.text for p in summary.problems)


def test_a_webhook_that_refuses_the_message_is_not_retried(world: World) -> None:
    fleet = world.fleet()
    summaries = fleet.summaries()
    summaries.tick([world.entry()])
    world.at(FIRST_RUN)
    world.chat.statuses = [404]
    outcomes = summaries_only(summaries.tick([world.entry()]))
    assert [o.status for o in outcomes if o.destination.startswith("webhook")] == ["gave_up"]


def test_a_send_cut_short_after_posting_is_not_posted_twice(world: World) -> None:
    """A crash between Asana's answer and the store's record: the next tick finds the status
    update already posted and records it, instead of posting it again."""
    fleet = world.fleet()
    delegate(world, fleet)
    summaries = fleet.summaries()
    summaries.tick([world.entry()])
    world.at(FIRST_RUN)
    real_finish = world.store.finish_send

    def crash(send_id: int, status: Any, at: datetime, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    world.store.finish_send = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        summaries.tick_client(world.entry())
    world.store.finish_send = real_finish  # type: ignore[method-assign]
    assert len(world.status_updates()) == 1

    # Before the restart an assistant finishes a task: the summary's title (its numbers) moves.
    overdue = [d for d in world.store.delegations("small-agency") if d.due_on is not None]
    done = min(overdue, key=lambda d: d.due_on or START.date())  # the overdue one
    giulia = world.sandbox.world.user("giulia@va-agency.example")
    world.sandbox.world.complete(world.sandbox.world.task(done.task_gid), by=giulia)
    before = world.status_updates()[0].title
    restarted = world.fleet().summaries()
    # The destinations the crash kept from their turn go now; the status update's lease holds.
    assert [o.destination for o in summaries_only(restarted.tick([world.entry()]))] == [
        "webhook:env:CHAT_WEBHOOK", "email:anna@northwind.example",
    ]  # fmt: skip
    world.clock.advance(minutes=11)
    pending = world.store.last_send("small-agency", "summary", "", "asana_status:Operations")
    assert pending is not None
    assert pending.status == "pending"
    period = Period(pending.period_start, pending.period)
    assert restarted.render_summary(world.entry(), period).title != before
    assert summaries_only(restarted.tick([world.entry()])) == []
    assert len(world.status_updates()) == 1
    record = world.store.last_send("small-agency", "summary", "", "asana_status:Operations")
    assert record is not None
    assert record.status == "sent"
    assert record.receipt == world.status_updates()[0].gid


def test_digests_go_to_each_assistant_at_their_own_morning(world: World) -> None:
    fleet = world.fleet()
    delegate(world, fleet)
    summaries = fleet.summaries()
    summaries.tick([world.entry()])  # baselines
    world.at(datetime(2026, 12, 2, 8, 1, tzinfo=UTC))  # 09:01 in Rome, 08:01 in Lisbon
    digests = [o for o in summaries.tick([world.entry()]) if o.kind == "digest"]
    by_assistant = {o.recipient: o for o in digests}
    assert by_assistant["giulia"].status == "sent"
    assert "marco" not in by_assistant  # Marco works from Lisbon: his 09:00 is an hour later
    posts = [p["text"] for p in world.chat.posts if "your tasks" in p["text"]]
    giulia_posts = [t for t in posts if "Giulia" in t]
    assert len(giulia_posts) == 1
    giulia_tasks = [d for d in world.store.delegations("small-agency") if d.assistant == "giulia"]
    assert giulia_tasks
    assert giulia_tasks[0].task_name.split()[0] in giulia_posts[0]
    world.at(datetime(2026, 12, 2, 9, 1, tzinfo=UTC))
    later = [o for o in summaries.tick([world.entry()]) if o.kind == "digest"]
    assert [o.recipient for o in later] == ["marco"]


def test_an_assistant_with_nothing_new_or_due_gets_no_digest(world: World) -> None:
    fleet = world.fleet()
    summaries = fleet.summaries()  # no cycle: nothing was delegated
    summaries.tick([world.entry()])
    world.at(datetime(2026, 12, 2, 9, 1, tzinfo=UTC))
    digests = [o for o in summaries.tick([world.entry()]) if o.kind == "digest"]
    assert {o.recipient for o in digests} == {"giulia", "marco"}
    assert all("not sent" in o.detail for o in digests)
    assert not [p for p in world.chat.posts if "your tasks" in p["text"]]


def test_one_broken_client_does_not_stop_the_others(world: World, tmp_path: Path) -> None:
    broken = world.rules_dir / "broken.yaml"
    text = (world.rules_dir / "small-agency.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("ASANA_TOKEN_NORTHWIND", "ASANA_TOKEN_MISSING"))
    fleet = world.fleet()
    summaries = fleet.summaries()
    entries = load_clients(world.rules_dir)
    summaries.tick(entries)
    world.at(FIRST_RUN)
    outcomes = summaries_only(summaries.tick(entries))
    ours = [o for o in outcomes if o.client == "small-agency"]
    theirs = [o for o in outcomes if o.client == "broken"]
    assert {o.status for o in ours} == {"sent"}
    assert theirs
    assert all(o.status in ("failed", "gave_up", "sent") for o in theirs)
    asana = [o for o in theirs if o.destination.startswith("asana_status")]
    assert asana
    assert asana[0].status == "failed"
    assert "ASANA_TOKEN_MISSING" in asana[0].detail
    assert re.search(r"not set", asana[0].detail)
    # Its summary, for whoever reads it, names the token problem and still counts the store.
    broken_entry = next(e for e in entries if e.key == "broken")
    summary = summaries.summary(broken_entry, Period(START, world.clock()))
    tokens = [p.text for p in summary.problems if p.what == "token"]
    assert tokens
    assert "ASANA_TOKEN_MISSING" in tokens[0]
    assert summary.matrix is None  # its sources could not be read
    assert summary.status_type == "off_track"


def test_send_now_records_the_send_so_a_missed_run_is_not_repeated(world: World) -> None:
    fleet = world.fleet()
    delegate(world, fleet)
    summaries: Summaries = fleet.summaries()
    summaries.tick([world.entry()])
    world.at(FIRST_RUN + timedelta(hours=1))
    period = summaries.preview_period(world.entry(), timedelta(days=7))
    sent = summaries.send_now(world.entry(), period, kinds=("asana_status",))
    assert [o.status for o in sent] == ["sent"]
    assert len(world.status_updates()) == 1
    assert [o.destination for o in summaries_only(summaries.tick([world.entry()]))] == [
        "webhook:env:CHAT_WEBHOOK", "email:anna@northwind.example",
    ]  # fmt: skip
    assert len(world.status_updates()) == 1


def test_waiting_tasks_and_shadow_rules_are_in_the_summary(world: World) -> None:
    """Assistants with room for one task each: the rest wait in the queue; a week later the
    shadow rule would nudge the tasks in Waiting, counted by rule; the status update is at risk."""
    path = world.rules_dir / "small-agency.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("capacity: 25", "capacity: 1").replace("capacity: 10", "capacity: 1")
    )
    fleet = world.fleet()
    report = fleet.cycle(world.entry())
    assert report.counts[Count.QUEUED] > 0, report.counts
    world.clock.advance(days=7)  # the tasks in Waiting now wait for over 5 business days
    fleet.cycle(world.entry(), full=True)
    summaries = fleet.summaries()
    world.clock.advance(minutes=1)
    summary = summaries.summary(world.entry(), Period(START, world.clock()))
    assert len(summary.queued) == report.counts[Count.QUEUED]
    assert all(t.why == "queued" for t in summary.queued)
    assert len(summary.delegated) == len(world.store.delegations("small-agency"))
    assert summary.queued[0].gid not in {d.gid for d in summary.delegated}
    journal = world.store.actions(client="small-agency")
    would = {a.task_gid for a in journal if a.mode == "shadow"}
    assert would, "the example's shadow rule matched nothing"
    shadow = {s.rule: {t.gid for t in s.tasks} for s in summary.shadow}
    assert shadow == {"Nudge tasks waiting for a week": would}
    assert summary.status_type == "at_risk"
    rendered = summaries.render_summary(world.entry(), Period(START, world.clock()))
    assert "Nudge tasks waiting for a week" in rendered.markdown


def test_an_assistant_working_for_two_clients_gets_one_digest_email(world: World) -> None:
    """Two client files (one per project of the workspace) both email Giulia her digest at
    09:00 in Rome: she gets one email listing both clients' tasks; each client's period is
    recorded as sent."""
    text = (EXAMPLES / "small-agency.yaml").read_text(encoding="utf-8")
    start, end = text.index("summary:"), text.index("rules:")
    digest = 'digest:\n  schedule: "0 9 * * *"\n  to:\n    - email: assistant\n\n'
    watch = "watch:\n  - my_tasks\n  - project: { name: Operations }\n  - project: { name: Client Admin }\n"
    for key, name, project in (
        ("studio", "Northwind Studio", "Operations"),
        ("admin", "Northwind Admin", "Client Admin"),
    ):
        body = text[:start] + digest + text[end:]
        body = body.replace(watch, f"watch:\n  - project: {{ name: {project} }}\n")
        body = body.replace("name: Northwind Studio", f"name: {name}", 1)
        (world.rules_dir / f"{key}.yaml").write_text(body)
    (world.rules_dir / "small-agency.yaml").unlink()
    fleet = world.fleet()
    entries = load_clients(world.rules_dir)
    for entry in entries:
        assert entry.errors == (), entry.errors
        fleet.cycle(entry)
    by_client = {
        e.key: {d.task_name for d in world.store.delegations(e.key) if d.assistant == "giulia"}
        for e in entries
    }
    assert by_client["studio"]
    assert by_client["admin"]
    summaries = fleet.summaries()
    summaries.tick(entries)  # baselines
    world.at(datetime(2026, 12, 2, 8, 1, tzinfo=UTC))  # 09:01 in Rome
    outcomes = [o for o in summaries.tick(entries) if o.recipient == "giulia"]
    assert sorted(o.client for o in outcomes) == ["admin", "studio"]
    assert all(o.status == "sent" and "one digest for 2 clients" in o.detail for o in outcomes)
    to_giulia = [m for m in world.mailbox.messages if m["To"] == "giulia@va-agency.example"]
    assert len(to_giulia) == 1
    body = to_giulia[0].get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    for name in by_client["studio"] | by_client["admin"]:
        assert name in content
    assert "Northwind Admin" in content
    assert "Northwind Studio" in content
    for key in ("studio", "admin"):
        record = world.store.last_send(key, "digest", "giulia", "email:assistant:giulia")
        assert record is not None
        assert record.status == "sent"
    assert [o for o in summaries.tick(entries) if o.recipient == "giulia"] == []


@pytest.mark.parametrize("named_by", ["name", "gid"])
def test_a_period_an_earlier_version_sent_is_not_sent_again(world: World, named_by: str) -> None:
    """Rows written before an upgrade name each destination by the key it has always had (the
    project as the rule file writes it, by name or by gid): today's run, already sent to the
    status update by the earlier version, goes only to the other destinations."""
    project = "Operations"
    if named_by == "gid":
        project = world.sandbox.world.project("Operations").gid
        path = world.rules_dir / "small-agency.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("{ project: Operations }", f'{{ project: "{project}" }}'))
    fleet = world.fleet()
    fleet.summaries().tick([world.entry()])  # the baselines: yesterday's 17:00
    fire = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # today's 17:00 in Rome
    earlier = world.store.claim_send(
        client="small-agency", kind="summary", recipient="", destination=f"asana_status:{project}",
        period=fire, period_start=fire - timedelta(days=1), at=fire, next_attempt_at=fire + LEASE,
    )  # fmt: skip
    assert earlier is not None
    world.store.finish_send(earlier, "sent", fire, receipt="1209999999999")

    world.at(FIRST_RUN)
    restarted = world.fleet().summaries()  # the new version, over the same store
    sent = summaries_only(restarted.tick([world.entry()]))
    assert [o.destination for o in sent] == [
        "webhook:env:CHAT_WEBHOOK", "email:anna@northwind.example",
    ]  # fmt: skip
    assert world.status_updates() == []
    record = world.store.last_send("small-agency", "summary", "", f"asana_status:{project}")
    assert record is not None
    assert (record.id, record.receipt) == (earlier, "1209999999999")
    assert summaries_only(restarted.tick([world.entry()])) == []
