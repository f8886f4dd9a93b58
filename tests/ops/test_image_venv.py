"""The image, proved without a Docker engine: its build and start-up steps, read from the
Dockerfile itself so they cannot drift, are repeated in a temporary folder standing for the
image's file system.

The builder stage's COPY and RUN steps make a fresh virtual environment from the project (the
.dockerignore applied); the final stage's ENV, WORKDIR, ENTRYPOINT and CMD start ``delegator run``
against the sandbox (itself started from that environment); the HEALTHCHECK command is run until
it passes; SIGTERM must end the service with exit code 0. Paths under ``/`` in the image are
mapped into the folder; pip may use its cache (the image's ``--no-cache-dir`` only keeps the
image small).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imagekit import (
    DOCKERFILE,
    DOCKERIGNORE,
    ROOT,
    DockerIgnore,
    Rootfs,
    Stage,
    exec_form,
    healthcheck_command,
    image_prefixes,
    parse_dockerfile,
    parse_pairs,
)

pytestmark = pytest.mark.slow

STARTUP_DEADLINE = 90.0  # seconds for the service to become ready
# pip's words when the package index cannot be reached: then the test is skipped, not failed.
OFFLINE = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found for setuptools",
    "ProxyError",
)
TOKENS = {
    "ASANA_TOKEN_NORTHWIND": "sandbox-token-anna",
    "ASANA_TOKEN_FISCHER": "sandbox-token-lena",
}


@dataclass
class Image:
    """The image's file system under a folder: its root and the final stage's environment."""

    rootfs: Rootfs
    final: Stage
    env: dict[str, str]
    workdir: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def copy_into(source: str, target: Path, ignore: DockerIgnore) -> None:
    """COPY from the build context: ``source`` relative to the project, ignored paths left out."""
    origin = ROOT / source
    if origin.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target)
        return
    for path in origin.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        if path.is_dir() or ignore.excluded(relative):
            continue
        destination = target / path.relative_to(origin)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def build_stage(stage: Stage, rootfs: Rootfs, ignore: DockerIgnore, log: Path) -> None:
    """The builder's steps in order: ENV, WORKDIR, COPY and RUN (each ``&&`` part in turn)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_NO_CACHE")}
    workdir = rootfs.root
    for instruction in stage.instructions:
        if instruction.keyword == "ENV":
            env.update(rootfs.environment(parse_pairs(instruction.value), env.get("PATH", "")))
        elif instruction.keyword == "WORKDIR":
            workdir = rootfs.path(instruction.value)
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            *sources, target = shlex.split(instruction.value)
            destination = workdir / target if not target.startswith("/") else rootfs.path(target)
            for source in sources:
                into_folder = target.endswith("/") or len(sources) > 1
                copy_into(source, destination / source if into_folder else destination, ignore)
        elif instruction.keyword == "RUN":
            for part in instruction.value.split("&&"):
                run_step(shlex.split(part), rootfs, env, workdir, log)


