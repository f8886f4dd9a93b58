"""Where summaries and digests go: Asana (status update, comment, task), a Slack-compatible
webhook, email over SMTP. Each destination delivers one rendered message or raises
``DeliveryError`` with a message that never contains a secret.

Modules: ``message`` (Message, DeliveryError, the Destination protocol), ``asana``, ``webhook``,
``email``; ``markdown`` and ``slack`` turn a summary's Markdown into safe HTML, Asana's rich
text and Slack's mrkdwn.
"""

from typing import TYPE_CHECKING

from delegator.notify.asana import AsanaComment, AsanaStatusUpdate, AsanaTask
from delegator.notify.email import Email, SmtpSettings
from delegator.notify.markdown import to_asana_html, to_html
from delegator.notify.message import DeliveryError, Destination, FindsPosted, Message
from delegator.notify.slack import to_mrkdwn
from delegator.notify.webhook import Webhook, webhook_source, webhook_url

__all__ = [
    "AsanaComment",
    "AsanaStatusUpdate",
    "AsanaTask",
    "DeliveryError",
    "Destination",
    "Email",
    "FindsPosted",
    "Message",
    "SmtpSettings",
    "Webhook",
    "to_asana_html",
    "to_html",
    "to_mrkdwn",
    "webhook_source",
    "webhook_url",
]


if TYPE_CHECKING:

    def _implement_the_protocols(
        status: AsanaStatusUpdate,
        comment: AsanaComment,
        task: AsanaTask,
        hook: Webhook,
        mail: Email,
    ) -> tuple[list[Destination], list[FindsPosted]]:
        return [status, comment, task, hook, mail], [status, comment, task]  # proved by mypy
