"""`AsanaClient`: the Asana API as the worker uses it, for one token.

It puts together the transport (auth, timeouts, retries), the token's shared budget, reads,
writes, batches and per-cycle look-ups. It is thread-safe; several clients with the same token
share one budget. See docs/asana-client.md for costs and policies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any

import requests

from delegator.asana import answers, batch, pagination, reads, writes
from delegator.asana.activity import ActivityRead, read_activity
from delegator.asana.batch import ActionResult
from delegator.asana.budget import (
    PAID,
    SEARCH_REQUESTS_PER_MINUTE,
    Budget,
    BudgetRegistry,
    Limits,
)
from delegator.asana.errors import RetryPolicy
from delegator.asana.http import (
    DEFAULT_BASE_URL,
    DEFAULT_POLICY,
    DEFAULT_TIMEOUTS,
    Fields,
    Observer,
    Record,
    Timeouts,
    TokenProvider,
    Transport,
    segment,
)
from delegator.asana.lookups import Lookups, UserCache
from delegator.asana.sources import (
    Source,
    SourceKind,
    SourceRead,
    SyncPosition,
)
from delegator.asana.writes import Action, CustomFieldValue
from delegator.clock import Clock, Sleep, SystemClock
from delegator.redact import register_secret

_ME_FIELDS = ("name", "email")
#: What `webhooks` asks of each webhook (gid comes anyway).
WEBHOOK_FIELDS = ("resource", "target", "active")


class AsanaClient:
    """The Asana API for one token.

    `token` is the token, or a provider of the current one (a callable, e.g. reading a secret
    file), read again after a 401 and on `reload()`. `limits` are those of the workspace's plan
    (`Limits.for_plan("free" | "paid")`); `token_id` is a stable, non-secret label of the token
    (its file or variable name) and `workspace_gid` the workspace the client works in: together
    they key the shared budget, and the workspace is where tag sources are searched.
    `clock` (and `sleep`, the clock's unless given) are injectable so tests take no real time;
    `budgets` is the registry the token's budget comes from: clients given the same registry
    (the fleet's) share a token's budget, and a client given none has its own; `observer` hears
    of every HTTP attempt (the service's metrics); `write_guard` is called before every attempt
    of a write and raises to stop it (a replica whose lease of the client is running out);
    `proxy` is the URL of an http(s) proxy for every request (None: direct; the environment's
    proxy variables are not read), a secret never shown in logs, errors or reprs.
    """

    def __init__(
        self,
        token: str | TokenProvider,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retry: RetryPolicy = DEFAULT_POLICY,
        limits: Limits = PAID,
        reconcile_every: timedelta | None = timedelta(hours=1),
        sync_overlap: timedelta = timedelta(seconds=5),
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        budgets: BudgetRegistry | None = None,
        session: requests.Session | None = None,
        observer: Observer | None = None,
        token_id: str | None = None,
        workspace_gid: str | None = None,
        search_overlap: timedelta = timedelta(seconds=60),
        user_cache_ttl: timedelta = timedelta(hours=1),
        write_guard: Callable[[], None] | None = None,
        proxy: str | None = None,
    ) -> None:
        clock = clock if clock is not None else SystemClock()
        sleep = sleep if sleep is not None else clock.sleep
        budgets = budgets if budgets is not None else BudgetRegistry()
        self.reconcile_every = reconcile_every
        self.sync_overlap = sync_overlap
        self.search_overlap = search_overlap
        self.workspace_gid = workspace_gid
        provider: TokenProvider = _constant(token) if isinstance(token, str) else token
        first = provider()
        if not isinstance(first, str) or not first.strip():
            raise ValueError("an Asana token is required")
        # The identity is fixed at creation: a rotated secret keeps its budget.
        identity_token = None if token_id else first.strip()
        budget = budgets.budget_for(
            identity_token,
            limits,
            clock=clock,
            sleep=sleep,
            token_id=token_id,
            workspace=workspace_gid,
        )
        self.search_budget = budgets.budget_for(
            identity_token,
            Limits(requests_per_minute=SEARCH_REQUESTS_PER_MINUTE),
            clock=clock,
            sleep=sleep,
            token_id=token_id,
            workspace=workspace_gid,
            kind="search",
        )
        self.transport = Transport(
            _first_then(first, provider),
            budget=budget,
            clock=clock,
            sleep=sleep,
            base_url=base_url,
            timeouts=timeouts,
            policy=retry,
            session=session,
            observer=observer,
            write_guard=write_guard,
            proxy=proxy,
        )
        self._lock = threading.Lock()
        self._me: Record | None = None
        self._user_task_lists: dict[tuple[str, str], str] = {}
        self.users = UserCache(self.transport, ttl=user_cache_ttl.total_seconds())
        # Workspaces whose search API answered 402 (free): tag sources there are read whole.
        self._no_search: set[str] = set()

    def __repr__(self) -> str:
        return f"AsanaClient(base_url={self.transport.base_url!r}, budget={self.budget.key!r})"

    def __enter__(self) -> AsanaClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def reload(self) -> bool:
        """Read the token from its provider again (after a rotation); True if it changed.
        A 401 does this by itself and retries once."""
        return self.transport.reload()

    @property
    def budget(self) -> Budget:
        return self.transport.budget

    @property
    def requests_sent(self) -> int:
        """HTTP requests this client sent, retries and checks included."""
        return self.transport.requests_sent

    # ------------------------------------------------------------ who the token is
    def me(self) -> Record:
        """The token's user (``GET /users/me``), asked once per client."""
        with self._lock:
            if self._me is None:
                response = self.transport.request(
                    "GET",
                    "/users/me",
                    params={"opt_fields": ",".join(_ME_FIELDS)},
                    shape=answers.record,
                )
                self._me = dict(response.parsed)
            return self._me

    def me_gid(self) -> str:
        return str(self.me()["gid"])

    def lookups(self) -> Lookups:
        """A fresh per-cycle cache of names (tags, projects, sections, custom fields); people
        are looked up one by one in the client's longer-lived `users` cache."""
        return Lookups(self.transport, me=self.me, me_gid=self.me_gid, users=self.users)

    # ------------------------------------------------------------ reads
    def read_source(
        self, position: SyncPosition, fields: Fields, *, full: bool = False
    ) -> SourceRead:
        """This cycle's read of a source: what changed since `position`, or all of it when due.

        A whole read happens the first time, every `reconcile_every`, or when `full`. Store the
        returned position; an idle incremental read costs one request (a tag source on a free
        workspace: none, see `reads.read_source`).
        """
        read = reads.read_source(
            self.transport,
            position,
            fields,
            user_task_lists=self._user_task_list_gid,
            reconcile_every=self.reconcile_every,
            overlap=self.sync_overlap,
            force_full=full,
            search=self._search_state(position),
            search_overlap=self.search_overlap,
            search_budget=self.search_budget,
        )
        workspace = self._search_workspace(position)
        if workspace is not None and read.position.search is False:
            with self._lock:
                self._no_search.add(workspace)
        return read

    def _search_workspace(self, position: SyncPosition) -> str | None:
        return position.source.workspace_gid or self.workspace_gid

    def _search_state(self, position: SyncPosition) -> reads.SearchState | None:
        """Where and whether a tag source can be searched (None: not a tag, or no workspace)."""
        workspace = self._search_workspace(position)
        if position.source.kind is not SourceKind.TAG or workspace is None:
            return None
        with self._lock:
            known_free = workspace in self._no_search
        return reads.SearchState(workspace, False if known_free else position.search)

    def changed_tasks(self, source: Source, since: datetime, fields: Fields) -> Iterator[Record]:
        """Tasks of `source` modified at or after `since`, lazily."""
        return reads.iterate(self.transport, reads.changes_listing(source, since), fields)

    def tasks(
        self, source: Source, fields: Fields, *, include_completed: bool = False
    ) -> Iterator[Record]:
        """Every (incomplete, unless asked) task of `source`, lazily."""
        listing = reads.whole_listing(
            source, user_task_lists=self._user_task_list_gid, include_completed=include_completed
        )
        return reads.iterate(self.transport, listing, fields)

    def get_task(self, task_gid: str, fields: Fields) -> Record:
        return dict(self.perform(writes.get_task(task_gid, fields)))

    def stories(self, task_gid: str, fields: Fields) -> Iterator[Record]:
        return pagination.items(self.transport, f"/tasks/{segment(task_gid)}/stories", None, fields)

    def activity(self, task_gid: str) -> ActivityRead:
        """A task's stories (the oldest 300 at most), likes and subtasks: one ``POST /batch``
        of three GETs when it has at most 100 stories and 100 subtasks (see activity.py)."""
        return read_activity(self.transport, task_gid)

    def status_updates(
        self, parent_gid: str, fields: Fields, *, created_since: datetime | None = None
    ) -> Iterator[Record]:
        params = {
            "parent": parent_gid,
            "created_since": None if created_since is None else reads.asana_time(created_since),
        }
        return pagination.items(self.transport, "/status_updates", params, fields)

    def _user_task_list_gid(self, user_gid: str, workspace_gid: str) -> str:
        key = (user_gid, workspace_gid)
        with self._lock:
            cached = self._user_task_lists.get(key)
        if cached is None:
            cached = reads.user_task_list_gid(self.transport, user_gid, workspace_gid)
            with self._lock:
                self._user_task_lists[key] = cached
        return cached

    # ------------------------------------------------------------ writes
    def perform(self, action: Action) -> Any:
        """Send one action on its own; returns Asana's ``data``: a record with a gid, or ``{}`` for
        addTag and the like (anything else is an `UnexpectedAnswer`)."""
        return writes.send(self.transport, action, me=self.me_gid).data

    def batch(self, actions: Sequence[Action]) -> list[ActionResult]:
        """Send actions through ``POST /batch``, 10 at a time; one result per action, in order."""
        return batch.run(self.transport, actions, me=self.me_gid)

    def assign(self, task_gid: str, assignee: str | None) -> Record:
        return dict(self.perform(writes.assign(task_gid, assignee)))

    def update_task(self, task_gid: str, changes: Mapping[str, Any]) -> Record:
        return dict(self.perform(writes.update_task(task_gid, changes)))

    def set_due_on(self, task_gid: str, due_on: date | None) -> Record:
        return dict(self.perform(writes.set_due_on(task_gid, due_on)))

    def set_custom_fields(self, task_gid: str, values: Mapping[str, CustomFieldValue]) -> Record:
        return dict(self.perform(writes.set_custom_fields(task_gid, values)))

    def add_tag(self, task_gid: str, tag_gid: str) -> None:
        self.perform(writes.add_tag(task_gid, tag_gid))

    def remove_tag(self, task_gid: str, tag_gid: str) -> None:
        self.perform(writes.remove_tag(task_gid, tag_gid))

    def add_followers(self, task_gid: str, followers: Sequence[str]) -> Record:
        return dict(self.perform(writes.add_followers(task_gid, followers)))

    def remove_followers(self, task_gid: str, followers: Sequence[str]) -> Record:
        return dict(self.perform(writes.remove_followers(task_gid, followers)))

    def move_to_section(
        self,
        task_gid: str,
        section_gid: str,
        *,
        insert_before: str | None = None,
        insert_after: str | None = None,
    ) -> None:
        self.perform(
            writes.move_to_section(
                task_gid, section_gid, insert_before=insert_before, insert_after=insert_after
            )
        )

    def add_project(
        self, task_gid: str, project_gid: str, *, section_gid: str | None = None
    ) -> None:
        self.perform(writes.add_project(task_gid, project_gid, section_gid=section_gid))

    def remove_project(self, task_gid: str, project_gid: str) -> None:
        self.perform(writes.remove_project(task_gid, project_gid))

    def delete_story(self, story_gid: str) -> None:
        """``DELETE /stories/{gid}``: only its author may delete a story (403 otherwise); one
        already gone is a 404, raised as `NotFound`."""
        self.transport.request("DELETE", f"/stories/{segment(story_gid)}", shape=answers.empty)

    def comment(
        self, task_gid: str, text: str, *, pinned: bool = False, html_text: str | None = None
    ) -> str:
        """Post a comment (rich text when `html_text` is given, instead of `text`); returns the
        story's gid. Never posted twice (see writes.py)."""
        action = writes.comment(task_gid, text, pinned=pinned, html_text=html_text)
        return str(self.perform(action)["gid"])

    def create_tag(self, workspace_gid: str, name: str, *, color: str | None = None) -> Record:
        return dict(self.perform(writes.create_tag(workspace_gid, name, color=color)))

    def create_task(
        self,
        name: str,
        *,
        workspace_gid: str | None = None,
        projects: Sequence[str] = (),
        assignee: str | None = None,
        notes: str | None = None,
        due_on: date | None = None,
        tags: Sequence[str] = (),
        followers: Sequence[str] = (),
        custom_fields: Mapping[str, CustomFieldValue] | None = None,
        html_notes: str | None = None,
    ) -> Record:
        """``POST /tasks``; returns ``{"gid", "name", "permalink_url"}``. Never created twice
        when it has a project, or an assignee and a workspace (see `writes.create_task`)."""
        action = writes.create_task(
            name,
            workspace_gid=workspace_gid,
            projects=projects,
            assignee=assignee,
            notes=notes,
            due_on=due_on,
            tags=tags,
            followers=followers,
            custom_fields=custom_fields,
            html_notes=html_notes,
        )
        return dict(self.perform(action))

    def post_status_update(
        self,
        parent_gid: str,
        text: str,
        status_type: str,
        *,
        title: str | None = None,
        html_text: str | None = None,
        parent_type: writes.ParentType | None = None,
    ) -> str:
        """A status update on a project, portfolio or goal; returns its gid. Never posted twice.

        `text` (plain) is always sent, as Asana requires it; `html_text` (rich text) goes with it
        when given. With `parent_type` a status type the parent cannot take is refused before
        anything is sent (see `writes.status_update`)."""
        action = writes.status_update(
            parent_gid,
            text,
            status_type,
            title=title,
            html_text=html_text,
            parent_type=parent_type,
        )
        return str(self.perform(action)["gid"])

    # ------------------------------------------------------------ webhooks
    def create_webhook(
        self, resource: str, target: str, filters: Sequence[Mapping[str, Any]] = ()
    ) -> answers.CreatedWebhook:
        """``POST /webhooks``: Asana handshakes with `target` before it answers 201. The result
        holds the webhook and the ``X-Hook-Secret`` of the 201 body (None if it has none), which
        is registered with the log redactor. Never sent twice: an ambiguous failure is raised
        (the webhook may exist; `webhooks` lists it)."""
        response = self.transport.request(
            "POST",
            "/webhooks",
            body={
                "data": {
                    "resource": resource,
                    "target": target,
                    "filters": [dict(item) for item in filters],
                }
            },
            shape=answers.webhook_created,
        )
        created: answers.CreatedWebhook = response.parsed
        register_secret(created.secret)
        return created

    def delete_webhook(self, webhook_gid: str) -> None:
        """``DELETE /webhooks/{gid}``; a 404 (already gone) is raised as `NotFound`."""
        self.transport.request("DELETE", f"/webhooks/{segment(webhook_gid)}", shape=answers.empty)

    def webhooks(
        self, workspace_gid: str | None = None, *, resource: str | None = None
    ) -> Iterator[Record]:
        """The token's webhooks in a workspace (the client's, unless given), lazily, each with
        its gid, ``resource`` (an object with a gid), ``target`` and ``active``."""
        workspace = workspace_gid or self.workspace_gid
        if not workspace:
            raise ValueError("webhooks are listed per workspace: give its gid")
        return pagination.items(
            self.transport,
            "/webhooks",
            {"workspace": workspace, "resource": resource},
            WEBHOOK_FIELDS,
            shape=answers.webhook_page,
        )


def _constant(token: str) -> TokenProvider:
    def provider() -> str:
        return token

    return provider


def _first_then(first: str, provider: TokenProvider) -> TokenProvider:
    """The value already read, then the provider: the secret is read once at creation."""
    pending = [first]

    def read() -> str:
        return pending.pop() if pending else provider()

    return read
