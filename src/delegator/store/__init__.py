"""The state store: what the service remembers between cycles and across restarts.

SQLAlchemy Core over a SQLite file by default, PostgreSQL by URL for several replicas; versioned
migrations applied at start-up. ``SqlStore`` implements ``delegator.ports.StateStore``.
"""

from delegator.store.database import mask_url
from delegator.store.errors import StoreError
from delegator.store.migrations import MIGRATIONS, Migration
from delegator.store.sqlstore import SqlStore

__all__ = ["MIGRATIONS", "Migration", "SqlStore", "StoreError", "mask_url"]
