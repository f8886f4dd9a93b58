"""What a token can see in Asana, read once to write a client's first rule file.

The worker never needs these reads; ``delegator init`` does:

* `token_workspaces`: the workspaces of the token's user, ``GET /workspaces`` with each one's
  email domains (an organization's own people have them);
* `read_catalogue`: for one workspace, the token's user (``GET /users/me``), its projects
  (``GET /workspaces/{gid}/projects?archived=false``), tags, custom fields with their enum
  options, people (``GET /users?workspace=``) and which of them are guests (`guests`), each
  listing paged 100 at a time;
* `with_sections`: the sections of the projects chosen (one listing per project), since
  reading the sections of every project of a large workspace would cost a request each;
* `find_project` and `find_person`: one project or person named by a flag, looked up directly
  (``GET /projects/{gid}``, the workspace's typeahead, ``GET /users/{email}``) when the
  listing stopped at its cap before reaching it.

Every listing is bounded: a workspace with thousands of projects or people costs at most
``cap / 100 + 1`` requests per listing, and the `Listing` says whether it stopped short.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Generic, TypeVar
from urllib.parse import quote

from delegator.asana import answers, pagination
from delegator.asana.errors import Forbidden, InvalidRequest, NotFound, PaymentRequired
from delegator.asana.http import Record, Transport, join_fields, segment

T = TypeVar("T")

#: How many of each kind a catalogue lists at most (the rest is counted as "more").
DEFAULT_CAP = 500


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """Some of a collection: `items` in Asana's order, and whether more were left unread."""

    items: tuple[T, ...]
    truncated: bool = False

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    gid: str
    name: str
    is_organization: bool = False
    email_domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Person:
    gid: str
    name: str
    email: str | None = None

    @property
    def domain(self) -> str | None:
        """The part of the email after the ``@``, lower-cased (None without an email)."""
        if not self.email or "@" not in self.email:
            return None
        return self.email.rsplit("@", 1)[1].strip().casefold() or None


