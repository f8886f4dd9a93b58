"""The status page's Starlette app: its routes, who may open each, and the templates.

Routes (all read-only but signing in and out):

- ``/``: the sign-in form (an operator already signed in goes to ``/ops``);
- ``POST /sign-in`` with the operator token, ``POST /sign-out``;
- ``/ops``: every client's health; ``/ops/clients/{key}``: one client's cycles;
  ``/ops/clients/{key}/tasks/{gid}``: a task's story; ``/ops/journal``: the journal and the
  overrides, filtered by client, task, rule and time (operators only);
- ``/c/{token}``: a client's page for this period; ``/c/{token}/tasks/{gid}``: a task's story;
- ``/a/{token}``: an assistant's open delegations across clients.

Nothing is public: each page needs an operator's session (a signed cookie, HttpOnly,
SameSite=Strict, Secure behind https) or a signed link whose scope covers it. Every answer says
``no-store`` and ``no-referrer`` (a link's token is in its path), and the pages carry a content
security policy that allows no script at all: they work without JavaScript. Every piece of text
a client wrote (rule names, task names, comments) goes through Jinja2's autoescape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from delegator.clients import ClientEntry
from delegator.core.timeexpr import parse_duration
from delegator.health import span
from delegator.logs import get_logger
from delegator.ports import CycleRecord
from delegator.statuspage import i18n
from delegator.statuspage.access import (
    AccessDenied,
    DenyReason,
    Grant,
    Role,
    operator_token_ok,
    path_for_logs,
    require_scope,
    sign_session,
    verify_link,
    verify_session,
)
from delegator.statuspage.charts import Bar, bar_chart
from delegator.statuspage.views import (
    JournalFilter,
    Site,
    assistant_view,
    client_cycles,
    client_summary,
    journal,
    local,
    overview,
    sent,
    task_story,
    this_week,
    weekly,
    zone_of,
)

SESSION_COOKIE = "delegator_session"
_HERE = Path(str(files("delegator.statuspage")))
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    """The app's handlers over one `Site`."""

    def __init__(self, site: Site, is_revoked: Callable[[str], bool]) -> None:
        self.site = site
        self.is_revoked = is_revoked
        self.templates = _environment()
        self.log = get_logger(component="status_page")

    # ------------------------------------------------------------------ rendering
    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        language = context.pop("lang", "en")
        root = str(request.scope.get("root_path", "")).rstrip("/") + "/"
        page = self.templates.get_template(template).render(
            root=root, lang=language, t=i18n.translator(language), **context
        )
        return HTMLResponse(page, status_code=status, headers=_HEADERS)

    def refused(self, request: Request, denied: AccessDenied) -> HTMLResponse:
        status = 403 if denied.reason is DenyReason.WRONG_SCOPE else 401
        if denied.reason is DenyReason.MISSING:
            status = 401
        self.log.info("status_page_refused", path=path_for_logs(request.url.path),
                      reason=denied.reason.value)  # fmt: skip
        return self.render(request, "error.html", status, title="Not allowed", message=str(denied))

    def missing(self, request: Request, what: str) -> HTMLResponse:
        return self.render(request, "error.html", 404, title="Not found", message=what)

    # ------------------------------------------------------------------ access
    @property
    def secret(self) -> str:
        secret = self.site.settings.status_secret
        assert secret, "the status page runs only with status.secret"
        return secret

    def operator(self, request: Request) -> Grant:
        return verify_session(request.cookies.get(SESSION_COOKIE), self.secret, self.site.clock())

    def link(self, request: Request) -> Grant:
        return verify_link(
            request.path_params.get("token"), self.secret, self.site.clock(), self.is_revoked
        )

    # ------------------------------------------------------------------ sign in and out
    async def home(self, request: Request) -> Response:
        try:
            self.operator(request)
        except AccessDenied:
            return self.render(request, "signin.html", title="Sign in", problem=None)
        return RedirectResponse(f"{_root(request)}ops", status_code=303, headers=_HEADERS)

    async def sign_in(self, request: Request) -> Response:
        given = await _form_field(request, "token")
        if given is None or not operator_token_ok(given, self.site.settings.status_operator_token):
            self.log.warning("status_page_sign_in_refused")
            return self.render(request, "signin.html", 401, title="Sign in",
                               problem="That is not the operator token.")  # fmt: skip
        now = self.site.clock()
        session = sign_session(now, self.site.settings.status_session, self.secret)
        answer = RedirectResponse(f"{_root(request)}ops", status_code=303, headers=_HEADERS)
        answer.set_cookie(
            SESSION_COOKIE, session, max_age=int(self.site.settings.status_session.total_seconds()),
            httponly=True, samesite="strict", secure=request.url.scheme == "https",
            path=_root(request),
        )  # fmt: skip
        self.log.info("status_page_signed_in")
        return answer

    async def sign_out(self, request: Request) -> Response:
        answer = RedirectResponse(_root(request), status_code=303, headers=_HEADERS)
        answer.delete_cookie(SESSION_COOKIE, path=_root(request))
        return answer

    # ------------------------------------------------------------------ operators
    async def ops(self, request: Request) -> Response:
        try:
            self.operator(request)
        except AccessDenied as denied:
            return self.refused(request, denied)
        found = overview(self.site)
        bars = [
            Bar(f"{a.name} ({c.health.state.name})", a.open_tasks, a.capacity)
            for c in found.clients
            for a in c.assistants
        ]
        return self.render(
            request, "ops.html", title="Clients", found=found, now=_utc(self.site.clock()),
            unhealthy=sum(c.health.status != "ok" for c in found.clients), when=_utc,
            load_chart=bar_chart(bars[:40], "Open tasks per assistant, against capacity"),
        )  # fmt: skip

    async def ops_client(self, request: Request) -> Response:
        try:
            self.operator(request)
        except AccessDenied as denied:
            return self.refused(request, denied)
        key = request.path_params["key"]
        entry = self.site.client(key)
        if entry is None:
            return self.missing(request, "No client has that name.")
        found = next((c for c in overview(self.site, entry).clients if c.health.key == key), None)
        if found is None:
            return self.missing(request, "No client has that name.")
        cycles = client_cycles(self.site, entry)
        return self.render(
            request, "ops_client.html", title=entry.name, name=entry.name, key=key,
            health=found.health, cycles=cycles.cycles, spent=cycles.requests_last_hour,
            when=_utc, took=_took,
        )  # fmt: skip

    async def ops_task(self, request: Request) -> Response:
        try:
            self.operator(request)
        except AccessDenied as denied:
            return self.refused(request, denied)
        entry = self.site.client(request.path_params["key"])
        if entry is None:
            return self.missing(request, "No client has that name.")
        return self._story(request, entry.key, request.path_params["gid"], operator=True)

    async def ops_journal(self, request: Request) -> Response:
        try:
            self.operator(request)
        except AccessDenied as denied:
            return self.refused(request, denied)
        query = request.query_params
        problem = None
        since_text = query.get("since") or "7d"
        try:
            since = self.site.clock() - parse_duration(since_text).timedelta()
        except ValueError as exc:
            problem, since = str(exc), self.site.clock() - timedelta(days=7)
        keys = [e.key for e in self.site.entries()]
        client = query.get("client") or None
        if client is not None and client not in keys:
            problem, client = "No client has that name.", None
        chosen = JournalFilter(client, query.get("task") or None, query.get("rule") or None, since)
        actions, overrides = journal(self.site, chosen)
        return self.render(
            request, "journal.html", title="Journal", clients=keys, chosen=chosen,
            since_text=since_text, actions=actions, overrides=overrides, problem=problem,
            when=_utc,
        )  # fmt: skip

    # ------------------------------------------------------------------ clients
    def _client_grant(self, request: Request) -> tuple[Grant, str]:
        grant = self.link(request)
        if grant.role is not Role.CLIENT or grant.client is None:
            raise AccessDenied(DenyReason.WRONG_SCOPE)
        return grant, grant.client

    async def client(self, request: Request) -> Response:
        try:
            _, key = self._client_grant(request)
        except AccessDenied as denied:
            return self.refused(request, denied)
        entry = self.site.client(key)
        if entry is None or entry.loaded.head is None:
            return self.missing(request, "This client's rules cannot be read now.")
        summary = client_summary(self.site, entry, this_week(self.site))
        language = _language(request, _client_language(entry))
        words = i18n.translator(language)
        chart = bar_chart([Bar(c.name, c.count) for c in summary.by_assistant],
                          words("by_assistant"))  # fmt: skip
        weeks = bar_chart([Bar(label, n) for label, n in weekly(self.site, entry)],
                          words("delegations_per_week"))  # fmt: skip
        zone = zone_of(entry)
        return self.render(
            request, "client.html", title=summary.client, s=summary, chart=chart, weeks=weeks,
            here=request.url.path.rstrip("/"), lang=language, sent=sent(self.site, entry),
            when=lambda moment: local(moment, zone),
        )  # fmt: skip

    async def client_task(self, request: Request) -> Response:
        try:
            _, key = self._client_grant(request)
        except AccessDenied as denied:
            return self.refused(request, denied)
        return self._story(request, key, request.path_params["gid"], operator=False)

    def _story(self, request: Request, key: str, gid: str, *, operator: bool) -> Response:
        entry = self.site.client(key)
        if entry is None:
            return self.missing(request, "This client's rules cannot be read now.")
        story = task_story(self.site, entry, gid)
        if not story.known:
            return self.missing(request, "The service has no record of this task.")
        zone = zone_of(entry)
        return self.render(
            request, "task.html", title=story.name or gid, story=story, operator=operator,
            when=lambda moment: local(moment, zone), shown=_shown,
            lang=_language(request, _client_language(entry)),
        )  # fmt: skip

    # ------------------------------------------------------------------ assistants
    async def assistant(self, request: Request) -> Response:
        try:
            grant = self.link(request)
            if grant.role is not Role.ASSISTANT or grant.assistant is None:
                raise AccessDenied(DenyReason.WRONG_SCOPE)
            if grant.client is not None:
                require_scope(grant, client=grant.client, assistant=grant.assistant)
        except AccessDenied as denied:
            return self.refused(request, denied)
        view = assistant_view(self.site, grant.assistant, grant.client)
        if view is None:
            return self.missing(request, "No client names this assistant now.")

        language = _language(request, _assistant_language(view.key, [e for e, _ in view.parts]))
        words = i18n.translator(language)

        def deadlines(inputs: Any, gid: str) -> str:
            zone = ZoneInfo(inputs.timezone)  # the assistant's own
            return ", ".join(
                f"{words('stage_' + d.stage)} {local(d.due, zone)}"
                for d in inputs.deadlines
                if d.gid == gid
            )

        return self.render(request, "assistant.html", title=view.name, view=view,
                           deadlines=deadlines, lang=language)  # fmt: skip


