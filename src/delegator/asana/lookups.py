"""Names to gids, resolved once per cycle: users, tags, projects, sections, custom fields.

Rules name things the way people do ("tag: waiting-on-client", "assign to ana@example.com");
Asana wants gids. A `Lookups` object reads each list once, when first asked, and answers every
later question from memory. The worker makes a new one per cycle (`AsanaClient.lookups()`), so
a renamed tag or a new user is seen at the next cycle, and an idle cycle asks for nothing.

Costs: one paginated read per list (tags of a workspace, projects of a workspace, sections of a
project, custom fields of a project or workspace), and one ``GET /sections/{gid}`` per section
whose project is asked for (`section_project`); the token's user comes from the client, which
asks ``GET /users/me`` once in its lifetime.

People are not listed: a workspace's directory can hold thousands. `user_by_email` and
`user_by_gid` ask ``GET /users/{user_gid}`` (Asana takes a gid, an email or "me" there) with
``opt_fields=name,email,workspaces``, one request per person, and the answer is kept in the
client's `UserCache` (per workspace, an hour by default) across cycles. A 404 (or a 400: Asana
did not recognise the identifier) means no such user; a user whose ``workspaces`` does not hold
the workspace is not one of its people. A miss is remembered for the cycle only, so a person
added to the workspace is found at the next cycle.

Names match case-insensitively; an exact-case match wins when several differ only in case.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote

from delegator.asana import answers, pagination, writes
from delegator.asana.errors import InvalidRequest, NotFound
from delegator.asana.http import Fields, Params, Record, Transport, segment

#: What a looked-up user carries: enough to assign, show and check the workspace.
USER_FIELDS: tuple[str, ...] = ("name", "email", "workspaces")


class UserCache:
    """People by gid and by email, per workspace, each asked of Asana once per `ttl` seconds.

    Thread-safe; owned by the client so that it outlives a cycle. Misses are not kept here."""

    def __init__(self, transport: Transport, *, ttl: float = 3600.0) -> None:
        self._transport = transport
        self._ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, Record]] = {}

    def get(self, workspace_gid: str, ref: str) -> Record | None:
        """The user `ref` (a gid or an email) if one of the workspace's people, else None."""
        key = (workspace_gid, _user_key(ref))
        now = self._transport.clock.monotonic()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        user = self._fetch(workspace_gid, ref)
        if user is None:
            with self._lock:
                self._entries.pop(key, None)
            return None
        with self._lock:
            self._entries[key] = (now, user)
            self._entries[(workspace_gid, str(user["gid"]))] = (now, user)
            email = user.get("email")
            if isinstance(email, str) and email:
                self._entries[(workspace_gid, _user_key(email))] = (now, user)
        return user

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()

    def _fetch(self, workspace_gid: str, ref: str) -> Record | None:
        try:
            response = self._transport.request(
                "GET",
                # "@" is allowed in a path segment (RFC 3986 pchar): the email is sent as is.
                f"/users/{quote(ref.strip(), safe='@')}",
                params={"opt_fields": ",".join(USER_FIELDS)},
                shape=answers.user,  # a garbled answer is an UnexpectedAnswer, not "no user"
            )
        except (NotFound, InvalidRequest):
            return None
        user: Record = response.parsed
        if not any(w["gid"] == workspace_gid for w in user["workspaces"]):
            return None  # a real user, but not one of this workspace's people
        return dict(user)


def _user_key(ref: str) -> str:
    ref = ref.strip()
    return ref.casefold() if "@" in ref else ref


@dataclass(frozen=True)
class EnumOption:
    gid: str
    name: str
    enabled: bool = True


@dataclass(frozen=True)
class CustomFieldDef:
    gid: str
    name: str
    type: str  # Asana's resource_subtype: text, number, enum, multi_enum, date, people, ...
    enum_options: tuple[EnumOption, ...] = ()

    def option(self, name: str) -> EnumOption | None:
        """The enum option called `name` (any case; an enabled one preferred)."""
        candidates = [option for option in self.enum_options if _same(option.name, name)]
        candidates.sort(key=lambda option: (not option.enabled, option.name != name))
        return candidates[0] if candidates else None

    @classmethod
    def from_json(cls, record: Record) -> CustomFieldDef:
        options = tuple(
            EnumOption(
                str(option["gid"]), str(option.get("name", "")), bool(option.get("enabled", True))
            )
            for option in record.get("enum_options") or ()
            if isinstance(option, dict) and "gid" in option
        )
        kind = record.get("resource_subtype") or record.get("type") or ""
        return cls(str(record["gid"]), str(record.get("name", "")), str(kind), options)


_FIELD_DEF_FIELDS = (
    "name",
    "resource_subtype",
    "type",
    "enum_options.name",
    "enum_options.enabled",
)


