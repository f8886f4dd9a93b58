"""Fetch axe-core, the accessibility checker the browser tests inject into pages (tests/browser/).

One pinned release from the npm registry through npm itself (``npm pack``: no install, no
scripts run), its tarball checked against the integrity recorded here, then only ``axe.min.js``
kept, outside the repository::

    python3 tools/axe_core.py            # fetch unless already there, print the file's path
    python3 tools/axe_core.py --path     # only print where the file is (or would be)

The file goes to ``$DELEGATOR_AXE_CORE`` when set, else to
``$XDG_CACHE_HOME/delegator/axe-core-<version>/axe.min.js`` (``~/.cache`` without it); the
tests look in the same place (tests/browser/browserkit.py reads the path from here). A file
already there is kept when its SHA-256 is the recorded one, fetched again otherwise.

A new axe-core: change the version and both checksums below together (``npm view
axe-core@X dist.integrity``; the SHA-256 of the tarball's package/axe.min.js).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "4.14.1"
# npm's integrity of the release's tarball (sha512, base64), as the registry gave it.
TARBALL_INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
# The SHA-256 of that tarball's package/axe.min.js: what the tests check before injecting it.
SCRIPT_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
PATH_VARIABLE = "DELEGATOR_AXE_CORE"
_MEMBER = "package/axe.min.js"


class FetchError(Exception):
    """axe-core could not be fetched or was not the pinned release."""


def script_path() -> Path:
    """Where axe.min.js is (or goes): ``$DELEGATOR_AXE_CORE``, else the user's cache."""
    configured = os.environ.get(PATH_VARIABLE, "").strip()
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "delegator" / f"axe-core-{VERSION}" / "axe.min.js"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_pinned(path: Path) -> bool:
    """The file is there and is the pinned release's axe.min.js."""
    return path.is_file() and sha256_of(path) == SCRIPT_SHA256


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def fetch(target: Path) -> None:
    """``npm pack`` the pinned release, check it, and put its axe.min.js at ``target``."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is not installed (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="axe-core-") as scratch:
        packed = subprocess.run(  # noqa: S603 - a fixed command line, npm found on PATH
            [npm, "pack", f"axe-core@{VERSION}", "--pack-destination", scratch, "--silent"],
            cwd=scratch,
            capture_output=True,
            text=True,
            check=False,
        )
        if packed.returncode != 0:
            raise FetchError(f"npm pack axe-core@{VERSION} failed:\n{packed.stderr.strip()}")
        tarball = Path(scratch) / f"axe-core-{VERSION}.tgz"
        if not tarball.is_file():
            raise FetchError(f"npm pack left no {tarball.name} (it printed {packed.stdout!r})")
        data = tarball.read_bytes()
        if _integrity(data) != TARBALL_INTEGRITY:
            raise FetchError(
                f"axe-core {VERSION}'s tarball is not the one recorded in tools/axe_core.py "
                f"(integrity {_integrity(data)})"
            )
        with tarfile.open(tarball, "r:gz") as archive:
            member = archive.extractfile(_MEMBER)
            if member is None:
                raise FetchError(f"axe-core {VERSION}'s tarball has no {_MEMBER}")
            script = member.read()
        if hashlib.sha256(script).hexdigest() != SCRIPT_SHA256:
            raise FetchError(f"axe-core {VERSION}'s {_MEMBER} is not the one recorded")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(script)
        partial.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--path", action="store_true", help="only print where axe.min.js is or would be"
    )
    arguments = parser.parse_args(argv)
    target = script_path()
    if arguments.path:
        print(target)
        return 0
    if not is_pinned(target):
        try:
            fetch(target)
        except (FetchError, OSError) as error:
            print(f"axe-core: {error}", file=sys.stderr)
            return 1
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
