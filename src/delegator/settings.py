"""Service settings: ``config/delegator.yaml``, overridden by ``DELEGATOR_*`` environment variables.

One frozen object, built once at start-up and passed in. Invalid settings stop the start with a
message naming the setting and where it came from. Asana tokens are not settings: each client
file names where its token is read from.

Any setting can instead be read from a file named by ``DELEGATOR_<NAME>_FILE`` (the way
container secrets are mounted, e.g. ``DELEGATOR_SMTP_PASSWORD_FILE=/run/secrets/smtp``).
Secret values are registered with the log redactor as soon as they are read.

Every error in the settings file is reported at once, each at its ``file:line:col``. Unknown
``DELEGATOR_*`` environment variables are warned about (with the likely intended name), since a
mistyped variable would otherwise be ignored in silence.

Written here rather than with pydantic-settings, which was weighed for it: that library merges
its sources into one model and keeps neither where each value came from (``delegator config``
shows it for every setting: the file, ``$DELEGATOR_X`` or ``$DELEGATOR_X_FILE``) nor the YAML
line of a bad value, and it has no ``_FILE`` indirection for single settings. The checks
themselves are small functions, one per kind of value (``_SETTINGS``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from delegator.core.suggest import closest
from delegator.core.timeexpr import parse_duration
from delegator.core.yamlpos import Document, YamlSyntaxError, load
from delegator.redact import register_secret, register_url_password
from delegator.sealing import MIN_KEY_LENGTH

DEFAULT_CONFIG = Path("config/delegator.yaml")
DEFAULT_DATABASE = "sqlite:///.delegator/state.db"
ENV_PREFIX = "DELEGATOR_"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message says which and where it came from."""


@dataclass(frozen=True, slots=True)
class Settings:
    rules_dir: Path = Path("rules")
    database_url: str = DEFAULT_DATABASE  # with database_password merged in, when given
    # a secret kept out of the URL, so it can come from a file: $DELEGATOR_DATABASE_PASSWORD_FILE
    database_password: str | None = None
    asana_base_url: str = "https://app.asana.com/api/1.0"
    asana_requests_per_minute: int = 1500
    reconcile_every: timedelta = timedelta(hours=1)
    asana_request_deadline: timedelta = timedelta(seconds=60)  # one attempt, first to last byte
    # an HTTP(S) proxy for every Asana request; None: direct (the environment's *_PROXY variables
    # are not read, so a proxy is a reviewed setting, not an accident of the container)
    asana_proxy: str | None = None
    # the agency's Asana app, for clients whose file names an OAuth refresh token: its id, its
    # secret, and the token endpoint (None: beside asana.base_url, i.e. Asana's
    # https://app.asana.com/-/oauth_token, or a sandbox's own)
    asana_oauth_client_id: str | None = None
    asana_oauth_client_secret: str | None = None  # a secret: $DELEGATOR_ASANA_OAUTH_CLIENT_SECRET
    asana_oauth_token_url: str | None = None
    # clients cycled at once by one process (each waits on Asana most of its cycle)
    worker_concurrency: int = 32
    # journal rows (the service's actions) older than this are pruned; 0 keeps them for ever
    journal_retention: timedelta = timedelta(days=90)
    log_format: str = "auto"  # auto | json | console
    log_level: str = "info"
    # operations: the health and metrics endpoint, shutdown, readiness
    http_host: str = "0.0.0.0"  # noqa: S104 - a container listens on every interface
    http_port: int = 8080  # 0 turns the endpoint off
    shutdown_grace: timedelta = timedelta(seconds=30)
    ready_polls: int = 3  # ready while each client's last good cycle is within this many polls
    health_failed_writes: int = 1  # failed writes in a client's last cycle that make it failing
    health_min_free_space: int = 100 * 1024 * 1024  # bytes left for the store below: unhealthy
    # summaries: when a status update is at risk or off track, and how sends are retried
    summary_at_risk_overdue: int = 1
    summary_off_track_overdue: int = 5
    summary_attempts: int = 5
    summary_backoff: timedelta = timedelta(minutes=1)
    # email for summaries and digests
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: str | None = None  # a secret: from $DELEGATOR_SMTP_PASSWORD(_FILE)
    smtp_from: str | None = None
    # replicas sharing one PostgreSQL: this one's id, and how long a client's lease lasts unrenewed
    replica_id: str | None = None  # None: hostname-pid
    replica_lease: timedelta = timedelta(minutes=2)
    # Asana webhooks: with a public URL, deliveries trigger cycles and polling is the safety net
    webhooks_public_url: str | None = None  # https://hooks.example.com: where Asana reaches us
    webhooks_seal_key: str | None = None  # a secret: seals the webhooks' secrets in the store
    webhooks_host: str = "0.0.0.0"  # noqa: S104 - the receiver listens on every interface
    webhooks_port: int = 8090
    webhooks_safety_poll: timedelta = timedelta(hours=1)  # a client with healthy webhooks
    webhooks_debounce: timedelta = timedelta(seconds=2)  # a burst of deliveries: one cycle
    # Asana sends a heartbeat every 8 hours: silent for longer than this, the client polls
    webhooks_heartbeat_timeout: timedelta = timedelta(hours=9)
    # the read-only status page: operators sign in with the operator token; clients and
    # assistants open links signed with the secret. Without the secret the page does not start.
    status_host: str = "0.0.0.0"  # noqa: S104 - behind the ingress, which ends TLS
    status_port: int = 8070  # 0 turns the page off
    status_secret: str | None = None  # a secret: signs the links and the operators' sessions
    status_operator_token: str | None = None  # a secret: what an operator types to sign in
    status_public_url: str | None = None  # https://status.example.com: printed links start so
    status_session: timedelta = timedelta(hours=12)  # how long an operator's sign-in lasts
    status_link_ttl: timedelta = timedelta(days=30)  # a new link's lifetime unless told
    sources: Mapping[str, str] = field(default_factory=dict)  # setting -> where it came from


