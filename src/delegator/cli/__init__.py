"""The `delegator` command: one argparse parser, one module per group of subcommands.

Each command module exposes ``register(subparsers)``, which adds its subcommands and sets
``handler`` (a function of the parsed arguments returning the exit code) on each of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from delegator import __version__
from delegator.cli import (
    config,
    demo,
    init,
    links,
    prune,
    rules,
    run,
    sandbox,
    service,
    status,
    suggest,
    summary,
    undo,
)
from delegator.cli._common import fail
from delegator.cli.console import add_output_flags, configure_one_off

Handler = Callable[[argparse.Namespace], int]

COMMAND_MODULES: tuple[ModuleType, ...] = (
    init,  # a newcomer's first command, listed first
    rules,
    suggest,
    service,
    undo,
    run,
    status,
    links,
    summary,
    demo,
    sandbox,
    config,
    prune,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="delegator",
        description=(
            "Delegates the urgent-but-not-important Asana tasks of a small business to its "
            "virtual assistants, following rules the client writes in YAML."
        ),
    )
    parser.add_argument("--version", action="version", version=f"delegator {__version__}")
    add_output_flags(parser)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    for command in subparsers.choices.values():
        add_output_flags(command, suppress=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code. Every error a command does not handle itself ends here:
    one line on stderr, never a traceback (see ``_common.fail``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    args.command_name = f"delegator {args.argv[0]}" if args.argv else "delegator"
    try:
        # Until a command reads its settings (and `run` logs as they say), whatever logs goes
        # to stderr, warnings and errors only: stdout holds the command's results.
        configure_one_off("auto", args)
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # the one place: a message and an exit code, never a traceback
        return fail(exc, args)
