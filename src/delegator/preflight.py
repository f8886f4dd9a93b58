"""The online preflight of a client file (``delegator check --online``): its names, looked up in
the live Asana workspace, each problem located at its ``file:line:col``.

What is checked, in this order (docs/preflight.md has the costs and the codes):

1. the token: it can be read (else one `TOKEN_REFUSED`, naming where it was looked for, never
   its value); Asana accepts it (a 401 is one `TOKEN_REFUSED` and nothing else is checked);
   Asana answers at all (else one `UNREACHABLE`);
2. the workspace: the token's user belongs to it (``GET /users/me`` through the client's users
   cache, which also knows the owner afterwards when the owner is that user);
3. people: the owner, the assistants, and the emails and gids named in ``assign:``,
   ``follow:``, assignee conditions and people fields of ``set:``, each looked up once;
4. places: projects, sections and tags of the watched sources, of conditions (the matrix's
   and the rules'), of ``move:`` and ``untag:``, and the projects summaries and digests post
   to; custom fields and their options of conditions and ``set:``; each list read once
   through the same `Lookups` the service resolves names with (names match ignoring case,
   the exact case winning);
5. the plan: for a tag source, whether the workspace answers the search API (402 on a free
   workspace), and what that says of the file's ``client.plan``.

A tag that a ``tag:`` action adds and the workspace lacks is not a finding: the service
creates it the first time it adds it (`Lookups.ensure_tag`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from delegator.asana import AsanaClient, Limits, Timeouts
from delegator.asana.directory import project as project_record
from delegator.asana.directory import search_available, token_workspaces
from delegator.asana.errors import (
    ApiError,
    AsanaError,
    Forbidden,
    NotFound,
    PaymentRequired,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    Unauthorized,
)
from delegator.asana.http import TokenProvider
from delegator.asana.lookups import CustomFieldDef, Lookups
from delegator.asana.oauth import OAuthError
from delegator.bootstrap import oauth_app, token_provider
from delegator.clients import TokenError, check_token, refresh_token_label, token_id
from delegator.clock import SystemClock
from delegator.core.findings import Finding, FindingCode, Severity
from delegator.core.rulefile import (
    ASSIGNEE_WORDS,
    FOLLOW_WORDS,
    ClientFile,
    is_email,
    is_gid,
    parse_client_file,
    walk_conditions,
)
from delegator.core.schema import (
    AssignAction,
    AssigneeCondition,
    Condition,
    CustomFieldCondition,
    FieldMatch,
    FileHead,
    FollowAction,
    MoveAction,
    ProjectCondition,
    ProjectRef,
    SectionCondition,
    SetAction,
    TagAction,
    TagCondition,
    TokenSource,
    UntagAction,
)
from delegator.core.suggest import did_you_mean
from delegator.core.yamlpos import Document, format_path, load
from delegator.core.yamlpos import Path as KeyPath
from delegator.redact import redact_text
from delegator.rulesource import UnreadableFileError, read_text
from delegator.settings import Settings

#: How hard a preflight tries: a person is waiting at a terminal, so fewer and shorter retries
#: than the service's (3 sends over about 1.5 s), and a long Retry-After ends the check.
PREFLIGHT_RETRY = RetryPolicy(
    max_attempts=3, backoff_base=0.5, backoff_cap=2.0, max_rate_limited=2, max_retry_after=30.0
)

#: Where a person is one of the file's own words, not somebody to look up.
_PERSON_WORDS = frozenset({*ASSIGNEE_WORDS, *FOLLOW_WORDS, "me"})
_ENUMS = ("enum", "multi_enum")
_HINTS_SHOWN = 5


# ----------------------------------------------------------------------------- the token


@dataclass(frozen=True, slots=True)
class ClientToken:
    """How a client's token reaches the Asana client: a provider of its current value, and a
    stable label (never the value) that keys the token's request budget."""

    provider: TokenProvider
    label: str


def client_token(
    source: TokenSource, environ: Mapping[str, str], settings: Settings
) -> ClientToken:
    """The client's token as the service gets it; `TokenError` when it cannot be read now.

    The one place that turns a file's ``token:`` into what `AsanaClient` takes, through the
    service's own `bootstrap.token_provider`: a variable or a file read again after a 401, an
    OAuth refresh token exchanged with the agency's app (its first exchange happens when the
    client is built, and fails with an `OAuthError`)."""
    check_token(source, environ)  # unreadable now: said at once, before anything is sent
    provider = token_provider(
        source, environ, oauth_app(settings), clock=SystemClock(), proxy=settings.asana_proxy
    )
    return ClientToken(provider, token_id(source))


