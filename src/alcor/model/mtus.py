"""Network MTUs, as Neutron's ML2 and its subnet checks rule them.

A network's MTU is what its segment carries: a VXLAN segment the physical MTU less the VXLAN
overhead (50 bytes over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14), a flat one the
physical MTU itself (1500 unless the operator says otherwise, Neutron's
``global_physnet_mtu``). A client may ask for less, down to 0 (which means the most the
segment carries), never more. The MTU limits what a network may hold: an IPv4 subnet needs
68 (RFC 791), an IPv6 one 1280 (RFC 8200); below that a subnet is refused, and an MTU change
that its subnets cannot take, with Neutron's 409 ``NetworkMTUSubnetConflict``.
"""

from __future__ import annotations

from collections.abc import Iterable

from alcor.model import errors

PHYSICAL_MTU = 1500
VXLAN_OVERHEAD = 50
IPV4_MIN = 68
IPV6_MIN = 1280


def maximum(network_type: str, *, physical_mtu: int) -> int:
    """The largest MTU a network of this type carries over the physical network."""
    return physical_mtu - VXLAN_OVERHEAD if network_type == "vxlan" else physical_mtu


def check_requested(mtu: int, *, most: int) -> int:
    """A requested MTU: non-negative, 0 for the most, and no more than the most."""
    if mtu < 0:
        raise errors.InvalidInput(f"Invalid input for mtu. Reason: '{mtu}' should be non-negative.")
    if mtu > most:
        raise errors.InvalidInput(
            f"Invalid input for operation: Requested MTU is too big, maximum is {most}.",
            type="InvalidInput",
        )
    return mtu or most


def check_subnets(network_id: str, mtu: int, ip_versions: Iterable[int]) -> None:
    """A network of this MTU may hold subnets of these IP versions (Neutron checks the IPv4
    minimum first, for any subnet: below 68 no subnet of either version is possible)."""
    versions = set(ip_versions)
    if not versions or mtu >= IPV6_MIN:
        return
    needed = IPV4_MIN if mtu < IPV4_MIN else IPV6_MIN if 6 in versions else None
    if needed is not None:
        raise errors.Conflict(
            f"MTU of {network_id} is not valid, subnet requires a minimum of {needed}",
            type="NetworkMTUSubnetConflict",
        )
