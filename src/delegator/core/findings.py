"""What `delegator check` finds beyond the file's errors: warnings from the rules' static
analysis (`core.analysis`) and problems seen in the live workspace (`delegator.preflight`).

A finding is located like a file error (``file:line:col: key.path``) and says what kind it is
(a stable code, for CI filters and ``--json``) and how serious: a warning leaves the exit code
at 0 unless ``check --strict``; an error fails the check.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Severity(enum.StrEnum):
    WARNING = "warning"
    ERROR = "error"


class FindingCode(enum.StrEnum):
    """The kinds of finding; the value is what ``--json`` and the printed line show."""

    # static analysis (offline, core.analysis)
    SHADOWED = "shadowed"  # an earlier rule without `continue` always takes this rule's tasks
    CONTRADICTION = "contradiction"  # the rule's conditions can never hold together
    OVERLAP = "overlap"  # two rules can take the same task, and first-match decides
    UNDOES = "undoes"  # actions that undo each other (tag then untag the same tag, ...)
    ALWAYS_TRUE = "always-true"  # a condition that holds for every task
    NOTHING_DELEGABLE = "nothing-delegable"  # under this matrix no task can be delegated
    # the live workspace (check --online, delegator.preflight)
    UNKNOWN_WORKSPACE = "unknown-workspace"
    UNKNOWN_PROJECT = "unknown-project"
    UNKNOWN_SECTION = "unknown-section"
    UNKNOWN_TAG = "unknown-tag"
    UNKNOWN_FIELD = "unknown-field"
    UNKNOWN_OPTION = "unknown-option"
    UNKNOWN_PERSON = "unknown-person"
    NO_ACCESS = "no-access"  # the token cannot read a watched source
    PLAN_FEATURE = "plan-feature"  # the file uses what the workspace's plan does not offer
    TOKEN_REFUSED = "token-refused"  # noqa: S105 - a code, not a secret: the token unusable
    UNREACHABLE = "unreachable"  # Asana did not answer (network, 5xx after retries)


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One finding, at the place in the file it is about."""

    file: str
    line: int
    column: int
    key_path: str
    code: FindingCode
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.key_path}: " if self.key_path else ""
        return (
            f"{self.file}:{self.line}:{self.column}: {self.severity}: {where}{self.message} "
            f"[{self.code}]"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key_path": self.key_path,
            "code": str(self.code),
            "severity": str(self.severity),
            "message": self.message,
        }
