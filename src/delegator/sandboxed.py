"""Running the service against the built-in sandbox: any rule files, any world.

No Asana account is needed: the sandbox serves a world on loopback (the demo world, or the one
``--seed`` names), and each client file's token variable is pointed at the sandbox token of the
client's owner in that world:

- the owner the file names (``owner: anna@...`` or a gid), found among the world's people;
- ``owner: me``: the workspace's person whose fixture role is ``client``, else its first member
  who is not a guest.

A client whose workspace is not in the world, whose owner is not one of its people, or whose
token is read from a file (``token: {file: ...}``, which the sandbox cannot stand in for) is
reported with the reason and left to fail on its own; the others run.

The state store is a temporary SQLite database, new each run, as the world is: a journal kept
from an earlier run would remember tasks the new world has never seen. What the run uses is
said on stderr, never silently.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from delegator.clients import ClientEntry, load_clients
from delegator.sandbox import SandboxServer
from delegator.sandbox.records import User
from delegator.sandbox.world import World
from delegator.settings import Settings

EXAMPLE_RULES = Path("examples")


@dataclass(frozen=True, slots=True)
class TokenMapping:
    """Which sandbox person a client file's token variable stands for (or why none)."""

    client: str  # the client's key (its file name)
    variable: str | None
    user: str | None  # "Name <email>" of the sandbox person
    problem: str | None = None


@dataclass(frozen=True)
class Sandboxed:
    sandbox: SandboxServer
    settings: Settings
    environ: Mapping[str, str]
    mappings: tuple[TokenMapping, ...] = ()
    store: str = ""  # what the run uses as its state store, said to the person


def owner_in(world: World, workspace_gid: str, owner: str) -> User | None:
    """The sandbox person a client file's owner stands for in its workspace, if any."""
    try:
        workspace = world.workspace(workspace_gid)
    except KeyError:
        return None
    members = list(workspace.users)
    if owner != "me":
        folded = owner.casefold()
        return next((u for u in members if owner == u.gid or u.email.casefold() == folded), None)
    client = next((u for u in members if u.role == "client"), None)
    if client is not None:
        return client
    guests = {id(u) for u in workspace.guests}
    return next((u for u in members if id(u) not in guests), None)


def map_tokens(world: World, entries: list[ClientEntry]) -> list[TokenMapping]:
    """Each client's token variable and the sandbox person it is pointed at."""
    found: list[TokenMapping] = []
    for entry in entries:
        head = entry.loaded.head
        if head is None:
            continue  # its errors are reported by its cycle
        source = head.client.token
        if source.oauth is not None:
            found.append(
                TokenMapping(
                    entry.key,
                    None,
                    None,
                    "the token is an OAuth refresh token: the sandbox stands in for token "
                    "variables only (use token: {env: NAME} to try this file on the sandbox)",
                )
            )
            continue
        if source.env is None:
            found.append(
                TokenMapping(
                    entry.key,
                    None,
                    None,
                    "the token is read from a file: the sandbox stands in for variables only "
                    "(use token: {env: NAME} to try this file on the sandbox)",
                )
            )
            continue
        try:
            world.workspace(head.client.workspace)
        except KeyError:
            names = ", ".join(f"{w.name} ({w.gid})" for w in world.workspaces)
            found.append(
                TokenMapping(
                    entry.key,
                    source.env,
                    None,
                    f"workspace {head.client.workspace} is not in the sandbox world "
                    f"(its workspaces: {names})",
                )
            )
            continue
        user = owner_in(world, head.client.workspace, head.client.owner)
        if user is None or not user.tokens:
            found.append(
                TokenMapping(
                    entry.key,
                    source.env,
                    None,
                    f"the owner {head.client.owner} has no token in the sandbox world's "
                    f"workspace {head.client.workspace}",
                )
            )
            continue
        found.append(TokenMapping(entry.key, source.env, f"{user.name} <{user.email}>"))
    return found


@contextmanager
def sandboxed(
    rules_dir: Path = EXAMPLE_RULES,
    database_url: str | None = None,
    *,
    base: Settings | None = None,
    seed: Path | None = None,
    **settings: object,
) -> Iterator[Sandboxed]:
    """A world served on loopback (``seed``, else the demo world), with settings and tokens
    pointing at it for the client files in ``rules_dir``.

    ``base``: the settings loaded from the config file and environment (the endpoint's port, the
    grace period, the log format...), kept except where the sandbox must point elsewhere.
    ``database_url``: the store (default: a temporary SQLite database).
    """
    server = SandboxServer.from_fixture(seed) if seed is not None else SandboxServer.demo()
    with server as sandbox, tempfile.TemporaryDirectory(prefix="delegator-") as tmp:
        environ = dict(os.environ)
        mappings = map_tokens(sandbox.world, load_clients(rules_dir))
        for mapping in mappings:
            if mapping.variable is not None and mapping.user is not None:
                email = mapping.user.rsplit("<", 1)[1].rstrip(">")
                environ[mapping.variable] = sandbox.token(email)
        url = database_url or f"sqlite:///{Path(tmp) / 'state.db'}"
        store = (
            "the given database"
            if database_url
            else "a temporary SQLite database, new each run as the sandbox's world is"
        )
        pointed = dataclasses.replace(
            base if base is not None else Settings(),
            rules_dir=rules_dir,
            database_url=url,
            asana_base_url=sandbox.base_url,
            **settings,  # type: ignore[arg-type]
        )
        yield Sandboxed(sandbox, pointed, environ, tuple(mappings), store)
