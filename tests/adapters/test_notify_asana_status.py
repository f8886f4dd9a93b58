"""A summary as an Asana status update: the plain text Asana requires goes with the rich text,
and a status type a project cannot take is refused before anything is sent."""

from __future__ import annotations

import pytest
import responses
from asana_fakes import BASE, body

from delegator.asana import AsanaClient
from delegator.notify.asana import AsanaStatusUpdate
from delegator.notify.message import DeliveryError, Message
from delegator.notify.plain import to_plain

MARKDOWN = """\
**Acme: week 49**

On track: every task has an owner.

**Delegated: 2**
- [Chase invoice 42](https://app.asana.com/0/1/42) to *Giulia*
- Book the venue to Bo
  - needs a date

> a quote
"""


def test_the_plain_form_keeps_the_words_and_drops_the_markup() -> None:
    assert to_plain(MARKDOWN) == (
        "Acme: week 49\n\n"
        "On track: every task has an owner.\n\n"
        "Delegated: 2\n\n"
        "- Chase invoice 42 (https://app.asana.com/0/1/42) to Giulia\n"
        "- Book the venue to Bo\n"
        "  - needs a date\n\n"
        "> a quote"
    )


def test_a_status_update_carries_plain_text_and_rich_text(
    client: AsanaClient, api: responses.RequestsMock
) -> None:
    api.post(f"{BASE}/status_updates", status=201, json={"data": {"gid": "u1"}})
    message = Message(
        title="Acme: week 49",
        markdown=MARKDOWN,
        html="<body><strong>Acme: week 49</strong></body>",
        status_type="at_risk",
    )

    assert AsanaStatusUpdate(client, "9").deliver(message) == "u1"

    sent = body(api.calls[0])["data"]
    assert sent["text"] == to_plain(MARKDOWN)
    assert sent["html_text"] == "<body><strong>Acme: week 49</strong></body>"
    assert (sent["parent"], sent["status_type"], sent["title"]) == ("9", "at_risk", "Acme: week 49")


@pytest.mark.parametrize("status_type", ["achieved", "partial", "missed"])
def test_a_goal_only_status_on_a_project_is_refused_without_a_request(
    client: AsanaClient, api: responses.RequestsMock, status_type: str
) -> None:
    message = Message(title="t", markdown="m", html="<body>m</body>", status_type=status_type)

    with pytest.raises(DeliveryError, match="not valid for a project status update") as failed:
        AsanaStatusUpdate(client, "9").deliver(message)

    assert not failed.value.retryable
    assert len(api.calls) == 0
