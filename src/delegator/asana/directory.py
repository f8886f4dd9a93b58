"""What a workspace holds, read to check a client file against it rather than to run it.

The worker never needs these reads; `delegator check --online` does (see docs/preflight.md):

* `token_workspaces`: the workspaces the token's user belongs to, ``GET /workspaces`` (one
  request per 100), to say which gid was meant when the file's is not among them;
* `project`: one project by gid, ``GET /projects/{gid}`` with its name, workspace and
  archived flag: a project the token's user cannot see answers 403 or 404 (`Forbidden`,
  `NotFound`), which the workspace's project list cannot tell from a project that does not
  exist;
* `search_available`: whether the workspace answers the search API (premium only: a free
  workspace answers 402), one search request for the tasks of a tag changed from now on.
"""

from __future__ import annotations

from delegator.asana import answers, pagination, reads
from delegator.asana.budget import Budget
from delegator.asana.errors import PaymentRequired
from delegator.asana.http import Record, Transport, join_fields, segment

WORKSPACE_FIELDS: tuple[str, ...] = ("name",)
PROJECT_FIELDS: tuple[str, ...] = ("name", "workspace", "archived")


def token_workspaces(transport: Transport) -> list[Record]:
    """The workspaces (gid and name) of the token's user."""
    return list(
        pagination.items(transport, "/workspaces", None, WORKSPACE_FIELDS, shape=answers.named_page)
    )


def project(transport: Transport, project_gid: str) -> Record:
    """One project by gid: ``{"gid", "name", "workspace": {"gid"}, "archived"}``."""
    response = transport.request(
        "GET",
        f"/projects/{segment(project_gid)}",
        params={"opt_fields": join_fields(PROJECT_FIELDS)},
        shape=answers.record,
    )
    return dict(response.parsed)


def search_available(
    transport: Transport, workspace_gid: str, tag_gid: str, *, budget: Budget | None = None
) -> bool:
    """Whether the search API answers in the workspace: False on 402 Payment Required.

    One request (the tag's tasks modified from now on: none, or a few); `budget` is the search
    API's own quota, spent too. Any other failure is raised."""
    try:
        reads.search_changes(
            transport,
            workspace_gid,
            tag_gid,
            transport.clock.now(),
            ("name",),
            budget=budget,
            max_pages=1,
        )
    except PaymentRequired:
        return False
    return True