FORM_LIMIT = 4096  # bytes: the sign-in form is one field


async def _form_field(request: Request, name: str) -> str | None:
    """One field of a small urlencoded form (the standard library's parser: Starlette's own
    needs python-multipart, a dependency for one field); None when absent or too large."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            return None
    try:
        values = parse_qs(body.decode("utf-8"), max_num_fields=4, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    found = values.get(name)
    return found[0] if found else None


def _shown(value: Any) -> str:
    """A trace's value for people: a list joined, nothing shown as "none"."""
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/") + "/"


def _language(request: Request, default: str = "en") -> str:
    """The reader's language (``?lang``, else ``Accept-Language``), else ``default``."""
    return i18n.choose(
        request.query_params.get("lang"), request.headers.get("accept-language"), default
    )


def _client_language(entry: ClientEntry) -> str:
    """The language of the client's file (``client.language`` or its locale's), else en."""
    head = entry.loaded.head
    return head.client.voice.language.value if head is not None else "en"


def _assistant_language(key: str, entries: Sequence[ClientEntry]) -> str:
    """An assistant's own ``language``, else that of the first client naming them, else en."""
    for entry in entries:
        head = entry.loaded.head
        spec = head.assistants.get(key) if head is not None else None
        if head is not None and spec is not None:
            return spec.language or head.client.voice.language.value
    return "en"


