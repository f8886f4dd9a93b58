"""Where this machine reaches a server it started, from the address the server listens on."""

from __future__ import annotations

# A server listening everywhere is reached on loopback.
_EVERYWHERE = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104


def local_url(host: str, port: int) -> str:
    """``http://host:port``, loopback for a wildcard address, an IPv6 address in brackets."""
    shown = _EVERYWHERE.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"
