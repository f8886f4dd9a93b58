"""Reading the Dockerfile and .dockerignore as Docker does, for tests that have no Docker engine.

`parse_dockerfile` gives the stages and their instructions (line continuations joined, comments
dropped); `lint_dockerfile` lists broken promises of the image (empty when it keeps them all);
`DockerIgnore` answers whether a path is left out of the build context; `Rootfs` maps the
image's absolute paths into a test's temporary folder.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "compose.yaml"

# A name that says its value is a secret; a *_FILE variable holds a path, not the secret.
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|WEBHOOK|CREDENTIAL", re.IGNORECASE)
DEV_TOOLS = ("[dev]", "pytest", "mypy", "ruff", "import-linter", "build-essential", "gcc")


def pinned(image: str, *, parts: int = 3) -> bool:
    """An exact release tag (python:3.12.8-slim-bookworm; PostgreSQL's own releases have two
    parts: postgres:16.6), optionally with a digest; never :latest or no tag."""
    name, _, digest = image.partition("@")
    if digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        return False
    _, colon, tag = name.rpartition(":")
    version = r"\d+" + r"\.\d+" * (parts - 1)
    return bool(colon) and re.fullmatch(rf"{version}(?:-[\w.-]+)?", tag) is not None


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, ENV ...
    value: str  # the arguments, continuation lines joined
    line: int  # where it starts, 1-based


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def pairs(self, keyword: str) -> dict[str, str]:
        """ENV, LABEL or ARG values of this stage as name -> value (later ones win)."""
        values: dict[str, str] = {}
        for instruction in self.all(keyword):
            values.update(parse_pairs(instruction.value))
        return values


def parse_dockerfile(text: str) -> list[Stage]:
    """The stages of a Dockerfile; instructions before the first FROM (global ARGs) are dropped."""
    stages: list[Stage] = []
    for instruction in _instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.value.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif stages:
            stages[-1].instructions.append(instruction)
    return stages


def _instructions(text: str) -> Iterable[Instruction]:
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction is skipped, as Docker does
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        pending.append(line)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, value = joined.partition(" ")
        yield Instruction(keyword.upper(), value.strip(), start)


def parse_pairs(value: str) -> dict[str, str]:
    """``A=1 B="two words"`` (or the old ``A 1`` form) as a mapping."""
    words = shlex.split(value)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    pairs = {}
    for word in words:
        name, _, item = word.partition("=")
        pairs[name] = item
    return pairs


def exec_form(value: str) -> list[str] | None:
    """The JSON array of an exec-form ENTRYPOINT, CMD or HEALTHCHECK CMD; None for shell form."""
    if not value.startswith("["):
        return None
    parsed = json.loads(value)
    assert isinstance(parsed, list)
    return [str(item) for item in parsed]


def healthcheck_command(stage: Stage) -> list[str] | None:
    instruction = stage.last("HEALTHCHECK")
    if instruction is None:
        return None
    match = re.match(r"^((?:--\S+\s+)*)CMD\s+(.*)$", instruction.value, re.DOTALL)
    if match is None:
        return None
    return exec_form(match.group(2)) or ["/bin/sh", "-c", match.group(2)]


def user_of(stage: Stage) -> str | None:
    instruction = stage.last("USER")
    return instruction.value.split(":")[0].strip() if instruction else None


def lint_dockerfile(text: str, *, http_port: int, version: str) -> list[str]:
    """Every promise of the image that ``text`` breaks, in words; empty when it keeps them."""
    stages = parse_dockerfile(text)
    if len(stages) < 2:
        return ["not multi-stage: the final image must not carry the build"]
    final = stages[-1]
    return [
        *_unpinned_bases(stages),
        *_root_user(final),
        *_health(final, http_port),
        *_start(final, http_port),
        *_labels(final, version),
        *_secrets_and_tools(stages),
    ]


def _unpinned_bases(stages: list[Stage]) -> list[str]:
    names = {stage.name for stage in stages if stage.name}
    return [
        f"FROM {stage.base}: not pinned to an exact version tag"
        for stage in stages
        if stage.base not in names and not pinned(stage.base)
    ]


def _root_user(final: Stage) -> list[str]:
    user = user_of(final)
    if user is None or user in {"0", "root"}:
        return ["the final stage runs as root: add USER with a non-root uid"]
    if user.isdigit() and not any(f"--uid {user}" in r.value for r in final.all("RUN")):
        return [f"USER {user} is never created in the final stage"]
    return []


def _health(final: Stage, http_port: int) -> list[str]:
    check = healthcheck_command(final)
    if check is None:
        return ["no HEALTHCHECK"]
    if not any("/readyz" in word for word in check):
        return ["the HEALTHCHECK does not ask /readyz"]
    if not any(f"'{http_port}'" in word or f":{http_port}/" in word for word in check):
        return [f"the HEALTHCHECK does not default to the service's port {http_port}"]
    return []


def _start(final: Stage, http_port: int) -> list[str]:
    problems = []
    exposed = {word.split("/")[0] for i in final.all("EXPOSE") for word in i.value.split()}
    if exposed != {str(http_port)}:
        problems.append(f"EXPOSE {sorted(exposed)} is not the service's port {http_port}")
    entrypoint, command = final.last("ENTRYPOINT"), final.last("CMD")
    if entrypoint is None or exec_form(entrypoint.value) != ["delegator"]:
        problems.append('ENTRYPOINT is not ["delegator"]')
    if command is None or exec_form(command.value) != ["run"]:
        problems.append('CMD is not ["run"]')
    volumes = set()
    for instruction in final.all("VOLUME"):
        volumes.update(exec_form(instruction.value) or instruction.value.split())
    if "/var/lib/delegator" not in volumes:
        problems.append("the state folder /var/lib/delegator is not a VOLUME")
    return problems


def _labels(final: Stage, version: str) -> list[str]:
    labels = final.pairs("LABEL")
    problems = [
        f"no org.opencontainers.image.{label} label"
        for label in ("source", "version", "title", "licenses")
        if f"org.opencontainers.image.{label}" not in labels
    ]
    default = final.pairs("ARG").get("VERSION")
    if labels.get("org.opencontainers.image.version") == "${VERSION}" and default != version:
        problems.append(f"ARG VERSION={default} is not the package's version {version}")
    return problems


def _secrets_and_tools(stages: list[Stage]) -> list[str]:
    problems = [
        f"{keyword} {name} holds a secret in the image"
        for stage in stages
        for keyword in ("ENV", "ARG")
        for name, value in stage.pairs(keyword).items()
        if SECRET_NAME.search(name) and value and not name.endswith("_FILE")
    ]
    problems += [
        f"line {run.line}: installs {tool}"
        for stage in stages
        for run in stage.all("RUN")
        if "pip install" in run.value
        for tool in DEV_TOOLS
        if tool in run.value
    ]
    final = stages[-1]
    problems += [
        f"line {run.line}: the final stage installs packages"
        for run in final.all("RUN")
        if "pip install" in run.value or "apt-get install" in run.value
    ]
    problems += [
        f"line {copy.line}: the final stage copies from the build context"
        for copy in final.all("COPY")
        if "--from=" not in copy.value
    ]
    return problems


class DockerIgnore:
    """The .dockerignore rules: glob patterns (``*``, ``?``, ``**``), ``!`` to take back,
    the last matching rule wins, and a rule matching a folder matches what is inside it."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line[1:].strip() if negate else line
            pattern = pattern.strip("/") or "."
            self.rules.append((negate, re.compile(_glob_regex(pattern))))

    def excluded(self, path: str) -> bool:
        parts = Path(path).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for negate, regex in self.rules:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                result = not negate
        return result


