"""The webhook receiver served by uvicorn on a background thread: `WebhookServer`, an
`AppServer` (delegator.appserver, which says what each of its limits is for) with the receiver's
app and names.

What the receiver adds for an endpoint Asana posts to: the body is capped and timed by the
receiver itself (`WebhookReceiver.max_body`, 408 past its deadline); no access log is kept since
the path carries the webhook key (the receiver logs each answer with the key's fingerprint);
enough slow connections holding ``limit_concurrency`` places would shut Asana out, which the
server's ``head_timeout`` prevents. TLS ends in front (a load balancer or reverse proxy): Asana
only posts to HTTPS.
"""

from __future__ import annotations

from delegator.appserver import AppServer, AppServerError
from delegator.webhooks.receiver import WebhookReceiver


class WebhookServerError(AppServerError):
    """The receiver cannot listen, or did not start; the message says where and why."""


class WebhookServer(AppServer):
    """A `WebhookReceiver`'s app on ``host:port`` (0: any free port). A context manager."""

    def __init__(
        self,
        receiver: WebhookReceiver,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limit_concurrency: int = 64,
        timeout_keep_alive: int = 5,
        head_timeout: float = 10.0,
        graceful_timeout: int = 5,
        start_timeout: float = 10.0,
    ) -> None:
        self.receiver = receiver
        super().__init__(
            receiver.app, host, port, purpose="for Asana webhooks", name="the webhook receiver",
            component="webhooks", event="webhook_receiver", error=WebhookServerError,
            limit_concurrency=limit_concurrency, timeout_keep_alive=timeout_keep_alive,
            head_timeout=head_timeout, graceful_timeout=graceful_timeout,
            start_timeout=start_timeout,
        )  # fmt: skip
