"""`delegator run`: the long-running service, against Asana or the built-in sandbox."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from delegator.bootstrap import Fleet, open_store
from delegator.cli._common import Subparsers
from delegator.cli.service import settings_from
from delegator.logs import configure, get_logger
from delegator.sandboxed import EXAMPLE_RULES, sandboxed
from delegator.scheduler import Service
from delegator.settings import Settings, SettingsError


def register(subparsers: Subparsers) -> None:
    run = subparsers.add_parser(
        "run",
        help="run the service until stopped",
        description=(
            "Run the delegation service: each client's cycle at its poll interval; rule files "
            "added, changed or removed are picked up without a restart. SIGTERM or Ctrl-C "
            "finishes the running cycles and exits; a second signal exits at once."
        ),
    )
    run.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    run.add_argument("--rules", metavar="DIR", help="the client rule files (default rules/)")
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the built-in Asana sandbox with the demo world and the example rules",
    )
    run.set_defaults(handler=run_service)


def run_service(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except SettingsError as exc:
        print(f"delegator: {exc}", file=sys.stderr)
        return 2
    configure(settings.log_format, settings.log_level)
    log = get_logger()
    with _world(args) as (settings_in_use, environ):
        fleet = Fleet(settings_in_use, open_store(settings_in_use), environ=environ)
        service = Service(fleet, settings_in_use.rules_dir)
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                log.warning("second_signal_exit_now", signal=signum)
                raise SystemExit(1)
            log.info("stopping", signal=signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        service.start()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            service.stop(wait=True)
    return 0


@contextlib.contextmanager
def _world(args: argparse.Namespace) -> Iterator[tuple[Settings, dict[str, str]]]:
    settings = settings_from(args)
    if not args.sandbox:
        yield settings, dict(os.environ)
        return
    rules = Path(args.rules) if args.rules else EXAMPLE_RULES
    with sandboxed(rules, database_url=None) as env:
        get_logger().info("sandbox_started", base_url=env.sandbox.base_url, rules=str(rules))
        yield env.settings, dict(env.environ)
