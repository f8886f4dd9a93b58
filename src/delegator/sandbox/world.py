"""The sandbox's world: workspaces, people, projects and tasks, changed the way Asana changes them.

Every change goes through a method here, whether it arrives over HTTP or from a test acting as a
person ("Anna reassigns the task to Luca"), so both leave the same traces: ``modified_at`` moves,
a story is written on the task, followers are added, and an event lands on the task's and its
projects' event streams. A change to a value already in place changes nothing.

The world is shared by the server's threads: every public method takes ``World.lock`` (an RLock),
and a caller that reads several records consistently can hold it too.
"""

from __future__ import annotations

import enum
import itertools
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal, TypeVar

from delegator.sandbox.clock import Clock, system_clock
from delegator.sandbox.errors import (
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PaymentRequiredError,
)
from delegator.sandbox.events import EventLog
from delegator.sandbox.faults import FREE_PER_MINUTE, PAID_PER_MINUTE
from delegator.sandbox.pagination import DEFAULT_OFFSET_LIFETIME, OffsetExpiry
from delegator.sandbox.records import (
    CUSTOM_FIELD_TYPES,
    PLANS,
    PROJECT_STATUS_TYPES,
    CustomField,
    CustomFieldSetting,
    CustomFieldType,
    CustomFieldValue,
    CustomValue,
    EnumOption,
    Like,
    Membership,
    Node,
    Project,
    Resource,
    Section,
    StatusUpdate,
    Story,
    Tag,
    Task,
    User,
    UserTaskList,
    Workspace,
)
from delegator.sandbox.values import coerce_custom_value

R = TypeVar("R", bound=Node)

FIRST_GENERATED_GID: Final = 1_900_000_000_000_001
_GID = re.compile(r"^\d{1,30}$")


class _Unchanged(enum.Enum):
    UNCHANGED = 0


UNCHANGED: Final = _Unchanged.UNCHANGED
"""The default of :meth:`World.update_task` arguments: leave this field as it is."""

Keep = Literal[_Unchanged.UNCHANGED]


def is_gid(text: str) -> bool:
    return bool(_GID.match(text))


#: How long an OAuth access token lasts (Asana's ``expires_in``).
ACCESS_TOKEN_LIFETIME: Final = timedelta(hours=1)


class OAuthRefusal(Exception):  # noqa: N818 - the token endpoint's refusal, as OAuth names it
    """The token endpoint refuses an exchange: an OAuth error code and its description."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass
class _Grant:
    """A user's authorisation of the app: its refresh token, revocable."""

    user: User
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class _Access:
    """An access token issued for a refresh token, until it expires."""

    refresh_token: str
    expires_at: datetime


