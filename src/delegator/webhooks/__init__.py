"""ADAPTER: the Asana webhook receiver (an ASGI app, `receiver.py`, run by uvicorn, `server.py`).

It answers Asana's handshakes and checks every delivery's signature; what a delivery means for
the service (a client is due for a cycle) is the ``on_delivery`` callback's business, wired by
the composition root.
"""

from delegator.webhooks.receiver import (
    DEFAULT_MAX_BODY,
    Delivery,
    OnDelivery,
    ReceiverCounts,
    WebhookReceiver,
    WebhookSecrets,
    build_app,
    signature,
)
from delegator.webhooks.server import WebhookServer, WebhookServerError

__all__ = [
    "DEFAULT_MAX_BODY",
    "Delivery",
    "OnDelivery",
    "ReceiverCounts",
    "WebhookReceiver",
    "WebhookSecrets",
    "WebhookServer",
    "WebhookServerError",
    "build_app",
    "signature",
]
