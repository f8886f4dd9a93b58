"""The one error the store raises for anything that goes wrong with the database.

Driver and SQLAlchemy errors are translated at this edge (``raise StoreError(...) from exc``), so
the service catches one class and never sees a vendor exception. Messages name the database by its
URL with the password masked: they end up in logs and on terminals.
"""

from __future__ import annotations


class StoreError(Exception):
    """The state database cannot be opened, migrated, read or written, or was asked for a record
    it does not hold."""
