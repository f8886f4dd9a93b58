"""`delegator demo`: the rules at work on the example client files, offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from delegator.cli import rules
from delegator.cli._common import Subparsers

EXAMPLES = Path("rules/examples")


def register(subparsers: Subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="show delegator at work on the example clients",
        description=(
            "Validate the example rule files, run their rule tests and explain the decision "
            "for two sample tasks: one delegated, one kept by the owner."
        ),
    )
    demo.add_argument(
        "--examples", default=str(EXAMPLES), metavar="DIR", help="the example rules folder"
    )
    demo.set_defaults(handler=run_demo)


def _banner(text: str) -> None:
    print()
    print(f"== {text} ".ljust(78, "="))


def run_demo(args: argparse.Namespace) -> int:
    examples = Path(args.examples)
    _banner("delegator check: the example client files")
    status = rules.run_check(argparse.Namespace(paths=[str(examples)]))
    _banner("delegator test: the clients' rule tests")
    status |= rules.run_test(argparse.Namespace(paths=[str(examples)]))
    for sample in ("invoice", "strategy"):
        _banner(f"delegator explain: {sample}.json against small-agency.yaml")
        status |= rules.run_explain(
            argparse.Namespace(
                rules=str(examples / "small-agency.yaml"),
                task=str(examples / "tasks" / f"{sample}.json"),
                now="2026-11-27T10:00:00+01:00",
                owner=None,
                json=False,
            )
        )
    return status
