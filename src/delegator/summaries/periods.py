"""When summaries and digests fall due: a client file's schedules and the period a run covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from delegator.clients import ClientEntry
from delegator.core.cron import Cron

Kind = Literal["summary", "digest"]
DEFAULT_PERIOD = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Period:
    """What a summary covers: [start, end), and the scheduled run it belongs to, if any."""

    start: datetime
    end: datetime
    fire: datetime | None = None


@dataclass
class Job:
    """A schedule of a client file: its summary, or one assistant's digest."""

    kind: Kind
    recipient: str  # "" for the client summary, the assistant key for a digest
    cron: Cron
    tz: ZoneInfo
    settings: Any  # the summary: or digest: block


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def within(moment: datetime | None, period: Period) -> bool:
    return moment is not None and period.start <= moment < period.end


def jobs(entry: ClientEntry) -> list[Job]:
    """The client's summary, and each assistant's digest in the assistant's time zone."""
    head = entry.loaded.head
    if head is None or entry.engine is None:
        return []
    found: list[Job] = []
    client_tz = ZoneInfo(head.client.timezone)
    if head.summary is not None:
        found.append(Job("summary", "", head.summary.cron, client_tz, head.summary))
    if head.digest is not None:
        cron = head.digest.cron
        for key, assistant in head.assistants.items():
            tz = ZoneInfo(assistant.timezone) if assistant.timezone else client_tz
            found.append(Job("digest", key, cron, tz, head.digest))
    return found


def period_for(job: Job, fire: datetime) -> Period:
    """The period a scheduled run covers: the block's ``period``, else since the previous run."""
    length = getattr(job.settings, "period", None)
    if length is not None:
        return Period(utc(fire - length.timedelta()), utc(fire), utc(fire))
    previous = job.cron.latest_at_or_before(fire - timedelta(minutes=1), job.tz)
    start = previous if previous is not None else fire - DEFAULT_PERIOD
    return Period(utc(start), utc(fire), utc(fire))


def preview_period(entry: ClientEntry, now: datetime, length: timedelta | None) -> Period:
    """For ``delegator summary``: the given length up to now, else the schedule's period."""
    if length is not None:
        return Period(utc(now - length), utc(now))
    for job in jobs(entry):
        if job.kind == "summary":
            period = period_for(job, now)
            return Period(period.start, utc(now))
    return Period(utc(now - DEFAULT_PERIOD), utc(now))
