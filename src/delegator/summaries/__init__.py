"""Client summaries and assistant digests: gathered from the store, rendered, sent once per period.

``periods`` says when each is due and what it covers, ``gather`` reads what it says from the
store and the task backend, ``rendering`` writes it, ``ledger`` makes each period go exactly
once to each destination, and ``service`` (``Summaries``) ties them together at each tick.
"""

from delegator.summaries.ledger import LEASE, MAX_BACKOFF, SendOutcome, Target
from delegator.summaries.periods import DEFAULT_PERIOD, Kind, Period
from delegator.summaries.rendering import message_of
from delegator.summaries.service import DestinationFactory, Summaries

__all__ = [
    "DEFAULT_PERIOD",
    "LEASE",
    "MAX_BACKOFF",
    "DestinationFactory",
    "Kind",
    "Period",
    "SendOutcome",
    "Summaries",
    "Target",
    "message_of",
]
