"""Derive the sandbox's contract table from Asana's OpenAPI spec.

For every (method, path template) the sandbox serves, ``src/delegator/sandbox/contract.json``
holds what Asana's spec says about it: the query and path parameters (type, required, enum,
minimum/maximum), the ``opt_fields`` enum (dotted paths as the spec lists them), the request
body's fields under ``data`` (type, required, enum, nullable) and the default (not opt-in)
fields of the record the operation answers with. ``delegator.sandbox.strict`` checks every
request against it; ``tests/contract/test_contract_table.py`` checks it is in step with the spec.

    python tools/asana_contract.py [--spec PATH] [--check]

``--check`` writes nothing and exits 1 when the committed table differs from the spec's.
The spec itself is never copied into the project: only this table is.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import yaml

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
CONTRACT: Final = REPO_ROOT / "src" / "delegator" / "sandbox" / "contract.json"
DEFAULT_SPEC: Final = REPO_ROOT.parent / "shared" / "asana" / "asana_oas.yaml"

# Routes the sandbox serves outside its route tables (api.ROUTES): the Batch API.
EXTRA_ROUTES: Final = (("POST", "/batch"),)

# Routes the sandbox serves that the spec does not have, with the reason. Each is left out of
# the table (strict mode does not check it). Empty: every route is in the spec.
NOT_IN_SPEC: Final[dict[str, str]] = {}

# Query parameters Asana accepts on an operation although the spec does not declare them there.
UNDECLARED_PARAMETERS: Final[dict[str, dict[str, str]]] = {
    "GET /events": {
        "limit": "the official SDK (asana 5.x) sends limit=100 on /events and Asana answers it",
    },
    "POST /batch": {
        "limit": "the official SDK (asana 5.x) sends limit=100 on /batch and Asana answers it",
    },
    "GET /workspaces/{workspace_gid}/tasks/search": {
        "limit": "the operation's description: page sizes are limited to a maximum of 100 "
        "items, and can be specified by the limit query parameter",
    },
}

# Dotted opt_fields Asana serves beyond an operation's enum: fields of the full record of a
# related object that the enum leaves out. Applied to every operation whose enum lists the
# related object ("assignee" or "followers").
UNDECLARED_OPT_FIELDS: Final[dict[str, str]] = {
    "assignee.email": "a user's email: the enums list only assignee.name, Asana serves any "
    "field of the related user",
    "followers.email": "as assignee.email",
}


def load_spec(path: Path) -> dict[str, Any]:
    """The spec as plain data (its response codes are int keys under PyYAML)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as handle:
        spec: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    return spec


def sandbox_routes() -> list[tuple[str, str]]:
    """Every (method, template) the sandbox serves."""
    from delegator.sandbox.api import ROUTES

    routes = {(route.method, route.template) for route in ROUTES.routes}
    return sorted(routes | set(EXTRA_ROUTES))


class Spec:
    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def resolve(self, node: Any) -> Any:
        while isinstance(node, Mapping) and "$ref" in node:
            target: Any = self.raw
            for part in str(node["$ref"]).removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def ref_name(self, node: Any) -> str:
        """The name of the component a schema refers to ("" when inline)."""
        while isinstance(node, Mapping):
            if "$ref" in node:
                return str(node["$ref"]).rsplit("/", 1)[-1]
            parts = node.get("allOf")
            if isinstance(parts, list) and len(parts) == 1:
                node = parts[0]
                continue
            break
        return ""

    def path_of(self, template: str) -> str | None:
        """The spec's path for a sandbox template (path parameter names may differ)."""
        wanted = _shape(template)
        for path in self.raw["paths"]:
            if _shape(str(path)) == wanted:
                return str(path)
        return None

    def properties(self, schema: Any) -> tuple[dict[str, Any], set[str]]:
        """Properties and required names of a schema, allOf parts merged."""
        schema = self.resolve(schema)
        props: dict[str, Any] = {}
        required: set[str] = set()
        for part in schema.get("allOf", []):
            more, needed = self.properties(part)
            props.update(more)
            required |= needed
        for name, prop in (schema.get("properties") or {}).items():
            props[str(name)] = prop
        required |= {str(name) for name in schema.get("required", [])}
        return props, required

    def flat(self, schema: Any) -> dict[str, Any]:
        """A property's schema with single-part allOf and $ref folded into one mapping."""
        schema = self.resolve(schema)
        merged: dict[str, Any] = {}
        for part in schema.get("allOf", []):
            merged.update(self.flat(part))
        merged.update({k: v for k, v in schema.items() if k != "allOf"})
        return merged


def _shape(template: str) -> str:
    return "/".join("{}" if part.startswith("{") else part for part in template.split("/"))


def _param(spec: Spec, raw: Any) -> tuple[str, dict[str, Any]]:
    param = spec.resolve(raw)
    schema = spec.flat(param.get("schema") or {})
    entry: dict[str, Any] = {"in": param["in"], "type": schema.get("type", "string")}
    if param.get("required"):
        entry["required"] = True
    if param.get("allowEmptyValue"):
        entry["allow_empty"] = True
    for key in ("enum", "minimum", "maximum", "format"):
        if key in schema:
            entry[key] = schema[key]
    items = spec.flat(schema.get("items") or {})
    if entry["type"] == "array" and "enum" in items:
        entry["items_enum"] = sorted(str(value) for value in items["enum"])
    return str(param["name"]), entry


