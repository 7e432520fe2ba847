"""IP availability of networks (``network-ip-availability``): read only, admins only, as
Neutron's policy has it; a member lists nothing and shows nothing (404). The counting is pure
(``model/availability``); here the networks, their subnets and their ports' addresses are read
in three queries, whatever the number of networks."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import availability, errors
from alcor.model.availability import NetworkAvailability
from alcor.model.queries import Query
from alcor.model.records import Network, Port, Subnet
from alcor.services import resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader


class IpAvailability:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def query(self, caller: Caller, query: Query) -> list[NetworkAvailability]:
        """The networks the query finds (its filters are the network's but ``ip_version``,
        which keeps only subnets of those versions, and networks that have some)."""
        if not caller.is_admin:
            return []
        versions = query.filters.get("ip_version")
        on_networks = msgspec.structs.replace(
            query, filters={f: v for f, v in query.filters.items() if f != "ip_version"}
        )

        def work(reader: Reader) -> list[NetworkAvailability]:
            return _availability(reader, reader.select(Network, on_networks), versions)

        return await self.context.store.read(work)

    async def show(self, caller: Caller, network_id: str) -> NetworkAvailability:
        if not caller.is_admin:
            raise errors.NotFound("The resource could not be found.")

        def work(reader: Reader) -> NetworkAvailability:
            network = reader.get(Network, network_id)
            if network is None:
                raise errors.NotFound.resource("network", network_id)
            return _availability(reader, [network], None)[0]

        return await self.context.store.read(work)


def _availability(
    reader: Reader, networks: Sequence[Network], versions: tuple[object, ...] | None
) -> list[NetworkAvailability]:
    ids = tuple(network.id for network in networks)
    if not ids:
        return []
    subnets: dict[str, list[Subnet]] = {}
    for subnet in reader.select(Subnet, Query(filters={"network_id": ids})):
        if versions is None or subnet.ip_version in versions:
            subnets.setdefault(subnet.network_id, []).append(subnet)
    used: dict[str, list[str]] = {}
    for port in reader.select(Port, Query(filters={"network_id": ids})):
        for fixed_ip in port.fixed_ips:
            used.setdefault(fixed_ip.subnet_id, []).append(fixed_ip.ip_address)
    return [
        availability.of_network(network, subnets.get(network.id, []), used)
        for network in networks
        if versions is None or network.id in subnets
    ]
