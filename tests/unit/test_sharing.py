"""Rendezvous sharing of clients among replicas: even, stable, the same answer everywhere."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from delegator.core.sharing import owner, share

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
replica_sets = st.lists(names, min_size=1, max_size=6, unique=True)
client_sets = st.lists(names, min_size=1, max_size=40, unique=True)


@given(client_sets, replica_sets)
def test_every_client_has_exactly_one_owner_whatever_the_order(
    clients: list[str], replicas: list[str]
) -> None:
    shares = [share(clients, replicas, me) for me in replicas]
    assert sum(len(s) for s in shares) == len(clients)
    assert set().union(*shares) == set(clients)
    for client in clients:
        assert owner(client, replicas) == owner(client, list(reversed(replicas)))


@given(client_sets, replica_sets, names)
@settings(max_examples=200)
def test_a_replica_joining_takes_clients_only_for_itself(
    clients: list[str], replicas: list[str], newcomer: str
) -> None:
    """A client changes owner only to the newcomer: nobody else's share moves."""
    if newcomer in replicas:
        return
    for client in clients:
        before = owner(client, replicas)
        after = owner(client, [*replicas, newcomer])
        assert after in (before, newcomer)


@given(client_sets, replica_sets.filter(lambda r: len(r) >= 2))
@settings(max_examples=200)
def test_a_replica_leaving_moves_only_its_own_clients(
    clients: list[str], replicas: list[str]
) -> None:
    gone, rest = replicas[0], replicas[1:]
    for client in clients:
        before = owner(client, replicas)
        if before != gone:
            assert owner(client, rest) == before


def test_five_hundred_clients_spread_evenly_over_three_replicas() -> None:
    clients = [f"client-{n}" for n in range(500)]
    replicas = ["web-1", "web-2", "web-3"]
    counts = Counter(owner(c, replicas) for c in clients)
    assert set(counts) == set(replicas)
    assert all(130 <= n <= 205 for n in counts.values()), counts  # 167 each, give or take


def test_a_replica_missing_from_the_list_still_counts_itself() -> None:
    """A round may read the live list before its own heartbeat is visible: it still takes its
    share, as the others will count it."""
    clients = [f"c{n}" for n in range(50)]
    assert share(clients, ["a"], "b") == share(clients, ["a", "b"], "b")
    assert owner("anything", []) is None
