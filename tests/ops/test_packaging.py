"""The lock files agree with pyproject.toml: every direct dependency is locked at a version its
range allows, with hashes, and the image's set is the one the tests run on. `make lock` writes
them (docs/operations.md, "Dependencies"); this test says when that was forgotten."""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from delegator.store import SqlStore, StoreError

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PINNED_TOOLS = ("ruff", "mypy", "import-linter")

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+?)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)


@dataclass(frozen=True)
class Pin:
    version: str
    marker: str | None
    hashes: int


def read_lock(path: Path) -> dict[str, Pin]:
    """A requirements file written by ``uv pip compile --generate-hashes``: name -> pin."""
    pins: dict[str, Pin] = {}
    name: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := _PIN.match(line):
            name = canonicalize_name(match["name"])
            pins[name] = Pin(match["version"], match["marker"], 0)
        elif line.strip().startswith("--hash=sha256:") and name is not None:
            pin = pins[name]
            pins[name] = Pin(pin.version, pin.marker, pin.hashes + 1)
        elif line.strip() and not line.lstrip().startswith("#"):
            pytest.fail(f"{path.name}: a line this test cannot read: {line!r}")
    return pins


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    listed = list(PROJECT["dependencies"])
    for extra in extras:
        listed += PROJECT["optional-dependencies"][extra]
    return [Requirement(text) for text in listed]


def needed_by_extras(requirement: Requirement) -> list[Requirement]:
    """What ``name[extra]`` adds, read from the installed distribution (the locked version)."""
    added = []
    for text in metadata.requires(requirement.name) or []:
        needed = Requirement(text)
        if needed.marker is not None and any(
            needed.marker.evaluate({"extra": extra}) and not needed.marker.evaluate({"extra": ""})
            for extra in requirement.extras
        ):
            added.append(needed)
    return added


def out_of_step(lock: Path, extras: tuple[str, ...]) -> list[str]:
    """Each direct dependency (and what its extras add) missing from the lock or locked at a
    version outside pyproject.toml's range."""
    pins = read_lock(lock)
    problems = []
    for requirement in requirements(extras):
        for needed in [requirement, *needed_by_extras(requirement)]:
            pin = pins.get(canonicalize_name(needed.name))
            if pin is None:
                problems.append(f"{needed} is not in {lock.name}")
            elif not needed.specifier.contains(pin.version, prereleases=True):
                problems.append(f"{needed} but {lock.name} has {pin.version}")
    return problems


LOCKS = [(RUNTIME_LOCK, ("postgres",)), (DEV_LOCK, ("dev",))]


@pytest.mark.parametrize(("lock", "extras"), LOCKS, ids=["runtime", "dev"])
def test_every_direct_dependency_is_locked_within_its_range(
    lock: Path, extras: tuple[str, ...]
) -> None:
    problems = out_of_step(lock, extras)
    assert problems == [], "run `make lock`:\n" + "\n".join(problems)


def test_the_lock_check_finds_a_dependency_out_of_step(tmp_path: Path) -> None:
    """The check above, shown failing: a lock left behind a raised range or a new dependency."""
    text = RUNTIME_LOCK.read_text(encoding="utf-8")
    stale = tmp_path / "requirements.lock"
    version = read_lock(RUNTIME_LOCK)["pydantic"].version
    stale.write_text(text.replace(f"pydantic=={version}", "pydantic==1.10.0"), encoding="utf-8")
    assert out_of_step(stale, ("postgres",)) == [
        "pydantic<3,>=2.7 but requirements.lock has 1.10.0"
    ]
    stale.write_text(re.sub(r"(?ms)^jinja2==.*?(?=^\S)", "", text), encoding="utf-8")
    assert out_of_step(stale, ("postgres",)) == ["Jinja2<4,>=3.1 is not in requirements.lock"]
    stale.write_text(re.sub(r"(?ms)^linkify-it-py==.*?(?=^\S)", "", text), encoding="utf-8")
    [missing] = out_of_step(stale, ("postgres",))  # what markdown-it-py[linkify] adds
    assert missing.startswith("linkify-it-py")
    assert missing.endswith("is not in requirements.lock")


@pytest.mark.parametrize(("lock", "extras"), LOCKS, ids=["runtime", "dev"])
def test_every_locked_file_is_checked_by_hash_and_the_lock_says_how_it_was_made(
    lock: Path, extras: tuple[str, ...]
) -> None:
    pins = read_lock(lock)
    assert pins
    assert [name for name, pin in pins.items() if pin.hashes == 0] == []
    assert "#    make lock\n" in lock.read_text(encoding="utf-8")
    for name, pin in pins.items():
        if pin.marker is not None:
            Marker(pin.marker)  # a marker pip can read
        assert name == canonicalize_name(name)


def test_the_image_runs_the_versions_the_tests_run() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    differ = {
        name: (pin.version, dev[name].version if name in dev else None)
        for name, pin in runtime.items()
        if name not in dev or dev[name].version != pin.version
    }
    assert differ == {}, "run `make lock`: requirements.lock and requirements-dev.lock disagree"


def test_the_linters_are_pinned_exactly_and_installed_as_locked() -> None:
    dev = {canonicalize_name(r.name): r for r in requirements(("dev",))}
    pins = read_lock(DEV_LOCK)
    for tool in PINNED_TOOLS:
        [spec] = list(dev[tool].specifier)
        assert spec.operator == "==", f"{tool} floats: {dev[tool]}"
        assert pins[tool].version == spec.version
        assert metadata.version(tool) == spec.version, f"the environment's {tool} is not the lock's"


def test_postgresql_support_is_an_extra_and_the_dev_set_has_it() -> None:
    names = {canonicalize_name(r.name) for r in requirements(())}
    assert "psycopg" not in names
    assert [str(r) for r in requirements(("postgres",)) if r.name == "psycopg"] == [
        "psycopg[binary]<4,>=3.1"
    ]
    assert "psycopg-binary" in read_lock(RUNTIME_LOCK)
    assert "psycopg-binary" in read_lock(DEV_LOCK)


def test_a_postgresql_url_without_psycopg_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the extra were not installed
    with pytest.raises(StoreError, match=r"pip install 'delegator\[postgres\]'") as refused:
        SqlStore("postgresql+psycopg://delegator:pw@127.0.0.1:1/state")
    assert "pw" not in str(refused.value).replace("psycopg", "")