def token_path(source: TokenSource) -> KeyPath:
    """Where the file says the token is: the variable's or the file's name."""
    if source.oauth is not None:
        where = source.oauth.refresh_token
        kind = "env" if where.env is not None else "file"
        return ("client", "token", "oauth", "refresh_token", kind)
    return ("client", "token", "env" if source.env is not None else "file")


def _token_where(source: TokenSource) -> str:
    if source.oauth is not None:
        return f"the OAuth refresh token in {refresh_token_label(source)}"
    if source.env is not None:
        return f"the environment variable {source.env}"
    return f"the file {source.file}"


def asana_client(
    head: FileHead,
    settings: Settings,
    token: ClientToken,
    *,
    session: requests.Session | None = None,
    retry: RetryPolicy = PREFLIGHT_RETRY,
) -> AsanaClient:
    """An Asana client for the file's client, built as the service builds it (base URL, proxy,
    the plan's rate, the request deadline), with the preflight's retries."""
    plan = Limits.for_plan(head.client.plan)
    rate = min(plan.requests_per_minute, float(settings.asana_requests_per_minute))
    total = settings.asana_request_deadline.total_seconds()
    defaults = Timeouts()
    return AsanaClient(
        token.provider,
        base_url=settings.asana_base_url,
        limits=dataclasses.replace(plan, requests_per_minute=rate),
        timeouts=Timeouts(
            connect=min(defaults.connect, total), read=min(defaults.read, total), total=total
        ),
        retry=retry,
        token_id=token.label,
        workspace_gid=head.client.workspace,
        session=session,
        proxy=settings.asana_proxy if session is None else None,
    )


# ----------------------------------------------------------------------------- the check


def check_online(
    path: Path,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    session: requests.Session | None = None,
) -> list[Finding]:
    """The problems Asana shows in a client file's names, sorted, each once.

    A file without a usable head gives none (`delegator check` prints its errors). Never
    raises for what Asana or the token does: a refused token is one `TOKEN_REFUSED` finding,
    an Asana that does not answer one `UNREACHABLE`. No finding holds a secret."""
    try:
        text = read_text(path)
    except UnreadableFileError:
        return []
    try:
        loaded = parse_client_file(text, str(path))
        document = load(text)  # parsed above already: it loads
    except Exception:  # a fault in checking the file: `delegator check` reports it
        return []
    if loaded.head is None:
        return []
    places = _Places(str(path), document)
    head = loaded.head
    where = token_path(head.client.token)
    try:
        token = client_token(head.client.token, environ, settings)
        client = asana_client(head, settings, token, session=session)
    except (TokenError, OAuthError) as exc:
        return [
            places.finding(
                (where,),
                FindingCode.TOKEN_REFUSED,
                Severity.ERROR,
                f"the Asana token cannot be read: {exc}",
            )
        ]
    try:
        return _Preflight(client, loaded, head, places, settings, where).run()
    finally:
        if session is None:
            client.close()


@dataclass
class _Places:
    """Positions in the file, and findings made at them."""

    source: str
    document: Document

    def written(self, path: KeyPath) -> bool:
        """Whether a value was written at `path` (through aliases and merges too)."""
        document = self.document
        if path in document.values:
            return True
        for cut in range(len(path) - 1, 0, -1):
            written = document.aliases.get(path[:cut])
            if written is not None:
                return self.written((*written, *path[cut:]))
        return False

    def pick(self, candidates: Iterable[KeyPath]) -> KeyPath:
        """The first of `candidates` (most precise first) written in the file, else the last."""
        options = list(candidates)
        return next((p for p in options if self.written(p)), options[-1])

    def finding(
        self, candidates: Iterable[KeyPath], code: FindingCode, severity: Severity, message: str
    ) -> Finding:
        path = self.pick(candidates)
        position = self.document.position_of(path)
        return Finding(
            self.source,
            position.line,
            position.column,
            redact_text(format_path(path)),  # an assistant's key is the author's text too
            code,
            severity,
            redact_text(message),
        )


@dataclass(frozen=True, slots=True)
class _Where:
    """A name's place: the paths it may be written at, most precise first."""

    candidates: tuple[KeyPath, ...]

    @classmethod
    def of(cls, *candidates: KeyPath) -> _Where:
        return cls(candidates)


