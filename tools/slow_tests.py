"""Write tests/slow-tests.txt from a pytest durations report: the tests `make test-fast` skips.

Run the whole suite with timings, then feed the report to this script::

    .venv/bin/pytest -p no:randomly --durations=0 -q > /tmp/durations.txt
    .venv/bin/python tools/slow_tests.py /tmp/durations.txt

A test whose setup, call and teardown together took at least ``--threshold`` seconds (0.3 by
default) is listed by file and function (its parameters folded together); tests/conftest.py
marks each listed test `slow`. The markers written by hand in the tests stay as they are.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "tests" / "slow-tests.txt"
_LINE = re.compile(r"^(?P<seconds>[\d.]+)s (?:call|setup|teardown)\s+(?P<node>\S+)")
HEADER = """\
# Tests that take 0.3 s or more on the development machine: `make test-fast` leaves them out,
# `make test` runs them. Written by tools/slow_tests.py from a durations report; one
# file::function per line (all its parameters). A missing or renamed test is only run by the
# fast loop too: regenerate the list now and then.
"""


def slow_tests(report: str, threshold: float) -> list[str]:
    """The tests of a durations report that took at least ``threshold`` seconds, sorted."""
    seconds: defaultdict[str, float] = defaultdict(float)
    for line in report.splitlines():
        found = _LINE.match(line)
        if found:
            seconds[found["node"].split("[", 1)[0]] += float(found["seconds"])
    return sorted(node for node, total in seconds.items() if total >= threshold)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the output of pytest --durations=0")
    parser.add_argument("--threshold", type=float, default=0.3, help="seconds (default 0.3)")
    args = parser.parse_args(argv)
    try:
        report = args.report.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"slow_tests: {args.report}: {exc.strerror}", file=sys.stderr)
        return 2
    nodes = slow_tests(report, args.threshold)
    if not nodes:
        print(f"slow_tests: {args.report} holds no durations (run pytest --durations=0)")
        return 1
    LIST.write_text(HEADER + "".join(f"{node}\n" for node in nodes), encoding="utf-8")
    print(f"{len(nodes)} slow tests written to {LIST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
