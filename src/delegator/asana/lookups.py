"""Names to gids, resolved once per cycle: users, tags, projects, sections, custom fields.

Rules name things the way people do ("tag: waiting-on-client", "assign to ana@example.com");
Asana wants gids. A `Lookups` object reads each list once, when first asked, and answers every
later question from memory. The worker makes a new one per cycle (`AsanaClient.lookups()`), so
a renamed tag or a new user is seen at the next cycle, and an idle cycle asks for nothing.

Costs: one paginated read per list (users of a workspace, tags of a workspace, projects of a
workspace, sections of a project, custom fields of a project or workspace); the token's user
comes from the client, which asks ``GET /users/me`` once in its lifetime.

Names match case-insensitively; an exact-case match wins when several differ only in case.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from delegator.asana import pagination, writes
from delegator.asana.http import Fields, Params, Record, Transport, segment


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
    ) -> None:
        self._transport = transport
        self._me = me
        self._me_gid = me_gid
        self._lock = threading.RLock()
        self._lists: dict[tuple[str, str], list[Record]] = {}

    def me(self) -> Record:
        """The token's user: ``{"gid", "name", "email"}``."""
        return self._me()

    # ------------------------------------------------------------ users
    def users(self, workspace_gid: str) -> list[Record]:
        return self._list(
            ("users", workspace_gid), "/users", {"workspace": workspace_gid}, ("name", "email")
        )

    def user_by_email(self, workspace_gid: str, email: str) -> Record | None:
        wanted = email.strip().casefold()
        return next(
            (
                user
                for user in self.users(workspace_gid)
                if str(user.get("email", "")).casefold() == wanted
            ),
            None,
        )

    def user_by_gid(self, workspace_gid: str, gid: str) -> Record | None:
        return next((user for user in self.users(workspace_gid) if user.get("gid") == gid), None)

    # ------------------------------------------------------------ tags
    def tags(self, workspace_gid: str) -> list[Record]:
        return self._list(
            ("tags", workspace_gid), f"/workspaces/{segment(workspace_gid)}/tags", None, ("name",)
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
        )

    def project(self, workspace_gid: str, name: str) -> Record | None:
        return _by_name(self.projects(workspace_gid), name)

    def sections(self, project_gid: str) -> list[Record]:
        return self._list(
            ("sections", project_gid), f"/projects/{segment(project_gid)}/sections", None, ("name",)
        )

    def section(self, project_gid: str, name: str) -> Record | None:
        return _by_name(self.sections(project_gid), name)

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
        self, key: tuple[str, str], path: str, params: Params | None, fields: Fields
    ) -> list[Record]:
        with self._lock:
            if key not in self._lists:
                self._lists[key] = list(pagination.items(self._transport, path, params, fields))
            return self._lists[key]


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _by_name(records: Iterable[Record], name: str) -> Record | None:
    matches = [record for record in records if _same(str(record.get("name", "")), name)]
    matches.sort(key=lambda record: record.get("name") != name)
    return matches[0] if matches else None
