"""What a worker watches and where it got to: plain values it can persist between cycles.

A `Source` is a set of tasks (a project, a section, a user's My Tasks in a workspace, a tag).
A `SyncPosition` is how far the worker has read one source: the high-water mark to pass as
`modified_since` next time, and when it last read the whole source. Both are frozen
dataclasses of strings and aware datetimes; `Source.key` / `Source.from_key` give a one-string form for a database column.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from delegator.asana.http import Record


class SourceKind(enum.StrEnum):
    PROJECT = "project"
    SECTION = "section"
    USER_TASKS = "user_tasks"  # a user's tasks in one workspace ("My Tasks")
    TAG = "tag"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    gid: str  # the project, section, tag or user
    workspace_gid: str | None = None  # required for USER_TASKS

    def __post_init__(self) -> None:
        if not self.gid:
            raise ValueError("a source needs a gid")
        if self.kind is SourceKind.USER_TASKS and not self.workspace_gid:
            raise ValueError("a user's tasks are read per workspace: workspace_gid is required")

    @classmethod
    def project(cls, gid: str) -> Source:
        return cls(SourceKind.PROJECT, gid)

    @classmethod
    def section(cls, gid: str) -> Source:
        return cls(SourceKind.SECTION, gid)

    @classmethod
    def user_tasks(cls, user_gid: str, workspace_gid: str) -> Source:
        return cls(SourceKind.USER_TASKS, user_gid, workspace_gid)

    @classmethod
    def tag(cls, gid: str, workspace_gid: str | None = None) -> Source:
        """A tag; its workspace (else the client's) is where it is searched."""
        return cls(SourceKind.TAG, gid, workspace_gid)

    @property
    def key(self) -> str:
        """``project:123``, ``user_tasks:42@7`` ...: a stable one-string form."""
        suffix = f"@{self.workspace_gid}" if self.workspace_gid else ""
        return f"{self.kind.value}:{self.gid}{suffix}"

    @classmethod
    def from_key(cls, key: str) -> Source:
        kind, _, rest = key.partition(":")
        gid, _, workspace = rest.partition("@")
        return cls(SourceKind(kind), gid, workspace or None)


@dataclass(frozen=True)
class SyncPosition:
    source: Source
    high_water: datetime | None = None  # next `modified_since`; None: never read
    last_full_read: datetime | None = None  # when the last whole-source read started
    # Tag sources: whether Asana's search API works in the workspace. None: not tried yet;
    # False: it answered 402 (a free workspace), so the tag is read whole at reconcile only.
    search: bool | None = None


@dataclass(frozen=True)
class SourceRead:
    """The tasks one read returned and the position to store for the next one."""

    tasks: list[Record]
    position: SyncPosition
    full: bool  # True: `tasks` is the whole (open) source; a task not in it has left the source
    requests: int  # HTTP requests the read made (pages)
