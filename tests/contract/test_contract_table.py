"""The sandbox's contract table (contract.json) is what Asana's spec says, for every route served.

The table is derived by ``tools/asana_contract.py``; here it is derived again from the spec and
compared with the committed file, so a change of the spec, of the script or of the sandbox's
routes that is not followed by ``python tools/asana_contract.py`` fails. Without the spec file
this skips locally and fails under CI (CI=true), so a broken set-up cannot pass for green.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from delegator.sandbox import strict
from delegator.sandbox.api import ROUTES
from delegator.sandbox.render import render

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tools" / "asana_contract.py"


def spec_path() -> Path:
    """Where the spec is (as in conftest.py: DELEGATOR_ASANA_SPEC or beside the checkout)."""
    default = REPO_ROOT.parent / "shared" / "asana" / "asana_oas.yaml"
    return Path(os.environ.get("DELEGATOR_ASANA_SPEC", str(default)))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asana_contract", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("asana_contract", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def raw_spec(script: ModuleType) -> Any:
    path = spec_path()
    if not path.is_file():
        reason = f"Asana's OpenAPI spec not found at {path} (set DELEGATOR_ASANA_SPEC)"
        if _in_ci():
            pytest.fail(f"{reason}: CI is set, so the contract table cannot go unchecked")
        pytest.skip(reason)
    return script.load_spec(path)


def test_the_committed_table_is_the_one_the_spec_gives(script: ModuleType, raw_spec: Any) -> None:
    derived = script.dumps(script.derive(raw_spec, script.sandbox_routes()))
    committed = Path(script.CONTRACT).read_text(encoding="utf-8")

    assert committed == derived, "contract.json is out of date: run python tools/asana_contract.py"


def test_the_script_checks_in_step(script: ModuleType, raw_spec: Any) -> None:
    assert script.main(["--spec", str(spec_path()), "--check"]) == 0


def test_every_route_the_sandbox_serves_has_an_entry() -> None:
    table = strict.contract()
    served = {f"{route.method} {route.template}" for route in ROUTES.routes} | {"POST /batch"}

    assert served - set(table["operations"]) - set(table["not_in_spec"]) == set()
    for route in ROUTES.routes:
        key = f"{route.method} {route.template}"
        if key in table["operations"]:
            found = strict.operation_of(route.method, re.sub(r"\{\w+\}", "123", route.template))
            assert found is not None
            assert found[0] == key


def test_the_table_says_what_the_sandbox_relies_on() -> None:
    operations = strict.contract()["operations"]

    limit = operations["GET /tasks"]["parameters"]["limit"]
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
    assert "memberships.section.name" in operations["GET /tasks"]["opt_fields"]
    status_updates = operations["POST /status_updates"]["body"]
    assert {"text", "status_type", "parent"} <= set(status_updates["required"])
    assert "html_text" in status_updates["fields"]
    assert operations["POST /tasks/{task_gid}/stories"]["body"]["required"] == []
    assert operations["GET /tasks/{task_gid}"]["response"]["schema"] == "TaskResponse"


# ---------------------------------------------------------------- full records


def _full_records() -> dict[str, tuple[str, Any]]:
    from delegator.sandbox.server import SandboxServer

    world = SandboxServer.demo().world
    task = world.task("Send November receipts to the accountant")
    project = world.project("Operations")
    story = world.comment(task, "Hello", by=world.user("Anna Rossi"))
    update = world.post_status_update(
        project, by=world.user("Anna Rossi"), text="On track", status_type="on_track"
    )
    workspace = task.workspace
    user = world.user("Anna Rossi")
    return {
        "GET /tasks/{task_gid}": ("task", task),
        "GET /projects/{project_gid}": ("project", project),
        "GET /status_updates/{status_update_gid}": ("status update", update),
        "POST /tasks/{task_gid}/stories": ("story", story),
        "GET /workspaces/{workspace_gid}": ("workspace", workspace),
        "GET /users/{user_gid}": ("user", user),
        "GET /sections/{section_gid}": ("section", project.sections[0]),
        "GET /tags/{tag_gid}": ("tag", world.tag("urgent")),
        "GET /custom_fields/{custom_field_gid}": ("custom field", workspace.custom_fields[0]),
    }


STORY_CHANGES = (
    "approval_status",
    "date_value",
    "dates",
    "enum_value",
    "multi_enum_values",
    "name",
    "number_value",
    "people_value",
    "resource_subtype",
    "section",
    "text_value",
)
# Default fields Asana gives only to some records of a kind, with the reason.
ONLY_WHERE_THEY_APPLY = {
    "task": {"approval_status": "approval tasks only (resource_subtype approval)"},
    "project": {"team": "projects in organizations only; the demo's workspaces are not"},
    "story": dict.fromkeys(
        [
            *("assignee", "custom_field", "dependency", "duplicate_of", "duplicated_from"),
            *("follower", "project", "sticker_name", "story", "tag", "task"),
            *(f"{age}_{name}" for age in ("old", "new") for name in STORY_CHANGES),
        ],
        "system stories of the subtype the field describes (a comment has none)",
    ),
}


def test_a_full_record_has_every_field_asana_gives_by_default() -> None:
    operations = strict.contract()["operations"]
    missing = {}
    for key, (kind, record) in _full_records().items():
        shown = set(render(record, None, full=True)) | set(ONLY_WHERE_THEY_APPLY.get(kind, {}))
        lacking = set(operations[key]["response"]["defaults"]) - shown
        if lacking:
            missing[kind] = sorted(lacking)

    assert missing == {}
