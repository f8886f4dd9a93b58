"""Which replica runs which client: rendezvous (highest random weight) hashing.

Each client goes to the live replica with the highest hash of (replica, client). Every replica
computes the same answer from the same list of live replicas, with nothing stored; when a replica
joins it takes about 1/N of the clients, from each of the others, and when one leaves only its
clients move, spread over the rest. Written here rather than taken from a library: it is a dozen
lines, and a consistent-hashing ring would need virtual nodes to spread as evenly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def _weight(replica: str, client: str) -> int:
    digest = hashlib.blake2b(
        f"{replica}\x00{client}".encode("utf-8", "surrogatepass"), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")


def owner(client: str, replicas: Sequence[str]) -> str | None:
    """The replica that should run ``client``; None when there is none. Ties (impossible in
    practice) go to the smaller id, so the answer never depends on the list's order."""
    if not replicas:
        return None
    return max(sorted(set(replicas)), key=lambda replica: _weight(replica, client))


def share(clients: Iterable[str], replicas: Sequence[str], me: str) -> set[str]:
    """The clients ``me`` should run among ``replicas`` (``me`` counted even when missing)."""
    everyone = sorted({*replicas, me})
    return {client for client in clients if owner(client, everyone) == me}