@dataclass(frozen=True, slots=True)
class _Project:
    where: _Where
    spec: str  # a name, or a gid (digits)
    what: str  # what it is for, in words: "watched project", "project in a condition"...


@dataclass(frozen=True, slots=True)
class _Section:
    where: _Where
    name: str  # a name, or a gid
    project: _Project | None
    what: str


@dataclass(frozen=True, slots=True)
class _Tag:
    where: _Where
    name: str
    severity: Severity
    why: str  # what a missing tag means here


@dataclass(frozen=True, slots=True)
class _Field:
    where: _Where
    key: str
    by_gid: bool
    severity: Severity
    values: tuple[tuple[_Where, object], ...] = ()  # options (or people) it is compared with
    setting: bool = False  # a set: action (people values are people to look up)


@dataclass
class _Names:
    """Every name in a file that Asana must know, with where it is written."""

    people: list[tuple[_Where, str]] = field(default_factory=list)
    projects: list[_Project] = field(default_factory=list)
    sections: list[_Section] = field(default_factory=list)
    tags: list[_Tag] = field(default_factory=list)
    fields: list[_Field] = field(default_factory=list)
    tag_sources: list[tuple[_Where, str]] = field(default_factory=list)
    settings: list[_Where] = field(default_factory=list)  # set: actions (a premium feature)
    added_tags: set[str] = field(default_factory=set)  # created by tag: actions when missing


