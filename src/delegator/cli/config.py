"""``delegator config``: the settings in effect and where each one came from.

An operator chasing "why does it use that database?" needs the answer the service itself would
get: the same loading (file, environment, ``*_FILE``), secrets masked, and for every setting its
origin (the default, the settings file, ``$VARIABLE`` or ``$VARIABLE_FILE (path)``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from delegator.cli._common import Subparsers, read_settings
from delegator.redact import redact_text
from delegator.settings import (
    DEFAULT_CONFIG,
    ENV_PREFIX,
    SECRET_SETTINGS,
    SETTING_KEYS,
    Settings,
    SettingsError,
)
from delegator.store.database import mask_url

MASK = "********"


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "config",
        help="show the settings in effect and where each came from",
        description=(
            "Prints every setting the service would use: its value (secrets masked) and where "
            "it came from: the default, the settings file, an environment variable or a file "
            "named by a *_FILE variable. Exits 2 when the settings are invalid."
        ),
    )
    parser.add_argument(
        "--config", metavar="FILE", help="settings file (default config/delegator.yaml)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run_config)


def run_config(args: argparse.Namespace) -> int:
    explicit = Path(args.config) if args.config else None
    try:
        settings = read_settings(explicit, os.environ)
    except SettingsError as exc:
        print(f"delegator: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    path = explicit or Path(os.environ.get(f"{ENV_PREFIX}CONFIG", str(DEFAULT_CONFIG)))
    rows = effective_settings(settings)
    if args.json:
        document = {
            "command": "config",
            "config_file": str(path),
            "config_file_found": path.exists(),
            "settings": rows,
        }
        print(json.dumps(document, indent=2))
        return 0
    found = "" if path.exists() else " (not found: defaults and environment only)"
    print(f"settings file: {path}{found}")
    table = [("setting", "value", "from")]
    table += [(row["key"], row["shown"], row["source"]) for row in rows]
    widths = [max(len(line[column]) for line in table) for column in (0, 1)]
    for key, shown, source in table:
        print(f"  {key:<{widths[0]}}  {shown:<{widths[1]}}  {source}")
    return 0


def effective_settings(settings: Settings) -> list[dict[str, Any]]:
    """One row per setting: name, YAML key, variable, value (masked), shown text, origin."""
    rows = []
    for item in dataclasses.fields(settings):
        if item.name == "sources":
            continue
        value = shown_value(item.name, getattr(settings, item.name))
        rows.append(
            {
                "name": item.name,
                "key": SETTING_KEYS.get(item.name, item.name),
                "env": f"{ENV_PREFIX}{item.name.upper()}",
                "value": value,
                "shown": "-" if value is None else shown_text(value),
                "source": settings.sources.get(item.name, "default"),
            }
        )
    return rows


def shown_value(name: str, value: Any) -> str | int | bool | None:
    """A value as JSON can carry it, with secrets masked: the database URL keeps everything
    but its password; other secrets show only whether they are set."""
    if value is None:
        return None
    if name == "database_url":
        return mask_url(str(value))
    if name in SECRET_SETTINGS:
        return MASK
    if isinstance(value, bool | int):
        return value
    if isinstance(value, timedelta):
        return duration_text(value)
    return redact_text(str(value))


def duration_text(value: timedelta) -> str:
    """``1h``, ``30s``, ``90s``: the largest unit that divides it, as the settings file takes it."""
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def shown_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
