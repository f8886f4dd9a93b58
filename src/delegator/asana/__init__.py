"""The Asana client: reads, writes and batches over `requests`, spending the quota with care.

Modules: `errors` (hierarchy and the one retry decision), `budget` (per-token rate and
concurrency), `http` (the transport), `pagination`, `sources` (persistable positions), `reads`,
`writes` (actions as data), `batch`, `lookups` (per-cycle name cache), `client` (the facade).
docs/asana-client.md describes the API, the policies and what each call costs.
"""

from delegator.asana.batch import ActionResult
from delegator.asana.budget import FREE, PAID, Budget, BudgetRegistry, Limits
from delegator.asana.client import AsanaClient
from delegator.asana.errors import (
    ApiError,
    AsanaError,
    Decision,
    Forbidden,
    InvalidRequest,
    NotFound,
    Outcome,
    PaymentRequired,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedAnswer,
    decide,
)
from delegator.asana.http import DEFAULT_BASE_URL, Record, Timeouts
from delegator.asana.lookups import CustomFieldDef, EnumOption, Lookups
from delegator.asana.sources import (
    Source,
    SourceKind,
    SourceRead,
    SyncPosition,
)
from delegator.asana.writes import Action

__all__ = [
    "DEFAULT_BASE_URL",
    "FREE",
    "PAID",
    "Action",
    "ActionResult",
    "ApiError",
    "AsanaClient",
    "AsanaError",
    "Budget",
    "BudgetRegistry",
    "CustomFieldDef",
    "Decision",
    "EnumOption",
    "Forbidden",
    "InvalidRequest",
    "Limits",
    "Lookups",
    "NotFound",
    "Outcome",
    "PaymentRequired",
    "RateLimited",
    "Record",
    "RetryPolicy",
    "ServerError",
    "Source",
    "SourceKind",
    "SourceRead",
    "SyncPosition",
    "Timeouts",
    "TransportError",
    "Unauthorized",
    "UnexpectedAnswer",
    "decide",
]
