"""What every destination takes and what it raises: one rendered message, one safe error.

A summary is rendered once and handed to each destination, which picks the form it speaks:
Markdown for Slack (as mrkdwn) and email, Asana's rich text for Asana. A failure becomes a
``DeliveryError`` whose message goes into logs, the store and the next summary's "problems", so it
is written for people and never carries a webhook URL, a token or a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Message:
    """One summary or digest, rendered in every form a destination may need."""

    title: str  # one line: the email subject, the status update's title, the task's name
    markdown: str  # Slack (converted to mrkdwn) and email (text/plain, and HTML made from it)
    html: str  # Asana's rich text, "<body>...</body>": html_text / html_notes
    status_type: str | None = None  # on_track | at_risk | off_track, for status updates


class DeliveryError(Exception):
    """A destination did not take the message.

    ``retryable`` says whether the same message may succeed later (a server error, a timeout, a
    refused connection, a rate limit) or needs a person first (a wrong address, a refused login,
    a project that does not exist). ``retry_after`` is the wait the destination asked for, in
    seconds, when it said one.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, retryable={self.retryable})"


class Destination(Protocol):
    """Where a summary goes. ``key`` identifies it in the store (stable, secret-free);
    ``describe`` names it for people; ``deliver`` returns a receipt or raises DeliveryError."""

    @property
    def key(self) -> str: ...

    @property
    def describe(self) -> str: ...

    def deliver(self, message: Message) -> str: ...


@runtime_checkable
class FindsPosted(Protocol):
    """A destination that can tell whether a message was already posted (the Asana ones): after
    a crash between the post and its record, the next run records it instead of posting twice."""

    def find_posted(self, title: str | None, since: datetime) -> str | None: ...


def one_line(text: str) -> str:
    """A title fit for a header or a task name: no line breaks, no runs of spaces."""
    return " ".join(text.split())
