"""The data of each page, gathered from the rule files and the store, never from Asana: the same
gathering as `delegator status` (`delegator.overview`) and the summaries (`summaries.gather`, in
its store-only mode), so a page never says something the service's other views do not.

A page is built per request. What it costs is bounded: the overview reads each client's last
cycles and load; a client's page its delegations, journal and follow-up of one period; a task's
story its own journal rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from delegator.clients import ClientEntry
from delegator.core.summary import (
    ClientSummary,
    CoveyMatrix,
    DigestInputs,
    StatusThresholds,
    build_summary,
)
from delegator.cycles import Count
from delegator.health import failed_writes_threshold, min_free_bytes
from delegator.overview import HISTORY, Gathered, Judge, gather_status
from delegator.ports import (
    ActionRecord,
    CycleRecord,
    Delegation,
    FollowUp,
    Override,
    SendRecord,
)
from delegator.service import ClientError, ClientRuntime
from delegator.settings import Settings
from delegator.store import SqlStore
from delegator.summaries.gather import Gather
from delegator.summaries.periods import Period

QUADRANTS = (
    Count.QUADRANT_DO,
    Count.QUADRANT_SCHEDULE,
    Count.QUADRANT_DELEGATE,
    Count.QUADRANT_ELIMINATE,
)
JOURNAL_LIMIT = 500  # journal rows one page shows at most (the newest)
CYCLES_SHOWN = 50


def _no_runtime(entry: ClientEntry) -> ClientRuntime:
    raise ClientError(f"{entry.key}: the status page reads the store only")


@dataclass(frozen=True, slots=True)
class Site:
    """What the pages read: the settings, the store, the clients' rule files, the time."""

    settings: Settings
    store: SqlStore
    entries: Callable[[], list[ClientEntry]]
    clock: Callable[[], datetime]

    def client(self, key: str) -> ClientEntry | None:
        return next((e for e in self.entries() if e.key == key), None)

    def gather(self) -> Gather:
        return Gather(self.store, self.settings, _no_runtime, self.clock, reads_asana=False)


def overview(site: Site, only: ClientEntry | None = None) -> Gathered:
    """Every client's health (or ``only`` that one's), last and next cycle, queue, load, lease
    and webhooks."""
    settings = site.settings
    judge = Judge(
        settings.ready_polls,
        failed_writes_threshold(settings),
        min_free_bytes(settings),
        settings.webhooks_safety_poll,
        settings.webhooks_heartbeat_timeout,
    )
    entries = [only] if only is not None else site.entries()
    return gather_status(site.store, entries, site.clock(), judge)


@dataclass(frozen=True, slots=True)
class ClientCycles:
    """One client's recent cycles, newest first, with what they cost."""

    entry: ClientEntry
    cycles: tuple[CycleRecord, ...]
    requests_last_hour: int


def client_cycles(site: Site, entry: ClientEntry) -> ClientCycles:
    cycles = tuple(site.store.cycles(entry.key, limit=CYCLES_SHOWN))
    since = site.clock() - timedelta(hours=1)
    spent = sum(c.counts.to_mapping().get("requests", 0) for c in cycles if c.started_at >= since)
    return ClientCycles(entry, cycles, int(spent))


def this_week(site: Site, days: int = 7) -> Period:
    """The period a client's page covers: the last ``days`` up to now."""
    end = site.clock()
    return Period(end - timedelta(days=days), end)


def client_summary(site: Site, entry: ClientEntry, period: Period) -> ClientSummary:
    """The client's summary of the period, as the scheduled summary gathers it (store only); the
    Covey matrix from the last whole read's counts."""
    inputs = site.gather().summary_inputs(entry, period)
    thresholds = StatusThresholds(
        at_risk_overdue=site.settings.summary_at_risk_overdue,
        off_track_overdue=site.settings.summary_off_track_overdue,
    )
    summary = build_summary(inputs, thresholds)
    if summary.matrix is None:
        summary = replace(summary, matrix=last_matrix(site, entry))
    return summary


def last_matrix(site: Site, entry: ClientEntry) -> CoveyMatrix | None:
    """The open tasks per quadrant at the client's last whole read (None: none recorded)."""
    for cycle in site.store.cycles(entry.key, limit=HISTORY):
        counts = cycle.counts
        found = [counts[c] for c in QUADRANTS]
        if any(found):
            do, schedule, delegate, eliminate = found
            return CoveyMatrix(do, schedule, delegate, eliminate,
                               counts[Count.QUADRANT_HELD_BY_OWNER])  # fmt: skip
    return None


