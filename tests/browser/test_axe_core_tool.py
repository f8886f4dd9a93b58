"""tools/axe_core.py, which fetches the pinned axe-core through npm: against a stand-in `npm`
on PATH, so nothing leaves the machine. The real fetch runs in CI (.ci/run) and `make axe-core`."""

from __future__ import annotations

import importlib.util
import io
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("axe_core_tool", ROOT / "tools" / "axe_core.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tarball(script: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        member = tarfile.TarInfo("package/axe.min.js")
        member.size = len(script)
        archive.addfile(member, io.BytesIO(script))
    return buffer.getvalue()


def _fake_npm(folder: Path, tarball: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `npm` whose `pack` copies ``tarball`` where it was asked to, and logs its arguments."""
    log = folder / "npm-arguments"
    npm = folder / "npm"
    npm.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{log}"\n'
        f'cp "{tarball}" "$4/axe-core-$(echo "$2" | cut -d@ -f2).tgz"\n'
    )
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:/usr/bin:/bin")
    return log


def test_the_script_goes_to_the_configured_path_or_the_users_cache(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELEGATOR_AXE_CORE", str(tmp_path / "axe.js"))
    assert tool.script_path() == tmp_path / "axe.js"

    monkeypatch.delenv("DELEGATOR_AXE_CORE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert tool.script_path() == tmp_path / "cache/delegator/axe-core-4.14.1/axe.min.js"


def test_a_tarball_that_is_not_the_recorded_one_is_refused_and_nothing_is_written(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tampered = tmp_path / "tampered.tgz"
    tampered.write_bytes(_tarball(b"window.axe = {};"))
    log = _fake_npm(tmp_path, tampered, monkeypatch)
    target = tmp_path / "cache" / "axe.min.js"
    monkeypatch.setenv("DELEGATOR_AXE_CORE", str(target))

    assert tool.main([]) == 1

    assert log.read_text().split()[:2] == ["pack", "axe-core@4.14.1"]
    assert not target.exists()
    with pytest.raises(tool.FetchError, match="tarball is not the one recorded"):
        tool.fetch(target)


def test_a_file_already_there_is_kept_only_when_it_is_the_pinned_release(
    tool: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "axe.min.js"
    target.write_text("window.axe = {};")
    monkeypatch.setenv("DELEGATOR_AXE_CORE", str(target))
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm-here"))

    assert not tool.is_pinned(target)
    assert tool.main([]) == 1  # not pinned, so fetched again: and there is no npm
    assert target.read_text() == "window.axe = {};"
    assert tool.main(["--path"]) == 0