@dataclass(frozen=True, slots=True)
class SectionInfo:
    gid: str
    name: str


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    gid: str
    name: str
    sections: tuple[SectionInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class TagInfo:
    gid: str
    name: str


@dataclass(frozen=True, slots=True)
class OptionInfo:
    gid: str
    name: str
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class FieldInfo:
    gid: str
    name: str
    kind: str  # Asana's resource_subtype: enum, multi_enum, number, text, date, people...
    options: tuple[OptionInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalogue:
    """One workspace as the token's user sees it."""

    workspace: WorkspaceInfo
    me: Person
    projects: Listing[ProjectInfo]
    tags: Listing[TagInfo]
    fields: Listing[FieldInfo]
    people: Listing[Person]
    fields_unavailable: bool = False  # 402 or 403: a free workspace, or not for this user
    #: The gids of the workspace's guests (people from outside the organization, as an
    #: agency's assistants join a client's Asana); None when Asana would not list them.
    guests: frozenset[str] | None = None


WORKSPACE_FIELDS = ("name", "is_organization", "email_domains")
PERSON_FIELDS = ("name", "email")
MEMBERSHIP_FIELDS = ("is_guest", "user")
FIELD_FIELDS = ("name", "resource_subtype", "enum_options.name", "enum_options.enabled")


def token_workspaces(transport: Transport, *, cap: int = DEFAULT_CAP) -> Listing[WorkspaceInfo]:
    """The workspaces the token's user belongs to."""
    records = pagination.items(
        transport, "/workspaces", None, WORKSPACE_FIELDS, shape=answers.named_page
    )
    return _capped((_workspace(record) for record in records), cap)


def me(transport: Transport) -> Person:
    """The token's user."""
    response = transport.request(
        "GET", "/users/me", params={"opt_fields": join_fields(PERSON_FIELDS)}, shape=answers.record
    )
    return _person(response.parsed)


def read_catalogue(
    transport: Transport,
    workspace: WorkspaceInfo,
    *,
    cap: int = DEFAULT_CAP,
    user: Person | None = None,
) -> Catalogue:
    """The workspace's projects (without sections: see `with_sections`), tags, custom fields
    and people, each at most `cap`; `user` is the token's user when already known."""
    gid = segment(workspace.gid)
    projects = pagination.items(
        transport,
        f"/workspaces/{gid}/projects",
        {"archived": False},
        ("name",),
        shape=answers.named_page,
    )
    tags = pagination.items(
        transport, f"/workspaces/{gid}/tags", None, ("name",), shape=answers.named_page
    )
    people = pagination.items(
        transport, "/users", {"workspace": workspace.gid}, PERSON_FIELDS, shape=answers.named_page
    )
    fields: Listing[FieldInfo] = Listing(())
    unavailable = False
    try:
        fields = _capped(
            (
                _field(record)
                for record in pagination.items(
                    transport,
                    f"/workspaces/{gid}/custom_fields",
                    None,
                    FIELD_FIELDS,
                    shape=answers.custom_field_page,
                )
            ),
            cap,
        )
    except (PaymentRequired, Forbidden):  # premium, or not for this user: fields are optional
        unavailable = True
    return Catalogue(
        guests=guests(transport, workspace.gid, cap=cap),
        workspace=workspace,
        me=user if user is not None else me(transport),
        projects=_capped((ProjectInfo(str(r["gid"]), _name(r)) for r in projects), cap),
        tags=_capped((TagInfo(str(r["gid"]), _name(r)) for r in tags), cap),
        fields=fields,
        people=_capped((_person(record) for record in people), cap),
        fields_unavailable=unavailable,
    )


def guests(
    transport: Transport, workspace_gid: str, *, cap: int = DEFAULT_CAP
) -> frozenset[str] | None:
    """The gids of the guests among the workspace's first `cap` memberships
    (``GET /workspaces/{gid}/workspace_memberships``), or None when Asana will not list them
    (not an organization's admin, a plan without them: 402, 403 or 404)."""
    records = pagination.items(
        transport,
        f"/workspaces/{segment(workspace_gid)}/workspace_memberships",
        None,
        MEMBERSHIP_FIELDS,
    )
    try:
        found = {
            str(record["user"]["gid"])
            for record in itertools.islice(records, cap)
            if record.get("is_guest") is True
            and isinstance(record.get("user"), dict)
            and isinstance(record["user"].get("gid"), str)
        }
    except (NotFound, Forbidden, PaymentRequired):
        return None
    return frozenset(found)


def sections(
    transport: Transport, project_gid: str, *, cap: int = DEFAULT_CAP
) -> Listing[SectionInfo]:
    """The sections of one project, in board order."""
    records = pagination.items(
        transport,
        f"/projects/{segment(project_gid)}/sections",
        None,
        ("name",),
        shape=answers.named_page,
    )
    return _capped((SectionInfo(str(r["gid"]), _name(r)) for r in records), cap)


def with_sections(
    transport: Transport, catalogue: Catalogue, projects: Iterable[ProjectInfo]
) -> tuple[Catalogue, tuple[ProjectInfo, ...]]:
    """The catalogue with these projects' sections read (a project found beyond the listing's
    cap is added to it), and the projects themselves with their sections."""
    filled: dict[str, ProjectInfo] = {}
    for project in projects:
        if project.gid not in filled:
            filled[project.gid] = replace(project, sections=sections(transport, project.gid).items)
    listed = tuple(filled.get(p.gid, p) for p in catalogue.projects)
    known = {p.gid for p in listed}
    extra = tuple(p for gid, p in filled.items() if gid not in known)
    updated = replace(catalogue, projects=Listing(listed + extra, catalogue.projects.truncated))
    return updated, tuple(filled.values())


def find_project(transport: Transport, workspace_gid: str, ref: str) -> tuple[ProjectInfo, ...]:
    """Projects called `ref` (any case) or with that gid, looked up beyond a listing's cap:
    ``GET /projects/{gid}`` for digits, the workspace's typeahead for a name."""
    ref = ref.strip()
    if ref.isdigit():
        try:
            response = transport.request(
                "GET",
                f"/projects/{segment(ref)}",
                params={"opt_fields": "name,workspace"},
                shape=answers.record,
            )
        except (NotFound, Forbidden, InvalidRequest):
            return ()
        found = response.parsed
        where = found.get("workspace")
        if isinstance(where, dict) and where.get("gid") not in (None, workspace_gid):
            return ()
        return (ProjectInfo(str(found["gid"]), _name(found)),)
    response = transport.request(
        "GET",
        f"/workspaces/{segment(workspace_gid)}/typeahead",
        params={"resource_type": "project", "query": ref, "count": 100, "opt_fields": "name"},
        shape=answers.named_page,
    )
    page = response.parsed
    assert isinstance(page, answers.Page)
    return tuple(
        ProjectInfo(str(r["gid"]), _name(r))
        for r in page.records
        if _name(r).strip().casefold() == ref.casefold()
    )


def find_person(transport: Transport, workspace_gid: str, ref: str) -> Person | None:
    """The workspace's person with this email or gid, looked up beyond a listing's cap."""
    ref = ref.strip()
    if not ref:
        return None
    try:
        response = transport.request(
            "GET",
            f"/users/{quote(ref, safe='@')}",
            params={"opt_fields": "name,email,workspaces"},
            shape=answers.user,
        )
    except (NotFound, InvalidRequest, Forbidden):
        return None
    found = response.parsed
    if not any(w.get("gid") == workspace_gid for w in found["workspaces"]):
        return None
    return _person(found)


def _capped(values: Iterable[T], cap: int) -> Listing[T]:
    """At most `cap` values; one more is read (and dropped) to know whether there are more."""
    taken = list(itertools.islice(values, cap + 1))
    return Listing(tuple(taken[:cap]), len(taken) > cap)


def _name(record: Record) -> str:
    name = record.get("name")
    return name if isinstance(name, str) else ""


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _workspace(record: Record) -> WorkspaceInfo:
    domains = record.get("email_domains")
    return WorkspaceInfo(
        str(record["gid"]),
        _name(record),
        record.get("is_organization") is True,
        tuple(str(d).casefold() for d in domains if isinstance(d, str))
        if isinstance(domains, list)
        else (),
    )


def _person(record: Record) -> Person:
    return Person(str(record["gid"]), _name(record), _text_or_none(record.get("email")))


def _field(record: Record) -> FieldInfo:
    kind = record.get("resource_subtype") or record.get("type") or ""
    options = tuple(
        OptionInfo(str(o["gid"]), _name(o), o.get("enabled", True) is not False)
        for o in record.get("enum_options") or ()
        if isinstance(o, dict)
    )
    return FieldInfo(str(record["gid"]), _name(record), str(kind), options)
