"""The clients under ``rules/``: their files, compiled rules and tokens.

Each ``*.yaml`` (not ``*.test.yaml``) is one client, known by its file name without the suffix.
Each file is read, checked and reloaded on its own: a broken file, or any fault in reading or
checking it, disables that client with the reason as its error, and the others go on. On reload
a file that became invalid keeps its last valid version running.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from delegator.core.diagnostics import RuleError
from delegator.core.engine import Engine
from delegator.core.rulefile import ClientFile
from delegator.core.schema import TokenSource
from delegator.redact import register_secret
from delegator.rulesource import expand, fault_message, parse_client_file_error, read_client_file


class TokenError(Exception):
    """A client's token cannot be read; the message names where it was looked for."""


class UnsendableToken(TokenError):  # noqa: N818 - says what the token is, as TokenError does
    """The token has a character no HTTP header can carry."""


class ExchangedToken(TokenError):  # noqa: N818 - says what the token is, as TokenError does
    """The source is an OAuth refresh token: the access token comes from `token_provider`."""


class NoOAuthApp(TokenError):  # noqa: N818 - says what is missing
    """A client file names an OAuth refresh token, and the agency's app is not set up."""


def read_token(source: TokenSource, environ: Mapping[str, str]) -> str:
    """The token, registered with the log redactor before anything can log it.

    An OAuth source has no token to read (its access token is exchanged over the network):
    `ExchangedToken`. `check_token` checks any source without the network."""
    if source.oauth is not None:
        raise ExchangedToken(
            "the client's token is an OAuth refresh token: its access token comes from "
            "bootstrap.token_provider()"
        )
    return _read_secret(source.env, source.file, environ, "token")


def check_token(source: TokenSource, environ: Mapping[str, str]) -> None:
    """Raise `TokenError` (`UnsendableToken` for a bad character) when the client's token, or
    its OAuth refresh token, cannot be read; nothing is sent anywhere."""
    if source.oauth is None:
        read_token(source, environ)
    else:
        read_refresh_token(source, environ)


def token_id(source: TokenSource) -> str:
    """A stable, non-secret label of the client's token: its budget's key, the same whatever
    the token's value (rotated, or an OAuth access token renewed)."""
    if source.oauth is not None:
        where = source.oauth.refresh_token
        return f"oauth:{where.env}" if where.env is not None else f"oauth:file:{where.file}"
    return f"env:{source.env}" if source.env is not None else f"file:{source.file}"


def read_refresh_token(source: TokenSource, environ: Mapping[str, str]) -> str:
    """An OAuth source's refresh token, registered with the log redactor at once."""
    if source.oauth is None:
        raise TokenError("the client's token is not an OAuth refresh token")
    where = source.oauth.refresh_token
    return _read_secret(where.env, where.file, environ, "refresh token")


def refresh_token_label(source: TokenSource) -> str:
    """Where an OAuth source's refresh token is read from, in words (never the token)."""
    assert source.oauth is not None
    where = source.oauth.refresh_token
    return f"${where.env}" if where.env is not None else f"the file {where.file}"


def _read_secret(env: str | None, file: str | None, environ: Mapping[str, str], what: str) -> str:
    """A secret from a variable or a file, registered with the log redactor at once; errors
    say where it was looked for, never any of its content."""
    if env is not None:
        value = environ.get(env, "").strip()
        if not value:
            raise TokenError(f"the environment variable {env} is not set")
        register_secret(value)
        _sendable(value, f"${env}", what)
        return value
    assert file is not None
    try:
        value = Path(file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TokenError(f"the {what} file {file} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        # The decoder's message quotes bytes of the file: say what is wrong, show none of it.
        raise TokenError(f"the {what} file {file} is not UTF-8 text") from None
    if not value:
        raise TokenError(f"the {what} file {file} is empty")
    register_secret(value)
    _sendable(value, f"the file {file}", what)
    return value


def _sendable(token: str, where: str, what: str = "token") -> None:
    """An HTTP header carries Latin-1 only: a pasted typographic quote or a euro sign makes the
    token unusable. Said without showing the token: its position and the character's name."""
    for position, char in enumerate(token, start=1):
        if ord(char) > 0xFF or ord(char) < 0x20:
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise UnsendableToken(
                f"the Asana {what} in {where} has a character that cannot be sent in an HTTP "
                f"header (position {position}, {name}): copy the {what} again from Asana"
            )


@dataclass(frozen=True, slots=True)
class ClientEntry:
    """One client file as the service sees it."""

    key: str  # the file name without .yaml: the client's id in the store
    path: Path
    loaded: ClientFile
    engine: Engine | None  # None when the file cannot be used
    mtime: float = 0.0

    @property
    def name(self) -> str:
        head = self.loaded.head
        return head.client.name if head is not None else self.key

    @property
    def errors(self) -> tuple[RuleError, ...]:
        return self.loaded.errors


def client_key(path: Path) -> str:
    return path.name.removesuffix(".yaml").removesuffix(".yml")


def load_client(path: Path) -> ClientEntry:
    """One client; never raises: whatever goes wrong is the entry's error, the client is off."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0
    try:
        loaded = read_client_file(path)
        engine = Engine(loaded) if loaded.usable else None
    except Exception as exc:  # a fault in building the client: it is off, the others go on
        loaded, engine = parse_client_file_error(path, fault_message(exc)), None
    return ClientEntry(client_key(path), path, loaded, engine, mtime)


def disabled(entry: ClientEntry, exc: BaseException) -> ClientEntry:
    """The client switched off by a fault (scheduling it, say), with the fault as its error."""
    return ClientEntry(
        entry.key, entry.path, parse_client_file_error(entry.path, fault_message(exc)), None,
        entry.mtime,
    )  # fmt: skip


def load_clients(rules_dir: Path) -> list[ClientEntry]:
    """Every client file in the folder, valid or not, in name order."""
    return [load_client(path) for path in expand([rules_dir], tests=False)]


def reload_clients(
    rules_dir: Path, current: Mapping[str, ClientEntry]
) -> tuple[dict[str, ClientEntry], list[str]]:
    """Pick up added, changed and removed files; keep the last valid version of a broken one.

    Returns the new set and what changed, in words, for the log.
    """
    changes: list[str] = []
    fresh: dict[str, ClientEntry] = {}
    try:
        paths = expand([rules_dir], tests=False)
    except OSError as exc:  # the folder cannot be listed now: keep what runs, try again later
        return dict(current), [f"the rules folder cannot be read: {exc.strerror or exc}"]
    for path in paths:
        key = client_key(path)
        previous = current.get(key)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if previous is not None and previous.mtime == mtime:
            fresh[key] = previous
            continue
        entry = load_client(path)  # never raises
        if entry.engine is None and previous is not None and previous.engine is not None:
            problems = "; ".join(str(e) for e in entry.errors[:3])
            changes.append(
                f"{key}: the new version is invalid, the last valid one keeps running: {problems}"
            )
            fresh[key] = ClientEntry(key, path, previous.loaded, previous.engine, mtime)
            continue
        changes.append(f"{key}: {'changed' if previous else 'added'}")
        fresh[key] = entry
    changes.extend(f"{key}: removed" for key in current if key not in fresh)
    return fresh, changes
