"""IP address management of one subnet: pure address arithmetic and allocation state.

The functions give a subnet's default gateway and default allocation pools the way Neutron does,
and validate a requested gateway and allocation pools. ``SubnetAddresses`` is the in-memory
allocation state of one subnet's addresses. It keeps the free addresses of the allocation pools as
sorted, disjoint, inclusive integer intervals, so allocating in a /8 or an IPv6 /64 never walks the
address space address by address, plus the set of addresses in use outside the pools.

Usable addresses of a CIDR (the ones pools and fixed IPs may hold):

* IPv4: all but the network and broadcast addresses; in a /31 or /32 every address.
* IPv6: all but the network address (the subnet-router anycast address); in a /127 or /128 every
  address. A gateway may be the IPv6 network address, and a router port may then take it.

Addresses are ``int`` inside this module; its API speaks ``IPv4Address | IPv6Address``. No I/O.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from itertools import pairwise
from operator import neg
from typing import TypeAlias

from alcor.model import errors

__all__ = [
    "IPAddress",
    "IPNetwork",
    "Pool",
    "SubnetAddresses",
    "default_allocation_pools",
    "default_gateway",
    "validate_allocation_pools",
    "validate_gateway",
]

IPAddress: TypeAlias = IPv4Address | IPv6Address
IPNetwork: TypeAlias = IPv4Network | IPv6Network
Pool: TypeAlias = tuple[IPAddress, IPAddress]
"""An allocation pool: first and last address, both inclusive."""

_Span: TypeAlias = tuple[int, int]


# --------------------------------------------------------------------------- address arithmetic


def _to_ip(cidr: IPNetwork, value: int) -> IPAddress:
    return IPv4Address(value) if cidr.version == 4 else IPv6Address(value)


def _bounds(cidr: IPNetwork) -> _Span:
    """First and last address of the CIDR."""
    return int(cidr.network_address), int(cidr.broadcast_address)


def _usable_bounds(cidr: IPNetwork) -> _Span:
    """First and last address pools and fixed IPs may hold (see the module docstring)."""
    first, last = _bounds(cidr)
    if cidr.num_addresses <= 2:  # /31, /32, /127, /128: point-to-point, every address usable
        return first, last
    return first + 1, (last - 1 if cidr.version == 4 else last)


def _int_in(cidr: IPNetwork, ip: IPAddress | None) -> int | None:
    """The address as an int if it belongs to the CIDR, else None."""
    if ip is None or ip.version != cidr.version:
        return None
    first, last = _bounds(cidr)
    value = int(ip)
    return value if first <= value <= last else None


def _pool_text(start: IPAddress, end: IPAddress) -> str:
    return f"{start}-{end}"


def _merge(spans: Iterable[_Span]) -> list[_Span]:
    """Sorted union of inclusive spans; overlapping and adjacent spans become one."""
    merged: list[_Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def default_gateway(cidr: IPNetwork) -> IPAddress | None:
    """The first host address (network + 1); None for a single-address subnet (/32, /128)."""
    if cidr.num_addresses == 1:
        return None
    return _to_ip(cidr, int(cidr.network_address) + 1)


def default_allocation_pools(cidr: IPNetwork, gateway: IPAddress | None) -> list[Pool]:
    """Neutron's default pools: the usable addresses less the gateway (which may split them)."""
    low, high = _usable_bounds(cidr)
    spans = [(low, high)]
    gw = _int_in(cidr, gateway)
    if gw is not None and low <= gw <= high:
        spans = [(low, gw - 1), (gw + 1, high)]
    return [(_to_ip(cidr, start), _to_ip(cidr, end)) for start, end in spans if start <= end]


def validate_gateway(cidr: IPNetwork, gateway: IPAddress) -> None:
    """Raise InvalidInput unless the gateway is a valid gateway address on the subnet.

    It must be inside the CIDR and, for IPv4 subnets larger than /31, neither the network nor the
    broadcast address. The IPv6 network address is allowed.
    """
    value = _int_in(cidr, gateway)
    first, last = _bounds(cidr)
    reserved = cidr.version == 4 and cidr.num_addresses > 2 and value in (first, last)
    if value is None or reserved:
        raise errors.InvalidInput(
            f"Invalid input for operation: Gateway ip {gateway} is not valid on subnet {cidr}."
        )


def _pool_span(cidr: IPNetwork, pool: Pool) -> _Span:
    """The pool as ints; InvalidAllocationPool if it is reversed, mixed or outside the CIDR."""
    start, end = pool
    text = _pool_text(start, end)
    if start.version != cidr.version or end.version != cidr.version or int(start) > int(end):
        raise errors.InvalidAllocationPool(f"The allocation pool {text} is not valid.")
    low, high = _usable_bounds(cidr)
    if int(start) < low or int(end) > high:
        raise errors.InvalidAllocationPool(
            f"The allocation pool {text} spans beyond the subnet cidr {cidr}."
        )
    return int(start), int(end)


