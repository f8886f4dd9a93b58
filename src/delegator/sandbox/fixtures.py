"""Seed fixtures: a world written as YAML or JSON, with dates relative to the day it is loaded.

A fixture names things the way people do (users by email or name, projects, sections, tags and
custom fields by name) and writes dates as ``today+2`` or ``now-3h``, resolved against the world's
clock when loaded, so a demo world never rots. The format is described in docs/sandbox.md; a
mistake is reported with its place in the fixture (``workspaces[0].projects[1].tasks[3].assignee``).

Relative dates and instants:

- dates (``due_on``, ``start_on``): ``today``, ``today+2``, ``today-3``, or ``2026-12-01``;
- instants (``due_at``, ``created_at``, ``completed_at``, ``assigned_at``, a comment's ``at``):
  ``now``, ``now-3h``, ``now+30m``, ``now-2d``, ``today+1 17:00`` (UTC), or ISO 8601.

A past hand-off is a task with ``assigned_by`` (who gave it to its ``assignee``) and
``assigned_at`` (when; default its ``created_at``): the task gets the ``assigned`` story Asana
would have, by that person at that time.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml

from delegator.sandbox.clock import Clock, parse_instant, system_clock, truncate_ms
from delegator.sandbox.errors import ApiError
from delegator.sandbox.records import PLANS, Project, Section, Task, User, Workspace
from delegator.sandbox.world import World

T = TypeVar("T")

DEFAULT_AGE: Final = timedelta(days=7)  # a seeded task without created_at was created a week ago

_RELATIVE_DATE = re.compile(r"^today\s*(?:([+-])\s*(\d+)\s*d?)?$", re.IGNORECASE)
_RELATIVE_DAY_TIME = re.compile(
    r"^today\s*(?:([+-])\s*(\d+)\s*d?)?[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?Z?$", re.IGNORECASE
)
_RELATIVE_NOW = re.compile(r"^now\s*(?:([+-])\s*(\d+)\s*([smhdw]))?$", re.IGNORECASE)
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class FixtureError(ValueError):
    """A fixture that cannot be loaded: where (a path into the fixture) and what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


def resolve_date(value: Any, today: date) -> date | None:
    """``today+2`` / ``2026-12-01`` / a date -> date; None stays None; ValueError otherwise."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    text = str(value).strip()
    match = _RELATIVE_DATE.match(text)
    if match:
        return today + timedelta(days=_signed(match.group(1), match.group(2)))
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"expected a date such as 'today+2' or '2026-12-01', got {value!r}"
        ) from None


def resolve_instant(value: Any, today: date, now: datetime) -> datetime | None:
    """``now-3h`` / ``today+1 17:00`` / ISO 8601 -> aware UTC datetime; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return truncate_ms(value if value.tzinfo else value.replace(tzinfo=UTC))
    text = str(value).strip()
    match = _RELATIVE_NOW.match(text)
    if match:
        sign, amount, unit = match.groups()
        if not amount:
            return truncate_ms(now)
        delta = timedelta(**{_UNITS[unit.lower()]: _signed(sign, amount)})
        return truncate_ms(now + delta)
    match = _RELATIVE_DAY_TIME.match(text)
    if match:
        sign, amount, hour, minute, second = match.groups()
        day = today + timedelta(days=_signed(sign, amount))
        return datetime.combine(day, time(int(hour), int(minute), int(second or 0)), UTC)
    try:
        return truncate_ms(parse_instant(text))
    except ValueError:
        raise ValueError(
            f"expected an instant such as 'now-3h', 'today+1 17:00' or ISO 8601, got {value!r}"
        ) from None


def _signed(sign: str | None, amount: str | None) -> int:
    if not amount:
        return 0
    return -int(amount) if sign == "-" else int(amount)