def _field(spec: Spec, raw: Any) -> dict[str, Any] | None:
    schema = spec.flat(raw)
    if schema.get("readOnly"):
        return None
    entry: dict[str, Any] = {}
    if "type" in schema:
        entry["type"] = schema["type"]
    if schema.get("nullable"):
        entry["nullable"] = True
    if "enum" in schema:
        entry["enum"] = [value for value in schema["enum"] if value is not None]
    if "format" in schema:
        entry["format"] = schema["format"]
    items = spec.flat(schema.get("items") or {})
    if schema.get("type") == "array" and "type" in items:
        entry["items"] = items["type"]
    return entry


def _opt_in(prop: Any, spec: Spec) -> bool:
    description = str(spec.flat(prop).get("description", ""))
    return "[Opt In]" in description or "Opt In" in description.split(".", 1)[0]


def operation(spec: Spec, method: str, template: str) -> dict[str, Any] | None:
    path = spec.path_of(template)
    if path is None:
        return None
    item = spec.raw["paths"][path]
    op = item.get(method.lower())
    if op is None:
        return None
    names = iter(template.split("/"))
    renames = {
        sp.strip("{}"): own.strip("{}")
        for sp, own in zip(path.split("/"), names, strict=True)
        if sp.startswith("{")
    }
    parameters: dict[str, Any] = {}
    opt_fields: list[str] = []
    for raw in [*item.get("parameters", []), *op.get("parameters", [])]:
        name, entry = _param(spec, raw)
        if entry["in"] == "path":
            name = renames.get(name, name)
        if name == "opt_fields":
            opt_fields = entry.pop("items_enum", [])
        parameters[name] = entry
    result: dict[str, Any] = {"parameters": parameters, "opt_fields": opt_fields}

    body = op.get("requestBody")
    if body is not None:
        body = spec.resolve(body)
        schema = spec.resolve(body["content"]["application/json"]["schema"])
        data = (schema.get("properties") or {}).get("data")
        if data is not None:
            props, required = spec.properties(data)
            fields = {n: f for n, p in props.items() if (f := _field(spec, p)) is not None}
            result["body"] = {
                "schema": spec.ref_name(data),
                "required": sorted(required & set(fields)),
                "fields": fields,
            }

    responses = {str(code): value for code, value in op.get("responses", {}).items()}
    status = next(code for code in ("200", "201") if code in responses)
    content = spec.resolve(responses[status]).get("content", {})
    schema = spec.resolve(content.get("application/json", {}).get("schema") or {})
    data = (schema.get("properties") or {}).get("data")
    if data is not None:
        flat = spec.flat(data)
        is_list = flat.get("type") == "array"
        record = flat["items"] if is_list else data
        props, _ = spec.properties(record)
        result["response"] = {
            "status": int(status),
            "list": is_list,
            "schema": spec.ref_name(record),
            "defaults": sorted(n for n, p in props.items() if not _opt_in(p, spec)),
        }
    return result


def derive(raw_spec: Mapping[str, Any], routes: Iterable[tuple[str, str]]) -> dict[str, Any]:
    spec = Spec(raw_spec)
    operations: dict[str, Any] = {}
    missing: list[str] = []
    for method, template in routes:
        key = f"{method} {template}"
        if key in NOT_IN_SPEC:
            continue
        found = operation(spec, method, template)
        if found is None:
            missing.append(key)
            continue
        for name, reason in UNDECLARED_PARAMETERS.get(key, {}).items():
            found["parameters"].setdefault(name, {"in": "query", "type": "integer"})
            found["parameters"][name]["undeclared"] = reason
        enum = set(found["opt_fields"])
        extra = {f for f in UNDECLARED_OPT_FIELDS if f.split(".")[0] in enum and f not in enum}
        if extra:
            found["opt_fields_undeclared"] = sorted(extra)
        operations[key] = found
    if missing:
        raise SystemExit(
            "routes the spec does not have (add each to NOT_IN_SPEC with a reason): "
            + ", ".join(missing)
        )
    return {
        "spec": {"title": raw_spec["info"]["title"], "version": str(raw_spec["info"]["version"])},
        "not_in_spec": dict(sorted(NOT_IN_SPEC.items())),
        "operations": operations,
    }


def dumps(table: Mapping[str, Any]) -> str:
    """Compact, sorted JSON: one line per operation so a change reads as a small diff."""
    lines = ["{"]
    items = [(key, value) for key, value in sorted(table.items()) if key != "operations"]
    for key, value in items:
        lines.append(f"{json.dumps(key)}:{_compact(value)},")
    lines.append('"operations":{')
    operations = sorted(table["operations"].items())
    for index, (key, value) in enumerate(operations):
        comma = "," if index < len(operations) - 1 else ""
        lines.append(f"{json.dumps(key)}:{_compact(value)}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--spec",
        type=Path,
        default=Path(os.environ.get("DELEGATOR_ASANA_SPEC", str(DEFAULT_SPEC))),
        help="Asana's OpenAPI spec (asana_oas.yaml)",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when contract.json is out of date"
    )
    args = parser.parse_args(argv)
    text = dumps(derive(load_spec(args.spec), sandbox_routes()))
    if args.check:
        current = CONTRACT.read_text(encoding="utf-8") if CONTRACT.is_file() else ""
        if current != text:
            sys.stderr.write(f"{CONTRACT} is out of date: run python tools/asana_contract.py\n")
            return 1
        return 0
    CONTRACT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
