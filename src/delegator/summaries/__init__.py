"""Client summaries and assistant digests: what is due, gathered, rendered and sent once per period."""

from delegator.summaries.service import (
    LEASE,
    DestinationFactory,
    Period,
    SendOutcome,
    Summaries,
    Target,
    message_of,
)

__all__ = [
    "LEASE",
    "DestinationFactory",
    "Period",
    "SendOutcome",
    "Summaries",
    "Target",
    "message_of",
]