def _names(loaded: ClientFile, head: FileHead, places: _Places) -> _Names:
    """The names of the file's head, matrix, valid rules, summary and digest."""
    names = _Names()
    assistants = set(head.assistants)

    def person(where: _Where, spec: str) -> None:
        if spec in _PERSON_WORDS or spec in assistants:
            return
        if is_gid(spec) or is_email(spec):
            names.people.append((where, spec))

    def project(where: _Where, ref: ProjectRef, what: str) -> _Project:
        spec = ref.gid if ref.gid is not None else ref.name
        assert spec is not None
        found = _Project(where, spec, what)
        names.projects.append(found)
        return found

    def by_spec(where: _Where, spec: str, what: str) -> _Project:
        ref = ProjectRef(gid=spec) if spec.isdigit() else ProjectRef(name=spec)
        return project(where, ref, what)

    client = head.client
    person(_Where.of(("client", "owner")), client.owner)
    for key, assistant in head.assistants.items():
        person(_Where.of(("assistants", key, "user")), assistant.user)
    if places.written(("client", "opt_out_tag")):
        names.tags.append(
            _Tag(
                _Where.of(("client", "opt_out_tag")),
                client.opt_out_tag,
                Severity.WARNING,
                "no task can be kept from the rules with it until one is created",
            )
        )
    for i, source in enumerate(head.watch):
        w: KeyPath = ("watch", i)
        if source.project is not None:
            kind = "gid" if source.project.gid is not None else "name"
            where = _Where.of((*w, "project", kind), (*w, "project"))
            project(where, source.project, "watched project")
        elif source.section is not None:
            section = source.section
            owner = None
            if section.project is not None:
                owner = by_spec(
                    _Where.of((*w, "section", "project"), (*w, "section")),
                    section.project,
                    "project of a watched section",
                )
            names.sections.append(
                _Section(
                    _Where.of((*w, "section", "name"), (*w, "section")),
                    section.name,
                    owner,
                    "watched section",
                )
            )
        elif source.tag is not None:
            where = _Where.of((*w, "tag"))
            names.tags.append(
                _Tag(where, source.tag, Severity.ERROR, "the service cannot read this source")
            )
            names.tag_sources.append((where, source.tag))

    def conditions(condition: Condition, base: KeyPath) -> None:
        for node, p in walk_conditions(condition, base):
            match node:
                case TagCondition(tag=tags):
                    for group, listed in (
                        ("any", tags.any),
                        ("all", tags.all),
                        ("none", tags.none),
                    ):
                        for j, name in enumerate(listed or ()):
                            names.tags.append(
                                _Tag(
                                    _Where.of(
                                        (*p, "tag", group, j),
                                        (*p, "tag", group),
                                        (*p, "tag", j),
                                        (*p, "tag"),
                                    ),
                                    name,
                                    Severity.WARNING,
                                    "this condition never finds it on a task",
                                )
                            )
                case ProjectCondition(project=projects):
                    for j, spec in enumerate(projects):
                        where = _Where.of((*p, "project", j), (*p, "project"))
                        by_spec(where, spec, "project in a condition")
                case SectionCondition(section=section):
                    if section.project is None and not section.name.isdigit():
                        continue  # any project's section of that name: not looked up
                    owner = None
                    if section.project is not None:
                        owner = by_spec(
                            _Where.of((*p, "section", "project"), (*p, "section")),
                            section.project,
                            "project in a section condition",
                        )
                    names.sections.append(
                        _Section(
                            _Where.of((*p, "section", "name"), (*p, "section")),
                            section.name,
                            owner,
                            "section in a condition",
                        )
                    )
                case AssigneeCondition(assignee=people):
                    for j, spec in enumerate(people):
                        person(_Where.of((*p, "assignee", j), (*p, "assignee")), spec)
                case CustomFieldCondition(custom_field=match):
                    names.fields.append(_condition_field(match, (*p, "custom_field")))
                case _:
                    pass

    for part in ("urgent", "important"):
        condition = getattr(head.matrix, part)
        if condition is not None:
            conditions(condition, ("matrix", part))

    for numbered in loaded.rules:
        rule = numbered.rule
        r = numbered.path
        conditions(rule.when, (*r, "when"))
        for i, action in enumerate(rule.then):
            a: KeyPath = (*r, "then", i, action.kind)
            match action:
                case AssignAction(assign=assign):
                    if assign.to is not None:
                        person(_Where.of((*a, "to"), a), assign.to)
                case FollowAction(follow=people):
                    for j, spec in enumerate(people):
                        person(_Where.of((*a, j), a), spec)
                case TagAction(tag=tags):
                    names.added_tags.update(name.casefold() for name in tags)
                case UntagAction(untag=tags):
                    for j, name in enumerate(tags):
                        names.tags.append(
                            _Tag(
                                _Where.of((*a, j), a),
                                name,
                                Severity.WARNING,
                                "there is nothing to remove until one is created",
                            )
                        )
                case MoveAction(move=placement):
                    owner = by_spec(_Where.of((*a, "project"), a), placement.project, "project")
                    if placement.section is not None:
                        names.sections.append(
                            _Section(
                                _Where.of((*a, "section"), a),
                                placement.section,
                                owner,
                                "section to move tasks to",
                            )
                        )
                case SetAction(set_=setting):
                    values = setting.value if isinstance(setting.value, list) else [setting.value]
                    listed = isinstance(setting.value, list)
                    names.fields.append(
                        _Field(
                            _Where.of((*a, "custom_field"), a),
                            setting.custom_field,
                            setting.custom_field.isdigit(),
                            Severity.ERROR,
                            tuple(
                                (
                                    _Where.of((*a, "value", k), (*a, "value"))
                                    if listed
                                    else _Where.of((*a, "value"), a),
                                    value,
                                )
                                for k, value in enumerate(values)
                                if value is not None
                            ),
                            setting=True,
                        )
                    )
                    names.settings.append(_Where.of(a))
                case _:
                    pass

    for key in ("summary", "digest"):
        block = getattr(head, key)
        if block is None:
            continue
        for i, destination in enumerate(block.to):
            kind = destination.kind
            base: tuple[KeyPath, ...] = ((key, "to", i, kind), (key, "to", kind))
            target = destination.asana_status or destination.asana_task
            if target is not None:
                ref = target.project
                inner = "gid" if ref.gid is not None else "name"
                where = _Where(
                    tuple((*b, "project", inner) for b in base)
                    + tuple((*b, "project") for b in base)
                    + base
                )
                project(where, ref, f"project the {key} posts to")
        if key == "summary" and places.written(("summary", "time_field")):
            names.fields.append(
                _Field(
                    _Where.of(("summary", "time_field")),
                    block.time_field,
                    block.time_field.isdigit(),
                    Severity.WARNING,
                )
            )
    return names


def _condition_field(match: FieldMatch, base: KeyPath) -> _Field:
    key = match.gid if match.gid is not None else match.name
    assert key is not None
    values: list[tuple[_Where, object]] = []
    for attr, written in (("equals", "equals"), ("in_", "in"), ("not_in", "not_in")):
        value = getattr(match, attr)
        if isinstance(value, list):
            values.extend(
                (_Where.of((*base, written, k), (*base, written)), item)
                for k, item in enumerate(value)
            )
        elif value is not None:
            values.append((_Where.of((*base, written)), value))
    if match.contains is not None:
        values.append((_Where.of((*base, "contains")), match.contains))
    kind = "gid" if match.gid is not None else "name"
    return _Field(_Where.of((*base, kind), base), key, match.gid is not None, Severity.ERROR,
                  tuple(values))  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Problem:
    """What is wrong with a name looked up once, said again at each place it is written."""

    code: FindingCode
    template: str  # "{what}": what the name is for at that place

    def message(self, what: str) -> str:
        return self.template.replace("{what}", what)


