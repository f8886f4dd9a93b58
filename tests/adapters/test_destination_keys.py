"""The keys the store of sends knows each destination by, pinned: rows written by earlier versions
carry them, and a key that changed would send each of those periods again after an upgrade."""

from __future__ import annotations

from typing import Any

import pytest

from delegator.core.schema import DESTINATION_KINDS, Destination
from delegator.destinations import destination_key
from delegator.notify import AsanaComment, AsanaStatusUpdate, AsanaTask, Email, Webhook

# (a `to:` entry as YAML reads it, the recipient, the key stored for it since summaries began)
PINNED: list[tuple[dict[str, Any], str, str]] = [
    ({"webhook": {"env": "SLACK_WEBHOOK_URL"}}, "", "webhook:env:SLACK_WEBHOOK_URL"),
    ({"webhook": {"env": "SLACK_WEBHOOK_URL"}}, "giulia", "webhook:env:SLACK_WEBHOOK_URL"),
    ({"webhook": {"file": "/run/secrets/hook"}}, "", "webhook:file:/run/secrets/hook"),
    ({"email": ["b@y.example", "a@x.example"]}, "", "email:a@x.example,b@y.example"),
    ({"email": "a@x.example"}, "", "email:a@x.example"),
    ({"email": "assistant"}, "giulia", "email:assistant:giulia"),
    ({"asana_comment": 1200}, "", "asana_comment:1200"),
    ({"asana_comment": {"task": "1200"}}, "", "asana_comment:1200"),
    ({"asana_status": {"project": "Operations"}}, "", "asana_status:Operations"),
    ({"asana_status": "Operations"}, "", "asana_status:Operations"),
    ({"asana_status": {"project": 1201}}, "", "asana_status:1201"),
    ({"asana_status": {"project": {"gid": "1201"}}}, "", "asana_status:1201"),
    ({"asana_task": {"project": "Client Admin"}}, "giulia", "asana_task:Client Admin"),
    ({"asana_task": 1202}, "", "asana_task:1202"),
]


@pytest.mark.parametrize(("entry", "recipient", "key"), PINNED)
def test_each_destination_keeps_the_key_earlier_versions_stored(
    entry: dict[str, Any], recipient: str, key: str
) -> None:
    assert destination_key(Destination.model_validate(entry), recipient) == key


def test_every_kind_of_destination_has_a_pinned_key() -> None:
    pinned = {Destination.model_validate(entry).kind for entry, _, _ in PINNED}
    assert pinned == set(DESTINATION_KINDS)


@pytest.mark.parametrize("adapter", [Webhook, Email, AsanaStatusUpdate, AsanaComment, AsanaTask])
def test_a_destination_has_no_key_of_its_own(adapter: type) -> None:
    """One key: the adapters (which know a project by gid, not as the rule file names it) have
    none the store could be given by mistake."""
    assert not hasattr(adapter, "key")
