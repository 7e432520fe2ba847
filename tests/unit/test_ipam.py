"""Behaviour of the subnet IP address management: defaults, validation, allocation state."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from alcor.model import errors
from alcor.model.ipam import (
    IPAddress,
    IPNetwork,
    Pool,
    SubnetAddresses,
    default_allocation_pools,
    default_gateway,
    validate_allocation_pools,
    validate_gateway,
)


def net(text: str) -> IPNetwork:
    return ip_network(text)


def ip(text: str) -> IPAddress:
    return ip_address(text)


def pool(start: str, end: str) -> Pool:
    return (ip(start), ip(end))


def expand(ranges: list[Pool]) -> set[int]:
    return {value for start, end in ranges for value in range(int(start), int(end) + 1)}


# --------------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.1"),
        ("10.0.0.0/8", "10.0.0.1"),
        ("10.0.0.0/31", "10.0.0.1"),
        ("10.0.0.0/32", None),
        ("2001:db8::/64", "2001:db8::1"),
        ("2001:db8::/127", "2001:db8::1"),
        ("2001:db8::/128", None),
    ],
)
def test_default_gateway(cidr: str, expected: str | None) -> None:
    assert default_gateway(net(cidr)) == (None if expected is None else ip(expected))


@pytest.mark.parametrize(
    ("cidr", "gateway", "expected"),
    [
        ("10.0.0.0/24", "10.0.0.1", [("10.0.0.2", "10.0.0.254")]),
        ("10.0.0.0/24", None, [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/24", "10.0.0.254", [("10.0.0.1", "10.0.0.253")]),
        ("10.0.0.0/24", "10.0.0.100", [("10.0.0.1", "10.0.0.99"), ("10.0.0.101", "10.0.0.254")]),
        ("10.0.0.0/24", "192.168.0.1", [("10.0.0.1", "10.0.0.254")]),
        ("10.0.0.0/30", "10.0.0.1", [("10.0.0.2", "10.0.0.2")]),
        ("10.0.0.0/30", "10.0.0.2", [("10.0.0.1", "10.0.0.1")]),
        ("10.0.0.0/31", None, [("10.0.0.0", "10.0.0.1")]),
        ("10.0.0.0/31", "10.0.0.1", [("10.0.0.0", "10.0.0.0")]),
        ("10.0.0.5/32", None, [("10.0.0.5", "10.0.0.5")]),
        ("10.0.0.5/32", "10.0.0.5", []),
        ("2001:db8::/64", "2001:db8::1", [("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")]),
        ("2001:db8::/64", None, [("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")]),
        ("2001:db8::/64", "2001:db8::", [("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")]),
        ("2001:db8::/126", "2001:db8::1", [("2001:db8::2", "2001:db8::3")]),
        ("2001:db8::/127", None, [("2001:db8::", "2001:db8::1")]),
        ("2001:db8::/128", None, [("2001:db8::", "2001:db8::")]),
    ],
)
def test_default_allocation_pools(
    cidr: str, gateway: str | None, expected: list[tuple[str, str]]
) -> None:
    gw = None if gateway is None else ip(gateway)
    assert default_allocation_pools(net(cidr), gw) == [pool(s, e) for s, e in expected]


def test_ipv6_default_pool_includes_last_address_and_excludes_anycast() -> None:
    cidr = net("2001:db8::/120")
    [(start, end)] = default_allocation_pools(cidr, None)
    assert start == ip("2001:db8::1")
    assert end == ip("2001:db8::ff")


@given(
    version=st.sampled_from([4, 6]),
    prefix_from_end=st.integers(0, 12),
    gateway_offset=st.one_of(st.none(), st.integers(0, 2**12)),
)
def test_default_pools_always_validate(
    version: int, prefix_from_end: int, gateway_offset: int | None
) -> None:
    bits = 32 if version == 4 else 128
    cidr = ip_network(("10.1.0.0" if version == 4 else "2001:db8::", bits - prefix_from_end))
    gateway = None
    if gateway_offset is not None:
        gateway = cidr.network_address + gateway_offset % cidr.num_addresses
    pools = default_allocation_pools(cidr, gateway)
    validate_allocation_pools(cidr, pools, gateway=gateway)
    if gateway is not None:
        assert int(gateway) not in expand(pools)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("cidr", "gateway"),
    [
        ("10.0.0.0/24", "10.0.0.1"),
        ("10.0.0.0/24", "10.0.0.254"),
        ("10.0.0.0/31", "10.0.0.0"),
        ("10.0.0.0/31", "10.0.0.1"),
        ("10.0.0.7/32", "10.0.0.7"),
        ("2001:db8::/64", "2001:db8::"),
        ("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff"),
    ],
)
def test_valid_gateways(cidr: str, gateway: str) -> None:
    validate_gateway(net(cidr), ip(gateway))


@pytest.mark.parametrize(
    ("cidr", "gateway"),
    [
        ("10.0.0.0/24", "10.0.0.0"),
        ("10.0.0.0/24", "10.0.0.255"),
        ("10.0.0.0/24", "10.0.1.1"),
        ("10.0.0.0/24", "::1"),
        ("2001:db8::/64", "10.0.0.1"),
        ("2001:db8::/64", "2001:db9::1"),
    ],
)
def test_invalid_gateways(cidr: str, gateway: str) -> None:
    with pytest.raises(errors.InvalidInput, match=gateway.replace(".", r"\.")):
        validate_gateway(net(cidr), ip(gateway))


def test_valid_pools_pass() -> None:
    cidr = net("10.0.0.0/24")
    validate_allocation_pools(
        cidr,
        [
            pool("10.0.0.2", "10.0.0.9"),
            pool("10.0.0.10", "10.0.0.20"),
            pool("10.0.0.254", "10.0.0.254"),
        ],
        gateway=ip("10.0.0.1"),
    )
    validate_allocation_pools(cidr, [])
    validate_allocation_pools(net("10.0.0.0/31"), [pool("10.0.0.0", "10.0.0.1")])


@pytest.mark.parametrize(
    ("cidr", "start", "end", "message"),
    [
        ("10.0.0.0/24", "10.0.0.20", "10.0.0.10", "is not valid"),
        ("10.0.0.0/24", "10.0.0.2", "2001:db8::1", "is not valid"),
        ("2001:db8::/64", "10.0.0.2", "10.0.0.3", "is not valid"),
        ("10.0.0.0/24", "10.0.0.2", "10.0.1.5", "spans beyond the subnet cidr 10.0.0.0/24"),
        ("10.0.0.0/24", "9.255.255.250", "10.0.0.5", "spans beyond"),
        ("10.0.0.0/24", "10.0.0.0", "10.0.0.5", "spans beyond"),
        ("10.0.0.0/24", "10.0.0.200", "10.0.0.255", "spans beyond"),
        ("2001:db8::/64", "2001:db8::", "2001:db8::5", "spans beyond"),
        ("2001:db8::/64", "2001:db8::5", "2001:db8:0:1::", "spans beyond"),
    ],
)
def test_invalid_pools(cidr: str, start: str, end: str, message: str) -> None:
    with pytest.raises(errors.InvalidAllocationPool, match=message) as caught:
        validate_allocation_pools(net(cidr), [pool(start, end)])
    assert f"{start}-{end}" in caught.value.message


def test_overlapping_pools() -> None:
    pools = [
        pool("10.0.0.50", "10.0.0.60"),
        pool("10.0.0.2", "10.0.0.9"),
        pool("10.0.0.9", "10.0.0.20"),
    ]
    with pytest.raises(errors.OverlappingAllocationPools) as caught:
        validate_allocation_pools(net("10.0.0.0/24"), pools)
    assert "10.0.0.2-10.0.0.9" in caught.value.message
    assert "10.0.0.9-10.0.0.20" in caught.value.message


def test_pool_nested_in_another_overlaps() -> None:
    pools = [
        pool("10.0.0.2", "10.0.0.100"),
        pool("10.0.0.3", "10.0.0.4"),
        pool("10.0.0.50", "10.0.0.60"),
    ]
    with pytest.raises(errors.OverlappingAllocationPools):
        validate_allocation_pools(net("10.0.0.0/24"), pools)


def test_gateway_in_pool_conflicts() -> None:
    with pytest.raises(errors.GatewayConflictWithAllocationPools) as caught:
        validate_allocation_pools(
            net("10.0.0.0/24"), [pool("10.0.0.1", "10.0.0.254")], gateway=ip("10.0.0.1")
        )
    assert caught.value.message == (
        "Gateway ip 10.0.0.1 conflicts with allocation pool 10.0.0.1-10.0.0.254."
    )


# --------------------------------------------------------------------------- allocation state


def subnet(
    cidr: str = "10.0.0.0/24",
    gateway: str | None = "10.0.0.1",
    *,
    used: Iterable[IPAddress] = (),
) -> SubnetAddresses:
    """Default pools around the gateway, as a subnet created without pools gets."""
    network = net(cidr)
    gw = None if gateway is None else ip(gateway)
    pools = default_allocation_pools(network, gw)
    return SubnetAddresses(network, pools, used=used, network_id="net-1")


def test_fresh_subnet_counts() -> None:
    addresses = subnet()
    assert addresses.free_count() == 253
    assert addresses.used_count() == 0
    assert addresses.free_ranges() == [pool("10.0.0.2", "10.0.0.254")]
    assert addresses.cidr == net("10.0.0.0/24")


def test_allocation_is_lowest_first() -> None:
    addresses = subnet()
    assert [addresses.allocate() for _ in range(3)] == [
        ip("10.0.0.2"),
        ip("10.0.0.3"),
        ip("10.0.0.4"),
    ]
    assert addresses.is_allocated(ip("10.0.0.3"))
    assert not addresses.is_allocated(ip("10.0.0.5"))
    assert addresses.free_count() == 250
    assert addresses.used_count() == 3


def test_allocation_crosses_the_gateway_gap() -> None:
    network = net("10.0.0.0/29")
    addresses = SubnetAddresses(network, default_allocation_pools(network, ip("10.0.0.3")))
    assert addresses.allocate_many(5) == [ip(f"10.0.0.{n}") for n in (1, 2, 4, 5, 6)]


def test_exhaustion_raises_generation_failure() -> None:
    addresses = subnet("10.0.0.0/29")
    assert len(addresses.allocate_many(5)) == 5
    with pytest.raises(errors.IpAddressGenerationFailure) as caught:
        addresses.allocate()
    assert caught.value.message == "No more IP addresses available on network net-1."
    assert addresses.free_count() == 0
    assert addresses.used_count() == 5


def test_allocate_many_is_all_or_nothing() -> None:
    addresses = subnet("10.0.0.0/29")
    with pytest.raises(errors.IpAddressGenerationFailure):
        addresses.allocate_many(6)
    assert addresses.free_count() == 5
    assert addresses.used_count() == 0
    assert addresses.allocate_many(0) == []
    with pytest.raises(ValueError, match="-1"):
        addresses.allocate_many(-1)


def test_empty_pools_allocate_nothing_but_claims_work() -> None:
    network = net("10.0.0.0/24")
    addresses = SubnetAddresses(network, [])
    with pytest.raises(errors.IpAddressGenerationFailure):
        addresses.allocate()
    addresses.claim(ip("10.0.0.9"))
    assert addresses.used_count() == 1
    assert addresses.free_count() == 0


def test_claim_in_pool_is_skipped_by_allocate() -> None:
    addresses = subnet()
    addresses.claim(ip("10.0.0.2"))
    addresses.claim(ip("10.0.0.4"))
    assert addresses.allocate_many(3) == [ip("10.0.0.3"), ip("10.0.0.5"), ip("10.0.0.6")]


def test_claim_outside_pools_and_the_gateway() -> None:
    network = net("10.0.0.0/24")
    addresses = SubnetAddresses(network, [pool("10.0.0.100", "10.0.0.200")])
    addresses.claim(ip("10.0.0.1"))
    addresses.claim(ip("10.0.0.254"))
    assert addresses.is_allocated(ip("10.0.0.1"))
    assert addresses.used_count() == 2
    assert addresses.free_count() == 101
    assert addresses.allocate() == ip("10.0.0.100")


def test_claim_conflict() -> None:
    addresses = subnet()
    addresses.claim(ip("10.0.0.1"))
    first = addresses.allocate()
    for taken in (ip("10.0.0.1"), first):
        with pytest.raises(errors.IpAddressAlreadyAllocated) as caught:
            addresses.claim(taken)
        assert caught.value.message == (
            f"Unable to complete operation for network net-1. The IP address {taken} is in use."
        )
    assert addresses.used_count() == 2


@pytest.mark.parametrize(
    ("cidr", "address"),
    [
        ("10.0.0.0/24", "10.0.0.0"),
        ("10.0.0.0/24", "10.0.0.255"),
        ("10.0.0.0/24", "10.0.1.1"),
        ("10.0.0.0/24", "2001:db8::1"),
        ("2001:db8::/64", "2001:db8::"),
        ("2001:db8::/64", "2001:db8:0:1::1"),
        ("2001:db8::/64", "10.0.0.1"),
    ],
)
def test_claim_invalid_address(cidr: str, address: str) -> None:
    addresses = subnet(cidr, gateway=None)
    with pytest.raises(errors.InvalidInput) as caught:
        addresses.claim(ip(address))
    assert address in caught.value.message
    assert addresses.used_count() == 0
    assert not addresses.is_allocated(ip(address))


def test_claim_every_address_of_point_to_point_subnets() -> None:
    for cidr in ("10.0.0.0/31", "10.0.0.9/32", "2001:db8::/127", "2001:db8::/128"):
        network = net(cidr)
        addresses = SubnetAddresses(network, [])
        for address in network:
            addresses.claim(address)
        assert addresses.used_count() == network.num_addresses


def test_router_takes_the_ipv6_anycast_gateway() -> None:
    network = net("2001:db8::/64")
    gateway = network.network_address
    addresses = SubnetAddresses(
        network, default_allocation_pools(network, gateway), gateway=gateway
    )
    addresses.claim(gateway)
    assert addresses.is_allocated(gateway)
    assert addresses.free_count() == 2**64 - 1


def test_release_then_reallocate_lowest() -> None:
    addresses = subnet()
    allocated = addresses.allocate_many(10)
    addresses.release(allocated[4])
    addresses.release(allocated[2])
    assert not addresses.is_allocated(allocated[2])
    assert addresses.free_count() == 253 - 8
    assert addresses.allocate() == allocated[2]
    assert addresses.allocate() == allocated[4]
    assert addresses.allocate() == ip("10.0.0.12")


def test_release_merges_free_ranges() -> None:
    addresses = subnet("10.0.0.0/28")
    addresses.allocate_many(13)
    for last_octet in (5, 7, 6, 2, 14):
        addresses.release(ip(f"10.0.0.{last_octet}"))
    assert addresses.free_ranges() == [
        pool("10.0.0.2", "10.0.0.2"),
        pool("10.0.0.5", "10.0.0.7"),
        pool("10.0.0.14", "10.0.0.14"),
    ]


def test_release_outside_pool() -> None:
    addresses = subnet()
    addresses.claim(ip("10.0.0.1"))
    addresses.release(ip("10.0.0.1"))
    assert addresses.used_count() == 0
    assert addresses.free_count() == 253
    assert addresses.allocate() == ip("10.0.0.2")


@pytest.mark.parametrize("address", ["10.0.0.2", "10.0.0.1", "10.0.0.0", "10.0.1.1", "::1"])
def test_release_of_unallocated_address_is_a_bug(address: str) -> None:
    addresses = subnet()
    with pytest.raises(ValueError, match="not allocated"):
        addresses.release(ip(address))
    assert addresses.free_count() == 253


def test_used_seeds_the_state() -> None:
    used = [ip("10.0.0.1"), ip("10.0.0.3"), ip("10.0.0.2"), ip("10.0.0.200")]
    addresses = subnet(used=used)
    assert addresses.used_count() == 4
    assert addresses.free_count() == 250
    assert all(addresses.is_allocated(address) for address in used)
    assert addresses.allocate() == ip("10.0.0.4")
    addresses.release(ip("10.0.0.1"))
    assert not addresses.is_allocated(ip("10.0.0.1"))


def test_used_seed_with_duplicates_or_foreign_addresses_is_rejected() -> None:
    with pytest.raises(errors.IpAddressAlreadyAllocated):
        subnet(used=[ip("10.0.0.5"), ip("10.0.0.5")])
    with pytest.raises(errors.InvalidInput):
        subnet(used=[ip("10.0.9.5")])


def test_constructor_rejects_invalid_pools() -> None:
    with pytest.raises(errors.InvalidAllocationPool):
        SubnetAddresses(net("10.0.0.0/24"), [pool("10.0.0.2", "10.0.1.2")])
    with pytest.raises(errors.OverlappingAllocationPools):
        SubnetAddresses(
            net("10.0.0.0/24"), [pool("10.0.0.2", "10.0.0.9"), pool("10.0.0.5", "10.0.0.7")]
        )


def test_adjacent_pools_behave_as_one() -> None:
    addresses = SubnetAddresses(
        net("10.0.0.0/24"), [pool("10.0.0.10", "10.0.0.19"), pool("10.0.0.2", "10.0.0.9")]
    )
    assert addresses.free_ranges() == [pool("10.0.0.2", "10.0.0.19")]
    assert addresses.allocate_many(18)[-1] == ip("10.0.0.19")


def test_slash_8_allocates_ten_thousand_without_scanning() -> None:
    addresses = subnet("10.0.0.0/8", gateway="10.0.0.1")
    total = 2**24 - 3
    assert addresses.free_count() == total
    first = [addresses.allocate() for _ in range(5_000)]
    rest = addresses.allocate_many(5_000)
    allocated = first + rest
    assert allocated[0] == ip("10.0.0.2")
    assert allocated[-1] == IPv4Address(int(ip("10.0.0.2")) + 9_999)
    assert len(set(allocated)) == 10_000
    assert addresses.free_count() == total - 10_000
    assert addresses.used_count() == 10_000
    addresses.claim(ip("10.200.3.4"))
    addresses.release(allocated[1234])
    assert addresses.allocate() == allocated[1234]
    assert addresses.free_count() == total - 10_001


def test_ipv6_slash_64_counts_are_exact() -> None:
    network = net("2001:db8::/64")
    addresses = SubnetAddresses(
        network, default_allocation_pools(network, default_gateway(network))
    )
    assert addresses.free_count() == 2**64 - 2
    assert addresses.allocate() == IPv6Address("2001:db8::2")
    last = IPv6Address("2001:db8::ffff:ffff:ffff:ffff")
    addresses.claim(last)
    addresses.claim(IPv6Address("2001:db8::1"))
    assert addresses.free_count() == 2**64 - 4
    assert addresses.used_count() == 3
    assert addresses.free_ranges() == [
        (IPv6Address("2001:db8::3"), IPv6Address("2001:db8::ffff:ffff:ffff:fffe"))
    ]


# --------------------------------------------------------------------------- properties

SMALL = IPv4Network("10.0.0.0/27")
BASE = int(SMALL.network_address)


@st.composite
def small_pools(draw: st.DrawFn) -> list[Pool]:
    """Disjoint pools inside the usable part of SMALL (offsets 1..30), possibly adjacent."""
    pools: list[Pool] = []
    cursor = 1
    for gap, length in draw(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 8)), max_size=5)):
        start, end = cursor + gap, cursor + gap + length - 1
        if end > 30:
            break
        pools.append((IPv4Address(BASE + start), IPv4Address(BASE + end)))
        cursor = end + 1
    return draw(st.permutations(pools))


class SubnetMachine(RuleBasedStateMachine):
    """SubnetAddresses against a set-based model on a /27.

    The gateway is drawn anywhere in the /27, so it may be a reserved address ``claim`` then
    accepts; ``used`` seeds may be any address of the /27.
    """

    def __init__(self) -> None:
        super().__init__()
        self.addresses = SubnetAddresses(SMALL, [])
        self.pool_offsets: set[int] = set()
        self.allocated: set[int] = set()
        self.gateway = 1

    @initialize(
        pools=small_pools(),
        used=st.sets(st.integers(0, 31), max_size=10),
        gateway=st.integers(0, 31),
    )
    def build(self, pools: list[Pool], used: set[int], gateway: int) -> None:
        self.gateway = gateway
        self.addresses = SubnetAddresses(
            SMALL,
            pools,
            used=[IPv4Address(BASE + offset) for offset in sorted(used)],
            gateway=IPv4Address(BASE + gateway),
        )
        self.pool_offsets = {
            off - BASE for start, end in pools for off in range(int(start), int(end) + 1)
        }
        self.allocated = set(used)

    @property
    def free(self) -> set[int]:
        return self.pool_offsets - self.allocated

    @rule()
    def allocate(self) -> None:
        if not self.free:
            with pytest.raises(errors.IpAddressGenerationFailure):
                self.addresses.allocate()
            return
        expected = min(self.free)
        got = int(self.addresses.allocate()) - BASE
        assert got == expected
        assert got not in self.allocated
        self.allocated.add(got)

    @rule(n=st.integers(0, 10))
    def allocate_many(self, n: int) -> None:
        if n > len(self.free):
            with pytest.raises(errors.IpAddressGenerationFailure):
                self.addresses.allocate_many(n)
            return
        got = [int(address) - BASE for address in self.addresses.allocate_many(n)]
        assert got == sorted(self.free)[:n]
        assert not set(got) & self.allocated
        self.allocated.update(got)

    @rule(offset=st.integers(-3, 34))
    def claim(self, offset: int) -> None:
        address = IPv4Address(BASE + offset)
        reserved = offset in (0, 31) and offset != self.gateway
        if reserved or not 0 <= offset <= 31:
            with pytest.raises(errors.InvalidInput):
                self.addresses.claim(address)
        elif offset in self.allocated:
            with pytest.raises(errors.IpAddressAlreadyAllocated):
                self.addresses.claim(address)
        else:
            self.addresses.claim(address)
            self.allocated.add(offset)

    @precondition(lambda self: bool(self.allocated))
    @rule(index=st.integers(0, 100))
    def release_allocated(self, index: int) -> None:
        offset = sorted(self.allocated)[index % len(self.allocated)]
        self.addresses.release(IPv4Address(BASE + offset))
        self.allocated.remove(offset)

    @rule(offset=st.integers(-3, 34))
    def release_any(self, offset: int) -> None:
        address = IPv4Address(BASE + offset)
        if offset in self.allocated:
            self.addresses.release(address)
            self.allocated.remove(offset)
        else:
            with pytest.raises(ValueError, match="not allocated"):
                self.addresses.release(address)

    @invariant()
    def agrees_with_model(self) -> None:
        assert self.addresses.free_count() == len(self.free)
        assert self.addresses.used_count() == len(self.allocated)
        for offset in range(-2, 34):
            address = IPv4Address(BASE + offset)
            assert self.addresses.is_allocated(address) == (offset in self.allocated)

    @invariant()
    def free_ranges_are_maximal_and_exact(self) -> None:
        ranges = self.addresses.free_ranges()
        assert {value - BASE for value in expand(ranges)} == self.free
        assert sum(int(end) - int(start) + 1 for start, end in ranges) == len(self.free)
        for (_, prev_end), (start, _) in pairwise(ranges):
            assert int(start) > int(prev_end) + 1


SubnetMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, derandomize=True
)
TestSubnetMachine = SubnetMachine.TestCase


@settings(deadline=None, derandomize=True)
@given(pools=small_pools(), used=st.sets(st.integers(1, 30), max_size=20))
def test_seeding_equals_claiming(pools: list[Pool], used: set[int]) -> None:
    addresses = [IPv4Address(BASE + offset) for offset in sorted(used)]
    seeded = SubnetAddresses(SMALL, pools, used=addresses)
    claimed = SubnetAddresses(SMALL, pools)
    for address in addresses:
        claimed.claim(address)
    assert seeded.free_ranges() == claimed.free_ranges()
    assert seeded.free_count() == claimed.free_count()
    assert seeded.used_count() == claimed.used_count() == len(used)


@settings(deadline=None, derandomize=True)
@given(st.lists(st.booleans(), min_size=1, max_size=64))
def test_ipv6_allocate_release_roundtrip(steps: list[bool]) -> None:
    network = IPv6Network("2001:db8::/122")
    addresses = SubnetAddresses(network, default_allocation_pools(network, None))
    held: list[IPAddress] = []
    for take in steps:
        if take or not held:
            held.append(addresses.allocate())
        else:
            addresses.release(held.pop(0))
    assert len(set(held)) == len(held)
    assert addresses.used_count() == len(held)
    assert addresses.free_count() == 63 - len(held)
