"""What `delegator check` costs on large rule files: reading and validating them, then the static
analysis (core.analysis), for files of 1,000 and 10,000 rules.

The rules are alike in shape (a name fragment, a tag, the assignee and the quadrant, two
actions), so that the analysis's index has real work to do: every rule's name fragment shares
words with an eighth of the others. Prints seconds per step and rules a second; asserts nothing
about time.

    .venv/bin/python bench/check.py [--rules 1000 10000]
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any

import yaml

from delegator.core.analysis import analyse
from delegator.core.rulefile import parse_client_file
from delegator.core.yamlpos import load

HEAD = """\
version: 1
client:
  name: Acme
  workspace: "1100000000000001"
  token: {env: ASANA_TOKEN_ACME}
  timezone: Europe/Rome
  owner: anna@acme.example
watch: [my_tasks]
assistants:
  giulia: {user: giulia@va.example}
  marco: {user: marco@va.example}
"""
WORDS = ["invoice", "receipt", "booking", "hotel", "report", "meeting", "renewal", "call"]


def rule_file(count: int) -> str:
    rules: list[dict[str, Any]] = [
        {
            "name": f"Rule {i}",
            "when": {
                "all": [
                    {"name": {"contains": f"{WORDS[i % 8]}-{i:05d}"}},
                    {"tag": f"t{i % 50}"},
                    {"assignee": ["owner", "none"]},
                    {"quadrant": ["delegate", "eliminate"]},
                ]
            },
            "then": [{"assign": "giulia" if i % 2 else "marco"}, {"tag": "delegated"}],
        }
        for i in range(count)
    ]
    return HEAD + yaml.safe_dump({"rules": rules}, sort_keys=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, nargs="+", default=[1_000, 10_000])
    args = parser.parse_args()
    print("check of large rule files: validation, then the static analysis")
    for count in args.rules:
        text = rule_file(count)
        start = time.perf_counter()
        loaded = parse_client_file(text, "big.yaml")
        validated = time.perf_counter()
        found = analyse(loaded, load(text))
        analysed = time.perf_counter()
        assert len(loaded.rules) == count, [str(e) for e in loaded.errors[:3]]
        validate_s, analyse_s = validated - start, analysed - validated
        print(
            f"  {count:>6,} rules: validate {validate_s:6.2f} s ({count / validate_s:8,.0f} rules/s)"
            f"   analyse {analyse_s:6.2f} s ({count / analyse_s:8,.0f} rules/s)"
            f"   {len(found)} findings"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS: {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
