"""Running the service against the built-in sandbox: the demo world and the example clients.

No Asana account is needed: the sandbox serves the demo world on loopback, and the example rule
files' token variables are pointed at the sandbox users who own those workspaces.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from delegator.sandbox import SandboxServer
from delegator.settings import Settings

EXAMPLE_RULES = Path("examples")
# The example clients' token variables, and whose sandbox token each one holds.
EXAMPLE_TOKENS = {
    "ASANA_TOKEN_NORTHWIND": "anna@northwind.example",
    "ASANA_TOKEN_FISCHER": "lena@fischer-consulting.example",
}


@dataclass(frozen=True)
class Sandboxed:
    sandbox: SandboxServer
    settings: Settings
    environ: Mapping[str, str]


@contextmanager
def sandboxed(
    rules_dir: Path = EXAMPLE_RULES,
    database_url: str | None = None,
    *,
    base: Settings | None = None,
    **settings: object,
) -> Iterator[Sandboxed]:
    """The demo world served on loopback, with settings and tokens pointing at it.

    ``base``: the settings loaded from the config file and environment (the endpoint's port, the
    grace period, the log format...), kept except where the sandbox must point elsewhere.
    """
    with SandboxServer.demo() as sandbox, tempfile.TemporaryDirectory(prefix="delegator-") as tmp:
        environ = dict(os.environ)
        environ.update({name: sandbox.token(user) for name, user in EXAMPLE_TOKENS.items()})
        url = database_url or f"sqlite:///{Path(tmp) / 'state.db'}"
        pointed = dataclasses.replace(
            base if base is not None else Settings(),
            rules_dir=rules_dir,
            database_url=url,
            asana_base_url=sandbox.base_url,
            **settings,  # type: ignore[arg-type]
        )
        yield Sandboxed(sandbox, pointed, environ)
