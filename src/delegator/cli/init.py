"""``delegator init``: from an Asana workspace (or the sandbox) to a first client rule file.

It reads what the token sees (``asana.catalogue``), asks what it cannot decide when a person is
at the terminal (or takes flags and defaults with ``--no-input``), and writes the client's
starter rule file, its rule tests and, with ``--sandbox``, a sandbox world to try them on
(``delegator.starter`` builds the text). The token is read from the variable or file named and
never written anywhere: the rule file names the variable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from delegator.asana import catalogue
from delegator.asana.catalogue import Catalogue, Person, ProjectInfo, WorkspaceInfo
from delegator.asana.client import AsanaClient
from delegator.asana.errors import AsanaError, RetryPolicy, Unauthorized
from delegator.asana.http import Timeouts, Transport
from delegator.cli._common import Subparsers, read_settings
from delegator.clients import TokenError, read_token
from delegator.core.language import Language
from delegator.core.rulefile import parse_client_file
from delegator.core.ruletests import parse_test_file
from delegator.core.schema import TokenSource
from delegator.core.suggest import did_you_mean
from delegator.redact import redact_text, register_secret
from delegator.sandbox import FixtureError, SandboxServer, User, world_path
from delegator.settings import Settings, SettingsError
from delegator.starter import (
    Answers,
    LanguageDefault,
    TokenRef,
    client_key,
    default_language,
    rule_file,
    rule_tests,
    token_variable,
    world_file,
)

DEFAULT_TOKEN_ENV = "ASANA_TOKEN"  # noqa: S105 - a variable's name, not a token
DEFAULT_TIMEZONE = "Europe/Rome"
LANGUAGE_NAMES = {Language.IT: "Italian", Language.EN: "English"}
SHOWN = 50  # items listed in a question; the rest are named by flag

T = TypeVar("T")


class InitError(Exception):
    """What stops init: one line for the person, and the exit code (2: a flag or an answer is
    missing or wrong; 1: Asana or the files)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "init",
        help="write a first client rule file from an Asana workspace",
        description=(
            "Reads what an Asana token can see (workspaces, projects, sections, tags, custom "
            "fields, people), asks what it cannot decide, and writes a starter rule file and its "
            "rule tests for one client. The token is read from a variable or a file and never "
            "written: the rule file names the variable. With --sandbox it works on the built-in "
            "sandbox and also writes a sandbox world to try the rules on."
        ),
    )
    parser.add_argument(
        "--sandbox", action="store_true", help="read the built-in sandbox instead of Asana"
    )
    parser.add_argument(
        "--seed",
        type=Path,
        metavar="WORLD",
        help="with --sandbox: the world to start it from (default: the demo world)",
    )
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--token-env",
        metavar="VAR",
        help=f"the environment variable holding the Asana token (default {DEFAULT_TOKEN_ENV})",
    )
    token.add_argument("--token-file", type=Path, metavar="FILE", help="a file holding the token")
    parser.add_argument("--workspace", metavar="NAME|GID", help="the client's workspace")
    parser.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="NAME|GID",
        help="a project to watch besides the owner's My Tasks (repeat for more)",
    )
    parser.add_argument(
        "--owner", metavar="me|EMAIL", help="the client's Asana user (default: the token's user)"
    )
    parser.add_argument(
        "--assistant",
        action="append",
        default=[],
        metavar="EMAIL",
        help="an assistant, by email or gid (repeat for more; default: people from outside "
        "the owner's email domain)",
    )
    parser.add_argument("--client", metavar="NAME", help="the client's name (default: workspace)")
    parser.add_argument(
        "--timezone", metavar="ZONE", help=f"the client's time zone (default {DEFAULT_TIMEZONE})"
    )
    parser.add_argument(
        "--language",
        metavar="it|en",
        help="the language of the file's comments and rules (default: it for an Italian time "
        "zone or Italian section names, else en)",
    )
    parser.add_argument(
        "--rules", type=Path, default=Path("rules"), metavar="DIR", help="default rules/"
    )
    parser.add_argument(
        "--world",
        type=Path,
        metavar="FILE",
        help="with --sandbox: where the world goes (default CLIENT.world.yaml beside DIR)",
    )
    parser.add_argument(
        "--no-input", action="store_true", help="ask nothing: flags and defaults only"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")
    parser.add_argument("--config", metavar="FILE", help="settings file")
    parser.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> int:
    ask = Asker(interactive=not args.no_input and _tty())
    try:
        return _init(args, ask)
    except InitError as exc:
        print(f"delegator init: {redact_text(str(exc))}", file=sys.stderr)
        return exc.code
    except EOFError:
        print("delegator init: no answer (end of input)", file=sys.stderr)
        return 2


def _tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _init(args: argparse.Namespace, ask: Asker) -> int:
    if args.seed is not None and not args.sandbox:
        raise InitError("--seed is for --sandbox")
    if args.world is not None and not args.sandbox:
        raise InitError("--world is for --sandbox")
    if args.sandbox and (args.token_env or args.token_file):
        raise InitError("--sandbox uses the sandbox's own token: leave out --token-env/--file")
    if args.language is not None:
        args.language = _language_name(args.language, "--language")
    try:
        settings = read_settings(Path(args.config) if args.config else None, os.environ)
    except SettingsError as exc:
        raise InitError(str(exc)) from None
    with _connection(args, settings, ask) as (transport, label):
        try:
            found = _gather(args, ask, transport)
        except Unauthorized:
            raise InitError(f"Asana does not accept the token in {label} (401)", 1) from None
        except AsanaError as exc:
            raise InitError(f"cannot read Asana: {exc}", 1) from None
    return _write(args, *found)


# ---------------------------------------------------------------- the token and the connection


@contextlib.contextmanager
def _connection(
    args: argparse.Namespace, settings: Settings, ask: Asker
) -> Iterator[tuple[Transport, str]]:
    """The transport to read with, and where its token came from (for messages)."""
    if args.sandbox:
        with _sandbox(args, ask) as (base_url, token), _client(token, base_url, None) as client:
            yield client.transport, "the sandbox"
        return
    if args.token_file is not None:
        source, label = TokenSource(file=str(args.token_file)), str(args.token_file)
    else:
        variable = args.token_env or DEFAULT_TOKEN_ENV
        source, label = TokenSource(env=variable), f"${variable}"
    try:
        token = read_token(source, os.environ)
    except TokenError as exc:
        flag = "--token-file" if args.token_file is not None else "--token-env"
        raise InitError(f"{exc} (set it, or name another with {flag})") from None
    with _client(token, settings.asana_base_url, settings.asana_proxy) as client:
        yield client.transport, label


@contextlib.contextmanager
def _client(token: str, base_url: str, proxy: str | None) -> Iterator[AsanaClient]:
    client = AsanaClient(
        token,
        base_url=base_url,
        proxy=proxy,
        timeouts=Timeouts(total=30.0),
        retry=RetryPolicy(max_attempts=2, max_rate_limited=2, backoff_base=0.5),
    )
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def _sandbox(args: argparse.Namespace, ask: Asker) -> Iterator[tuple[str, str]]:
    """The sandbox on loopback, and the token of the person init logs in as."""
    seed: Path = args.seed or world_path()
    try:
        server = SandboxServer.from_fixture(seed)
    except FixtureError as exc:
        raise InitError(str(exc)) from None
    except OSError as exc:
        raise InitError(f"{seed}: cannot read the world: {exc.strerror or exc}") from None
    user = _sandbox_user(args, ask, server)
    token = user.tokens[0]
    register_secret(token)
    try:
        server.start()
    except OSError as exc:
        raise InitError(f"cannot start the sandbox on loopback: {exc}", 1) from None
    try:
        yield server.base_url, token
    finally:
        server.stop()


def _sandbox_user(args: argparse.Namespace, ask: Asker, server: SandboxServer) -> User:
    """Who init logs in as in the sandbox: --owner, else the one client of the workspace."""
    users = list({id(u): u for u in server.world.tokens.values()}.values())
    if args.owner and args.owner != "me":
        wanted = args.owner.strip().casefold()
        for user in users:
            if wanted in (user.email.casefold(), user.gid):
                return user
        hint = did_you_mean(args.owner, [u.email for u in users])
        raise InitError(f"--owner: no one in the sandbox world is {args.owner!r}{hint}")
    candidates = users
    if args.workspace:
        wanted = args.workspace.strip().casefold()
        candidates = [
            u for u in users if any(wanted in (w.gid, w.name.casefold()) for w in u.workspaces)
        ]
        if not candidates:
            names = sorted({w.name for u in users for w in u.workspaces})
            hint = did_you_mean(args.workspace, names)
            raise InitError(
                f"--workspace: no workspace {args.workspace!r} in the sandbox world{hint}"
            )
    clients = [u for u in candidates if u.role == "client"] or candidates
    if len(clients) == 1:
        return clients[0]
    if not clients:
        raise InitError("the sandbox world has no one to log in as (no user with a token)")
    return ask.one(
        "Who is the client (the owner) in the sandbox?",
        clients,
        lambda u: f"{u.name} <{u.email}> in {', '.join(w.name for w in u.workspaces)}",
        flag="--workspace NAME or --owner EMAIL",
    )


# ---------------------------------------------------------------- questions


class Asker:
    """Questions at the terminal, or, without one, the default or an `InitError` naming the
    flag that would have answered."""

    def __init__(self, *, interactive: bool) -> None:
        self.interactive = interactive

    def one(
        self,
        title: str,
        options: Sequence[T],
        show: Callable[[T], str],
        *,
        flag: str,
        default: T | None = None,
    ) -> T:
        if not self.interactive:
            if default is not None:
                return default
            names = "; ".join(show(o) for o in options[:5])
            raise InitError(f"{title.rstrip('?')}: pass {flag} (one of: {names})")
        self._list(title, options, show)
        hint = f" [{options.index(default) + 1}]" if default is not None else ""
        while True:
            answer = input(f"Number{hint}: ").strip()
            if not answer and default is not None:
                return default
            chosen = self._numbers(answer, len(options))
            if chosen is not None and len(chosen) == 1:
                return options[chosen[0]]
            print(f"  type one number from 1 to {min(len(options), SHOWN)}")

    def many(
        self,
        title: str,
        options: Sequence[T],
        show: Callable[[T], str],
        *,
        default: Sequence[T],
    ) -> list[T]:
        if not self.interactive or not options:
            return list(default)
        self._list(title, options, show)
        marked = ",".join(str(options.index(o) + 1) for o in default)
        while True:
            answer = input(f"Numbers separated by commas, '-' for none [{marked or '-'}]: ").strip()
            if not answer:
                return list(default)
            if answer == "-":
                return []
            chosen = self._numbers(answer, len(options))
            if chosen is not None:
                return [options[i] for i in dict.fromkeys(chosen)]
            print(f"  type numbers from 1 to {min(len(options), SHOWN)}, e.g. 1,3")

    def text(self, question: str, default: str) -> str:
        if not self.interactive:
            return default
        answer = input(f"{question} [{default}]: ").strip()
        return answer or default

    @staticmethod
    def _list(title: str, options: Sequence[T], show: Callable[[T], str]) -> None:
        print(title)
        for number, option in enumerate(options[:SHOWN], start=1):
            print(f"  {number:>2}. {show(option)}")
        if len(options) > SHOWN:
            print(f"  ... and {len(options) - SHOWN} more: name them with the flag")

    @staticmethod
    def _numbers(answer: str, count: int) -> list[int] | None:
        try:
            numbers = [int(part) for part in answer.replace(" ", ",").split(",") if part]
        except ValueError:
            return None
        if not numbers or any(not 1 <= n <= min(count, SHOWN) for n in numbers):
            return None
        return [n - 1 for n in numbers]


# ---------------------------------------------------------------- deciding


def _gather(
    args: argparse.Namespace, ask: Asker, transport: Transport
) -> tuple[Catalogue, Answers, str | None]:
    """What the token sees, the answers, and why the language is what it is when no flag or
    answer chose it."""
    workspaces = catalogue.token_workspaces(transport)
    workspace = _workspace(args, ask, workspaces.items)
    me = catalogue.me(transport)
    seen = catalogue.read_catalogue(transport, workspace, user=me)
    _say_truncated(seen)
    owner = _owner(args, ask, transport, seen)
    projects = _projects(args, ask, transport, seen)
    assistants = _assistants(args, ask, transport, seen, owner)
    name = (args.client or "").strip() or ask.text(
        "Client name", workspace.name.strip() or "Client"
    )
    key = client_key(name)
    zone = _timezone(args.timezone or ask.text("Time zone", DEFAULT_TIMEZONE))
    full, chosen = catalogue.with_sections(transport, seen, projects)
    language, why = _language(args, ask, default_language(zone, chosen))
    if args.sandbox:
        token = TokenRef(env=token_variable(key))
    elif args.token_file is not None:
        token = TokenRef(file=str(args.token_file.resolve()))
    else:
        token = TokenRef(env=args.token_env or token_variable(key))
    answers = Answers(
        client_name=name,
        client_key=key,
        token=token,
        timezone=zone,
        owner=owner,
        assistants=tuple(assistants),
        projects=chosen,
        today=datetime.now(ZoneInfo(zone)).date(),
        language=language,
    )
    return full, answers, why


def _say_truncated(seen: Catalogue) -> None:
    for what, listing in (
        ("projects", seen.projects),
        ("tags", seen.tags),
        ("custom fields", seen.fields),
        ("people", seen.people),
    ):
        if listing.truncated:
            print(
                f"note: the workspace has more than {len(listing)} {what}; the first "
                f"{len(listing)} are listed, the others can be named by flag",
                file=sys.stderr,
            )
    if seen.fields_unavailable:
        print(
            "note: the workspace's custom fields cannot be listed (a free workspace, or not "
            "for this user): the matrix uses tags only",
            file=sys.stderr,
        )


def _workspace(
    args: argparse.Namespace, ask: Asker, workspaces: Sequence[WorkspaceInfo]
) -> WorkspaceInfo:
    if not workspaces:
        raise InitError("the token's user belongs to no workspace", 1)
    if args.workspace:
        wanted = args.workspace.strip()
        for workspace in workspaces:
            if wanted == workspace.gid or wanted.casefold() == workspace.name.strip().casefold():
                return workspace
        hint = did_you_mean(wanted, [w.name for w in workspaces])
        names = ", ".join(w.name for w in workspaces[:10])
        raise InitError(f"--workspace: no workspace {wanted!r}{hint} (the token sees: {names})")
    if len(workspaces) == 1:
        return workspaces[0]
    return ask.one(
        "Which workspace is the client's?",
        workspaces,
        lambda w: f"{w.name} ({w.gid})",
        flag="--workspace",
    )


def _person(transport: Transport, seen: Catalogue, ref: str, flag: str) -> Person:
    wanted = ref.strip().casefold()
    for person in seen.people:
        if wanted in (person.gid, (person.email or "").casefold()):
            return person
    if seen.people.truncated:
        found = catalogue.find_person(transport, seen.workspace.gid, ref)
        if found is not None:
            return found
    hint = did_you_mean(ref, [p.email for p in seen.people if p.email])
    raise InitError(f"{flag}: no one in {seen.workspace.name!r} is {ref!r}{hint}")


def _show_person(person: Person) -> str:
    return f"{person.name} <{person.email}>" if person.email else f"{person.name} ({person.gid})"


def _owner(args: argparse.Namespace, ask: Asker, transport: Transport, seen: Catalogue) -> Person:
    if args.owner and args.owner.strip().casefold() != "me" and not args.sandbox:
        return _person(transport, seen, args.owner, "--owner")
    if args.owner or args.sandbox:
        return seen.me
    people: list[Person] = list(seen.people.items)
    me = next((p for p in people if p.gid == seen.me.gid), None)
    if me is None:
        me = seen.me
        people.insert(0, me)
    chosen: Person = ask.one(
        "Who is the client (the owner)?", people, _show_person, flag="--owner", default=me
    )
    return chosen


def _projects(
    args: argparse.Namespace, ask: Asker, transport: Transport, seen: Catalogue
) -> list[ProjectInfo]:
    if args.project:
        return [_project(transport, seen, ref) for ref in args.project]
    return ask.many(
        "Which projects should be watched, besides the owner's My Tasks?",
        list(seen.projects),
        lambda p: p.name,
        default=[],
    )


def _project(transport: Transport, seen: Catalogue, ref: str) -> ProjectInfo:
    wanted = ref.strip()
    by_gid = [p for p in seen.projects if p.gid == wanted]
    if by_gid:
        return by_gid[0]
    named = [p for p in seen.projects if p.name.strip().casefold() == wanted.casefold()]
    if not named and seen.projects.truncated:
        named = list(catalogue.find_project(transport, seen.workspace.gid, wanted))
    if len(named) == 1:
        return named[0]
    if named:
        gids = ", ".join(p.gid for p in named)
        raise InitError(f"--project: several projects are called {ref!r}: use a gid ({gids})")
    hint = did_you_mean(wanted, [p.name for p in seen.projects])
    raise InitError(f"--project: no project {ref!r} in {seen.workspace.name!r}{hint}")


def outsiders(seen: Catalogue, owner: Person) -> list[Person]:
    """People from outside the owner's organisation: the workspace's guests, and people whose
    email's domain is neither the owner's nor one of the workspace's own (an agency's)."""
    home = {d for d in (owner.domain, *seen.workspace.email_domains) if d}
    guests = seen.guests or frozenset()
    return [
        p
        for p in seen.people
        if p.gid != owner.gid
        and (p.gid in guests or (p.domain is not None and p.domain not in home))
    ]


def _assistants(
    args: argparse.Namespace, ask: Asker, transport: Transport, seen: Catalogue, owner: Person
) -> list[Person]:
    if args.assistant:
        chosen = [_person(transport, seen, ref, "--assistant") for ref in args.assistant]
        return list({p.gid: p for p in chosen if p.gid != owner.gid}.values())
    others = [p for p in seen.people if p.gid != owner.gid]
    return ask.many(
        "Who are the assistants tasks are delegated to?",
        others,
        _show_person,
        default=outsiders(seen, owner),
    )


def _timezone(name: str) -> str:
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        hint = did_you_mean(name, sorted(available_timezones()))
        raise InitError(f"--timezone: unknown time zone {name!r}{hint}") from None
    return name


def _language_name(text: str, where: str) -> Language:
    try:
        return Language(text.strip().casefold())
    except ValueError:
        raise InitError(
            f"{where}: the starter is written in it (Italian) or en (English), not {text!r}"
        ) from None


def _language(
    args: argparse.Namespace, ask: Asker, default: LanguageDefault
) -> tuple[Language, str | None]:
    """The flag's language, else the answer's, else the default and the reason for it."""
    if args.language is not None:
        chosen: Language = args.language
        return chosen, None
    shown = default.language.value
    while True:
        answer = ask.text("Language of the file (it/en)", shown)
        if answer == shown:
            name = LANGUAGE_NAMES[default.language]
            other = next(lang for lang in Language if lang is not default.language)
            return default.language, (
                f"Language: {shown} ({name}), since {default.reason()} "
                f"(--language {other.value} for {LANGUAGE_NAMES[other]})"
            )
        try:
            return _language_name(answer, "language"), None
        except InitError:
            print("  type it or en")


# ---------------------------------------------------------------- writing


def _write(
    args: argparse.Namespace, seen: Catalogue, answers: Answers, why: str | None = None
) -> int:
    rules_dir: Path = args.rules
    rules_path = rules_dir / f"{answers.client_key}.yaml"
    tests_path = rules_dir / f"{answers.client_key}.test.yaml"
    texts = {rules_path: rule_file(seen, answers), tests_path: rule_tests(seen, answers)}
    world: Path | None = None
    if args.sandbox:
        world = args.world or _beside(rules_dir) / f"{answers.client_key}.world.yaml"
        if world.resolve().parent == rules_dir.resolve():
            raise InitError(
                f"--world: {world} is in the rules folder, where it would be read as a client"
            )
        texts[world] = world_file(seen, answers)
    problems = [str(e) for e in parse_client_file(texts[rules_path], str(rules_path)).errors]
    problems += [str(e) for e in parse_test_file(texts[tests_path], str(tests_path))[1]]
    if problems:  # a fault in the starter: nothing half-right is written
        raise InitError(f"the starter file would not be valid: {problems[0]}", 1)
    existing = [path for path in texts if path.exists()]
    if existing and not args.force:
        names = ", ".join(str(p) for p in existing)
        raise InitError(f"{names} already exist{'s' if len(existing) == 1 else ''}: "
                        "pass --force to overwrite (nothing was written)", 1)  # fmt: skip
    for path, text in texts.items():
        try:
            _write_file(path, text)
        except OSError as exc:
            raise InitError(f"{path}: cannot write: {exc.strerror or exc}", 1) from None
    if why is not None:
        print(why)
    _next_steps(answers, rules_path, tests_path, world)
    return 0


def _beside(rules_dir: Path) -> Path:
    """The folder the rules folder is in (its real parent when it is ``.``)."""
    parent = rules_dir.parent
    return parent if parent.resolve() != rules_dir.resolve() else rules_dir.resolve().parent


def _write_file(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, so a file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temporary).chmod(0o666 & ~_umask())  # as any file the person creates
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _next_steps(answers: Answers, rules: Path, tests: Path, world: Path | None) -> None:
    folder = rules.parent
    print(f"Wrote {rules}: the client {answers.client_name!r}, 3 starter rules")
    print(f"Wrote {tests}: its rule tests")
    if world is not None:
        print(f"Wrote {world}: a sandbox world with sample tasks")
    print()
    print("Next:")
    if answers.token.env is not None and world is None:
        print(
            f"  export {answers.token.env}=...        # the client's Asana token (never in a file)"
        )
    print(f"  delegator check {folder}")
    print(f"  delegator test {folder}")
    if world is not None:
        print(f"  delegator once --sandbox --seed {world} --rules {folder}")
    else:
        print(f"  delegator check --online {folder}")
        print(f"  delegator plan --client {answers.client_key} --rules {folder}")
        print(f"  delegator once --client {answers.client_key} --rules {folder}")
