"""IP availability of networks (``network-ip-availability``, ``-details``): how many addresses
each subnet has and how many are in use, counted as Neutron counts them. Pure.

* ``total_ips``: the addresses of the subnet's allocation pools (a subnet without pools: every
  address of its CIDR); ``used_ips``: its addresses held by ports, in a pool or not.
* Details: ``total_ips_in_subnet`` is the CIDR's size (less the network and broadcast
  addresses for IPv4), ``total_ips_in_allocation_pool`` the pools' (0 without pools);
  ``used_ips_in_subnet`` every address held, ``used_ips_in_allocation_pool`` those in a pool.

A network's figures are its subnets' sums.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

import msgspec

from alcor.model.records import Network, Subnet


class Details(msgspec.Struct, frozen=True, kw_only=True):
    total_ips_in_subnet: int = 0
    total_ips_in_allocation_pool: int = 0
    used_ips_in_subnet: int = 0
    used_ips_in_allocation_pool: int = 0

    def __add__(self, other: Details) -> Details:
        return Details(
            total_ips_in_subnet=self.total_ips_in_subnet + other.total_ips_in_subnet,
            total_ips_in_allocation_pool=(
                self.total_ips_in_allocation_pool + other.total_ips_in_allocation_pool
            ),
            used_ips_in_subnet=self.used_ips_in_subnet + other.used_ips_in_subnet,
            used_ips_in_allocation_pool=(
                self.used_ips_in_allocation_pool + other.used_ips_in_allocation_pool
            ),
        )


class SubnetAvailability(msgspec.Struct, frozen=True, kw_only=True):
    subnet: Subnet
    total_ips: int
    used_ips: int
    details: Details


class NetworkAvailability(msgspec.Struct, frozen=True, kw_only=True):
    network: Network
    subnets: list[SubnetAvailability]
    total_ips: int
    used_ips: int
    details: Details


def of_subnet(subnet: Subnet, used: Iterable[str]) -> SubnetAvailability:
    """The subnet's figures, ``used`` being the addresses ports hold in it."""
    cidr = ipaddress.ip_network(subnet.cidr)
    pools = [
        (int(ipaddress.ip_address(p.start)), int(ipaddress.ip_address(p.end)))
        for p in subnet.allocation_pools
    ]
    in_pools = sum(end - start + 1 for start, end in pools)
    held = [int(ipaddress.ip_address(address)) for address in used]
    details = Details(
        total_ips_in_subnet=cidr.num_addresses - (2 if cidr.version == 4 else 0),
        total_ips_in_allocation_pool=in_pools,
        used_ips_in_subnet=len(held),
        used_ips_in_allocation_pool=sum(
            1 for value in held if any(start <= value <= end for start, end in pools)
        ),
    )
    return SubnetAvailability(
        subnet=subnet,
        total_ips=in_pools if pools else cidr.num_addresses,
        used_ips=len(held),
        details=details,
    )


def of_network(
    network: Network, subnets: Sequence[Subnet], used: Mapping[str, Sequence[str]]
) -> NetworkAvailability:
    """The network's figures from its subnets (by id) and the addresses held in each."""
    each = [of_subnet(subnet, used.get(subnet.id, ())) for subnet in sorted(subnets, key=_id)]
    return NetworkAvailability(
        network=network,
        subnets=each,
        total_ips=sum(s.total_ips for s in each),
        used_ips=sum(s.used_ips for s in each),
        details=sum((s.details for s in each), Details()),
    )


def _id(subnet: Subnet) -> str:
    return subnet.id