def run_step(words: list[str], rootfs: Rootfs, env: dict[str, str], cwd: Path, log: Path) -> None:
    command = [rootfs.text(word) for word in words if word != "--no-cache-dir"]
    if command[0] == "python":
        command[0] = sys.executable  # the base image's Python; any 3.11+ builds the same venv
    with log.open("a") as out:
        out.write(f"$ {shlex.join(command)}\n")
        out.flush()
        result = subprocess.run(  # noqa: S603 - the Dockerfile's own steps
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=540,
            check=False,
        )
    if result.returncode != 0:
        text = log.read_text()
        if any(marker in text for marker in OFFLINE):
            pytest.skip(
                f"the package index cannot be reached, so the image cannot be built: {text[-400:]}"
            )
        pytest.fail(f"the Dockerfile step {shlex.join(words)} failed:\n{text[-3000:]}")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    root = tmp_path_factory.mktemp("image")
    stages = parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))
    rootfs = Rootfs(root, image_prefixes(stages))
    ignore = DockerIgnore(DOCKERIGNORE.read_text(encoding="utf-8"))
    builder, final = stages[0], stages[-1]
    build_stage(builder, rootfs, ignore, root / "build.log")
    # The final stage copies the environment from the builder: the same mapped path, no step.
    copies = [shlex.split(c.value) for c in final.all("COPY")]
    assert all(c[0].startswith("--from=") and c[1] == c[2] for c in copies), copies
    host_path = os.environ.get("PATH", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DELEGATOR_", "PYTHON"))}
    env.update(rootfs.environment(final.pairs("ENV"), host_path))
    # The mount points the final stage makes (its RUN adds a user: not repeated here).
    Path(env["DELEGATOR_CONFIG"]).parent.mkdir(parents=True, exist_ok=True)
    Path(env["DELEGATOR_RULES_DIR"]).mkdir(parents=True, exist_ok=True)
    for volume in final.all("VOLUME"):
        for folder in exec_form(volume.value) or volume.value.split():
            rootfs.path(folder).mkdir(parents=True, exist_ok=True)
    workdir_instruction = final.last("WORKDIR")
    assert workdir_instruction is not None
    workdir = rootfs.path(workdir_instruction.value)
    workdir.mkdir(parents=True, exist_ok=True)
    return Image(rootfs, final, env, workdir)


def command_of(image: Image, words: list[str]) -> list[str]:
    """An image command as the container runtime resolves it: on the image's PATH."""
    found = shutil.which(words[0], path=image.env["PATH"])
    assert found is not None, f"{words[0]} is not on the image's PATH {image.env['PATH']}"
    return [found, *(image.rootfs.text(w) for w in words[1:])]


def test_the_installed_command_reads_the_image_settings(image: Image) -> None:
    """What the image's ENV means to the service: the paths the Dockerfile promises."""
    result = subprocess.run(  # noqa: S603
        command_of(image, ["delegator", "config", "--json"]),
        env=image.env,
        cwd=image.workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    rows = {row["name"]: row for row in document["settings"]}
    assert document["config_file"] == str(image.rootfs.path("/app/config/delegator.yaml"))
    assert rows["rules_dir"]["value"] == str(image.rootfs.path("/app/rules"))
    assert rows["rules_dir"]["source"] == "$DELEGATOR_RULES_DIR"
    state = image.rootfs.path("/var/lib/delegator/state.db")
    assert rows["database_url"]["value"] == f"sqlite:///{state}"
    assert rows["log_format"]["value"] == "json"
    # The installed package is the one built here, not the project's editable install.
    venv = image.rootfs.path("/opt/venv")
    assert Path(command_of(image, ["delegator"])[0]).is_relative_to(venv)
    assert not any(venv.glob("lib/python*/site-packages/pytest")), "dev tools in the image"


@pytest.fixture
def sandbox(image: Image, tmp_path: Path) -> Iterator[str]:
    """The Asana sandbox, started from the image's own environment; yields its base URL."""
    port = free_port()
    with (tmp_path / "sandbox.log").open("w") as errors:
        process = subprocess.Popen(  # noqa: S603
            command_of(image, ["delegator", "sandbox", "--port", str(port), "--quiet"]),
            env=image.env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "sandbox.log").read_text()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "the sandbox did not start listening"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/api/1.0"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_image_starts_the_service_until_healthy_and_stops_on_sigterm(
    image: Image, sandbox: str, tmp_path: Path
) -> None:
    rules = Path(image.env["DELEGATOR_RULES_DIR"])
    for client in (ROOT / "examples").glob("*.yaml"):
        if not client.name.endswith(".test.yaml"):
            shutil.copy2(client, rules / client.name)
    env = dict(image.env)
    env.update(TOKENS)
    env["DELEGATOR_ASANA_BASE_URL"] = sandbox
    env["DELEGATOR_HTTP_PORT"] = str(free_port())
    entrypoint, command = image.final.last("ENTRYPOINT"), image.final.last("CMD")
    assert entrypoint is not None
    assert command is not None
    start = [*(exec_form(entrypoint.value) or []), *(exec_form(command.value) or [])]
    check = healthcheck_command(image.final)
    assert check is not None
    output = tmp_path / "service.log"
    with output.open("w") as out:
        service = subprocess.Popen(  # noqa: S603
            command_of(image, start), env=env, cwd=image.workdir, stdout=out, stderr=out
        )
    try:
        healthy = wait_healthy(command_of(image, check), env, image.workdir, service)
        assert healthy, f"not ready within {STARTUP_DEADLINE}s:\n{output.read_text()[-3000:]}"
        assert wait_for_line(output, '"event": "cycle_finished"', service), output.read_text()
        service.send_signal(signal.SIGTERM)
        code = service.wait(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    log = output.read_text()
    assert code == 0, log[-3000:]
    assert image.rootfs.path("/var/lib/delegator/state.db").is_file()  # state on the volume
    for token in TOKENS.values():
        assert token not in log


def wait_healthy(
    check: list[str], env: dict[str, str], cwd: Path, service: subprocess.Popen[bytes]
) -> bool:
    """Run the image's health check until it passes; False when the deadline passes first."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        assert service.poll() is None, "the service exited before it was healthy"
        result = subprocess.run(  # noqa: S603
            check, env=env, cwd=cwd, capture_output=True, timeout=30, check=False
        )
        if result.returncode == 0:
            return True
        time.sleep(0.5)
    return False


def wait_for_line(output: Path, text: str, service: subprocess.Popen[bytes]) -> bool:
    """Wait until the service has written ``text`` (its first cycle, say) to its log."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if text in output.read_text():
            return True
        assert service.poll() is None, "the service exited early"
        time.sleep(0.2)
    return False
