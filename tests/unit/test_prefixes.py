"""Subnet pools' prefix arithmetic (``model/prefixes``): compacting, bounds, what is left and
which CIDR a request gets, checked against an address-by-address oracle where it is cheap."""

from __future__ import annotations

import ipaddress
import itertools
import random

import pytest

from alcor.model import errors, prefixes
from alcor.model.addressing import Network


def nets(*texts: str) -> list[Network]:
    return [ipaddress.ip_network(text) for text in texts]


def addresses(networks: list[Network]) -> set[int]:
    return {
        int(a) for n in networks for a in (n.network_address + i for i in range(n.num_addresses))
    }


def test_parse_compacts_and_clears_host_bits() -> None:
    parsed = prefixes.parse_prefixes(["10.13.0.0/16", "10.12.0.0/16", "10.12.5.9/24"])
    assert prefixes.texts(parsed) == ["10.12.0.0/15"]


@pytest.mark.parametrize(
    ("texts", "error_type"),
    [
        ([], "EmptySubnetPoolPrefixList"),
        (["10.0.0.0/8", "2001:db8::/32"], "PrefixVersionMismatch"),
        (["10.0.0.0"], "HTTPBadRequest"),
        (["nonsense/8"], "HTTPBadRequest"),
    ],
)
def test_bad_prefixes(texts: list[str], error_type: str) -> None:
    with pytest.raises(errors.InvalidInput) as refused:
        prefixes.parse_prefixes(texts)
    assert refused.value.type == error_type


def test_bounds_default_as_neutron() -> None:
    assert prefixes.bounds(
        4, min_prefixlen=None, max_prefixlen=None, default_prefixlen=None
    ) == prefixes.Bounds(min=8, max=32, default=8)
    assert prefixes.bounds(
        6, min_prefixlen=None, max_prefixlen=None, default_prefixlen=None
    ) == prefixes.Bounds(min=64, max=128, default=64)
    assert prefixes.bounds(
        4, min_prefixlen=24, max_prefixlen=None, default_prefixlen=None
    ).default == (24)


@pytest.mark.parametrize(
    ("low", "high", "default", "message"),
    [
        (24, 20, None, "min_prefixlen=24, max_prefixlen=20"),
        (20, None, 18, "default_prefixlen=18, min_prefixlen=20"),
        (20, 24, 26, "default_prefixlen=26, max_prefixlen=24"),
        (None, 33, None, "max_prefixlen=33, ip_version_max=32"),
    ],
)
def test_bounds_out_of_order(
    low: int | None, high: int | None, default: int | None, message: str
) -> None:
    with pytest.raises(errors.InvalidInput, match=message) as refused:
        prefixes.bounds(4, min_prefixlen=low, max_prefixlen=high, default_prefixlen=default)
    assert refused.value.type == "IllegalSubnetPoolPrefixBounds"


def test_any_request_takes_the_smallest_block_first() -> None:
    """As Neutron's SubnetAllocator: after a /29 at the start of a /24, a /30 comes from the
    /29 left next to it, not from the /25 at the end."""
    left = prefixes.available(nets("10.0.0.0/24"), nets("10.0.0.0/29"))
    assert prefixes.texts(left) == [
        "10.0.0.8/29",
        "10.0.0.16/28",
        "10.0.0.32/27",
        "10.0.0.64/26",
        "10.0.0.128/25",
    ]
    assert str(prefixes.allocate_any(left, 30)) == "10.0.0.8/30"
    assert str(prefixes.allocate_any(left, 25)) == "10.0.0.128/25"
    assert prefixes.allocate_any(left, 24) is None


def test_specific_request_fits_only_inside_one_free_block() -> None:
    left = prefixes.available(nets("10.0.0.0/24"), nets("10.0.0.64/26"))
    assert prefixes.fits(left, ipaddress.ip_network("10.0.0.0/26"))
    assert not prefixes.fits(left, ipaddress.ip_network("10.0.0.0/25"))  # half of it is taken
    assert not prefixes.fits(left, ipaddress.ip_network("10.0.1.0/26"))


def test_allocations_never_overlap_and_fill_the_pool() -> None:
    """Random requests against an oracle: each CIDR given lies in the pool, clear of every one
    given before; when none fits, the addresses left are fewer or too scattered."""
    rng = random.Random(12)
    pool = nets("10.0.0.0/22", "10.0.8.0/24")
    given: list[Network] = []
    for _ in range(200):
        length = rng.randint(24, 30)
        left = prefixes.available(pool, given)
        taken = prefixes.allocate_any(left, length)
        if taken is None:
            assert not any(block.prefixlen <= length for block in left)
            continue
        assert addresses([taken]) <= addresses(pool)
        assert not addresses([taken]) & addresses(given)
        given.append(taken)
    assert addresses(prefixes.available(pool, given)) == addresses(pool) - addresses(given)


def test_remove_splits_a_block_and_keeps_it_compact() -> None:
    left = prefixes.remove(nets("10.0.0.0/24", "10.1.0.0/24"), nets("10.0.0.128/26", "10.1.0.0/24"))
    assert prefixes.texts(left) == ["10.0.0.0/25", "10.0.0.192/26"]


def test_covers_and_intersect() -> None:
    assert prefixes.covers(nets("10.0.0.0/16"), nets("10.0.1.0/24", "10.0.2.0/24"))
    assert not prefixes.covers(nets("10.0.0.0/24"), nets("10.0.0.0/23"))
    assert prefixes.covers(nets("10.0.0.0/25", "10.0.0.128/25"), nets("10.0.0.0/24"))
    assert prefixes.intersect(nets("20.0.0.0/18", "30.0.0.0/18"), nets("30.0.0.0/12"))
    assert not prefixes.intersect(nets("20.0.0.0/18"), nets("2001:db8::/32"))
    with pytest.raises(errors.InvalidInput) as refused:
        prefixes.check_grown(nets("10.0.0.0/24"), nets("10.0.0.0/26"))
    assert refused.value.type == "IllegalSubnetPoolPrefixUpdate"


def test_quota_units() -> None:
    assert prefixes.quota_units(4, 30) == 4
    assert prefixes.quota_units(6, 62) == 4
    assert prefixes.quota_units(6, 65) == 0.5


@pytest.mark.parametrize(("length", "error_type"), [(27, "Min"), (31, "Max")])
def test_prefixlen_outside_the_pools_bounds(length: int, error_type: str) -> None:
    with pytest.raises(errors.InvalidInput) as refused:
        prefixes.check_prefixlen(length, prefixes.Bounds(min=28, max=30, default=28))
    assert refused.value.type == f"{error_type}PrefixSubnetAllocationError"


def test_compact_keeps_versions_apart() -> None:
    mixed = list(itertools.chain(nets("2001:db8::/33", "2001:db8:8000::/33"), nets("10.0.0.0/8")))
    assert prefixes.texts(prefixes.compact(mixed)) == ["10.0.0.0/8", "2001:db8::/32"]
