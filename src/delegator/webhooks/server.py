"""The webhook receiver served by uvicorn on a background thread: `WebhookServer`, an
`AppServer` (delegator.appserver) with the receiver's app and names.

`start()` binds the socket itself (so a taken port is a `WebhookServerError` at once, and port 0
picks a free port, reported by `port`), then runs uvicorn's ``Server`` on its own thread and
event loop; `stop()` stops accepting, lets requests in flight finish (up to
``graceful_timeout``) and joins the thread. uvicorn installs no signal handlers off the main
thread, so the service's own handling of SIGTERM is untouched.

Settings that matter for an endpoint on the internet:

* ``limit_concurrency``: connections and tasks beyond it get 503 at once, not a queue;
* ``timeout_keep_alive``: an idle keep-alive connection is closed after it;
* ``head_timeout``: a connection whose request line and headers are not complete within it is
  closed. uvicorn has no such timeout (its keep-alive timer only runs between requests), so a
  client sending nothing, or headers a byte at a time (slowloris), would hold one of the
  ``limit_concurrency`` places for ever, and enough of them would shut Asana out. The body has
  its own deadline in the receiver (`WebhookReceiver`, 408);
* ``h11_max_incomplete_event_size``: the request line and headers are capped (16 KiB);
* the body is capped and timed by the receiver itself (`WebhookReceiver.max_body`);
* no access log: its lines carry the path, and the path carries the webhook key; the receiver
  logs each answer itself with the key's fingerprint. ``log_config=None`` leaves the process's
  logging as ``delegator.logs`` set it (uvicorn would otherwise install its own);
* no ``Server`` header, no proxy headers trusted (``proxy_headers=False``): nothing here depends
  on the client's address.

TLS is expected to end in front (a load balancer or reverse proxy): Asana only posts to HTTPS.
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
