"""What the command-line tests share: the demo world standing in for Asana, with the example
clients' settings and token variables pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from delegator.sandbox import SandboxServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def examples_on_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    """The demo world on loopback; the settings (by environment) and the example files' token
    variables point at it, with a fresh SQLite store."""
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.setenv("DELEGATOR_RULES_DIR", str(EXAMPLES))
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", server.token("anna@northwind.example"))
        monkeypatch.setenv("ASANA_TOKEN_FISCHER", server.token("lena@fischer-consulting.example"))
        yield server
