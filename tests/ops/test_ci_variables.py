"""Every DELEGATOR_* variable the project's CI and test tools set is one the settings know, so
no command run under CI warns about it (a warning on stderr changes what commands print)."""

from __future__ import annotations

import re
from pathlib import Path

from delegator.settings import known_variables

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bDELEGATOR_[A-Z][A-Z0-9_]*\b")


def test_the_variables_ci_and_the_test_tools_set_are_known() -> None:
    places = [ROOT / ".ci" / "run", ROOT / "Makefile", *sorted((ROOT / "tools").glob("*.py")),
              *sorted((ROOT / "tests" / "browser").glob("*.py"))]  # fmt: skip
    found = {name for place in places for name in NAME.findall(place.read_text("utf-8"))}
    assert "DELEGATOR_AXE_CORE" in found, "the places scanned no longer name the browser tools"
    unknown = sorted(n for n in found if n not in known_variables() and not n.endswith("_"))
    assert unknown == [], f"set by CI or the test tools but unknown to the settings: {unknown}"
