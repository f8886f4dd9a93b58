"""What every destination takes and what it raises: one rendered message, one safe error.

A summary is rendered once and handed to each destination, which picks the form it speaks:
Markdown for Slack (as mrkdwn) and email, Asana's rich text for Asana. A failure becomes a
``DeliveryError`` whose message goes into logs, the store and the next summary's "problems", so it
is written for people and never carries a webhook URL, a token or a password.
"""

from __future__ import annotations

from delegator.ports import DeliveryError, Destination, FindsPosted, Message

# The shapes every destination shares are the service's port (delegator.ports): summaries see
# only those, and each adapter here implements them.
__all__ = ["DeliveryError", "Destination", "FindsPosted", "Message", "one_line"]


def one_line(text: str) -> str:
    """A title fit for a header or a task name: no line breaks, no runs of spaces."""
    return " ".join(text.split())
