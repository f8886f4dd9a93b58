"""The image's promises, read from the Dockerfile, .dockerignore and compose.yaml: no Docker
engine runs here, so these files are checked as text against the code they must agree with."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Any

import pytest
from imagekit import (
    DOCKERFILE,
    DOCKERIGNORE,
    ROOT,
    SECRET_NAME,
    DockerIgnore,
    exec_form,
    healthcheck_command,
    lint_dockerfile,
    load_compose,
    parse_dockerfile,
    pinned,
)

from delegator import __version__
from delegator.cli import build_parser
from delegator.redact import forget_secrets
from delegator.settings import SETTING_KEYS, Settings, load_settings

TEXT = DOCKERFILE.read_text(encoding="utf-8")
PORT = Settings().http_port


def lint(text: str) -> list[str]:
    return lint_dockerfile(text, http_port=PORT, version=__version__)


def test_the_dockerfile_keeps_every_promise() -> None:
    assert lint(TEXT) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("FROM python:3.12.8-slim-bookworm AS builder", "FROM python:latest AS builder"), "FROM python:latest: not pinned"),
        (("FROM python:3.12.8-slim-bookworm\n", "FROM python:3.12-slim\n"), "FROM python:3.12-slim: not pinned"),
        (("FROM python:3.12.8-slim-bookworm\n", "FROM python\n"), "FROM python: not pinned"),
        (("USER 10001:10001", "USER root"), "runs as root"),
        (("USER 10001:10001", "USER 0"), "runs as root"),
        (("USER 10001:10001", "USER 4242"), "USER 4242 is never created"),
        (("/readyz", "/healthz"), "does not ask /readyz"),
        (("EXPOSE 8080", "EXPOSE 9000"), "EXPOSE ['9000'] is not the service's port"),
        (('ENTRYPOINT ["delegator"]', "ENTRYPOINT delegator"), "ENTRYPOINT is not"),
        (('CMD ["run"]', 'CMD ["once"]'), "CMD is not"),
        (('VOLUME ["/var/lib/delegator"]', "VOLUME /data"), "/var/lib/delegator is not a VOLUME"),
        (("org.opencontainers.image.source=", "org.example.source="), "no org.opencontainers.image.source"),
        (("ARG VERSION=0.1.0", "ARG VERSION=9.9.9"), "is not the package's version"),
        (("ARG REVISION=", "ARG ASANA_TOKEN=1/123456:abc"), "ARG ASANA_TOKEN holds a secret"),
        (("DELEGATOR_LOG_FORMAT=json", "DELEGATOR_SMTP_PASSWORD=hunter2"), "ENV DELEGATOR_SMTP_PASSWORD holds a secret"),
        (("--no-deps .", "--no-deps '.[dev]'"), "installs [dev]"),
        (("COPY --from=builder /opt/venv /opt/venv", "COPY src /src"), "copies from the build context"),
        (("COPY --from=builder /opt/venv /opt/venv", "RUN pip install delegator"), "the final stage installs packages"),
    ],
)  # fmt: skip
def test_the_lint_finds_each_broken_promise(change: tuple[str, str], problem: str) -> None:
    old, new = change
    assert old in TEXT, f"the Dockerfile no longer has {old!r}: update this test"
    problems = lint(TEXT.replace(old, new, 1))
    assert any(problem in p for p in problems), problems


def test_a_single_stage_image_is_refused() -> None:
    assert lint("FROM python:3.12.8-slim-bookworm\nRUN pip install .\n") == [
        "not multi-stage: the final image must not carry the build"
    ]


def test_continuation_lines_and_comments_are_read_as_docker_reads_them() -> None:
    [stage] = parse_dockerfile(
        "# a comment\nFROM python:3.12.8-slim AS b\nENV A=1 \\\n    # inside\n    B='two words'\n"
    )
    assert stage.name == "b"
    assert stage.pairs("ENV") == {"A": "1", "B": "two words"}
    assert stage.all("ENV")[0].line == 3


def test_entrypoint_and_command_are_the_installed_script_and_the_service() -> None:
    final = parse_dockerfile(TEXT)[-1]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    entrypoint = final.last("ENTRYPOINT")
    command = final.last("CMD")
    assert entrypoint is not None
    assert command is not None
    [script] = exec_form(entrypoint.value) or []
    assert script in pyproject["project"]["scripts"]
    parsed = build_parser().parse_args(exec_form(command.value))
    assert parsed.handler.__name__ == "run_service"


def test_the_image_environment_names_real_settings_and_keeps_state_on_the_volume() -> None:
    final = parse_dockerfile(TEXT)[-1]
    env = {k: v for k, v in final.pairs("ENV").items() if k.startswith("DELEGATOR_")}
    variables = {f"DELEGATOR_{name.upper()}" for name in SETTING_KEYS} | {"DELEGATOR_CONFIG"}
    assert set(env) <= variables, set(env) - variables
    settings = load_settings(None, env)  # the config file is not there: defaults and env
    assert settings.rules_dir == Path("/app/rules")
    assert settings.database_url == "sqlite:////var/lib/delegator/state.db"
    assert settings.sources["database_url"] == "$DELEGATOR_DATABASE_URL"
    assert settings.log_format == "json"
    assert env["DELEGATOR_CONFIG"] == "/app/config/delegator.yaml"
    assert "DELEGATOR_HTTP_PORT" not in env, "the settings file could no longer choose the port"
    workdir = final.last("WORKDIR")
    assert workdir is not None
    assert workdir.value == "/app"


def test_the_build_installs_the_project_without_extras_or_a_cache() -> None:
    builder = parse_dockerfile(TEXT)[0]
    installs = [r.value for r in builder.all("RUN") if "pip install" in r.value]
    assert installs == [
        "/opt/venv/bin/pip install --no-cache-dir --require-hashes -r requirements.lock",
        "/opt/venv/bin/pip install --no-cache-dir --no-deps .",
    ]


# ------------------------------------------------------------------ the lock file

LOCK = "requirements.lock"


def lock_problems(text: str) -> list[str]:
    """Whether the image gets exactly the locked versions: the builder installs requirements.lock
    with every file's hash checked, before and apart from the package, and the package adds no
    dependency of its own (pip resolving them would float past the lock)."""
    builder = parse_dockerfile(text)[0]
    steps = [  # each pip install in order, ``&&`` parts of one RUN included
        (run.line, part.strip())
        for run in builder.all("RUN")
        for part in run.value.split("&&")
        if "pip install" in part
    ]
    locked = [n for n, (_, step) in enumerate(steps) if _requires(step.split(), LOCK)]
    if not locked:
        return [f"the image does not install {LOCK}"]
    problems: list[str] = []
    for n, (line, step) in enumerate(steps):
        if n in locked:
            if "--require-hashes" not in step:
                problems.append(f"line {line}: installs {LOCK} without --require-hashes")
        elif "--no-deps" not in step:
            problems.append(f"line {line}: installs without the lock: {step}")
        elif n < locked[0]:
            problems.append(f"line {line}: installs the package before {LOCK}")
    copies = [c for c in builder.all("COPY") if LOCK in c.value.split()[:-1]]
    if not copies or copies[0].line > steps[locked[0]][0]:
        problems.append(f"{LOCK} is not copied into the build before it is installed")
    return problems


def _requires(words: list[str], name: str) -> bool:
    return any(a in ("-r", "--requirement") and b == name for a, b in itertools.pairwise(words))


def test_the_image_installs_the_locked_versions() -> None:
    assert lock_problems(TEXT) == []
    assert (ROOT / LOCK).is_file()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ((" --require-hashes -r requirements.lock", " -r requirements.lock"), "without --require-hashes"),
        (("--no-deps .", "."), "installs without the lock"),
        (("-r requirements.lock", "requests"), "does not install requirements.lock"),
        (("-r requirements.lock", "-r requirements-dev.lock"), "does not install requirements.lock"),
        (("COPY requirements.lock ./\n", ""), "is not copied into the build"),
        (
            ("RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes", "RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . && /opt/venv/bin/pip install --require-hashes"),
            "installs the package before",
        ),
    ],
)  # fmt: skip
def test_the_lock_check_finds_each_way_around_the_lock(
    change: tuple[str, str], problem: str
) -> None:
    old, new = change
    assert old in TEXT, f"the Dockerfile no longer has {old!r}: update this test"
    problems = lock_problems(TEXT.replace(old, new, 1))
    assert any(problem in p for p in problems), problems


BUILD_CONTEXT = {
    "pyproject.toml": False,
    "requirements.lock": False,
    "requirements-dev.lock": True,
    "README.md": False,
    "src/delegator/__init__.py": False,
    "src/delegator/sandbox/worlds/demo.yaml": False,
    "src/delegator/py.typed": False,
    ".venv/bin/python": True,
    ".git/HEAD": True,
    "tests/conftest.py": True,
    "bench/cycle.py": True,
    "docs/rules.md": True,
    "examples/small-agency.yaml": True,
    "config/delegator.yaml": True,
    ".delegator/state.db": True,
    "secrets/postgres_password": True,
    "src/delegator.egg-info/PKG-INFO": True,
    "src/delegator/__pycache__/cli.cpython-311.pyc": True,
    ".mypy_cache/3.11/x.json": True,
}


@pytest.mark.parametrize(("path", "left_out"), sorted(BUILD_CONTEXT.items()))
def test_the_build_context_holds_the_package_and_nothing_else(path: str, left_out: bool) -> None:
    ignore = DockerIgnore(DOCKERIGNORE.read_text(encoding="utf-8"))
    assert ignore.excluded(path) is left_out


def test_everything_the_build_copies_is_in_the_context() -> None:
    ignore = DockerIgnore(DOCKERIGNORE.read_text(encoding="utf-8"))
    builder = parse_dockerfile(TEXT)[0]
    sources = [w for c in builder.all("COPY") for w in c.value.split()[:-1]]
    assert sources == ["requirements.lock", "pyproject.toml", "README.md", "src"]
    for source in sources:
        assert (ROOT / source).exists()
        assert not ignore.excluded(source)


def test_dockerignore_rules_are_read_as_docker_reads_them() -> None:
    ignore = DockerIgnore("*\n!src/\n**/__pycache__\n!keep/**/x?.txt\n")
    assert ignore.excluded("a.txt")
    assert ignore.excluded("deep/a/b.txt")
    assert not ignore.excluded("src/a/b.py")
    assert ignore.excluded("src/a/__pycache__/b.pyc")
    assert not ignore.excluded("keep/a/b/x1.txt")
    assert ignore.excluded("keep/a/b/x12.txt")


# ------------------------------------------------------------------ compose.yaml


def services() -> dict[str, Any]:
    loaded = load_compose()["services"]
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_delegator_after_a_healthy_pinned_postgresql() -> None:
    postgres, delegator = services()["postgres"], services()["delegator"]
    assert pinned(postgres["image"], parts=2)
    assert postgres["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "pg_isready" in postgres["healthcheck"]["test"][1]
    assert delegator["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert delegator["build"] == "."
    assert "./config:/app/config:ro" in delegator["volumes"]
    assert "./rules:/app/rules:ro" in delegator["volumes"]
    grace = Settings().shutdown_grace.total_seconds()
    assert int(delegator["stop_grace_period"].removesuffix("s")) > grace


def test_compose_runs_two_replicas_that_share_postgresql_and_expose_one_port_each() -> None:
    """Scaling out is what compose shows: two replicas on the PostgreSQL (SQLite would refuse a
    second), each with its own host port for its health endpoint, none fixing a replica id that
    both would then share."""
    delegator = services()["delegator"]
    replicas = delegator["deploy"]["replicas"]
    assert replicas >= 2
    assert delegator["environment"]["DELEGATOR_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "DELEGATOR_REPLICA_ID" not in delegator["environment"]
    (mapping,) = delegator["ports"]
    host, ports, container = mapping.rsplit(":", 2)
    first, last = (int(port) for port in ports.split("-"))
    assert last - first + 1 >= replicas
    assert host == "127.0.0.1"
    assert container == str(PORT)


def test_compose_health_check_is_the_images() -> None:
    final = parse_dockerfile(TEXT)[-1]
    assert services()["delegator"]["healthcheck"]["test"] == ["CMD", *healthcheck_command(final)]


def test_compose_keeps_every_secret_in_files() -> None:
    compose = load_compose()
    declared = compose["secrets"]
    assert isinstance(declared, dict)
    for name, service in services().items():
        for variable, value in service.get("environment", {}).items():
            if SECRET_NAME.search(variable):
                assert variable.endswith("_FILE"), f"{name}: {variable} holds a secret"
                assert str(value).startswith("/run/secrets/")
                assert Path(value).name in service["secrets"]
        for secret in service.get("secrets", []):
            assert set(declared[secret]) == {"file"}, secret
            assert str(declared[secret]["file"]).startswith("./secrets/")


def test_compose_settings_load_and_put_the_password_into_the_database_url(
    tmp_path: Path,
) -> None:
    """The compose environment, with its secret files written here, is settings the service
    accepts: the shared database password goes into the URL, and no name is mistyped."""
    (tmp_path / "postgres_password").write_text("s3cret-from-file\n")
    environment = services()["delegator"]["environment"]
    variables = {f"DELEGATOR_{name.upper()}" for name in SETTING_KEYS}
    env = {}
    for variable, value in environment.items():
        assert variable.removesuffix("_FILE") in variables, variable
        env[variable] = str(value).replace("/run/secrets", str(tmp_path))
    env["DELEGATOR_CONFIG"] = str(tmp_path / "absent.yaml")
    settings = load_settings(None, env)
    assert settings.database_url == (
        "postgresql+psycopg://delegator:s3cret-from-file@postgres:5432/delegator"
    )
    assert settings.http_port == PORT
    postgres_secret = services()["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"]
    assert postgres_secret == environment["DELEGATOR_DATABASE_PASSWORD_FILE"]
    forget_secrets()
