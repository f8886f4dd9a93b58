"""`delegator links`: the status page's per-person links, issued, listed and revoked.

A link opens the status page as one client (``/c/<token>``) or one assistant (``/a/<token>``)
and shows only their own data. Its token is signed with ``status.secret`` and printed once, by
``create``; the store keeps the link's record (who, when, until when, revoked) but never the
token, so ``list`` cannot show it and a dump of the database opens nothing. ``revoke`` refuses
a link from then on, wherever it was sent.

Exit codes: 0 done; 1 the store failed; 2 the command line or the settings are wrong (a client
or assistant the rule files do not know, a link id the store does not know, no
``status.secret``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from delegator.bootstrap import open_store
from delegator.cli._common import Subparsers, say
from delegator.cli.console import configure_one_off, dump_json, local
from delegator.cli.service import UsageError, select, settings_from, unknown_client
from delegator.clients import ClientEntry, load_clients
from delegator.core.suggest import did_you_mean
from delegator.core.timeexpr import parse_duration
from delegator.logs import get_logger
from delegator.ports import LinkKind, LinkRecord
from delegator.settings import Settings, SettingsError
from delegator.statuspage.access import LINK_PREFIX, Grant, Role, new_link_id, sign_link


def register(subparsers: Subparsers) -> None:
    links = subparsers.add_parser(
        "links",
        help="issue, list and revoke the status page's links for clients and assistants",
        description=(
            "Per-person links to the status page: a client's link shows that client only, an "
            "assistant's link that assistant's delegations only. Links are signed with "
            "status.secret, expire (status.link_ttl unless --expires) and can be revoked. The "
            "token is printed once, by create; list never shows it."
        ),
    )
    actions = links.add_subparsers(title="actions", metavar="ACTION")

    create = actions.add_parser(
        "create",
        help="issue a link and print its address",
        description=(
            "Issue a link for a client (--client), or for one of its assistants (--client and "
            "--assistant), or for an assistant across every client whose rule file names them "
            "(--assistant alone); print its address (status.public_url + /c/... or /a/...)."
        ),
    )
    _common(create)
    create.add_argument("--client", metavar="NAME", help="the client (file name or client name)")
    create.add_argument("--assistant", metavar="KEY", help="an assistant's key in the rule file")
    create.add_argument(
        "--expires",
        metavar="DURATION",
        help="how long the link lasts (default: status.link_ttl, 30d)",
    )
    create.add_argument("--note", default="", metavar="TEXT", help="who it was sent to, why")
    create.set_defaults(handler=run_create)

    listing = actions.add_parser(
        "list",
        help="the links issued, never their tokens",
        description="Every link issued, newest first: id, whose, issued, expires, revoked.",
    )
    _common(listing)
    listing.add_argument("--client", metavar="NAME", help="only this client's links")
    listing.set_defaults(handler=run_list)

    revoke = actions.add_parser(
        "revoke",
        help="refuse a link from now on",
        description="Revoke a link: the status page refuses it from now on.",
    )
    _common(revoke)
    revoke.add_argument("id", metavar="ID", help="the link's id, as `links list` shows it")
    revoke.set_defaults(handler=run_revoke)

    links.set_defaults(handler=lambda args: _no_action(links))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    parser.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _no_action(parser: argparse.ArgumentParser) -> int:
    parser.print_usage()
    say("links: give an action: create, list or revoke")
    return 2


# ----------------------------------------------------------------------------- create


def run_create(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        configure_one_off(settings.log_format, args)
        secret = _secret(settings)
        lasts = _lifetime(args.expires, settings)
        entries = load_clients(settings.rules_dir)
        client, assistant = _whose(args.client, args.assistant, entries, settings)
    except (SettingsError, UsageError) as exc:
        say(str(exc))
        return 2
    issued = datetime.now(UTC).replace(microsecond=0)
    kind: LinkKind = "assistant" if assistant is not None else "client"
    record = LinkRecord(
        id=new_link_id(),
        kind=kind,
        client=client,
        assistant=assistant,
        issued_at=issued,
        expires_at=issued + lasts,
        note=args.note,
    )
    role = Role(kind)
    token = sign_link(
        Grant(role, client, assistant, record.id, record.issued_at, record.expires_at), secret
    )
    store = open_store(settings)
    try:
        store.record_link(record)
    finally:
        store.close()
    get_logger().info(
        "status_link_issued",
        link=record.id,
        kind=kind,
        client=client,
        assistant=assistant,
        expires_at=record.expires_at.isoformat(),
    )
    path = f"{LINK_PREFIX[role]}{token}"
    url = f"{settings.status_public_url}{path}" if settings.status_public_url else None
    if args.json:
        dump_json(
            {"command": "links", "action": "create", "link": _json(record, issued), "path": path,
             "url": url}
        )  # fmt: skip
    else:
        print(
            f"link {record.id} for {_whose_text(record)}, expires {local(record.expires_at, None)}"
        )
        print(url or path)
    if url is None:
        say(
            "status.public_url is not set ($DELEGATOR_STATUS_PUBLIC_URL): the link is printed "
            "as a path; put the page's address (https://...) in front of it"
        )
    return 0


def _secret(settings: Settings) -> str:
    if settings.status_secret is None:
        raise SettingsError(
            "links need status.secret ($DELEGATOR_STATUS_SECRET or "
            "$DELEGATOR_STATUS_SECRET_FILE): the secret links are signed with, the same the "
            "status page checks them with (make one: openssl rand -base64 32)"
        )
    return settings.status_secret


def _lifetime(written: str | None, settings: Settings) -> timedelta:
    if written is None:
        return settings.status_link_ttl
    try:
        duration = parse_duration(written)
    except ValueError as exc:
        raise UsageError(f"--expires: {exc}") from None
    if duration.unit == "business_days":
        raise UsageError("--expires: use minutes, hours, days or weeks")
    lasts = duration.timedelta()
    if lasts < timedelta(minutes=1):
        raise UsageError("--expires: a link must last at least 1m")
    return lasts


def _whose(
    wanted_client: str | None,
    wanted_assistant: str | None,
    entries: list[ClientEntry],
    settings: Settings,
) -> tuple[str | None, str | None]:
    """The client's key and the assistant's key a link is for, as the rule files know them;
    UsageError (with the closest name) for one they do not."""
    if wanted_client is None and wanted_assistant is None:
        raise UsageError("links create: give --client, --assistant or both")
    client: ClientEntry | None = None
    if wanted_client is not None:
        chosen = select(entries, wanted_client)
        if not chosen:
            raise UsageError(unknown_client(wanted_client, entries, settings.rules_dir))
        if len(chosen) > 1:
            keys = ", ".join(e.key for e in chosen)
            raise UsageError(f"--client {wanted_client!r} names several clients: {keys}")
        client = chosen[0]
    if wanted_assistant is None:
        assert client is not None
        return client.key, None
    scope = [client] if client is not None else entries
    unusable = [e.key for e in scope if e.loaded.head is None]
    known = sorted({key for e in scope if e.loaded.head for key in e.loaded.head.assistants})
    if wanted_assistant not in known:
        where = f"the rule file of {client.key}" if client is not None else "any rule file"
        hint = did_you_mean(wanted_assistant, known)
        listed = ", ".join(known) or "none"
        broken = f"; cannot be read: {', '.join(unusable)}" if unusable else ""
        raise UsageError(
            f"no assistant {wanted_assistant!r} in {where}{hint} (assistants: {listed}{broken})"
        )
    return (client.key if client is not None else None), wanted_assistant


# ----------------------------------------------------------------------------- list


def run_list(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        configure_one_off(settings.log_format, args)
        client = None
        if args.client is not None:
            entries = load_clients(settings.rules_dir)
            chosen = select(entries, args.client)
            if len(chosen) != 1:
                raise UsageError(unknown_client(args.client, entries, settings.rules_dir))
            client = chosen[0].key
    except (SettingsError, UsageError) as exc:
        say(str(exc))
        return 2
    store = open_store(settings)
    try:
        links = store.links(client)
    finally:
        store.close()
    now = datetime.now(UTC)
    if args.json:
        dump_json(
            {"command": "links", "action": "list", "client": client,
             "links": [_json(link, now) for link in links]}
        )  # fmt: skip
        return 0
    if not links:
        print(f"no links{f' for {client}' if client else ''}")
        return 0
    _table(links, now)
    return 0


def _table(links: Sequence[LinkRecord], now: datetime) -> None:
    rows = [("id", "whose", "issued", "expires", "state", "note")]
    rows += [
        (
            link.id,
            _whose_text(link),
            local(link.issued_at, None),
            local(link.expires_at, None),
            _state(link, now),
            link.note,
        )
        for link in links
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())


# ----------------------------------------------------------------------------- revoke


def run_revoke(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
        configure_one_off(settings.log_format, args)
    except SettingsError as exc:
        say(str(exc))
        return 2
    now = datetime.now(UTC)
    store = open_store(settings)
    try:
        revoked = store.revoke_link(args.id, now)
        link = store.link(args.id)
        known = [x.id for x in store.links()] if link is None else []
    finally:
        store.close()
    if link is None:
        say(f"no link {args.id!r}{did_you_mean(args.id, known)}: `delegator links list` shows them")
        return 2
    if revoked:
        get_logger().info("status_link_revoked", link=link.id)
    if args.json:
        dump_json(
            {"command": "links", "action": "revoke", "link": _json(link, now), "revoked": revoked}
        )
        return 0
    assert link.revoked_at is not None
    when = local(link.revoked_at, None)
    if revoked:
        print(f"revoked link {link.id} for {_whose_text(link)}: refused from now on")
    else:
        print(f"link {link.id} for {_whose_text(link)} was revoked already, at {when}")
    return 0


# ----------------------------------------------------------------------------- shown


def _whose_text(link: LinkRecord) -> str:
    if link.assistant is None:
        return f"client {link.client}"
    if link.client is None:
        return f"assistant {link.assistant} (every client)"
    return f"assistant {link.assistant} at {link.client}"


def _state(link: LinkRecord, now: datetime) -> str:
    if link.revoked_at is not None:
        return f"revoked {local(link.revoked_at, None)}"
    return "expired" if now >= link.expires_at else "active"


def _json(link: LinkRecord, now: datetime) -> dict[str, Any]:
    """A link as data: never its token."""
    return {
        "id": link.id,
        "kind": link.kind,
        "client": link.client,
        "assistant": link.assistant,
        "issued_at": link.issued_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "state": "revoked" if link.revoked_at else _state(link, now),
        "note": link.note,
    }