def validate_allocation_pools(
    cidr: IPNetwork, pools: Sequence[Pool], *, gateway: IPAddress | None = None
) -> None:
    """Raise if the pools are not valid allocation pools of the subnet.

    InvalidAllocationPool: a pool is reversed, mixes IP versions, or holds an address that is not
    usable (outside the CIDR, or a reserved network/broadcast address).
    OverlappingAllocationPools: two pools share an address (adjacent pools are fine).
    GatewayConflictWithAllocationPools: the gateway lies inside a pool.
    """
    spans = [(*_pool_span(cidr, pool), _pool_text(*pool)) for pool in pools]
    for (_, prev_end, prev_text), (start, _, text) in pairwise(sorted(spans)):
        if start <= prev_end:
            raise errors.OverlappingAllocationPools(
                f"Found overlapping allocation pools: {prev_text} {text} for subnet {cidr}."
            )
    gw = _int_in(cidr, gateway)
    for start, end, text in spans:
        if gw is not None and start <= gw <= end:
            raise errors.GatewayConflictWithAllocationPools(
                f"Gateway ip {gateway} conflicts with allocation pool {text}."
            )


# --------------------------------------------------------------------------- allocation state


class _FreeIntervals:
    """A set of ints as disjoint, non-adjacent, inclusive intervals, with a running count.

    The intervals are kept highest first in the parallel lists ``_starts`` and ``_ends`` so that the
    lowest interval is at the end: taking the lowest address is O(1) amortized. ``bisect`` with
    ``key=neg`` searches the descending starts as an ascending sequence.
    """

    __slots__ = ("_ends", "_starts", "count")

    def __init__(self, spans: Iterable[_Span]) -> None:
        merged = _merge(spans)
        self._starts = [start for start, _ in reversed(merged)]
        self._ends = [end for _, end in reversed(merged)]
        self.count = sum(end - start + 1 for start, end in merged)

    def _index(self, value: int) -> int:
        """Index of the interval with the greatest start <= value (len() if there is none)."""
        return bisect_left(self._starts, -value, key=neg)

    def __contains__(self, value: int) -> bool:
        i = self._index(value)
        return i < len(self._starts) and value <= self._ends[i]

    def spans(self) -> list[_Span]:
        """The intervals, lowest first."""
        return list(zip(reversed(self._starts), reversed(self._ends), strict=True))

    def take_lowest(self, n: int) -> list[int]:
        """Remove and return the n lowest values (the caller ensures n <= count)."""
        taken: list[int] = []
        while len(taken) < n:
            start, end = self._starts[-1], self._ends[-1]
            stop = min(end, start + (n - len(taken)) - 1)
            taken.extend(range(start, stop + 1))
            if stop == end:
                self._starts.pop()
                self._ends.pop()
            else:
                self._starts[-1] = stop + 1
        self.count -= n
        return taken

    def remove(self, value: int) -> bool:
        """Remove the value; False if it was not in the set."""
        i = self._index(value)
        if i == len(self._starts) or value > self._ends[i]:
            return False
        start, end = self._starts[i], self._ends[i]
        if start == end:
            del self._starts[i], self._ends[i]
        elif value == start:
            self._starts[i] = value + 1
        elif value == end:
            self._ends[i] = value - 1
        else:  # split: the upper part stays at i, the lower part goes after it
            self._starts[i] = value + 1
            self._starts.insert(i + 1, start)
            self._ends.insert(i + 1, value - 1)
        self.count -= 1
        return True

    def add(self, value: int) -> None:
        """Add a value that is not in the set, merging it with adjacent intervals."""
        i = self._index(value)  # the interval below the value is at i, the one above at i - 1
        joins_below = i < len(self._starts) and self._ends[i] == value - 1
        joins_above = i > 0 and self._starts[i - 1] == value + 1
        if joins_below and joins_above:
            self._ends[i] = self._ends[i - 1]
            del self._starts[i - 1], self._ends[i - 1]
        elif joins_below:
            self._ends[i] = value
        elif joins_above:
            self._starts[i - 1] = value
        else:
            self._starts.insert(i, value)
            self._ends.insert(i, value)
        self.count += 1


