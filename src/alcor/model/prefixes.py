"""Subnet pools' prefix arithmetic, pure: reading a pool's prefixes and prefix lengths the way
Neutron does, and choosing a subnet's CIDR from what a pool has left.

A pool holds a set of prefixes of one IP version, kept compact (overlapping and adjacent ones
merged into the fewest CIDRs, lowest first: 10.12.0.0/16 and 10.13.0.0/16 are 10.12.0.0/15).
Its subnets take CIDRs from that set that no other subnet of the pool holds:

* a specific request (a ``cidr``) must lie inside one block of what is left;
* any request (a ``prefixlen``, or the pool's ``default_prefixlen``) takes the first CIDR of
  that length from the smallest block left that can hold it, the lowest such block first
  (Neutron's ``SubnetAllocator``: small blocks are used up before large ones are split).

A pool's ``default_quota`` counts per project in units of /32 (IPv4) or /64 (IPv6). No I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

import msgspec

from alcor.model import errors
from alcor.model.addressing import Network

MAX_PREFIXLEN = {4: 32, 6: 128}
DEFAULT_MIN_PREFIXLEN = {4: 8, 6: 64}
QUOTA_UNIT = {4: 32, 6: 64}  # a pool's default_quota counts addresses in /32s or /64s


class Bounds(msgspec.Struct, frozen=True, kw_only=True):
    """A pool's prefix lengths: every subnet it gives is between ``min`` and ``max`` long,
    ``default`` when the request names none."""

    min: int
    max: int
    default: int


def parse_prefixes(texts: Sequence[str]) -> list[Network]:
    """A pool's prefixes as sent: valid CIDRs (host bits cleared, as Neutron reads them) of one
    IP version, at least one; returned compact."""
    if not texts:
        raise errors.InvalidInput(
            "Empty subnet pool prefix list.", type="EmptySubnetPoolPrefixList"
        )
    networks = []
    for text in texts:
        try:
            if "/" not in text:
                raise ValueError(text)
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise errors.InvalidInput(
                f"Invalid input for prefixes. Reason: '{text}' is not a valid IP subnet."
            ) from None
    if len({network.version for network in networks}) > 1:
        raise errors.InvalidInput(
            "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.", type="PrefixVersionMismatch"
        )
    return compact(networks)


def compact(networks: Iterable[Network]) -> list[Network]:
    """The fewest CIDRs that cover exactly the same addresses, lowest first."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]


def texts(networks: Iterable[Network]) -> list[str]:
    return [str(network) for network in networks]


def bounds(
    version: int,
    *,
    min_prefixlen: int | None,
    max_prefixlen: int | None,
    default_prefixlen: int | None,
) -> Bounds:
    """The prefix lengths a pool of ``version`` has when these are sent (None: not sent), with
    Neutron's defaults (min /8 or /64, max /32 or /128, default the min) and checks."""
    low = DEFAULT_MIN_PREFIXLEN[version] if min_prefixlen is None else min_prefixlen
    high = MAX_PREFIXLEN[version] if max_prefixlen is None else max_prefixlen
    default = low if default_prefixlen is None else default_prefixlen
    if low < 0:
        raise errors.InvalidInput(
            f"Unsupported minimum subnet pool prefix {low} for IPv{version}.",
            type="UnsupportedMinSubnetPoolPrefix",
        )
    if low > high:
        raise _illegal_bounds("min_prefixlen", low, "max_prefixlen", high)
    if high > MAX_PREFIXLEN[version]:
        raise _illegal_bounds("max_prefixlen", high, "ip_version_max", MAX_PREFIXLEN[version])
    if default < low:
        raise _illegal_bounds("default_prefixlen", default, "min_prefixlen", low)
    if default > high:
        raise _illegal_bounds("default_prefixlen", default, "max_prefixlen", high)
    return Bounds(min=low, max=high, default=default)


def _illegal_bounds(kind: str, length: int, base: str, base_length: int) -> errors.InvalidInput:
    return errors.InvalidInput(
        f"Illegal prefix bounds: {kind}={length}, {base}={base_length}.",
        type="IllegalSubnetPoolPrefixBounds",
    )


def check_grown(old: Sequence[Network], new: Sequence[Network]) -> None:
    """An update of a pool's prefixes may add to them, never take any away."""
    if not covers(new, old):
        raise illegal_update("Existing prefixes must be a subset of the new prefixes")


def illegal_update(reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(
        f"Illegal update to prefixes: {reason}.", type="IllegalSubnetPoolPrefixUpdate"
    )


def covers(outer: Sequence[Network], inner: Sequence[Network]) -> bool:
    """Every address of ``inner`` is in ``outer``. Both compact, each block of ``inner`` lies
    inside one block of ``outer`` or some of its addresses are not there."""
    blocks = compact(outer)
    return all(any(_within(network, block) for block in blocks) for network in compact(inner))


def intersect(a: Sequence[Network], b: Sequence[Network]) -> bool:
    """Some address is in both."""
    return any(x.overlaps(y) for x in a for y in b if x.version == y.version)


def remove(prefixes: Sequence[Network], removed: Sequence[Network]) -> list[Network]:
    """``prefixes`` less every address of ``removed``, compact."""
    left = list(compact(prefixes))
    for cut in compact(removed):
        kept: list[Network] = []
        for block in left:
            if block.version != cut.version or not block.overlaps(cut):
                kept.append(block)
            elif not _within(block, cut):  # the cut lies inside the block: split it around
                kept.extend(block.address_exclude(cut))  # type: ignore[arg-type]
        left = compact(kept)
    return left


def available(prefixes: Sequence[Network], allocated: Iterable[Network]) -> list[Network]:
    """What a pool has left once its subnets' CIDRs are taken, compact, lowest first."""
    return remove(prefixes, list(allocated))


def allocate_any(left: Sequence[Network], prefixlen: int) -> Network | None:
    """The CIDR of ``prefixlen`` an any-request gets from what is left (None: no room): the
    first of the smallest block that can hold it, blocks of a size lowest first."""
    fitting = [block for block in left if block.prefixlen <= prefixlen]
    if not fitting:
        return None
    block = sorted(fitting, key=lambda b: -b.prefixlen)[0]  # stable: lowest of a size first
    return ipaddress.ip_network(f"{block.network_address}/{prefixlen}")


def fits(left: Sequence[Network], cidr: Network) -> bool:
    """A specific request for ``cidr`` can be met: it lies inside one block left."""
    return any(_within(cidr, block) for block in left)


def quota_units(version: int, prefixlen: int) -> float:
    """How much of a pool's ``default_quota`` a CIDR of this length uses: a fraction for one
    smaller than the unit (an IPv6 /120 is 1/2**56 of a /64), as Neutron counts it."""
    return float(2 ** (QUOTA_UNIT[version] - prefixlen))


def check_prefixlen(prefixlen: int, limits: Bounds) -> None:
    if prefixlen > limits.max:
        raise errors.InvalidInput(
            f"Unable to allocate subnet with prefix length {prefixlen}, maximum allowed "
            f"prefix is {limits.max}.",
            type="MaxPrefixSubnetAllocationError",
        )
    if prefixlen < limits.min:
        raise errors.InvalidInput(
            f"Unable to allocate subnet with prefix length {prefixlen}, minimum allowed "
            f"prefix is {limits.min}.",
            type="MinPrefixSubnetAllocationError",
        )


def _within(inner: Network, outer: Network) -> bool:
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]