def weekly(site: Site, entry: ClientEntry, weeks: int = 8) -> list[tuple[str, int]]:
    """Delegations made per week (Monday to Sunday, in the client's zone), the last ``weeks``."""
    zone = zone_of(entry)
    today = site.clock().astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counts = dict.fromkeys(starts, 0)
    for d in site.store.delegations(entry.key, None):
        day = d.delegated_at.astimezone(zone).date()
        start = day - timedelta(days=day.weekday())
        if start in counts:
            counts[start] += 1
    return [(f"{start:%d %b}", counts[start]) for start in starts]


def sent(site: Site, entry: ClientEntry, limit: int = 20) -> list[SendRecord]:
    """The summaries already sent to the client, newest first."""
    records = site.store.sends(entry.key, kind="summary", statuses=("sent",))
    return sorted(records, key=lambda r: r.period, reverse=True)[:limit]


@dataclass(frozen=True, slots=True)
class TaskStory:
    """One task: what the service wrote, when and by which rule, its delegations, follow-up
    and overrides; the comment texts as posted."""

    gid: str
    name: str
    actions: tuple[ActionRecord, ...]
    delegations: tuple[Delegation, ...]
    followups: tuple[FollowUp, ...]
    overrides: tuple[Override, ...]

    @property
    def known(self) -> bool:
        return bool(self.actions or self.delegations)


def task_story(site: Site, entry: ClientEntry, gid: str) -> TaskStory:
    store, key = site.store, entry.key
    actions = tuple(store.actions(client=key, task_gid=gid))
    delegations = tuple(store.delegations(key, None, [gid]))
    followups = tuple(store.followups(key, task_gids=[gid]))
    overrides = tuple(o for o in store.overrides(key) if o.task_gid == gid)
    name = next(
        (a.task_name for a in reversed(actions) if a.task_name),
        delegations[-1].task_name if delegations else "",
    )
    return TaskStory(gid, name, actions, delegations, followups, overrides)


@dataclass(frozen=True, slots=True)
class AssistantView:
    """An assistant's open delegations, client by client, with their deadlines."""

    key: str
    name: str
    parts: tuple[tuple[ClientEntry, DigestInputs], ...]

    @property
    def open_count(self) -> int:
        return sum(len(d.tasks) for _, d in self.parts)


def assistant_view(site: Site, key: str, client: str | None = None) -> AssistantView | None:
    """The assistant's open tasks across the clients that name them (or one client); None when
    no client file names this assistant."""
    now = site.clock()
    parts: list[tuple[ClientEntry, DigestInputs]] = []
    gather = site.gather()
    for entry in site.entries():
        head = entry.loaded.head
        if head is None or key not in head.assistants:
            continue
        if client is not None and entry.key != client:
            continue
        parts.append((entry, gather.digest_inputs(entry, key, now - timedelta(days=7), now)))
    if not parts:
        return None
    return AssistantView(key, parts[0][1].name, tuple(parts))


@dataclass(frozen=True, slots=True)
class JournalFilter:
    client: str | None = None
    task: str | None = None
    rule: str | None = None
    since: datetime | None = None


def journal(site: Site, chosen: JournalFilter) -> tuple[list[ActionRecord], list[Override]]:
    """The journal and the overrides, filtered by client, task, rule and time; newest first."""
    store = site.store
    actions = store.actions(client=chosen.client, task_gid=chosen.task, since=chosen.since)
    if chosen.rule:
        actions = [a for a in actions if a.rule == chosen.rule]
    actions = [a for a in actions if a.kind != "rule"][-JOURNAL_LIMIT:]
    keys = [chosen.client] if chosen.client else [e.key for e in site.entries()]
    overrides: list[Override] = []
    for key in keys:
        overrides.extend(store.overrides(key, chosen.since))
    if chosen.task:
        overrides = [o for o in overrides if o.task_gid == chosen.task]
    if chosen.rule:
        overrides = [o for o in overrides if o.rule == chosen.rule]
    return list(reversed(actions)), sorted(overrides, key=lambda o: o.detected_at, reverse=True)


def zone_of(entry: ClientEntry | None) -> ZoneInfo:
    head = entry.loaded.head if entry is not None else None
    return ZoneInfo(head.client.timezone if head is not None else "UTC")


def local(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment for people, in a zone, labelled: 2026-12-05 10:30 Europe/Rome."""
    if moment is None:
        return "-"
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {zone.key}"
