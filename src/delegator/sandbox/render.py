"""Records to JSON the way Asana shapes them: compact, full, or exactly the ``opt_fields`` asked for.

- A collection returns *compact* records (gid, name, resource_type; tasks add resource_subtype).
- A single object returns its *full* record; related objects inside it are compact.
- With ``opt_fields`` a record has its gid plus exactly the named fields; a dotted path such as
  ``memberships.section.name`` selects fields of the related object, and a related object named
  without sub-fields (``assignee``) comes back compact.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from delegator.sandbox.clock import format_instant
from delegator.sandbox.records import MISSING, Node

FieldTree = dict[str, "FieldTree"]
"""``opt_fields`` parsed into a tree: ``a.b,a.c,d`` -> ``{"a": {"b": {}, "c": {}}, "d": {}}``."""


def parse_opt_fields(text: str | None) -> FieldTree | None:
    """The tree of fields asked for, or None when the client did not send ``opt_fields``."""
    if text is None or not text.strip():
        return None
    tree: FieldTree = {}
    for path in text.split(","):
        node = tree
        for part in path.strip().split("."):
            if part and part != "this":
                node = node.setdefault(part, {})
    return tree


def render(node: Node, fields: FieldTree | None, *, full: bool) -> dict[str, Any]:
    """One record as JSON: ``full`` or compact when ``fields`` is None, else just those fields."""
    if fields is None:
        names = node.FULL if full else node.COMPACT
        values = ((name, node.value(name)) for name in names)
        return {name: _value(value, None) for name, value in values if value is not MISSING}
    out: dict[str, Any] = {}
    if "gid" in type(node)._FIELDS:
        out["gid"] = node.value("gid")
    for name, sub in fields.items():
        value = node.value(name)
        if value is not MISSING:
            out[name] = _value(value, sub or None)
    return out


def render_many(nodes: list[Any], fields: FieldTree | None) -> list[dict[str, Any]]:
    return [render(node, fields, full=False) for node in nodes]


def _value(value: Any, fields: FieldTree | None) -> Any:
    if isinstance(value, Node):
        return render(value, fields, full=False)
    if isinstance(value, list):
        return [_value(item, fields) for item in value]
    if isinstance(value, datetime):
        return format_instant(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