def read_fixture(source: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    """The fixture as data: a mapping as is, or a YAML / JSON file (by its extension).

    A file's data is parsed once per version of the file and shared: treat it as read-only.
    """
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    try:
        version = path.stat().st_mtime_ns
    except OSError as exc:
        raise FixtureError(str(path), f"cannot read the fixture: {exc.strerror}") from exc
    return _parse_file(str(path), version)


@functools.lru_cache(maxsize=8)
def _parse_file(name: str, version: int) -> Mapping[str, Any]:
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FixtureError(name, f"cannot read the fixture: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise FixtureError(name, f"not valid {kind}: {exc}") from exc
    if not isinstance(data, Mapping):
        raise FixtureError(name, "a fixture is a mapping with a 'workspaces' list")
    return data


def load_world(
    source: str | Path | Mapping[str, Any],
    *,
    clock: Clock = system_clock,
    today: date | None = None,
) -> World:
    """A world seeded from a fixture. Relative dates count from ``today`` (default: the clock's)."""
    data = read_fixture(source)
    world = World(clock=clock)
    now = clock.now()
    _Loader(world, today or now.date(), now).load(data)
    world.events.clear()  # the seeded past is history: event streams start now
    return world


@dataclass
class _Loader:
    world: World
    today: date
    now: datetime

    def load(self, data: Mapping[str, Any]) -> None:
        workspaces = data.get("workspaces")
        if not isinstance(workspaces, list) or not workspaces:
            raise FixtureError("workspaces", "a fixture needs a non-empty 'workspaces' list")
        unknown = set(data) - {"workspaces", "description", "oauth_app"}
        if unknown:
            raise FixtureError("", f"unknown top-level keys: {', '.join(sorted(unknown))}")
        if "oauth_app" in data:
            self._oauth_app(_mapping(data["oauth_app"], "oauth_app"), "oauth_app")
        for index, spec in enumerate(workspaces):
            where = f"workspaces[{index}]"
            self._workspace(_mapping(spec, where), where)

    # ------------------------------------------------------------------ structure
    def _workspace(self, spec: Mapping[str, Any], where: str) -> None:
        _check_keys(spec, "workspace", where)
        world = self.world
        if spec.get("plan", "paid") not in PLANS:
            raise FixtureError(f"{where}.plan", f"one of {', '.join(PLANS)}, got {spec['plan']!r}")
        workspace = self._make(
            where,
            lambda: world.add_workspace(
                _text(spec, "name", where),
                gid=_gid(spec, where),
                email_domains=list(spec.get("email_domains", [])),
                is_organization=bool(spec.get("is_organization", False)),
                plan=spec.get("plan", "paid"),
            ),
        )
        for i, user in enumerate(_list(spec, "users", where)):
            self._user(workspace, _mapping(user, f"{where}.users[{i}]"), f"{where}.users[{i}]")
        for i, guest in enumerate(_list(spec, "guests", where)):
            guest_where = f"{where}.guests[{i}]"
            self._user(workspace, _mapping(guest, guest_where), guest_where, guest=True)
        for i, field in enumerate(_list(spec, "custom_fields", where)):
            self._custom_field(workspace, field, f"{where}.custom_fields[{i}]")
        for i, tag in enumerate(_list(spec, "tags", where)):
            tag_where = f"{where}.tags[{i}]"
            tag_spec = {"name": tag} if isinstance(tag, str) else _mapping(tag, tag_where)
            self._tag(workspace, tag_spec, tag_where)
        projects: list[tuple[Project, Mapping[str, Any], str]] = []
        for i, project in enumerate(_list(spec, "projects", where)):
            project_where = f"{where}.projects[{i}]"
            project_spec = _mapping(project, project_where)
            projects.append(
                (self._project(workspace, project_spec, project_where), project_spec, project_where)
            )
        # Tasks come after every project exists, so a task may also sit in a later project.
        for project, project_spec, project_where in projects:
            for i, task in enumerate(_list(project_spec, "tasks", project_where)):
                task_where = f"{project_where}.tasks[{i}]"
                self._task(workspace, _mapping(task, task_where), task_where, home=project)
        for i, task in enumerate(_list(spec, "tasks", where)):
            task_where = f"{where}.tasks[{i}]"
            self._task(workspace, _mapping(task, task_where), task_where, home=None)
        for i, update in enumerate(_list(spec, "status_updates", where)):
            self._status_update(
                workspace,
                _mapping(update, f"{where}.status_updates[{i}]"),
                f"{where}.status_updates[{i}]",
            )

    def _oauth_app(self, spec: Mapping[str, Any], where: str) -> None:
        """The app users authorise (its id, secret and access tokens' life in seconds)."""
        _check_keys(spec, "oauth_app", where)
        lifetime = spec.get("access_token_lifetime", 3600)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
            raise FixtureError(
                f"{where}.access_token_lifetime", f"a positive number of seconds, got {lifetime!r}"
            )
        client_id = str(spec.get("client_id", "")).strip()
        if not client_id:
            raise FixtureError(f"{where}.client_id", "required: the app's client id")
        self.world.set_oauth_app(
            client_id,
            _text(spec, "client_secret", where),
            lifetime=timedelta(seconds=lifetime),
        )

    def _tag(self, workspace: Workspace, spec: Mapping[str, Any], where: str) -> None:
        _check_keys(spec, "tag", where)
        self._make(
            where,
            lambda: self.world.create_tag(
                workspace,
                _text(spec, "name", where),
                gid=_gid(spec, where),
                color=spec.get("color"),
                notes=str(spec.get("notes", "")),
                created_at=self.now - DEFAULT_AGE * 4,
            ),
        )

    def _user(
        self, workspace: Workspace, spec: Mapping[str, Any], where: str, *, guest: bool = False
    ) -> None:
        _check_keys(spec, "user", where)
        tokens = list(spec.get("tokens", []))
        if "token" in spec:
            tokens.insert(0, spec["token"])
        if not all(isinstance(token, str) and token for token in tokens):
            raise FixtureError(f"{where}.token", "tokens are non-empty strings")
        refresh_tokens = list(spec.get("refresh_tokens", []))
        if "refresh_token" in spec:
            refresh_tokens.insert(0, spec["refresh_token"])
        if not all(isinstance(token, str) and token for token in refresh_tokens):
            raise FixtureError(f"{where}.refresh_token", "refresh tokens are non-empty strings")
        user = self._make(
            where,
            lambda: self.world.add_user(
                workspace,
                _text(spec, "name", where),
                _text(spec, "email", where),
                gid=_gid(spec, where),
                tokens=tokens,
                role=str(spec.get("role", "")),
                guest=guest or _flag(spec, "guest", where),
            ),
        )
        for token in refresh_tokens:
            self._make(where, partial(self.world.add_refresh_token, user, token))

    def _custom_field(self, workspace: Workspace, raw: Any, where: str) -> None:
        spec = _mapping(raw, where)
        _check_keys(spec, "custom_field", where)
        options: list[tuple[str, str | None, str]] = []
        for i, option in enumerate(_list(spec, "options", where)):
            if isinstance(option, str):
                options.append((option, None, "none"))
            else:
                option_spec = _mapping(option, f"{where}.options[{i}]")
                options.append(
                    (
                        _text(option_spec, "name", f"{where}.options[{i}]"),
                        _gid(option_spec, f"{where}.options[{i}]"),
                        str(option_spec.get("color", "none")),
                    )
                )
        self._make(
            where,
            lambda: self.world.add_custom_field(
                workspace,
                _text(spec, "name", where),
                spec.get("type", "text"),
                gid=_gid(spec, where),
                options=options,
                precision=int(spec.get("precision", 0)),
                description=str(spec.get("description", "")),
            ),
        )

    def _project(self, workspace: Workspace, spec: Mapping[str, Any], where: str) -> Project:
        _check_keys(spec, "project", where)
        sections: list[tuple[str, str | None]] = []
        for i, section in enumerate(_list(spec, "sections", where)):
            if isinstance(section, str):
                sections.append((section, None))
            else:
                section_spec = _mapping(section, f"{where}.sections[{i}]")
                sections.append(
                    (
                        _text(section_spec, "name", f"{where}.sections[{i}]"),
                        _gid(section_spec, f"{where}.sections[{i}]"),
                    )
                )
        owner = self._user_ref(workspace, spec.get("owner"), f"{where}.owner")
        project = self._make(
            where,
            lambda: self.world.add_project(
                workspace,
                _text(spec, "name", where),
                gid=_gid(spec, where),
                owner=owner,
                sections=sections,
                notes=str(spec.get("notes", "")),
                color=spec.get("color"),
                created_at=self.now - DEFAULT_AGE * 8,
                public=not _flag(spec, "private", where),
            ),
        )
        for i, name in enumerate(_list(spec, "custom_fields", where)):
            field_where = f"{where}.custom_fields[{i}]"
            definition = self._lookup(
                partial(self.world.custom_field, str(name), workspace), field_where
            )
            self.world.attach_custom_field(project, definition)
        for i, member in enumerate(_list(spec, "members", where)):
            user = self._user_ref(workspace, member, f"{where}.members[{i}]")
            if user is not None and user not in project.members:
                project.members.append(user)
        return project

    def _task(
        self,
        workspace: Workspace,
        spec: Mapping[str, Any],
        where: str,
        *,
        home: Project | None,
        parent: Task | None = None,
    ) -> Task:
        _check_keys(spec, "task", where)
        memberships: list[tuple[Project, Section | None]] = []
        if home is not None:
            memberships.append((home, self._section(home, spec.get("section"), f"{where}.section")))
        elif "section" in spec:
            raise FixtureError(
                f"{where}.section",
                "only a task listed under a project has a section; use 'projects'",
            )
        for i, extra in enumerate(_list(spec, "projects", where)):
            memberships.append(self._membership(workspace, extra, f"{where}.projects[{i}]"))
        created_at = self._instant(spec, "created_at", where) or self.now - DEFAULT_AGE
        completed_at = self._instant(spec, "completed_at", where)
        completed = bool(spec.get("completed", completed_at is not None))
        if completed and completed_at is None:
            completed_at = max(created_at, self.now - timedelta(days=1))
        comments = _list(spec, "comments", where)
        tags = [
            self._lookup(partial(self.world.tag, str(name), workspace), f"{where}.tags[{i}]")
            for i, name in enumerate(_list(spec, "tags", where))
        ]
        followers = [
            user
            for i, ref in enumerate(_list(spec, "followers", where))
            if (user := self._user_ref(workspace, ref, f"{where}.followers[{i}]")) is not None
        ]
        custom_fields = spec.get("custom_fields") or {}
        if not isinstance(custom_fields, Mapping):
            raise FixtureError(f"{where}.custom_fields", "a mapping of field name to value")
        assignee = self._user_ref(workspace, spec.get("assignee"), f"{where}.assignee")
        assigner = self._user_ref(workspace, spec.get("assigned_by"), f"{where}.assigned_by")
        assigned_at = self._instant(spec, "assigned_at", where) or created_at
        if (assigner is not None or "assigned_at" in spec) and assignee is None:
            raise FixtureError(f"{where}.assigned_by", "a hand-off needs the task's assignee")
        if "assigned_at" in spec and assigner is None:
            raise FixtureError(f"{where}.assigned_at", "assigned_at needs assigned_by")
        task = self._make(
            where,
            lambda: self.world.create_task(
                workspace,
                _text(spec, "name", where),
                gid=_gid(spec, where),
                by=self._user_ref(workspace, spec.get("created_by"), f"{where}.created_by"),
                notes=str(spec.get("notes", "")),
                resource_subtype=str(spec.get("resource_subtype", "default_task")),
                assignee=assignee if assigner is None else None,
                memberships=memberships,
                tags=tags,
                followers=followers,
                due_on=self._date(spec, "due_on", where),
                due_at=self._instant(spec, "due_at", where),
                start_on=self._date(spec, "start_on", where),
                completed=completed,
                completed_at=completed_at,
                custom_fields=self._custom_values(
                    workspace, custom_fields, f"{where}.custom_fields"
                ),
                parent=parent,
                created_at=created_at,
                modified_at=self._instant(spec, "modified_at", where),
                quiet=True,
            ),
        )
        if task.due_at is not None and task.due_on is None:
            task.due_on = task.due_at.date()
        if assigner is not None and assignee is not None:
            self.world.assign(task, assignee, by=assigner)
            task.stories[-1].created_at = assigned_at
        for i, comment in enumerate(comments):
            self._comment(
                workspace,
                task,
                _mapping(comment, f"{where}.comments[{i}]"),
                f"{where}.comments[{i}]",
            )
        latest = max(
            [
                task.created_at,
                task.completed_at or task.created_at,
                *(s.created_at for s in task.stories),
            ]
        )
        if "modified_at" not in spec:
            task.modified_at = latest
        for i, sub in enumerate(_list(spec, "subtasks", where)):
            sub_where = f"{where}.subtasks[{i}]"
            self._task(workspace, _mapping(sub, sub_where), sub_where, home=None, parent=task)
        return task

    def _custom_values(
        self, workspace: Workspace, values: Mapping[str, Any], where: str
    ) -> dict[str, Any]:
        """Values by field name; a date field's value may be relative (``today+5``)."""
        resolved: dict[str, Any] = {}
        for key, value in values.items():
            try:
                definition = self.world.custom_field(str(key), workspace)
            except KeyError:
                definition = None  # the world says which fields the task may have
            if definition is not None and definition.type == "date":
                value = self._date({str(key): value}, str(key), where)
            resolved[str(key)] = value
        return resolved

    def _comment(
        self, workspace: Workspace, task: Task, spec: Mapping[str, Any], where: str
    ) -> None:
        author = self._user_ref(workspace, spec.get("by"), f"{where}.by")
        if author is None:
            raise FixtureError(f"{where}.by", "a comment needs its author ('by')")
        story = self.world.comment(task, _text(spec, "text", where), by=author)
        story.created_at = self._instant(spec, "at", where) or task.created_at

    def _status_update(self, workspace: Workspace, spec: Mapping[str, Any], where: str) -> None:
        _check_keys(spec, "status_update", where)
        project = self._lookup(
            lambda: self.world.project(_text(spec, "project", where), workspace), f"{where}.project"
        )
        author = self._user_ref(workspace, spec.get("author"), f"{where}.author")
        if author is None:
            raise FixtureError(f"{where}.author", "a status update needs its author")
        update = self._make(
            where,
            lambda: self.world.post_status_update(
                project,
                by=author,
                text=_text(spec, "text", where),
                status_type=str(spec.get("status_type", "on_track")),
                title=str(spec.get("title", "")),
            ),
        )
        update.created_at = self._instant(spec, "created_at", where) or update.created_at

    # ------------------------------------------------------------------ references and values
    def _membership(
        self, workspace: Workspace, raw: Any, where: str
    ) -> tuple[Project, Section | None]:
        spec = {"project": raw} if isinstance(raw, str) else _mapping(raw, where)
        project = self._lookup(
            lambda: self.world.project(_text(spec, "project", where), workspace), f"{where}.project"
        )
        return project, self._section(project, spec.get("section"), f"{where}.section")

    def _section(self, project: Project, ref: Any, where: str) -> Section | None:
        if ref is None:
            return None
        section = project.section(str(ref))
        if section is None:
            names = ", ".join(s.name for s in project.sections) or "none"
            raise FixtureError(
                where, f"no section {ref!r} in project {project.name!r} (sections: {names})"
            )
        return section

    def _user_ref(self, workspace: Workspace, ref: Any, where: str) -> User | None:
        if ref is None:
            return None
        text = str(ref)
        for user in workspace.users:
            if text in (user.gid, user.name) or user.email.casefold() == text.casefold():
                return user
        people = ", ".join(u.email for u in workspace.users) or "none"
        raise FixtureError(
            where, f"no user {text!r} in workspace {workspace.name!r} (users: {people})"
        )

    def _date(self, spec: Mapping[str, Any], key: str, where: str) -> date | None:
        try:
            return resolve_date(spec.get(key), self.today)
        except ValueError as exc:
            raise FixtureError(f"{where}.{key}", str(exc)) from None

    def _instant(self, spec: Mapping[str, Any], key: str, where: str) -> datetime | None:
        try:
            return resolve_instant(spec.get(key), self.today, self.now)
        except ValueError as exc:
            raise FixtureError(f"{where}.{key}", str(exc)) from None

    @staticmethod
    def _lookup(find: Callable[[], T], where: str) -> T:
        """Look a name up in the world; its KeyError becomes a FixtureError at ``where``."""
        try:
            return find()
        except KeyError as exc:
            raise FixtureError(where, str(exc.args[0])) from None

    @staticmethod
    def _make(where: str, build: Callable[[], T]) -> T:
        """Build a record; the world's objection becomes a FixtureError at ``where``."""
        try:
            return build()
        except FixtureError:
            raise
        except ApiError as exc:
            raise FixtureError(where, "; ".join(exc.messages)) from None
        except ValueError as exc:
            raise FixtureError(where, str(exc)) from None


_KEYS: Final = {
    "workspace": {"name", "gid", "email_domains", "is_organization", "plan", "users", "guests", "custom_fields", "tags", "projects", "tasks", "status_updates"},
    "user": {"name", "email", "gid", "token", "tokens", "refresh_token", "refresh_tokens", "role", "guest"},
    "oauth_app": {"client_id", "client_secret", "access_token_lifetime"},
    "custom_field": {"name", "gid", "type", "options", "precision", "description"},
    "tag": {"name", "gid", "color", "notes"},
    "project": {"name", "gid", "owner", "members", "private", "notes", "color", "sections", "custom_fields", "tasks"},
    "task": {
        "name", "gid", "notes", "assignee", "created_by", "section", "projects", "due_on", "due_at",
        "start_on", "completed", "completed_at", "created_at", "modified_at", "tags", "followers",
        "custom_fields", "resource_subtype", "comments", "subtasks", "assigned_by", "assigned_at",
    },
    "comment": {"by", "text", "at"},
    "status_update": {"project", "author", "status_type", "title", "text", "created_at"},
}  # fmt: skip


def _check_keys(spec: Mapping[str, Any], kind: str, where: str) -> None:
    unknown = sorted(set(spec) - _KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_KEYS[kind]))
        raise FixtureError(
            f"{where}.{unknown[0]}", f"unknown key for a {kind} (allowed: {allowed})"
        )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FixtureError(where, f"expected a mapping, got {type(value).__name__}")
    return value


def _list(spec: Mapping[str, Any], key: str, where: str) -> Sequence[Any]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FixtureError(f"{where}.{key}", f"expected a list, got {type(value).__name__}")
    return value


def _flag(spec: Mapping[str, Any], key: str, where: str) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise FixtureError(f"{where}.{key}", f"true or false, got {value!r}")
    return value


def _text(spec: Mapping[str, Any], key: str, where: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FixtureError(f"{where}.{key}", "required: a non-empty string")
    return value


def _gid(spec: Mapping[str, Any], where: str) -> str | None:
    value = spec.get("gid")
    if value is None:
        return None
    text = str(value)
    if not text.isdigit():
        raise FixtureError(f"{where}.gid", f"a gid is a string of digits, got {value!r}")
    return text