class _Preflight:
    """One file's names looked up in its workspace, through one client."""

    def __init__(
        self,
        client: AsanaClient,
        loaded: ClientFile,
        head: FileHead,
        places: _Places,
        settings: Settings,
        token_path: KeyPath,
    ) -> None:
        self.client = client
        self.lookups: Lookups = client.lookups()
        self.loaded = loaded
        self.head = head
        self.places = places
        self.settings = settings
        self.token_path = token_path
        self.workspace = head.client.workspace
        self.workspace_name = ""
        self.findings: set[Finding] = set()
        self._people: dict[str, bool] = {}
        self._emails: list[str] | None = None
        self._projects: dict[str, str | _Problem] = {}  # as written -> gid, or what is wrong
        self._list_projects = False  # whether the file names a project by name
        self._fields: list[CustomFieldDef] | None = None
        self._fields_refused: PaymentRequired | None = None

    # ------------------------------------------------------------------ findings
    def add(self, where: _Where, code: FindingCode, severity: Severity, message: str) -> None:
        self.findings.add(self.places.finding(where.candidates, code, severity, message))

    @property
    def in_workspace(self) -> str:
        if self.workspace_name:
            return f"in workspace {self.workspace_name} ({self.workspace})"
        return f"in workspace {self.workspace}"

    # ------------------------------------------------------------------ the run
    def run(self) -> list[Finding]:
        try:
            self._run()
        except Unauthorized as exc:
            return [
                self.places.finding(
                    (self.token_path,),
                    FindingCode.TOKEN_REFUSED,
                    Severity.ERROR,
                    f"Asana refused the token from {_token_where(self.head.client.token)} "
                    f"({exc.status} Unauthorized): it is wrong, revoked or expired, or the "
                    "workspace disabled the app; nothing else was checked",
                )
            ]
        except AsanaError as exc:  # no answer, 5xx or 429 past the retries, a garbled answer
            self.findings.add(self._unreachable(exc))
        return sorted(self.findings)

    def _unreachable(self, exc: AsanaError) -> Finding:
        if isinstance(exc, TransportError):
            why = exc.detail
        elif isinstance(exc, RateLimited):
            why = "it kept answering 429 Too Many Requests"
        else:
            why = exc.detail
        return self.places.finding(
            (("client",),),
            FindingCode.UNREACHABLE,
            Severity.ERROR,
            f"Asana at {self.client.transport.base_url} could not be reached ({why}, on "
            f"{exc.method} {exc.path}): nothing more was checked online",
        )

    def _run(self) -> None:
        if not self._member():
            return
        names = _names(self.loaded, self.head, self.places)
        self._list_projects = any(not project.spec.isdigit() for project in names.projects)
        for where, spec in names.people:
            with self._refusals(where):
                self._person(where, spec)
        for project in names.projects:
            with self._refusals(project.where):
                self._project_gid(project)
        for section in names.sections:
            with self._refusals(section.where):
                self._section(section)
        tag_gids: dict[str, str] = {}
        for tag in names.tags:
            with self._refusals(tag.where):
                self._tag(tag, names.added_tags, tag_gids)
        for field_ref in names.fields:
            with self._refusals(field_ref.where):
                self._field(field_ref, names)
        with self._refusals(
            names.tag_sources[0][0] if names.tag_sources else _Where.of(("watch",))
        ):
            self._plan(names, tag_gids)

    @contextmanager
    def _refusals(self, where: _Where) -> Iterator[None]:
        """A request about one name that Asana refuses (a 4xx other than 401 and 429): a
        finding at that name, and the check goes on with the others."""
        try:
            yield
        except ApiError as exc:
            _local(exc)
            if isinstance(exc, PaymentRequired):
                code, said = FindingCode.PLAN_FEATURE, "a premium feature the plan lacks"
            else:
                code, said = FindingCode.NO_ACCESS, "the token may not read it"
            self.add(
                where,
                code,
                Severity.ERROR,
                f"Asana answered {exc.method} {exc.path} with {exc.detail}: {said}",
            )

    # ------------------------------------------------------------------ the workspace
    def _member(self) -> bool:
        """Whether the token's user belongs to the workspace (one request, which also seeds
        the users cache with that user)."""
        me = self.client.users.get(self.workspace, "me")
        if me is not None:
            workspace = next(w for w in me["workspaces"] if w["gid"] == self.workspace)
            self.workspace_name = str(workspace.get("name") or "")
            return True
        theirs = token_workspaces(self.client.transport)
        listed = ", ".join(f"{w.get('name', '')} ({w['gid']})" for w in theirs[:_HINTS_SHOWN])
        hint = did_you_mean(self.workspace, [str(w["gid"]) for w in theirs])
        self.add(
            _Where.of(("client", "workspace")),
            FindingCode.UNKNOWN_WORKSPACE,
            Severity.ERROR,
            f"workspace {self.workspace} is not one of the token's user's workspaces{hint} "
            f"(theirs: {listed or 'none'}); nothing else was checked",
        )
        return False

    # ------------------------------------------------------------------ people
    def _person(self, where: _Where, spec: str) -> None:
        key = spec.casefold() if "@" in spec else spec
        if key not in self._people:
            try:
                found = (
                    self.lookups.user_by_gid(self.workspace, spec)
                    if is_gid(spec)
                    else self.lookups.user_by_email(self.workspace, spec)
                )
            except (Forbidden, NotFound):  # a user who shares no workspace with the token's
                found = None
            self._people[key] = found is not None
        if self._people[key]:
            return
        if is_gid(spec):
            message = f"no person with the user gid {spec} {self.in_workspace}"
        else:
            hint = did_you_mean(spec, self._workspace_emails())
            message = f"no person with the email {spec} {self.in_workspace}{hint}"
        self.add(where, FindingCode.UNKNOWN_PERSON, Severity.ERROR, message)

    def _workspace_emails(self) -> list[str]:
        """The workspace's people's emails, read only when someone was not found (for the hint)."""
        if self._emails is None:
            try:
                people = self.lookups.users(self.workspace)
            except ApiError as exc:
                _local(exc)
                people = []
            self._emails = [str(p["email"]) for p in people if p.get("email")]
        return self._emails

    # ------------------------------------------------------------------ projects and sections
    def _project_gid(self, project: _Project) -> str | None:
        """The project's gid, or None once its problem is reported (at each place it is named)."""
        spec = project.spec
        if spec not in self._projects:
            self._projects[spec] = (
                self._project_by_gid(project) if spec.isdigit() else self._project_by_name(project)
            )
        found = self._projects[spec]
        if isinstance(found, _Problem):
            self.add(project.where, found.code, Severity.ERROR, found.message(project.what))
            return None
        return found

    def _project_by_name(self, project: _Project) -> str | _Problem:
        found = self.lookups.project(self.workspace, project.spec)
        if found is not None:
            return str(found["gid"])
        names = [str(p.get("name", "")) for p in self.lookups.projects(self.workspace)]
        return _Problem(
            FindingCode.UNKNOWN_PROJECT,
            f"no project called '{project.spec}' {self.in_workspace} that the token's user "
            "can see (the {what})" + did_you_mean(project.spec, names),
        )

    def _project_by_gid(self, project: _Project) -> str | _Problem:
        gid = project.spec
        if self._list_projects and any(
            str(p["gid"]) == gid for p in self.lookups.projects(self.workspace)
        ):
            return gid  # in the list read for the names: nothing more to ask
        try:
            record = project_record(self.client.transport, gid)
        except (Forbidden, NotFound) as exc:
            return _Problem(
                FindingCode.NO_ACCESS,
                f"project {gid}: the token cannot read it ({_status(exc)}): it does not "
                "exist, or it is private and the token's user is not a member (the {what})",
            )
        except ApiError as exc:
            _local(exc)
            return _Problem(
                FindingCode.UNKNOWN_PROJECT,
                f"project {gid}: Asana does not know it ({exc.detail}) (the {{what}})",
            )
        workspace = record.get("workspace")
        other = workspace.get("gid") if isinstance(workspace, dict) else None
        if other is not None and str(other) != self.workspace:
            return _Problem(
                FindingCode.UNKNOWN_PROJECT,
                f"project {gid} ('{record.get('name', '')}') is in workspace {other}, not "
                f"{self.in_workspace.removeprefix('in ')} (the {{what}})",
            )
        return gid

    def _section(self, section: _Section) -> None:
        project_gid = self._project_gid(section.project) if section.project is not None else None
        if section.project is not None and project_gid is None:
            return  # the project's problem is reported
        if section.name.isdigit():
            self._section_by_gid(section, project_gid)
            return
        if project_gid is None:
            self.add(
                section.where,
                FindingCode.UNKNOWN_SECTION,
                Severity.ERROR,
                f"section '{section.name}' is named without its project: write "
                "{ project: ..., name: ... } or its gid",
            )
            return
        assert section.project is not None
        try:
            found = self.lookups.section(project_gid, section.name)
        except (Forbidden, NotFound) as exc:
            self._no_section_access(section, f"the sections of project {section.project.spec}",
                                    exc)  # fmt: skip
            return
        if found is not None:
            return
        names = [str(s.get("name", "")) for s in self.lookups.sections(project_gid)]
        hint = did_you_mean(section.name, names)
        listed = ", ".join(names[:_HINTS_SHOWN]) + (", ..." if len(names) > _HINTS_SHOWN else "")
        self.add(
            section.where,
            FindingCode.UNKNOWN_SECTION,
            Severity.ERROR,
            f"no section called '{section.name}' in project {section.project.spec} (the "
            f"{section.what}){hint} (its sections: {listed or 'none'})",
        )

    def _section_by_gid(self, section: _Section, project_gid: str | None) -> None:
        try:
            owner = self.lookups.section_project(section.name)
        except (Forbidden, NotFound) as exc:
            self._no_section_access(section, f"section {section.name}", exc)
            return
        except ApiError as exc:
            _local(exc)
            self.add(
                section.where,
                FindingCode.UNKNOWN_SECTION,
                Severity.ERROR,
                f"section {section.name}: Asana does not know it ({exc.detail})",
            )
            return
        if project_gid is not None and owner is not None and owner != project_gid:
            assert section.project is not None
            self.add(
                section.where,
                FindingCode.UNKNOWN_SECTION,
                Severity.ERROR,
                f"section {section.name} is in project {owner}, not in project "
                f"{section.project.spec} (the {section.what})",
            )

    def _no_section_access(self, section: _Section, what: str, exc: ApiError) -> None:
        self.add(
            section.where,
            FindingCode.NO_ACCESS,
            Severity.ERROR,
            f"{what}: the token cannot read it ({_status(exc)}): it does not exist, or its "
            f"project is private and the token's user is not a member (the {section.what})",
        )

    # ------------------------------------------------------------------ tags
    def _tag(self, tag: _Tag, added: set[str], gids: dict[str, str]) -> None:
        """Whether the tag is in the workspace (its gid kept in `gids` by the name written)."""
        found = self.lookups.tag(self.workspace, tag.name)
        if found is not None:
            gids[tag.name] = str(found["gid"])
            return
        if tag.severity is Severity.WARNING and tag.name.casefold() in added:
            return  # a tag: action of this file creates it
        known = [str(t.get("name", "")) for t in self.lookups.tags(self.workspace)]
        hint = did_you_mean(tag.name, known)
        self.add(
            tag.where,
            FindingCode.UNKNOWN_TAG,
            tag.severity,
            f"no tag called '{tag.name}' {self.in_workspace}: {tag.why}{hint}",
        )

    # ------------------------------------------------------------------ custom fields
    def _field(self, ref: _Field, names: _Names) -> None:
        definition = self._definition(ref, names)
        if definition is None:
            return
        for where, value in ref.values:
            if definition.type in _ENUMS and isinstance(value, str):
                if definition.option(value) is None:
                    options = [o.name for o in definition.enum_options if o.enabled]
                    self.add(
                        where,
                        FindingCode.UNKNOWN_OPTION,
                        Severity.ERROR,
                        f"the custom field '{definition.name}' has no option '{value}'"
                        f"{did_you_mean(value, options)} (its options: "
                        f"{', '.join(options[:10]) or 'none'})",
                    )
            elif definition.type == "people" and ref.setting and isinstance(value, str):
                if value in _PERSON_WORDS or value in self.head.assistants:
                    continue
                self._person(where, value)

    def _definition(self, ref: _Field, names: _Names) -> CustomFieldDef | None:
        try:
            found = self._find_field(ref.key, ref.by_gid, self._workspace_fields())
            if found is None:
                found = self._find_field(ref.key, ref.by_gid, self._project_fields(names))
        except PaymentRequired:
            self.add(
                ref.where,
                FindingCode.PLAN_FEATURE,
                ref.severity,
                f"Asana answered 402 Payment Required to reading the custom fields "
                f"{self.in_workspace}: custom fields are a premium feature",
            )
            return None
        if found is not None:
            return found
        known = sorted({d.name for d in [*self._workspace_fields(), *self._project_fields(names)]})
        what = "gid" if ref.by_gid else "called"
        quoted = ref.key if ref.by_gid else f"'{ref.key}'"
        self.add(
            ref.where,
            FindingCode.UNKNOWN_FIELD,
            ref.severity,
            f"no custom field {what} {quoted} {self.in_workspace} nor in the projects this "
            f"file names{'' if ref.by_gid else did_you_mean(ref.key, known)}",
        )
        return None

    @staticmethod
    def _find_field(
        key: str, by_gid: bool, definitions: list[CustomFieldDef]
    ) -> CustomFieldDef | None:
        if by_gid:
            return next((d for d in definitions if d.gid == key), None)
        folded = key.strip().casefold()
        matches = [d for d in definitions if d.name.strip().casefold() == folded]
        matches.sort(key=lambda d: d.name != key)  # the exact case wins, as the service's
        return matches[0] if matches else None

    def _workspace_fields(self) -> list[CustomFieldDef]:
        """The workspace's custom fields, read once; a 402 is kept and raised again."""
        if self._fields_refused is not None:
            raise self._fields_refused
        if self._fields is None:
            try:
                self._fields = self.lookups.custom_fields(workspace_gid=self.workspace)
            except PaymentRequired as exc:
                self._fields_refused = exc
                raise
        return self._fields

    def _project_fields(self, names: _Names) -> list[CustomFieldDef]:
        """The fields of the projects the file names (a project's own fields are not in the
        workspace's list), read only when a field is not in the workspace's."""
        found: list[CustomFieldDef] = []
        for gid in dict.fromkeys(g for g in self._projects.values() if isinstance(g, str)):
            try:
                found.extend(self.lookups.custom_fields(project_gid=gid))
            except ApiError as exc:
                _local(exc)
        return found

    # ------------------------------------------------------------------ the plan
    def _plan(self, names: _Names, tag_gids: Mapping[str, str]) -> None:
        """What the file uses that the plan may lack: the search API, for tag sources."""
        sources = [(where, tag_gids[name]) for where, name in names.tag_sources if name in tag_gids]
        free = self.head.client.plan == "free"
        if sources:
            available = search_available(
                self.client.transport,
                self.workspace,
                sources[0][1],
                budget=self.client.search_budget,
            )
            if not available:
                free = True
                every = _duration(self.settings.reconcile_every.total_seconds())
                for where, _gid in sources:
                    self.add(
                        where,
                        FindingCode.PLAN_FEATURE,
                        Severity.WARNING,
                        "Asana's search API answered 402 Payment Required (premium only): "
                        f"this tag is read whole every {every} (asana.reconcile_every) instead "
                        "of at every poll, so its new tasks may wait that long",
                    )
                if self.head.client.plan == "paid":
                    self.add(
                        _Where.of(("client", "plan"), ("client",)),
                        FindingCode.PLAN_FEATURE,
                        Severity.WARNING,
                        "the workspace looks free (its search API answered 402) while "
                        "client.plan is paid: the service would spend up to 1,500 requests a "
                        "minute where Asana allows 150 (write plan: free)",
                    )
        if free:
            for where in names.settings:
                self.add(
                    where,
                    FindingCode.PLAN_FEATURE,
                    Severity.WARNING,
                    "custom fields are a premium feature: on a free workspace Asana may answer "
                    "402 Payment Required to setting one",
                )


def _local(exc: ApiError) -> None:
    """Re-raise what ends the whole check (a refused token, no answer); keep the rest local."""
    if isinstance(exc, Unauthorized | ServerError | RateLimited):
        raise exc


def _status(exc: ApiError) -> str:
    """``403 Forbidden``: the status and its phrase, without Asana's message."""
    return exc.detail.split(":", 1)[0]


def _duration(seconds: float) -> str:
    if seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


__all__ = [
    "PREFLIGHT_RETRY",
    "ClientToken",
    "asana_client",
    "check_online",
    "client_token",
]