class Lookups:
    """A per-cycle cache of names; thread-safe, each list is read at most once."""

    def __init__(
        self,
        transport: Transport,
        *,
        me: Callable[[], Record],
        me_gid: Callable[[], str],
        users: UserCache | None = None,
    ) -> None:
        self._transport = transport
        self._me = me
        self._me_gid = me_gid
        self._users = users if users is not None else UserCache(transport)
        self._lock = threading.RLock()
        self._lists: dict[tuple[str, str], list[Record]] = {}
        self._missing: set[tuple[str, str]] = set()
        self._section_projects: dict[str, str | None] = {}

    def me(self) -> Record:
        """The token's user: ``{"gid", "name", "email"}``."""
        return self._me()

    # ------------------------------------------------------------ users
    def users(self, workspace_gid: str) -> list[Record]:
        """Every person of the workspace (one request per 100): for listings only; the
        look-ups below ask for one person at a time."""
        return self._list(
            ("users", workspace_gid),
            "/users",
            {"workspace": workspace_gid},
            ("name", "email"),
            answers.named_page,
        )

    def user_by_email(self, workspace_gid: str, email: str) -> Record | None:
        """The workspace's person with this email (any case), or None."""
        return self._user(workspace_gid, email)

    def user_by_gid(self, workspace_gid: str, gid: str) -> Record | None:
        """The workspace's person with this gid, or None."""
        return self._user(workspace_gid, gid)

    def _user(self, workspace_gid: str, ref: str) -> Record | None:
        if not ref.strip():
            return None
        key = (workspace_gid, _user_key(ref))
        with self._lock:
            if key in self._missing:
                return None
        user = self._users.get(workspace_gid, ref)
        if user is None:
            with self._lock:
                self._missing.add(key)
        return user

    # ------------------------------------------------------------ tags
    def tags(self, workspace_gid: str) -> list[Record]:
        return self._list(
            ("tags", workspace_gid),
            f"/workspaces/{segment(workspace_gid)}/tags",
            None,
            ("name",),
            answers.named_page,
        )

    def tag(self, workspace_gid: str, name: str) -> Record | None:
        return _by_name(self.tags(workspace_gid), name)

    def ensure_tag(self, workspace_gid: str, name: str, *, color: str | None = None) -> str:
        """The gid of the tag called `name`, created first if the workspace has none."""
        with self._lock:
            found = self.tag(workspace_gid, name)
            if found is not None:
                return str(found["gid"])
            response = writes.send(
                self._transport,
                writes.create_tag(workspace_gid, name, color=color),
                me=self._me_gid,
            )
            created: Record = dict(response.data)
            created.setdefault("name", name)
            self._lists[("tags", workspace_gid)].append(created)
            return str(created["gid"])

    # ------------------------------------------------------------ projects and sections
    def projects(self, workspace_gid: str) -> list[Record]:
        return self._list(
            ("projects", workspace_gid),
            f"/workspaces/{segment(workspace_gid)}/projects",
            {"archived": False},
            ("name",),
            answers.named_page,
        )

    def project(self, workspace_gid: str, name: str) -> Record | None:
        return _by_name(self.projects(workspace_gid), name)

    def sections(self, project_gid: str) -> list[Record]:
        return self._list(
            ("sections", project_gid),
            f"/projects/{segment(project_gid)}/sections",
            None,
            ("name",),
            answers.named_page,
        )

    def section(self, project_gid: str, name: str) -> Record | None:
        return _by_name(self.sections(project_gid), name)

    def section_project(self, section_gid: str) -> str | None:
        """The gid of the project a section (by gid) belongs to: ``GET /sections/{gid}`` with
        ``opt_fields=project``, read once. None when the answer names no project."""
        with self._lock:
            if section_gid in self._section_projects:
                return self._section_projects[section_gid]
            response = self._transport.request(
                "GET",
                f"/sections/{segment(section_gid)}",
                params={"opt_fields": "project"},
                shape=answers.record,
            )
            project = response.parsed.get("project")
            gid = project.get("gid") if isinstance(project, dict) else None
            found = gid if isinstance(gid, str) and gid else None
            self._section_projects[section_gid] = found
            return found

    # ------------------------------------------------------------ custom fields
    def custom_fields(
        self, *, project_gid: str | None = None, workspace_gid: str | None = None
    ) -> list[CustomFieldDef]:
        """The fields of a project (its settings) or else of a whole workspace."""
        if project_gid is not None:
            settings = self._list(
                ("custom_field_settings", project_gid),
                f"/projects/{segment(project_gid)}/custom_field_settings",
                None,
                tuple(f"custom_field.{name}" for name in _FIELD_DEF_FIELDS),
                answers.field_setting_page,
            )
            return [
                CustomFieldDef.from_json(setting["custom_field"])
                for setting in settings
                if isinstance(setting.get("custom_field"), dict)
            ]
        if workspace_gid is None:
            raise ValueError("custom fields are looked up in a project or a workspace")
        records = self._list(
            ("custom_fields", workspace_gid),
            f"/workspaces/{segment(workspace_gid)}/custom_fields",
            None,
            _FIELD_DEF_FIELDS,
            answers.custom_field_page,
        )
        return [CustomFieldDef.from_json(record) for record in records]

    def custom_field(
        self, name: str, *, project_gid: str | None = None, workspace_gid: str | None = None
    ) -> CustomFieldDef | None:
        definitions = self.custom_fields(project_gid=project_gid, workspace_gid=workspace_gid)
        matches = [definition for definition in definitions if _same(definition.name, name)]
        matches.sort(key=lambda definition: definition.name != name)
        return matches[0] if matches else None

    # ------------------------------------------------------------ the cache
    def _list(
        self,
        key: tuple[str, str],
        path: str,
        params: Params | None,
        fields: Fields,
        shape: answers.Shape,
    ) -> list[Record]:
        """The whole list, read once. A garbled page raises `UnexpectedAnswer` (and nothing is
        kept): an empty or missing list is never made of an answer that was not one."""
        with self._lock:
            if key not in self._lists:
                self._lists[key] = list(
                    pagination.items(self._transport, path, params, fields, shape=shape)
                )
            return self._lists[key]


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _by_name(records: Iterable[Record], name: str) -> Record | None:
    matches = [record for record in records if _same(str(record.get("name", "")), name)]
    matches.sort(key=lambda record: record.get("name") != name)
    return matches[0] if matches else None
