"""The glue to core.summary_render: a summary or digest in the client's templates, as a Message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from delegator.clients import ClientEntry
from delegator.core.summary import AssistantDigest, ClientSummary
from delegator.core.summary_render import Rendered, render_digest, render_summary
from delegator.ports import Message


def summary_text(entry: ClientEntry, summary: ClientSummary) -> Rendered:
    """The summary in the templates of the client file's ``summary:`` block, if it has any."""
    head = entry.loaded.head
    templates = head.summary.template if head is not None and head.summary else None
    return render_summary(summary, templates)


def digest_text(entry: ClientEntry, digest: AssistantDigest) -> Rendered:
    """The digest in the templates of the client file's ``digest:`` block, if it has any."""
    head = entry.loaded.head
    templates = head.digest.template if head is not None and head.digest else None
    return render_digest(digest, templates)


def message_of(rendered: Rendered) -> Message:
    return Message(
        rendered.title, rendered.markdown, rendered.html, rendered.status_type, rendered.language
    )


@dataclass
class Rendering:
    """A period's message, rendered once however many destinations want it."""

    build: Callable[[], Rendered]
    value: Rendered | None = None

    def get(self) -> Rendered:
        if self.value is None:
            self.value = self.build()
        return self.value
