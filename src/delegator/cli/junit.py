"""Rule test results as JUnit XML, the report CI systems read (GitLab, Jenkins, GitHub actions
that annotate test results).

The shape is the one of the widely used ``junit-10.xsd`` (Surefire's, as Jenkins reads it): a
``<testsuites>`` root, one ``<testsuite>`` per rule test file, one ``<testcase>`` per case with
a ``<failure>`` when it failed, and a test file that could not be run (its own errors, or its
rule file's) as one failed case named after the file, counted under ``errors``. Written with the
standard library's ElementTree, which escapes every text and attribute.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """One case as the report shows it."""

    name: str
    line: int
    passed: bool
    seconds: float
    message: str = ""  # one line: what differs
    details: str = ""  # the full explanation, as printed on the terminal


@dataclass(slots=True)
class SuiteOutcome:
    """One rule test file: its cases, or the errors that kept it from running."""

    path: Path
    cases: list[CaseOutcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    deselected: int = 0
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return sum(1 for c in self.cases if not c.passed)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _classname(path: Path) -> str:
    """``examples/small-agency.test.yaml`` -> ``examples.small-agency``: how CI groups cases."""
    stem = path.name.removesuffix(".test.yaml").removesuffix(".test.yml")
    parts = [p for p in path.parent.parts if p not in ("", ".", "/")]
    return ".".join([*parts, stem])


def junit_xml(suites: Sequence[SuiteOutcome], *, started: datetime) -> bytes:
    """The report, UTF-8 encoded, with its XML declaration."""
    root = ET.Element("testsuites", name="delegator test")
    total = failures = errors = 0
    seconds = 0.0
    host = socket.gethostname()
    for suite in suites:
        cases = len(suite.cases) + (1 if suite.errors else 0)
        element = ET.SubElement(
            root,
            "testsuite",
            name=str(suite.path),
            tests=str(cases),
            failures=str(suite.failures),
            errors=str(1 if suite.errors else 0),
            skipped="0",  # deselected cases (-k) are left out, as test runners do
            time=_seconds(suite.seconds),
            timestamp=started.isoformat(),
            hostname=host,
            file=str(suite.path),
        )
        classname = _classname(suite.path)
        if suite.errors:
            case = ET.SubElement(
                element, "testcase", name=f"{suite.path.name} (file)", classname=classname, time="0"
            )
            failure = ET.SubElement(
                case, "failure", type="error", message=suite.errors[0].splitlines()[0]
            )
            failure.text = "\n".join(suite.errors)
        for outcome in suite.cases:
            case = ET.SubElement(
                element,
                "testcase",
                name=outcome.name,
                classname=classname,
                time=_seconds(outcome.seconds),
            )
            if not outcome.passed:
                failure = ET.SubElement(case, "failure", type="failure", message=outcome.message)
                failure.text = f"{suite.path}:{outcome.line}\n{outcome.details}"
        total += cases
        failures += suite.failures
        errors += 1 if suite.errors else 0
        seconds += suite.seconds
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    root.set("time", _seconds(seconds))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