# setting name -> (parser, environment variable)
def _path(value: Any) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a path")
    return Path(value)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected text")
    return value.strip()


def _positive_int(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if number <= 0:
        raise ValueError(f"must be more than 0, got {number}")
    return number


def _port(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a port number, got {value!r}") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"expected a port from 0 (off) to 65535, got {number}")
    return number


def _count(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"must be 0 or more, got {number}")
    return number


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "on", "1"}:
        return True
    if text in {"false", "no", "off", "0"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


_SECONDS = re.compile(r"^\s*(\d+)\s*(?:s|sec|secs|second|seconds)\s*$", re.IGNORECASE)


def _interval(value: Any) -> timedelta:
    if isinstance(value, str) and (seconds := _SECONDS.match(value)):
        return timedelta(seconds=int(seconds.group(1)))  # 30s: grace periods are short
    duration = parse_duration(value)
    if duration.unit == "business_days":
        raise ValueError("use minutes, hours or days")
    return duration.timedelta()


def _choice(*choices: str) -> Any:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return text

    return parse


def _public_url(value: Any) -> str:
    """Where Asana posts: an absolute http(s) URL with a host, no query or fragment (the
    receiver's path is appended to it)."""
    text = _text(value)
    parsed = urlsplit(text)
    if parsed.scheme not in {"https", "http"} or not parsed.hostname:
        raise ValueError(f"expected an https:// URL with a host, got {text!r}")
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise ValueError("expected a URL without query, fragment or credentials")
    return text.rstrip("/")


def _proxy_url(value: Any) -> str:
    """An http(s) proxy's URL with a host; it may carry credentials (a secret setting)."""
    text = _text(value)
    parsed = urlsplit(text)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ValueError("expected an http:// or https:// proxy URL with a host")
    return text


def _token_url(value: Any) -> str:
    """An OAuth token endpoint: an absolute http(s) URL with a host, no credentials."""
    text = _text(value)
    parsed = urlsplit(text)
    if parsed.scheme not in {"https", "http"} or not parsed.hostname:
        raise ValueError(f"expected an https:// URL with a host, got {text!r}")
    if parsed.username or parsed.password:
        raise ValueError("expected a URL without credentials")
    return text


def _lifetime(value: Any) -> timedelta:
    """How long a sign-in or a link lasts: a duration of a minute or more."""
    lasts = _interval(value)
    if lasts < timedelta(minutes=1):
        raise ValueError("must last at least 1m")
    return lasts


def _retention(value: Any) -> timedelta:
    """How long journal rows are kept: a duration of a day or more, or 0 for ever."""
    if str(value).strip() in {"0", "0d"}:
        return timedelta(0)
    kept = _interval(value)
    if kept < timedelta(days=1):
        raise ValueError("keep the journal at least 1d (or 0: for ever)")
    return kept


_SETTINGS: dict[str, Any] = {
    "rules_dir": _path,
    "database_url": _text,
    "database_password": _text,
    "asana_base_url": _text,
    "asana_requests_per_minute": _positive_int,
    "reconcile_every": _interval,
    "asana_request_deadline": _interval,
    "asana_proxy": _proxy_url,
    "asana_oauth_client_id": _text,
    "asana_oauth_client_secret": _text,
    "asana_oauth_token_url": _token_url,
    "worker_concurrency": _positive_int,
    "journal_retention": _retention,
    "log_format": _choice("auto", "json", "console"),
    "log_level": _choice("debug", "info", "warning", "error"),
    "http_host": _text,
    "http_port": _port,
    "shutdown_grace": _interval,
    "ready_polls": _positive_int,
    "health_failed_writes": _count,
    "health_min_free_space": _count,
    "summary_at_risk_overdue": _count,
    "summary_off_track_overdue": _positive_int,
    "summary_attempts": _positive_int,
    "summary_backoff": _interval,
    "smtp_host": _text,
    "smtp_port": _port,
    "smtp_starttls": _flag,
    "smtp_username": _text,
    "smtp_password": _text,
    "smtp_from": _text,
    "replica_id": _text,
    "replica_lease": _interval,
    "webhooks_public_url": _public_url,
    "webhooks_seal_key": _text,
    "webhooks_host": _text,
    "webhooks_port": _port,
    "webhooks_safety_poll": _interval,
    "webhooks_debounce": _interval,
    "webhooks_heartbeat_timeout": _interval,
    "status_host": _text,
    "status_port": _port,
    "status_secret": _text,
    "status_operator_token": _text,
    "status_public_url": _public_url,
    "status_session": _lifetime,
    "status_link_ttl": _lifetime,
}

# Settings that are secrets: masked wherever settings are shown.
SECRET_SETTINGS = frozenset(
    {
        "smtp_password",
        "database_url",
        "database_password",
        "webhooks_seal_key",
        "asana_proxy",
        "asana_oauth_client_secret",
        "status_secret",
        "status_operator_token",
    }
)

# Nested keys in the YAML file, for people who prefer sections.
_NESTED = {
    ("rules", "dir"): "rules_dir",
    ("database", "url"): "database_url",
    ("database", "password"): "database_password",
    ("asana", "base_url"): "asana_base_url",
    ("asana", "requests_per_minute"): "asana_requests_per_minute",
    ("asana", "reconcile_every"): "reconcile_every",
    ("asana", "request_deadline"): "asana_request_deadline",
    ("asana", "proxy"): "asana_proxy",
    ("asana", "oauth_client_id"): "asana_oauth_client_id",
    ("asana", "oauth_client_secret"): "asana_oauth_client_secret",
    ("asana", "oauth_token_url"): "asana_oauth_token_url",
    ("worker", "concurrency"): "worker_concurrency",
    ("journal", "retention"): "journal_retention",
    ("log", "format"): "log_format",
    ("log", "level"): "log_level",
    ("http", "host"): "http_host",
    ("http", "port"): "http_port",
    ("shutdown", "grace"): "shutdown_grace",
    ("ready", "polls"): "ready_polls",
    ("health", "failed_writes"): "health_failed_writes",
    ("health", "min_free_space"): "health_min_free_space",
    ("summary", "at_risk_overdue"): "summary_at_risk_overdue",
    ("summary", "off_track_overdue"): "summary_off_track_overdue",
    ("summary", "attempts"): "summary_attempts",
    ("summary", "backoff"): "summary_backoff",
    ("smtp", "host"): "smtp_host",
    ("smtp", "port"): "smtp_port",
    ("smtp", "starttls"): "smtp_starttls",
    ("smtp", "username"): "smtp_username",
    ("smtp", "password"): "smtp_password",
    ("smtp", "from"): "smtp_from",
    ("replica", "id"): "replica_id",
    ("replica", "lease"): "replica_lease",
    ("webhooks", "public_url"): "webhooks_public_url",
    ("webhooks", "seal_key"): "webhooks_seal_key",
    ("webhooks", "host"): "webhooks_host",
    ("webhooks", "port"): "webhooks_port",
    ("webhooks", "safety_poll"): "webhooks_safety_poll",
    ("webhooks", "debounce"): "webhooks_debounce",
    ("webhooks", "heartbeat_timeout"): "webhooks_heartbeat_timeout",
    ("status", "host"): "status_host",
    ("status", "port"): "status_port",
    ("status", "secret"): "status_secret",
    ("status", "operator_token"): "status_operator_token",
    ("status", "public_url"): "status_public_url",
    ("status", "session"): "status_session",
    ("status", "link_ttl"): "status_link_ttl",
}


# setting -> its key in the YAML file ("http_port" -> "http.port")
SETTING_KEYS = {name: f"{section}.{key}" for (section, key), name in _NESTED.items()}


# Variables named DELEGATOR_* that are not settings but are read elsewhere (tests, tools).
# Read by other parts than the settings: the config file's path, and what the project's own
# tests and CI set (the test and bench databases, the spec, the browser tests' Chromium, driver,
# axe-core and artifacts folder): none is a setting, none earns a warning.
OTHER_VARIABLES = frozenset(
    f"{ENV_PREFIX}{name}"
    for name in (
        "CONFIG", "TEST_DATABASE_URL", "ASANA_SPEC", "AXE_CORE", "CHROMIUM", "CHROMEDRIVER",
        "TEST_ARTIFACTS", "BENCH_DATABASE_URL",
    )
)  # fmt: skip


def known_variables() -> set[str]:
    """Every DELEGATOR_* variable the service reads."""
    names = {f"{ENV_PREFIX}{name.upper()}" for name in _SETTINGS}
    return names | {f"{name}_FILE" for name in names} | OTHER_VARIABLES


def _hint(word: str, choices: list[str]) -> str:
    match = closest(word, choices)
    return f" (did you mean {match}?)" if match is not None and match != word else ""


def _all_keys() -> list[str]:
    return [*SETTING_KEYS.values(), *_SETTINGS]


def _flatten(
    data: Mapping[str, Any], where: str, document: Document, errors: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings by name and where each was written; unknown keys go to ``errors``."""
    flat: dict[str, Any] = {}
    origin: dict[str, str] = {}

    def at(path: tuple[str | int, ...], *, key: bool = False) -> str:
        position = document.position_of(path, key=key)
        return f"{where}:{position.line}:{position.column}"

    for key, value in data.items():
        if isinstance(value, Mapping):
            for inner, inner_value in value.items():
                name = _NESTED.get((str(key), str(inner)))
                if name is None:
                    written = f"{key}.{inner}"
                    errors.append(
                        f"{at((key, inner), key=True)}: unknown setting {written}"
                        + _hint(written, _all_keys())
                    )
                    continue
                flat[name] = inner_value
                origin[name] = at((key, inner))
        elif key in _SETTINGS:
            flat[str(key)] = value
            origin[str(key)] = at((key,))
        else:
            errors.append(
                f"{at((key,), key=True)}: unknown setting {key}" + _hint(str(key), _all_keys())
            )
    return flat, origin


def _warn(message: str) -> None:
    sys.stderr.write(f"delegator: warning: {message}\n")


def _unknown_variables(environ: Mapping[str, str]) -> list[str]:
    known = known_variables()
    choices = sorted(known)
    return [
        f"${name} is not a setting and is ignored{_hint(name, choices)}"
        for name in sorted(environ)
        if name.startswith(ENV_PREFIX) and name not in known
    ]


def _read_file(path: Path, errors: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings written in the file, and where; every problem goes to ``errors``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not a settings file: not UTF-8 text") from None
    try:
        document = load(text)
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.position.line}:{exc.position.column}"
        raise SettingsError(f"{where}: {exc.message}") from None
    errors.extend(
        f"{path}:{p.position.line}:{p.position.column}: {p.message}" for p in document.problems
    )
    loaded = document.data if document.data is not None else {}
    if not isinstance(loaded, Mapping):
        position = document.position_of(())
        raise SettingsError(
            f"{path}:{position.line}:{position.column}: expected a mapping of settings"
        )
    flat, written = _flatten(loaded, str(path), document, errors)
    # a value YAML could not make is reported once, as that, not also as a bad setting
    spoilt = {f"{path}:{p.position.line}:{p.position.column}" for p in document.problems}
    kept = {name: value for name, value in flat.items() if written[name] not in spoilt}
    return kept, {name: written[name] for name in kept}


def load_settings(
    config_path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str], None] | None = _warn,
) -> Settings:
    """Settings from the config file (when present) and the environment (which wins).

    Raises SettingsError with every error found, each on its line; ``warn`` is told about
    ``DELEGATOR_*`` variables that are no setting (None: say nothing).
    """
    environ = environ if environ is not None else {}
    path = config_path or Path(environ.get(f"{ENV_PREFIX}CONFIG", str(DEFAULT_CONFIG)))
    raw: dict[str, Any] = {}
    origin: dict[str, str] = {}
    written: dict[str, str] = {}  # setting -> file:line:col, for messages
    errors: list[str] = []
    if warn is not None:
        for message in _unknown_variables(environ):
            warn(message)
    if path.exists():
        raw, written = _read_file(path, errors)
        origin = dict.fromkeys(raw, str(path))
    elif config_path is not None:
        raise SettingsError(f"{path}: no such settings file")
    for name in _SETTINGS:
        variable = f"{ENV_PREFIX}{name.upper()}"
        from_file = f"{variable}_FILE"
        if from_file in environ:
            if variable in environ:
                errors.append(f"${variable} and ${from_file} are both set: keep one")
                continue
            try:
                raw[name] = _read_value_file(from_file, environ[from_file])
            except SettingsError as exc:
                errors.append(str(exc))
                continue
            origin[name] = f"${from_file} ({environ[from_file]})"
            written.pop(name, None)
        elif variable in environ:
            raw[name] = environ[variable]
            origin[name] = f"${variable}"
            written.pop(name, None)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            values[name] = _SETTINGS[name](value)
        except ValueError as exc:
            errors.append(f"{written.get(name, origin[name])}: {name}: {exc}")
        except Exception as exc:  # a value of a kind no parser expects: still one message
            errors.append(f"{written.get(name, origin[name])}: {name}: invalid value ({exc})")
    errors.extend(_lease_errors(values, written, origin))
    errors.extend(_webhook_errors(values, written, origin))
    errors.extend(_oauth_errors(values, written, origin))
    errors.extend(_status_errors(values, written, origin))
    if errors:
        raise SettingsError(_together(errors))
    register_secret(values.get("smtp_password"))
    register_secret(values.get("database_password"))
    register_secret(values.get("webhooks_seal_key"))
    register_secret(values.get("asana_oauth_client_secret"))
    register_secret(values.get("status_secret"))
    register_secret(values.get("status_operator_token"))
    register_url_password(values.get("asana_proxy"))  # a proxy's host may show, never its password
    register_url_password(values.get("database_url"))
    if values.get("database_password"):
        values["database_url"] = _with_password(
            values.get("database_url", DEFAULT_DATABASE), values["database_password"], origin
        )
    return Settings(**values, sources=origin)


def _lease_errors(
    values: Mapping[str, Any], written: Mapping[str, str], origin: Mapping[str, str]
) -> list[str]:
    """A lease must outlast the longest write plus a renewal or two: a write starts only with
    ``asana.request_deadline`` of the lease left, so a lease shorter than twice that would stop
    every cycle before its first write."""
    defaults = Settings()
    lease = values.get("replica_lease", defaults.replica_lease)
    deadline = values.get("asana_request_deadline", defaults.asana_request_deadline)
    if lease >= 2 * deadline:
        return []
    where = (
        written.get("replica_lease")
        or origin.get("replica_lease")
        or (
            written.get("asana_request_deadline")
            or origin.get("asana_request_deadline", "defaults")
        )
    )
    return [
        f"{where}: replica_lease: {_seconds(lease)} is too short for asana.request_deadline "
        f"{_seconds(deadline)}: a write starts only with request_deadline of the lease left, so "
        f"the lease must be at least twice as long ({_seconds(2 * deadline)} or more), or the "
        "deadline shorter"
    ]


def _webhook_errors(
    values: Mapping[str, Any], written: Mapping[str, str], origin: Mapping[str, str]
) -> list[str]:
    """A public URL needs a seal key (the webhooks' secrets are sealed with it in the store)
    and a port for the receiver; the key must be long enough to be one."""
    url = values.get("webhooks_public_url")
    key = values.get("webhooks_seal_key")
    where = written.get("webhooks_public_url") or origin.get("webhooks_public_url", "")
    errors: list[str] = []
    if url is not None and key is None:
        errors.append(
            f"{where}: webhooks_public_url needs webhooks.seal_key ($DELEGATOR_WEBHOOKS_SEAL_KEY"
            " or $DELEGATOR_WEBHOOKS_SEAL_KEY_FILE): the key the webhooks' secrets are sealed "
            "with in the store, the same for every replica (make one: openssl rand -base64 32)"
        )
    if url is not None and values.get("webhooks_port", 8090) == 0:
        errors.append(f"{where}: webhooks_public_url needs webhooks.port (0 turns it off)")
    if key is not None and len(key) < MIN_KEY_LENGTH:
        at = written.get("webhooks_seal_key") or origin.get("webhooks_seal_key", "")
        errors.append(
            f"{at}: webhooks_seal_key: must be at least {MIN_KEY_LENGTH} characters of random "
            f"text (got {len(key)}; make one: openssl rand -base64 32)"
        )
    return errors


def _oauth_errors(
    values: Mapping[str, Any], written: Mapping[str, str], origin: Mapping[str, str]
) -> list[str]:
    """The agency's app is its id and its secret: one without the other is a mistake."""
    given = [n for n in ("asana_oauth_client_id", "asana_oauth_client_secret") if n in values]
    if len(given) != 1:
        return []
    missing = "client_secret" if given[0] == "asana_oauth_client_id" else "client_id"
    where = written.get(given[0]) or origin.get(given[0], "")
    variable = f"$DELEGATOR_ASANA_OAUTH_{missing.upper()}"
    return [
        f"{where}: {given[0]}: the agency's Asana app needs asana.oauth_{missing} too "
        f"({variable}{' or ' + variable + '_FILE' if missing == 'client_secret' else ''})"
    ]


# The status page's secrets: the signing secret as long as a seal key (random text, 32
# characters or more: ``openssl rand -base64 32``); the operator token typed by people, shorter.
STATUS_SECRET_MIN_LENGTH = MIN_KEY_LENGTH
STATUS_TOKEN_MIN_LENGTH = 16


def _status_errors(
    values: Mapping[str, Any], written: Mapping[str, str], origin: Mapping[str, str]
) -> list[str]:
    """The status page's secrets long enough to be secrets and distinct, the operator token
    only with the secret (the sign-in is a session signed with it), and a port of its own."""

    def at(name: str) -> str:
        return written.get(name) or origin.get(name, "defaults")

    errors: list[str] = []
    secret = values.get("status_secret")
    token = values.get("status_operator_token")
    if secret is not None and len(secret) < STATUS_SECRET_MIN_LENGTH:
        errors.append(
            f"{at('status_secret')}: status_secret: must be at least {STATUS_SECRET_MIN_LENGTH} "
            f"characters of random text (got {len(secret)}; make one: openssl rand -base64 32)"
        )
    if token is not None and len(token) < STATUS_TOKEN_MIN_LENGTH:
        errors.append(
            f"{at('status_operator_token')}: status_operator_token: must be at least "
            f"{STATUS_TOKEN_MIN_LENGTH} characters (got {len(token)}; make one: "
            "openssl rand -base64 18)"
        )
    if token is not None and secret is None:
        errors.append(
            f"{at('status_operator_token')}: status_operator_token needs status.secret "
            "($DELEGATOR_STATUS_SECRET or $DELEGATOR_STATUS_SECRET_FILE): an operator's "
            "sign-in is a session signed with it"
        )
    if token is not None and secret is not None and token == secret:
        errors.append(
            f"{at('status_operator_token')}: status_operator_token: must differ from "
            "status.secret (people type the token; the secret never leaves the service)"
        )
    defaults = Settings()
    port = values.get("status_port", defaults.status_port)
    for other in ("http_port", "webhooks_port"):
        if port != 0 and port == values.get(other, getattr(defaults, other)):
            key = SETTING_KEYS[other]
            errors.append(
                f"{at('status_port')}: status_port: {port} is {key} already; give the "
                "status page a port of its own (or 0: off)"
            )
    return errors


def status_page_off(settings: Settings) -> str | None:
    """Why the status page cannot start with these settings (None: it can)."""
    if settings.status_port == 0:
        return "status.port is 0"
    if settings.status_secret is None:
        return (
            "status.secret is not set ($DELEGATOR_STATUS_SECRET or "
            "$DELEGATOR_STATUS_SECRET_FILE): it signs the links and the operators' sessions"
        )
    return None


def _seconds(value: timedelta) -> str:
    return f"{value.total_seconds():g}s"


_LOCATED = re.compile(r"^.*?:(\d+):(\d+): ")


def _together(errors: list[str]) -> str:
    """One message: every error, those in the file first, in the order of their lines."""
    if len(errors) == 1:
        return errors[0]

    def order(error: str) -> tuple[int, int, int]:
        found = _LOCATED.match(error)
        return (0, int(found.group(1)), int(found.group(2))) if found else (1, 0, 0)

    listed = "\n".join(f"  {e}" for e in sorted(errors, key=order))
    return f"{len(errors)} errors in the settings:\n{listed}"


def _read_value_file(variable: str, path: str) -> str:
    """A setting's value from the file a ``*_FILE`` variable names, without its final newline;
    errors name the variable and the path, never the content."""
    if not path.strip():
        raise SettingsError(f"${variable} is set but empty: expected the path of a file")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"${variable}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"${variable}: {path} is not UTF-8 text") from None
    return text.removesuffix("\n").removesuffix("\r")


def _with_password(url: str, password: str, origin: Mapping[str, str]) -> str:
    """The database URL with the password put in; the URL itself may be shown, the password not."""
    where = origin.get("database_password", "database_password")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise SettingsError(
            f"{origin.get('database_url', 'database_url')}: database_url: not a valid URL"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        raise SettingsError(f"{where}: database_password: a SQLite database takes no password")
    if parsed.password is not None:
        raise SettingsError(
            f"{where}: database_password: the database URL has a password already; "
            "give it in one place"
        )
    return parsed.set(password=password).render_as_string(hide_password=False)