def _utc(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M UTC")


def _took(cycle: CycleRecord) -> str:
    if cycle.finished_at is None:
        return "running"
    return span(cycle.finished_at - cycle.started_at)


def create_app(site: Site, is_revoked: Callable[[str], bool]) -> Starlette:
    """The status page over ``site``; ``is_revoked`` tells a withdrawn or unknown link."""
    pages = Pages(site, is_revoked)

    async def not_found(request: Request, exc: Exception) -> Response:
        return pages.missing(request, "There is no such page.")

    async def failed(request: Request, exc: Exception) -> Response:
        # Logged with its path made safe (a link's token replaced); the page says no more.
        pages.log.error("status_page_failed", path=path_for_logs(request.url.path),
                        error=f"{type(exc).__name__}: {exc}")  # fmt: skip
        return pages.render(request, "error.html", 500, title="Something went wrong",
                            message="This page could not be shown; the log says why.")  # fmt: skip

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        404: not_found,
        Exception: failed,
    }
    return Starlette(
        routes=[
            Route("/", pages.home),
            Route("/sign-in", pages.sign_in, methods=["POST"]),
            Route("/sign-out", pages.sign_out, methods=["POST"]),
            Route("/ops", pages.ops),
            Route("/ops/journal", pages.ops_journal),
            Route("/ops/clients/{key}", pages.ops_client),
            Route("/ops/clients/{key}/tasks/{gid}", pages.ops_task),
            Route("/c/{token}", pages.client),
            Route("/c/{token}/tasks/{gid}", pages.client_task),
            Route("/a/{token}", pages.assistant),
            Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        ],
        exception_handlers=handlers,
    )
