"""``delegator sandbox``: run the Asana-compatible sandbox on its own until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import date
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TextIO

from delegator.sandbox import FixtureError, LoggedRequest, SandboxServer, world_path

if TYPE_CHECKING:  # only a type: the module imports nothing else of the command line
    from delegator.cli._common import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local Asana-compatible server (the demo world by default)",
        description=(
            "Runs a local server that answers like Asana's API, over a world seeded from a "
            "fixture. Point a client at the printed base URL and use one of the printed tokens."
        ),
    )
    parser.add_argument(
        "--seed",
        type=Path,
        metavar="FILE",
        help="fixture to seed the world from, YAML or JSON (default: the demo world)",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: loopback)"
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="the day the fixture's relative dates (today+2) count from (default: today)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not print each request")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        return serve(args, stop)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return serve(args, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(args: argparse.Namespace, stop: threading.Event, out: TextIO = sys.stdout) -> int:
    """Run the sandbox until ``stop`` is set; prints where it listens and who can log in."""
    seed: Path = args.seed or world_path()
    try:
        sandbox = SandboxServer.from_fixture(seed, today=args.today, host=args.host, port=args.port)
    except FixtureError as exc:
        print(f"delegator sandbox: {exc}", file=sys.stderr)
        return 2
    try:
        sandbox.start()
    except OSError as exc:
        print(
            f"delegator sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return 1
    try:
        print(f"Asana sandbox at {sandbox.base_url}", file=out)
        print(f"World: {seed}", file=out)
        print("Tokens:", file=out)
        for token, user in sandbox.world.tokens.items():
            workspaces = ", ".join(w.name for w in user.workspaces)
            role = f" ({user.role})" if user.role else ""
            print(f"  {token:<32} {user.name} <{user.email}>{role}, {workspaces}", file=out)
        print("Stop with Ctrl-C.", file=out, flush=True)
        if not args.quiet:
            sandbox.requests.subscribe(lambda entry: _print_request(entry, out))
        while not stop.is_set():  # no lock held here: the signal handler's stop.set() never waits
            time.sleep(0.2)
    finally:
        sandbox.stop()
    print("Sandbox stopped.", file=out, flush=True)
    return 0


def _print_request(entry: LoggedRequest, out: TextIO) -> None:
    if entry.in_batch:
        return
    query = "&".join(f"{key}={value}" for key, value in entry.query.items())
    who = entry.user_gid or "-"
    print(
        f"{entry.at:%H:%M:%S} {entry.status} {entry.method} {entry.path}"
        f"{'?' + query if query else ''} user={who}",
        file=out,
        flush=True,
    )