def _glob_regex(pattern: str) -> str:
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index)
            out.append(pattern[index : end + 1])
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


class Rootfs:
    """The image's absolute paths (``/opt/venv``, ``/app`` ...) under a test's own folder."""

    def __init__(self, root: Path, prefixes: Iterable[str]) -> None:
        self.root = root
        ordered = sorted({p.rstrip("/") for p in prefixes if p.startswith("/")}, key=len)
        alternatives = "|".join(re.escape(p) for p in reversed(ordered))
        # Not inside another path ("/x/app"), but after "sqlite:///" ("sqlite:////app/x").
        self._regex = re.compile(rf"(?<![\w.\-])(?<![\w.\-]/)(?:{alternatives})(?=/|$|[^\w.\-])")

    def path(self, image_path: str) -> Path:
        return Path(self.text(image_path))

    def text(self, value: str) -> str:
        return self._regex.sub(lambda m: f"{self.root}{m.group(0)}", value)

    def environment(self, env: Mapping[str, str], host_path: str) -> dict[str, str]:
        """ENV values mapped into the root, ``$PATH`` / ``${PATH}`` expanded to ``host_path``."""
        mapped = {}
        for name, value in env.items():
            text = self.text(value).replace("${PATH}", host_path).replace("$PATH", host_path)
            mapped[name] = text
        return mapped


def image_prefixes(stages: list[Stage]) -> set[str]:
    """The absolute folders the image sets up: WORKDIRs, VOLUMEs, COPY targets, the venv."""
    prefixes = set()
    for stage in stages:
        for instruction in stage.all("WORKDIR"):
            prefixes.add(instruction.value)
        for instruction in stage.all("VOLUME"):
            prefixes.update(exec_form(instruction.value) or instruction.value.split())
        for instruction in stage.all("COPY"):
            target = shlex.split(instruction.value)[-1]
            if target.startswith("/"):
                prefixes.add(target)
        for instruction in stage.all("RUN"):
            prefixes.update(re.findall(r"-m venv (/\S+)", instruction.value))
    return prefixes


def load_compose() -> dict[str, object]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded
