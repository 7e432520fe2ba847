"""Subnet service types (``subnet-service-types``), pure: which of a network's subnets give
addresses to a port, by its ``device_owner``.

A subnet with no service types serves every port; one with some serves the ports whose device
owner is one of them, and DHCP ports if it has DHCP on. Of the subnets that serve a port, those
with service types come first (Neutron's order). A network with subnets none of which serves
the port gives it no address: ``IpAddressGenerationFailureNoMatchingSubnet`` (409).
"""

from __future__ import annotations

from collections.abc import Sequence

from alcor.model import errors
from alcor.model.records import Subnet

DHCP_OWNER = "network:dhcp"


def serves(subnet: Subnet, device_owner: str) -> bool:
    return (
        not subnet.service_types
        or device_owner in subnet.service_types
        or (device_owner == DHCP_OWNER and subnet.enable_dhcp)
    )


def eligible(subnets: Sequence[Subnet], device_owner: str, *, network_id: str) -> list[Subnet]:
    """The subnets that serve a port of ``device_owner``, typed ones first."""
    chosen = [subnet for subnet in subnets if serves(subnet, device_owner)]
    if subnets and not chosen:
        raise errors.Conflict(
            f"No valid service subnet for the given device owner, network {network_id}, "
            f"service type {device_owner}.",
            type="IpAddressGenerationFailureNoMatchingSubnet",
        )
    return sorted(chosen, key=lambda subnet: not subnet.service_types)