class World:
    """An in-memory Asana: the records, their indexes, and every change they can undergo."""

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        offset_lifetime: timedelta | None = DEFAULT_OFFSET_LIFETIME,
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.events = EventLog(clock)
        self.offsets = OffsetExpiry(clock, offset_lifetime)
        self._deleted: set[str] = set()
        self.workspaces: list[Workspace] = []
        self._objects: dict[str, Resource] = {}
        self._tokens: dict[str, User] = {}
        # OAuth: the app (client id, secret), its users' refresh tokens, access tokens issued
        self.oauth_app: tuple[str, str] | None = None
        self.access_token_lifetime = ACCESS_TOKEN_LIFETIME
        self._grants: dict[str, _Grant] = {}
        self._access: dict[str, _Access] = {}
        self._task_lists: dict[tuple[str, str], UserTaskList] = {}
        self._gids = itertools.count(FIRST_GENERATED_GID)

    # ------------------------------------------------------------------ identity and look-ups
    def new_gid(self) -> str:
        with self.lock:
            while True:
                gid = str(next(self._gids))
                if gid not in self._objects and gid not in self._deleted:
                    return gid

    def _register_gid(self, gid: str | None) -> str:
        if gid is None:
            return self.new_gid()
        if not is_gid(gid):
            raise ValueError(f"a gid is a string of digits, got {gid!r}")
        if gid in self._objects:
            raise ValueError(f"gid {gid} is already used by {self._objects[gid]!r:.80}")
        if gid in self._deleted:
            raise ValueError(f"gid {gid} belonged to a deleted task")
        return gid

    def _index(self, record: Resource) -> None:
        self._objects[record.gid] = record

    def get(self, gid: str, kind: type[R], *, param: str | None = None) -> R:
        """The record with this gid, or Asana's 400 (not a gid) / 404 (no such object)."""
        name = param or kind.resource_type
        if not is_gid(gid):
            raise InvalidRequestError(f"{name}: Not a valid GID: {gid}")
        with self.lock:
            record = self._objects.get(gid)
        if not isinstance(record, kind):
            raise NotFoundError(f"{name}: Unknown object: {gid}")
        return record

    def find(self, gid: str) -> Resource | None:
        with self.lock:
            return self._objects.get(gid)

    def user_for_token(self, token: str) -> User | None:
        """The token's user: a personal token's, or an OAuth access token's while it lasts
        (expired on the world's clock, or its authorisation revoked: None, a 401)."""
        with self.lock:
            user = self._tokens.get(token)
            if user is not None:
                return user
            access = self._access.get(token)
            if access is None or self.clock.now() >= access.expires_at:
                return None
            grant = self._grants[access.refresh_token]
            return None if grant.revoked else grant.user

    # ------------------------------------------------------------------ OAuth
    def set_oauth_app(
        self, client_id: str, client_secret: str, *, lifetime: timedelta = ACCESS_TOKEN_LIFETIME
    ) -> None:
        """The app users authorise: its client id and secret, and its access tokens' life."""
        if not client_id or not client_secret:
            raise ValueError("an OAuth app needs a client id and a client secret")
        if lifetime <= timedelta(0):
            raise ValueError("an access token's lifetime is positive")
        with self.lock:
            self.oauth_app = (client_id, client_secret)
            self.access_token_lifetime = lifetime

    def add_refresh_token(self, user: User, token: str) -> None:
        """The user authorised the app: ``token`` is the refresh token it was given."""
        with self.lock:
            grant = self._grants.get(token)
            if grant is not None and grant.user is not user:
                raise ValueError(f"refresh token {token!r} already belongs to {grant.user.email}")
            if token in self._tokens:
                raise ValueError(f"{token!r} is already a personal access token")
            self._grants[token] = _Grant(user)

    def revoke_refresh_token(self, token: str) -> None:
        """The user revoked the app: the refresh token and every access token it gave stop."""
        with self.lock:
            self._grants[token].revoked = True

    def exchange_refresh_token(
        self, client_id: str, client_secret: str, refresh_token: str
    ) -> tuple[str, int, User]:
        """A new access token for a refresh token: (token, seconds it lasts, its user).
        Raises `OAuthRefusal` as Asana's endpoint answers: ``invalid_client`` for an unknown
        app or a wrong secret, ``invalid_grant`` for an unknown or revoked refresh token."""
        with self.lock:
            app = self.oauth_app
            if app is None or (client_id, client_secret) != app:
                raise OAuthRefusal("invalid_client", "The client credentials are invalid", 401)
            grant = self._grants.get(refresh_token)
            if grant is None or grant.revoked:
                raise OAuthRefusal(
                    "invalid_grant", "The refresh token is invalid, expired or revoked"
                )
            token = f"sandbox-oauth-{secrets.token_hex(12)}"
            lifetime = self.access_token_lifetime
            self._access[token] = _Access(refresh_token, self.clock.now() + lifetime)
            return token, int(lifetime.total_seconds()), grant.user

    @property
    def tokens(self) -> dict[str, User]:
        """Every token the world knows, with its user."""
        with self.lock:
            return dict(self._tokens)

    def users(self) -> list[User]:
        with self.lock:
            seen: dict[str, User] = {}
            for workspace in self.workspaces:
                for user in workspace.users:
                    seen.setdefault(user.gid, user)
            return list(seen.values())

    def all_tasks(self) -> list[Task]:
        with self.lock:
            return [r for r in self._objects.values() if isinstance(r, Task)]

    def user(self, ref: str) -> User:
        """A user by gid, email or name (for tests and the demo)."""
        with self.lock:
            for user in self.users():
                if ref in (user.gid, user.name) or user.email.casefold() == ref.casefold():
                    return user
        raise KeyError(f"no user {ref!r}")

    def workspace(self, ref: str) -> Workspace:
        with self.lock:
            for workspace in self.workspaces:
                if ref in (workspace.gid, workspace.name):
                    return workspace
        raise KeyError(f"no workspace {ref!r}")

    def project(self, ref: str, workspace: Workspace | None = None) -> Project:
        with self.lock:
            for candidate in self._scope(workspace):
                for project in candidate.projects:
                    if ref in (project.gid, project.name):
                        return project
        raise KeyError(f"no project {ref!r}")

    def section(self, project: Project | str, ref: str) -> Section:
        owner = project if isinstance(project, Project) else self.project(project)
        section = owner.section(ref)
        if section is None:
            raise KeyError(f"no section {ref!r} in project {owner.name!r}")
        return section

    def tag(self, ref: str, workspace: Workspace | None = None) -> Tag:
        with self.lock:
            for candidate in self._scope(workspace):
                for tag in candidate.tags:
                    if ref in (tag.gid, tag.name):
                        return tag
        raise KeyError(f"no tag {ref!r}")

    def custom_field(self, ref: str, workspace: Workspace | None = None) -> CustomField:
        with self.lock:
            for candidate in self._scope(workspace):
                for definition in candidate.custom_fields:
                    if ref == definition.gid or ref.casefold() == definition.name.casefold():
                        return definition
        raise KeyError(f"no custom field {ref!r}")

    def task(self, ref: str) -> Task:
        """A task by gid or exact name (for tests and the demo)."""
        with self.lock:
            record = self._objects.get(ref)
            if isinstance(record, Task):
                return record
            for task in self.all_tasks():
                if task.name == ref:
                    return task
        raise KeyError(f"no task {ref!r}")

    def _scope(self, workspace: Workspace | None) -> list[Workspace]:
        return [workspace] if workspace is not None else self.workspaces

    def user_task_list(self, user: User, workspace: Workspace) -> UserTaskList:
        """The user's "My Tasks" in that workspace (made on first use, then stable)."""
        with self.lock:
            key = (user.gid, workspace.gid)
            found = self._task_lists.get(key)
            if found is None:
                found = UserTaskList(self.new_gid(), user, workspace)
                self._task_lists[key] = found
                self._index(found)
            return found

    def tasks_assigned(self, user: User, workspace: Workspace) -> list[Task]:
        with self.lock:
            return [
                task
                for task in self.all_tasks()
                if task.assignee is user and task.workspace is workspace
            ]

    def tasks_tagged(self, tag: Tag) -> list[Task]:
        with self.lock:
            return [task for task in self.all_tasks() if tag in task.tags]

    # ------------------------------------------------------------------ permissions
    def workspace_of(self, record: Node) -> Workspace | None:
        match record:
            case Workspace():
                return record
            case Project() | Tag() | CustomField() | Task() | UserTaskList():
                return record.workspace
            case Section():
                return record.project.workspace
            case Story():
                return record.task.workspace
            case StatusUpdate():
                return record.parent.workspace
            case CustomFieldSetting():
                return record.project.workspace
            case _:
                return None

    def check_access(self, user: User, record: Node) -> None:
        """ForbiddenError unless ``user`` belongs to the workspace of ``record`` (or shares one)
        and may see it there (a private project, a guest's limits: see :meth:`can_see`)."""
        if isinstance(record, User):
            if record is user or set(map(id, record.workspaces)) & set(map(id, user.workspaces)):
                return
            raise ForbiddenError(f"user: You do not have access to this user: {record.gid}")
        workspace = self.workspace_of(record)
        if (workspace is not None and workspace not in user.workspaces) or not self.can_see(
            user, record
        ):
            raise ForbiddenError(
                f"{record.resource_type}: You do not have access to this object: "
                f"{record.value('gid')}"
            )

    @staticmethod
    def is_guest(user: User, workspace: Workspace) -> bool:
        return any(guest is user for guest in workspace.guests)

    def can_see_project(self, user: User, project: Project) -> bool:
        """Members see a workspace's public projects; a private one, or any for a guest, only
        when they are its member (or owner)."""
        if project.public and not project.workspace.guests:
            return True
        if project.owner is user or any(member is user for member in project.members):
            return True
        return project.public and not self.is_guest(user, project.workspace)

    def can_see_task(self, user: User, task: Task) -> bool:
        """A task is seen by its assignee, followers and creator, and by whoever sees one of its
        projects (or its parent); a task in no project by the workspace's members, not guests."""
        if task.assignee is user or task.created_by is user or user in task.followers:
            return True
        if task.memberships:
            if any(self.can_see_project(user, m.project) for m in task.memberships):
                return True
        elif task.parent is None:
            return not self.is_guest(user, task.workspace)
        return task.parent is not None and self.can_see_task(user, task.parent)

    def can_see(self, user: User, record: Node) -> bool:
        match record:
            case Project():
                return self.can_see_project(user, record)
            case Section():
                return self.can_see_project(user, record.project)
            case CustomFieldSetting():
                return self.can_see_project(user, record.project)
            case StatusUpdate():
                return self.can_see_project(user, record.parent)
            case Task():
                return self.can_see_task(user, record)
            case Story():
                return self.can_see_task(user, record.task)
            case _:
                return True

    def visible_tasks(self, user: User, tasks: Iterable[Task]) -> list[Task]:
        """Those of ``tasks`` the user may see (listings leave the others out, as Asana does)."""
        return [task for task in tasks if self.can_see_task(user, task)]

    # ------------------------------------------------------------------ plans
    def requests_per_minute(self, token: str) -> int | None:
        """The token's quota: 1,500 when its user belongs to a paid workspace, else 150."""
        with self.lock:
            user = self.user_for_token(token)
            if user is None:
                return None
            paid = any(workspace.plan == "paid" for workspace in user.workspaces)
            return PAID_PER_MINUTE if paid else FREE_PER_MINUTE

    @staticmethod
    def require_premium(workspace: Workspace, feature: str) -> None:
        """402 Payment Required when ``workspace`` is on the free plan."""
        if workspace.plan != "paid":
            raise PaymentRequiredError(
                f"{feature} is a premium feature, not available for free workspaces: "
                f"workspace {workspace.gid} is on the free plan"
            )

    def expire_offsets(self) -> None:
        """Every pagination offset issued so far answers 400 from now on."""
        with self.lock:
            self.offsets.expire_all()

    def resolve_user(self, ref: str, workspace: Workspace, *, me: User | None, param: str) -> User:
        """A user named as Asana allows: gid, email or "me"; 400 when not in ``workspace``."""
        user: User | None
        if ref == "me":
            user = me
        elif "@" in ref:
            user = next(
                (u for u in workspace.users if u.email.casefold() == ref.casefold()),
                None,
            )
        elif is_gid(ref):
            found = self._objects.get(ref)
            user = found if isinstance(found, User) else None
        else:
            raise InvalidRequestError(f"{param}: Not a valid GID or email: {ref}")
        if user is None:
            raise InvalidRequestError(f"{param}: Unknown user: {ref}")
        if workspace not in user.workspaces:
            raise InvalidRequestError(
                f"{param}: User {ref} is not a member of workspace {workspace.gid}"
            )
        return user

    # ------------------------------------------------------------------ building a world
    def add_workspace(self, name: str, *, gid: str | None = None, **kwargs: Any) -> Workspace:
        """A workspace; ``plan`` is "paid" (the default) or "free", ``is_organization`` a flag."""
        if kwargs.get("plan", "paid") not in PLANS:
            raise ValueError(f"plan is one of {', '.join(PLANS)}, got {kwargs['plan']!r}")
        with self.lock:
            workspace = Workspace(self._register_gid(gid), name, **kwargs)
            self.workspaces.append(workspace)
            self._index(workspace)
            return workspace

    def add_user(
        self,
        workspace: Workspace,
        name: str,
        email: str,
        *,
        gid: str | None = None,
        tokens: Iterable[str] = (),
        role: str = "",
        guest: bool = False,
    ) -> User:
        """A member of ``workspace``; the same gid or email in a second workspace is the same person.

        A ``guest`` (organizations only) sees only the projects they are a member of and the
        tasks they are assigned, follow or created, or that sit in those projects.
        """
        if guest and not workspace.is_organization:
            raise ValueError(
                f"only an organization has guests: set is_organization on {workspace.name!r}"
            )
        with self.lock:
            existing = next(
                (
                    u
                    for u in self.users()
                    if u.email.casefold() == email.casefold() or (gid and u.gid == gid)
                ),
                None,
            )
            user = existing or User(self._register_gid(gid), name, email, role=role)
            if existing is None:
                self._index(user)
            for token in tokens:
                owner = self._tokens.get(token)
                if owner is not None and owner is not user:
                    raise ValueError(f"token {token!r} already belongs to {owner.email}")
                self._tokens[token] = user
                if token not in user.tokens:
                    user.tokens.append(token)
            if workspace not in user.workspaces:
                user.workspaces.append(workspace)
                workspace.users.append(user)
            if guest and not self.is_guest(user, workspace):
                workspace.guests.append(user)
            return user

    def add_project(
        self,
        workspace: Workspace,
        name: str,
        *,
        gid: str | None = None,
        owner: User | None = None,
        sections: Iterable[str | tuple[str, str | None]] = (),
        notes: str = "",
        color: str | None = None,
        created_at: datetime | None = None,
        public: bool = True,
    ) -> Project:
        """A project; ``sections`` are names, or (name, gid) pairs; ``public=False``: private."""
        with self.lock:
            now = created_at or self.clock.now()
            project = Project(
                self._register_gid(gid),
                name,
                workspace,
                created_at=now,
                modified_at=now,
                owner=owner,
                notes=notes,
                color=color,
                public=public,
            )
            if owner is not None:
                project.members.append(owner)
            workspace.projects.append(project)
            self._index(project)
            for section in sections:
                section_name, section_gid = (
                    section if isinstance(section, tuple) else (section, None)
                )
                self.add_section(project, section_name, gid=section_gid)
            return project

    def add_section(self, project: Project, name: str, *, gid: str | None = None) -> Section:
        with self.lock:
            section = Section(self._register_gid(gid), name, project, created_at=self.clock.now())
            project.sections.append(section)
            self._index(section)
            return section

    def add_custom_field(
        self,
        workspace: Workspace,
        name: str,
        type: CustomFieldType,
        *,
        gid: str | None = None,
        options: Iterable[str | tuple[str, str | None, str]] = (),
        precision: int = 0,
        description: str = "",
    ) -> CustomField:
        """A custom field definition; enum ``options`` are names or (name, gid, color)."""
        if type not in CUSTOM_FIELD_TYPES:
            raise ValueError(
                f"custom field type {type!r} is not one of {', '.join(CUSTOM_FIELD_TYPES)}"
            )
        with self.lock:
            definition = CustomField(
                self._register_gid(gid),
                name,
                type,
                workspace,
                precision=precision,
                description=description,
            )
            self._index(definition)
            for option in options:
                option_name, option_gid, color = (
                    option if isinstance(option, tuple) else (option, None, "none")
                )
                record = EnumOption(self._register_gid(option_gid), option_name, color)
                definition.enum_options.append(record)
                self._index(record)
            workspace.custom_fields.append(definition)
            return definition

    def attach_custom_field(
        self, project: Project, definition: CustomField, *, is_important: bool = True
    ) -> CustomFieldSetting:
        with self.lock:
            setting = CustomFieldSetting(self.new_gid(), project, definition, is_important)
            project.custom_field_settings.append(setting)
            self._index(setting)
            return setting

    # ------------------------------------------------------------------ tags
    def create_tag(
        self,
        workspace: Workspace,
        name: str,
        *,
        by: User | None = None,
        gid: str | None = None,
        color: str | None = None,
        notes: str = "",
        created_at: datetime | None = None,
    ) -> Tag:
        """A new tag (Asana allows two tags with the same name; so does the sandbox)."""
        with self.lock:
            tag = Tag(
                self._register_gid(gid),
                name,
                workspace,
                created_at=created_at or self.clock.now(),
                color=color,
                notes=notes,
                followers=[by] if by is not None else [],
            )
            workspace.tags.append(tag)
            self._index(tag)
            return tag

    # ------------------------------------------------------------------ tasks
    def create_task(
        self,
        workspace: Workspace,
        name: str,
        *,
        by: User | None = None,
        gid: str | None = None,
        notes: str = "",
        resource_subtype: str = "default_task",
        assignee: User | None = None,
        memberships: Sequence[tuple[Project, Section | None]] = (),
        tags: Iterable[Tag] = (),
        followers: Iterable[User] = (),
        due_on: date | None = None,
        due_at: datetime | None = None,
        start_on: date | None = None,
        completed: bool = False,
        completed_at: datetime | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        custom_field_names: bool = True,
        parent: Task | None = None,
        created_at: datetime | None = None,
        modified_at: datetime | None = None,
        quiet: bool = False,
    ) -> Task:
        """A new task. ``quiet`` (used when seeding) writes no story and no event.

        ``custom_fields`` are as in :meth:`update_task`, among the fields of its projects.
        """
        with self.lock:
            if assignee is not None and workspace not in assignee.workspaces:
                raise InvalidRequestError(
                    f"assignee: User {assignee.gid} is not a member of this workspace"
                )
            values = (
                self._coerce_custom_fields(
                    [project for project, _ in memberships], custom_fields, names=custom_field_names
                )
                if custom_fields
                else {}
            )
            now = self.clock.now()
            created = created_at or now
            task = Task(
                self._register_gid(gid),
                name,
                workspace,
                created_at=created,
                modified_at=modified_at or created,
                notes=notes,
                resource_subtype=resource_subtype,
                assignee=assignee,
                created_by=by,
                due_on=due_on,
                due_at=due_at,
                start_on=start_on,
                completed=completed,
                completed_at=(completed_at or now) if completed else None,
                completed_by=by if completed else None,
                tags=list(dict.fromkeys(tags)),
                followers=list(dict.fromkeys(followers)),
                parent=parent,
            )
            for user in (by, assignee):
                if user is not None and user not in task.followers:
                    task.followers.append(user)
            self._index(task)
            if parent is not None:
                parent.subtasks.append(task)
            for project, section in memberships:
                # A new task goes to the end of its project's first section, as in Asana's UI.
                self._place(task, project, section or _first_section(project), position="end")
            for definition, value in values.items():
                if value is not None:
                    task.custom_values[definition.gid] = value
            if not quiet:
                for project in task.projects:
                    self._event(task, by, "added", parent=project)
                if parent is not None:
                    self._event(task, by, "added", parent=parent)
                if not task.projects and parent is None:
                    self._event(task, by, "added", parent=workspace)
                if assignee is not None:
                    self._story(
                        task, by, "assigned", f"assigned to {assignee.name}", assignee=assignee
                    )
            return task

    def update_task(
        self,
        task: Task,
        *,
        by: User | None = None,
        name: str | Keep = UNCHANGED,
        notes: str | Keep = UNCHANGED,
        assignee: User | Keep | None = UNCHANGED,
        due_on: date | Keep | None = UNCHANGED,
        due_at: datetime | Keep | None = UNCHANGED,
        start_on: date | Keep | None = UNCHANGED,
        completed: bool | Keep = UNCHANGED,
        resource_subtype: str | Keep = UNCHANGED,
        custom_fields: Mapping[str, Any] | None = None,
        custom_field_names: bool = True,
    ) -> Task:
        """Change fields of a task as ``by`` would; fields left UNCHANGED are not touched.

        ``custom_fields`` maps a field (gid, or name when ``custom_field_names``) to a value:
        an option gid or name for enum, a list of them for multi_enum, a number, a text, a
        ``YYYY-MM-DD`` date; None clears it. Invalid values raise InvalidRequestError (Asana's 400).
        """
        with self.lock:
            values = (
                self._coerce_custom_fields(task.projects, custom_fields, names=custom_field_names)
                if custom_fields
                else {}
            )
            if (
                assignee is not UNCHANGED
                and assignee is not None
                and task.workspace not in assignee.workspaces
            ):
                raise InvalidRequestError(
                    f"assignee: User {assignee.gid} is not a member of this workspace"
                )
            if name is not UNCHANGED and name != task.name:
                task.name = name
                self._changed(
                    task, by, "name", name, "name_changed", f'changed the name to "{name}"'
                )
            if notes is not UNCHANGED and notes != task.notes:
                task.notes = notes
                self._changed(task, by, "notes", notes, "notes_changed", "changed the description")
            if assignee is not UNCHANGED and assignee is not task.assignee:
                self._assign(task, assignee, by)
            if due_on is not UNCHANGED and (due_on != task.due_on or task.due_at is not None):
                task.due_on, task.due_at = due_on, None
                self._due_changed(task, by)
            if due_at is not UNCHANGED and due_at != task.due_at:
                task.due_at = due_at
                task.due_on = due_at.date() if due_at is not None else None
                self._due_changed(task, by)
            if start_on is not UNCHANGED and start_on != task.start_on:
                task.start_on = start_on
                self._changed(
                    task, by, "start_on", start_on, "start_date_changed", "changed the start date"
                )
            if resource_subtype is not UNCHANGED and resource_subtype != task.resource_subtype:
                task.resource_subtype = resource_subtype
                self._changed(task, by, "resource_subtype", resource_subtype, None, "")
            if completed is not UNCHANGED and completed != task.completed:
                self._complete(task, completed, by)
            for definition, value in values.items():
                self._set_custom_value(task, definition, value, by)
            return task

    def assign(self, task: Task, assignee: User | None, *, by: User | None = None) -> Task:
        """Give the task to ``assignee`` (None: unassign), as ``by`` would in Asana's UI."""
        return self.update_task(task, by=by, assignee=assignee)

    def complete(self, task: Task, *, by: User | None = None, completed: bool = True) -> Task:
        return self.update_task(task, by=by, completed=completed)

    def comment(
        self,
        task: Task,
        text: str,
        *,
        by: User,
        html_text: str | None = None,
        is_pinned: bool = False,
    ) -> Story:
        """A comment story authored by ``by``; its author becomes a follower."""
        with self.lock:
            story = self._story(
                task,
                by,
                "comment_added",
                text,
                kind="comment",
                html_text=html_text,
                is_pinned=is_pinned,
            )
            if by not in task.followers:
                task.followers.append(by)
            return story

    def like(self, task: Task, *, by: User, liked: bool = True) -> bool:
        """``by`` likes the task (``liked``: True) or takes their like back, as ``PUT
        /tasks/{gid}`` with ``{"liked": ...}`` does for its caller; False when nothing changed.
        A like makes no story (Asana's stories have no subtype for it) and leaves modified_at
        alone (not among the changes the spec says move it)."""
        with self.lock:
            mine = next((like for like in task.likes if like.user is by), None)
            if liked and mine is None:
                task.likes.append(Like(self.new_gid(), by))
                return True
            if not liked and mine is not None:
                task.likes.remove(mine)
                return True
            return False

    def delete_story(self, story: Story, *, by: User) -> None:
        """Delete a comment, as ``DELETE /stories/{gid}`` does: only a comment story, and only
        by its author (ForbiddenError otherwise); from then on its gid answers 404 and the
        task's stories leave it out."""
        with self.lock:
            if story.type != "comment":
                raise ForbiddenError("story: Only comment stories can be deleted")
            if story.created_by is not by:
                raise ForbiddenError("story: A user can only delete stories they have created")
            task = story.task
            task.stories.remove(story)
            del self._objects[story.gid]
            self.events.record(
                user=by, resource=story, action="deleted", parent=task, streams=self._streams(task)
            )

    def add_tag(self, task: Task, tag: Tag, *, by: User | None = None) -> bool:
        """Tag the task; False when it already had the tag (nothing changes)."""
        with self.lock:
            if tag.workspace is not task.workspace:
                raise InvalidRequestError(f"tag: Tag {tag.gid} is not in the task's workspace")
            if tag in task.tags:
                return False
            task.tags.append(tag)
            self._touch(task)
            self._event(task, by, "changed", change=_change("tags", "added", added_value=tag))
            self._story(task, by, "added_to_tag", f"added to {tag.name}", tag=tag)
            return True

    def remove_tag(self, task: Task, tag: Tag, *, by: User | None = None) -> bool:
        with self.lock:
            if tag not in task.tags:
                return False
            task.tags.remove(tag)
            self._touch(task)
            self._event(task, by, "changed", change=_change("tags", "removed", removed_value=tag))
            self._story(task, by, "removed_from_tag", f"removed from {tag.name}", tag=tag)
            return True

    def add_followers(self, task: Task, users: Iterable[User], *, by: User | None = None) -> int:
        """Add followers; returns how many were new."""
        with self.lock:
            added = 0
            for user in users:
                if user in task.followers:
                    continue
                task.followers.append(user)
                added += 1
                self._touch(task)
                self._event(
                    task, by, "changed", change=_change("followers", "added", added_value=user)
                )
                self._story(
                    task,
                    by,
                    "collaborator_added",
                    f"added {user.name} as a collaborator",
                    follower=user,
                )
            return added

    def remove_followers(self, task: Task, users: Iterable[User], *, by: User | None = None) -> int:
        with self.lock:
            removed = 0
            for user in users:
                if user not in task.followers:
                    continue
                task.followers.remove(user)
                removed += 1
                self._touch(task)
                self._event(
                    task, by, "changed", change=_change("followers", "removed", removed_value=user)
                )
            return removed

    def add_to_project(
        self,
        task: Task,
        project: Project,
        *,
        section: Section | None = None,
        insert_before: Task | None = None,
        insert_after: Task | None = None,
        by: User | None = None,
    ) -> None:
        """Put the task in a project (end of it, or of ``section``), or move it within one."""
        with self.lock:
            if project.workspace is not task.workspace:
                raise InvalidRequestError(
                    f"project: Project {project.gid} is not in the task's workspace"
                )
            if section is not None and section.project is not project:
                raise InvalidRequestError(
                    f"section: Section {section.gid} is not in project {project.gid}"
                )
            anchor = insert_before or insert_after
            if anchor is not None:
                anchor_place = anchor.membership(project)
                if anchor_place is None:
                    raise InvalidRequestError(
                        "insert_before/insert_after: Task is not in this project"
                    )
                section = anchor_place.section
            before = task.membership(project)
            old_section = before.section if before else None
            position: str | Task = "end"
            if insert_before is not None:
                position = insert_before
            elif insert_after is not None:
                position = insert_after
            self._place(task, project, section, position=position, after=insert_after is not None)
            if before is None:
                self._event(task, by, "added", parent=project)
                self._story(
                    task, by, "added_to_project", f"added to {project.name}", project=project
                )
            else:
                self._section_moved(task, project, old_section, by)

    def remove_from_project(self, task: Task, project: Project, *, by: User | None = None) -> bool:
        with self.lock:
            membership = task.membership(project)
            if membership is None:
                return False
            streams = self._streams(task)
            membership.section.tasks.remove(task)
            task.memberships.remove(membership)
            self._event(task, by, "removed", parent=project, streams=streams)
            self._story(
                task, by, "removed_from_project", f"removed from {project.name}", project=project
            )
            return True

    def move_to_section(
        self,
        task: Task,
        section: Section,
        *,
        insert_before: Task | None = None,
        insert_after: Task | None = None,
        by: User | None = None,
    ) -> None:
        """Move the task to ``section`` (top of it unless told where), adding it to the project."""
        with self.lock:
            if section.project.workspace is not task.workspace:
                raise InvalidRequestError(
                    f"section: Section {section.gid} is not in the task's workspace"
                )
            for anchor in (insert_before, insert_after):
                if anchor is not None and anchor not in section.tasks:
                    raise InvalidRequestError(
                        f"insert_before/insert_after: Task {anchor.gid} is not in this section"
                    )
            before = task.membership(section.project)
            old_section = before.section if before else None
            position: str | Task = "start"
            if insert_before is not None:
                position = insert_before
            elif insert_after is not None:
                position = insert_after
            self._place(
                task, section.project, section, position=position, after=insert_after is not None
            )
            if before is None:
                self._event(task, by, "added", parent=section.project)
            self._section_moved(task, section.project, old_section, by)

    def delete_task(self, task: Task, *, by: User | None = None) -> bool:
        """Delete the task and its subtasks, as ``DELETE /tasks/{gid}`` does: from then on its gid
        answers 404 (``task: Unknown object``); False when it was already deleted."""
        with self.lock:
            if self._objects.get(task.gid) is not task:
                return False
            for subtask in list(task.subtasks):
                self.delete_task(subtask, by=by)
            streams = self._streams(task)
            for membership in task.memberships:
                if task in membership.section.tasks:
                    membership.section.tasks.remove(task)
            if task.parent is not None and task in task.parent.subtasks:
                task.parent.subtasks.remove(task)
            for story in task.stories:
                self._objects.pop(story.gid, None)
            del self._objects[task.gid]
            self._deleted.add(task.gid)
            self.events.record(
                user=by, resource=task, action="deleted", parent=None, streams=streams
            )
            return True

    def is_deleted(self, task: Task | str) -> bool:
        with self.lock:
            return (task if isinstance(task, str) else task.gid) in self._deleted

    # ------------------------------------------------------------------ project activity
    def post_status_update(
        self,
        project: Project,
        *,
        by: User,
        text: str,
        status_type: str,
        title: str = "",
        html_text: str | None = None,
    ) -> StatusUpdate:
        if status_type not in PROJECT_STATUS_TYPES:
            raise InvalidRequestError(
                f"status_type: Not a valid status type for a project: {status_type}. "
                f"Use one of {', '.join(PROJECT_STATUS_TYPES)}"
            )
        with self.lock:
            update = StatusUpdate(
                self.new_gid(),
                project,
                title,
                text,
                status_type,
                by,
                created_at=self.clock.now(),
                html_text=html_text,
            )
            project.status_updates.append(update)
            project.modified_at = update.created_at
            self._index(update)
            self.events.record(
                user=by, resource=update, action="added", parent=project, streams=[project.gid]
            )
            return update

    # ------------------------------------------------------------------ internals
    def _place(
        self,
        task: Task,
        project: Project,
        section: Section | None,
        *,
        position: str | Task,
        after: bool = False,
    ) -> None:
        """Put ``task`` in ``project`` at ``position`` ("start", "end" or next to a task)."""
        if section is None:
            current = task.membership(project)
            if current is not None and position == "end":
                section = current.section
            else:
                section = project.sections[-1] if project.sections else None
            if section is None:
                section = self.add_section(project, "Untitled section")
        membership = task.membership(project)
        if membership is not None:
            membership.section.tasks.remove(task)
            membership.section = section
        else:
            task.memberships.append(Membership(project, section))
        if isinstance(position, Task):
            index = section.tasks.index(position) + (1 if after else 0)
            section.tasks.insert(index, task)
        elif position == "start":
            section.tasks.insert(0, task)
        else:
            section.tasks.append(task)

    def _section_moved(
        self, task: Task, project: Project, old: Section | None, by: User | None
    ) -> None:
        membership = task.membership(project)
        assert membership is not None
        new = membership.section
        if old is new:
            return
        self._event(task, by, "added", parent=new)
        if old is not None:
            self._story(
                task,
                by,
                "section_changed",
                f'moved this Task from "{old.name}" to "{new.name}" in {new.project.name}',
                old_section=old,
                new_section=new,
                project=new.project,
            )

    def _assign(self, task: Task, assignee: User | None, by: User | None) -> None:
        previous = task.assignee
        task.assignee = assignee
        self._touch(task)
        self._event(task, by, "changed", change=_change("assignee", "changed", new_value=assignee))
        if assignee is None:
            assert previous is not None
            self._story(
                task, by, "unassigned", f"unassigned from {previous.name}", assignee=previous
            )
            return
        if assignee not in task.followers:
            task.followers.append(assignee)
        self._story(task, by, "assigned", f"assigned to {assignee.name}", assignee=assignee)

    def _complete(self, task: Task, completed: bool, by: User | None) -> None:
        task.completed = completed
        task.completed_at = self.clock.now() if completed else None
        task.completed_by = by if completed else None
        text = "marked this task complete" if completed else "marked incomplete"
        subtype = "marked_complete" if completed else "marked_incomplete"
        self._changed(task, by, "completed", completed, subtype, text)

    def _due_changed(self, task: Task, by: User | None) -> None:
        due = task.due_on
        text = f"changed the due date to {due:%b} {due.day}" if due else "removed the due date"
        self._changed(task, by, "due_on", due, "due_date_changed", text)

    def _changed(
        self,
        task: Task,
        by: User | None,
        field: str,
        new_value: Any,
        story_subtype: str | None,
        story_text: str,
    ) -> None:
        self._touch(task)
        shown = new_value.isoformat() if isinstance(new_value, date) else new_value
        self._event(task, by, "changed", change=_change(field, "changed", new_value=shown))
        if story_subtype is not None:
            self._story(task, by, story_subtype, story_text)

    def _coerce_custom_fields(
        self, projects: Iterable[Project], values: Mapping[str, Any], *, names: bool
    ) -> dict[CustomField, CustomValue]:
        allowed = {
            s.custom_field.gid: s.custom_field
            for project in projects
            for s in project.custom_field_settings
        }
        coerced: dict[CustomField, CustomValue] = {}
        for ref, value in values.items():
            definition = allowed.get(ref)
            if definition is None and names:
                definition = next(
                    (f for f in allowed.values() if f.name.casefold() == ref.casefold()), None
                )
            if definition is None:
                raise InvalidRequestError(
                    f"custom_fields: Custom field with ID {ref} is not on given object"
                )
            coerced[definition] = coerce_custom_value(definition, value, names=names)
        return coerced

    def _set_custom_value(
        self, task: Task, definition: CustomField, value: CustomValue, by: User | None
    ) -> None:
        if task.custom_values.get(definition.gid) == value:
            return
        if value is None:
            task.custom_values.pop(definition.gid, None)
        else:
            task.custom_values[definition.gid] = value
        shown = CustomFieldValue(definition, value)
        self._touch(task)
        self._event(
            task, by, "changed", change=_change("custom_fields", "changed", new_value=shown)
        )
        display = shown.display_value()
        text = (
            f"cleared {definition.name}"
            if display is None
            else f'changed {definition.name} to "{display}"'
        )
        self._story(
            task, by, f"{definition.type}_custom_field_changed", text, custom_field=definition
        )

    def _touch(self, task: Task) -> None:
        task.modified_at = max(self.clock.now(), task.modified_at)

    def _streams(self, task: Task) -> set[str]:
        streams = {task.gid, *(project.gid for project in task.projects)}
        if task.parent is not None:
            streams |= self._streams(task.parent)
        return streams

    def _event(
        self,
        task: Task,
        by: User | None,
        action: str,
        *,
        parent: Node | None = None,
        change: dict[str, Any] | None = None,
        streams: set[str] | None = None,
    ) -> None:
        self.events.record(
            user=by,
            resource=task,
            action=action,
            parent=parent,
            change=change,
            streams=streams if streams is not None else self._streams(task),
        )

    def _story(
        self,
        task: Task,
        by: User | None,
        subtype: str,
        text: str,
        *,
        kind: Literal["comment", "system"] = "system",
        html_text: str | None = None,
        is_pinned: bool = False,
        **details: Node | None,
    ) -> Story:
        story = Story(
            self.new_gid(),
            task,
            created_at=self.clock.now(),
            created_by=by,
            resource_subtype=subtype,
            text=text,
            type=kind,
            html_text=html_text,
            is_pinned=is_pinned,
            details=dict(details),
        )
        task.stories.append(story)
        self._index(story)
        self._touch(task)
        self.events.record(
            user=by, resource=story, action="added", parent=task, streams=self._streams(task)
        )
        return story


def _first_section(project: Project) -> Section | None:
    return project.sections[0] if project.sections else None


def _change(field: str, action: str, **values: Any) -> dict[str, Any]:
    return {"field": field, "action": action, **values}