class SubnetAddresses:
    """The allocation state of one subnet's addresses.

    Free addresses are those of the allocation pools not in use. Addresses in use outside the pools
    (fixed IPs a client asked for, the gateway a router port takes) are kept in a set. ``used``
    seeds the state with addresses already allocated, e.g. rebuilt from the store on start-up;
    those need only be inside the CIDR. ``gateway`` lets ``claim`` take the gateway even when it is
    the IPv6 network address. ``subnet_id`` and ``network_id`` only word error messages.
    """

    __slots__ = ("_cidr", "_free", "_gateway", "_ids", "_outside", "_pool_size", "_pools")

    def __init__(
        self,
        cidr: IPNetwork,
        pools: Iterable[Pool],
        *,
        used: Iterable[IPAddress] = (),
        gateway: IPAddress | None = None,
        subnet_id: str = "",
        network_id: str = "",
    ) -> None:
        pool_list = list(pools)
        validate_allocation_pools(cidr, pool_list)
        self._cidr = cidr
        self._pools = _merge((int(start), int(end)) for start, end in pool_list)
        self._pool_size = sum(end - start + 1 for start, end in self._pools)
        self._free = _FreeIntervals(self._pools)
        self._outside: set[int] = set()
        self._gateway = _int_in(cidr, gateway)
        self._ids = (subnet_id, network_id)
        for ip in used:
            self._take(self._member(ip), ip)

    def __repr__(self) -> str:
        return f"SubnetAddresses({self._cidr}, free={self.free_count()}, used={self.used_count()})"

    @property
    def cidr(self) -> IPNetwork:
        return self._cidr

    def free_count(self) -> int:
        """How many pool addresses are free."""
        return self._free.count

    def used_count(self) -> int:
        """How many addresses are allocated, inside and outside the pools."""
        return self._pool_size - self._free.count + len(self._outside)

    def free_ranges(self) -> list[Pool]:
        """The free addresses as maximal ranges (first, last inclusive), lowest first."""
        return [(_to_ip(self._cidr, s), _to_ip(self._cidr, e)) for s, e in self._free.spans()]

    def is_allocated(self, ip: IPAddress) -> bool:
        value = _int_in(self._cidr, ip)
        if value is None:
            return False
        return value in self._outside or (self._in_pools(value) and value not in self._free)

    def allocate(self) -> IPAddress:
        """Take the lowest free pool address; IpAddressGenerationFailure if none is free."""
        return self.allocate_many(1)[0]

    def allocate_many(self, n: int) -> list[IPAddress]:
        """Take the n lowest free pool addresses, or none at all if fewer than n are free."""
        if n < 0:
            raise ValueError(f"cannot allocate {n} addresses")
        if n > self._free.count:
            raise errors.IpAddressGenerationFailure(
                f"No more IP addresses available on network {self._ids[1]}."
            )
        return [_to_ip(self._cidr, value) for value in self._free.take_lowest(n)]

    def claim(self, ip: IPAddress) -> None:
        """Take a specific address, in a pool or not.

        InvalidInput if it is outside the CIDR or a reserved address (network, IPv4 broadcast)
        other than the gateway; IpAddressAlreadyAllocated if it is in use.
        """
        value = self._member(ip)
        low, high = _usable_bounds(self._cidr)
        if not (low <= value <= high or value == self._gateway):
            raise self._invalid(ip)
        self._take(value, ip)

    def release(self, ip: IPAddress) -> None:
        """Give an allocated address back; ValueError if it is not allocated (a caller bug)."""
        value = _int_in(self._cidr, ip)
        if value is not None and value in self._outside:
            self._outside.remove(value)
        elif value is not None and self._in_pools(value) and value not in self._free:
            self._free.add(value)
        else:
            raise ValueError(f"IP address {ip} is not allocated in subnet {self._describe()}")

    # ----------------------------------------------------------------------- internals

    def _describe(self) -> str:
        return self._ids[0] or str(self._cidr)

    def _invalid(self, ip: IPAddress) -> errors.InvalidInput:
        return errors.InvalidInput(
            f"IP address {ip} is not a valid IP for the specified subnet.",
            type="InvalidIpForSubnet",
        )

    def _member(self, ip: IPAddress) -> int:
        """The address as an int; InvalidInput if it is not inside the CIDR."""
        value = _int_in(self._cidr, ip)
        if value is None:
            raise self._invalid(ip)
        return value

    def _in_pools(self, value: int) -> bool:
        i = bisect_right(self._pools, value, key=_first) - 1
        return i >= 0 and value <= self._pools[i][1]

    def _take(self, value: int, ip: IPAddress) -> None:
        if self._in_pools(value):
            taken = self._free.remove(value)
        else:
            taken = value not in self._outside
            self._outside.add(value)
        if not taken:
            raise errors.IpAddressAlreadyAllocated(
                f"Unable to complete operation for network {self._ids[1]}. "
                f"The IP address {ip} is in use."
            )


def _first(span: _Span) -> int:
    return span[0]
