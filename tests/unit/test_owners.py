"""Rendezvous hashing of hosts over the southbound replicas: every process that knows the same
replicas names the same owner, the hosts spread evenly, and a replica that joins or leaves
moves only the hosts it takes or gives."""

from __future__ import annotations

import collections
import random

from alcor.southbound import owners

HOSTS = [f"host-{i}" for i in range(3000)]
REPLICAS = ["a" * 32, "b" * 32, "c" * 32]


def shares(replicas: list[str]) -> dict[str, str]:
    return {host: owner for host in HOSTS if (owner := owners.owner(host, replicas)) is not None}


def test_every_order_of_the_same_replicas_names_the_same_owner() -> None:
    shuffled = list(REPLICAS)
    random.Random(1).shuffle(shuffled)
    assert shares(shuffled) == shares(REPLICAS)
    assert set(shares(REPLICAS).values()) == set(REPLICAS)


def test_hosts_spread_evenly_over_the_replicas() -> None:
    counts = collections.Counter(shares(REPLICAS).values())
    for replica in REPLICAS:  # a third each, within a few standard deviations (~26)
        assert 850 <= counts[replica] <= 1150, counts


def test_a_replica_that_joins_takes_its_share_and_nothing_else_moves() -> None:
    before = shares(REPLICAS)
    joined = "d" * 32
    after = shares([*REPLICAS, joined])
    moved = {host for host in HOSTS if before[host] != after[host]}
    assert all(after[host] == joined for host in moved)  # only to the newcomer
    assert 600 <= len(moved) <= 900  # about a quarter


def test_a_replica_that_leaves_gives_only_its_own_hosts() -> None:
    before = shares(REPLICAS)
    after = shares(REPLICAS[1:])
    moved = {host for host in HOSTS if before[host] != after[host]}
    assert moved == {host for host in HOSTS if before[host] == REPLICAS[0]}
    assert set(after.values()) == set(REPLICAS[1:])


def test_no_replica_owns_nothing_and_one_owns_everything() -> None:
    assert owners.owner("h", []) is None
    assert set(shares(["only"]).values()) == {"only"}
