"""The subnet manager: addressing of a network (CIDR, gateway, pools, routes, DNS, IPv6 modes)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import msgspec

from alcor.model import addressing, errors, ipam, mtus
from alcor.model.queries import Query
from alcor.model.records import (
    AllocationPool,
    FixedIp,
    HostRoute,
    Network,
    Port,
    Subnet,
    SubnetPool,
)
from alcor.model.requests import UNSET, PoolRequest, SubnetCreate, SubnetUpdate, integer
from alcor.services import resources, subnet_pools
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer


class ShownSubnet(msgspec.Struct, frozen=True):
    record: Subnet
    tags: list[str]
    router_external: bool


class Subnets:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[SubnetCreate], *, quota_free: bool = False
    ) -> list[ShownSubnet]:
        """``quota_free``: made for the project by the controller itself (an auto-allocated
        topology), which Neutron's quotas do not count against."""
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownSubnet]:
            if not quota_free:
                quota_projects = resources.projects_of(caller, requests)
                self.context.quotas.check(writer, Subnet.kind, quota_projects)
            shown = []
            for request in requests:  # one by one: a later subnet must not overlap an earlier one
                record, network = self._new(writer, caller, request)
                writer.insert([record])
                # As Neutron: a network's revision counts its subnets' creation and deletion
                writer.update([resources.revised(network, record.created_at)])
                self._address_network_ports(writer, record)
                if request.tags:
                    writer.set_tags(record.id, check_tags(request.tags))
                shown.append(
                    ShownSubnet(record, sorted(set(request.tags or [])), network.router_external)
                )
            return shown

        return await self.context.store.write(work)

    def _new(self, writer: Writer, caller: Caller, request: SubnetCreate) -> tuple[Subnet, Network]:
        ra_mode = addressing.ipv6_mode("ipv6_ra_mode", request.ipv6_ra_mode)  # the API's checks
        address_mode = addressing.ipv6_mode("ipv6_address_mode", request.ipv6_address_mode)
        network = resources.find(writer, caller, Network, request.network_id)
        if not caller.owns(network):
            raise errors.NotAuthorized(
                f"Policy doesn't allow creating a subnet on network {network.id}."
            )
        requested_version = None if request.ip_version is UNSET else integer(request.ip_version)
        pool = _pool(writer, caller, request, requested_version)
        project_id = caller.project_for(resources.requested_project(request))
        cidr = _cidr(writer, request, pool=pool, project_id=project_id)
        version = addressing.check_ip_version(cidr, requested_version)
        enable_dhcp = resources.value_or(request.enable_dhcp, True)
        addressing.check_subnet_cidr(cidr, enable_dhcp=enable_dhcp)
        addressing.check_ipv6_modes(cidr, ra_mode, address_mode, enable_dhcp=enable_dhcp)
        mtus.check_subnets(network.id, network.mtu, [version])
        siblings = writer.subnets_of(network.id)
        clash = addressing.overlapping(cidr, [s.cidr for s in siblings])
        if clash is not None:
            raise errors.OverlappingCidr(
                f"Invalid input for operation: Requested subnet with cidr: {cidr} for network: "
                f"{network.id} overlaps with another subnet."
            )
        subnet_pools.check_network_pools(writer, siblings=siblings, version=version, pool=pool)
        gateway = _gateway(cidr, request.gateway_ip)
        pools = _pools(cidr, gateway, request.allocation_pools)
        now = self.context.now()
        record = Subnet(
            id=self.context.new_id(),
            project_id=project_id,
            name=request.name or "",
            description=request.description or "",
            created_at=now,
            updated_at=now,
            network_id=network.id,
            ip_version=version,
            cidr=str(cidr),
            gateway_ip=None if gateway is None else str(gateway),
            allocation_pools=pools,
            host_routes=_routes(cidr, request.host_routes),
            dns_nameservers=_nameservers(cidr, request.dns_nameservers),
            enable_dhcp=enable_dhcp,
            ipv6_ra_mode=ra_mode,
            ipv6_address_mode=address_mode,
            subnetpool_id=None if pool is None else pool.id,
            service_types=_service_types(request.service_types),
        )
        return record, network

    def _address_network_ports(self, writer: Writer, subnet: Subnet) -> None:
        """As Neutron: a new SLAAC subnet gives every port on its network its EUI-64 address."""
        if not addressing.is_auto_address(subnet.ipv6_ra_mode, subnet.ipv6_address_mode):
            return
        cidr = ipaddress.IPv6Network(subnet.cidr)
        updated = []
        for port in writer.select(Port, Query(filters={"network_id": (subnet.network_id,)})):
            address = addressing.eui64(cidr, port.mac_address)
            self.context.allocations.claim_ip(writer, subnet, address)
            fixed = [*port.fixed_ips, FixedIp(subnet.id, str(address))]
            updated.append(resources.revised(port, self.context.now(), fixed_ips=fixed))
        writer.update(updated)

    async def show(self, caller: Caller, subnet_id: str) -> ShownSubnet:
        def work(reader: Reader) -> ShownSubnet:
            return _shown(reader, [resources.find(reader, caller, Subnet, subnet_id)])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownSubnet]:
        scoped = resources.scoped(caller, _by_network(query), shared=True)
        return await self.context.store.read(lambda r: _shown(r, r.select(Subnet, scoped)))

    async def update(
        self, caller: Caller, subnet_id: str, request: SubnetUpdate, *, if_match: int | None
    ) -> ShownSubnet:
        resources.refuse_read_only(request, ("ipv6_ra_mode", "ipv6_address_mode"))

        def work(writer: Writer) -> ShownSubnet:
            subnet = resources.owned(writer, caller, Subnet, subnet_id)
            resources.check_revision(subnet, if_match)
            cidr = addressing.parse_cidr(subnet.cidr)
            changes: dict[str, object] = {}
            for field in ("name", "description", "enable_dhcp"):
                if (value := getattr(request, field)) is not UNSET:
                    changes[field] = value
            if request.enable_dhcp and not subnet.enable_dhcp:  # as Neutron: when turned on
                addressing.check_dhcp_cidr(cidr)
            if request.enable_dhcp is not UNSET:  # IPv6 modes need DHCP on
                addressing.check_dhcp_kept(
                    subnet.ipv6_ra_mode, subnet.ipv6_address_mode, enable_dhcp=request.enable_dhcp
                )
            gateway = (
                addressing.parse_address(subnet.gateway_ip, "gateway_ip")
                if subnet.gateway_ip
                else None
            )
            if request.gateway_ip is not UNSET:
                gateway = _gateway(cidr, request.gateway_ip)
                changes["gateway_ip"] = None if gateway is None else str(gateway)
                if changes["gateway_ip"] != subnet.gateway_ip:
                    _check_gateway_not_routed(writer, subnet)
            if request.allocation_pools is not UNSET or request.gateway_ip is not UNSET:
                pools = (
                    request.allocation_pools
                    if request.allocation_pools is not UNSET
                    else [PoolRequest(p.start, p.end) for p in subnet.allocation_pools]
                )
                changes["allocation_pools"] = _pools(cidr, gateway, pools)
                self.context.allocations.forget_subnet(writer, subnet.id)
            if request.host_routes is not UNSET:
                changes["host_routes"] = _routes(cidr, request.host_routes)
            if request.dns_nameservers is not UNSET:
                changes["dns_nameservers"] = _nameservers(cidr, request.dns_nameservers)
            if request.service_types is not UNSET:
                changes["service_types"] = _service_types(request.service_types)
            updated = resources.revised(subnet, self.context.now(), **changes)
            writer.update([updated])
            return _shown(writer, [updated])[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, subnet_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            subnet = resources.owned(writer, caller, Subnet, subnet_id)
            resources.check_revision(subnet, if_match)
            holders = Query(fixed_ips={"subnet_id": (subnet_id,)})
            automatic = addressing.is_auto_address(subnet.ipv6_ra_mode, subnet.ipv6_address_mode)
            # As Neutron: the EUI-64 addresses of a SLAAC subnet do not hold it, they go with it;
            # a router's port (its interface holds the gateway address) always holds it.
            ports = writer.select(Port, holders) if automatic else []
            routed = any(p.router_id for p in ports)  # by the routers' records
            if routed or (not automatic and writer.count(Port, holders)):
                raise errors.InUse(
                    f"Unable to complete operation on subnet {subnet_id}: "
                    "One or more ports have an IP allocation from this subnet.",
                    type="SubnetInUse",
                )
            now = self.context.now()
            writer.update(
                [
                    resources.revised(
                        port,
                        now,
                        fixed_ips=[f for f in port.fixed_ips if f.subnet_id != subnet_id],
                    )
                    for port in ports
                ]
            )
            self.context.allocations.forget_subnet(writer, subnet_id)
            writer.delete([subnet])
            network = writer.get(Network, subnet.network_id)
            if network is not None:
                writer.update([resources.revised(network, now)])

        await self.context.store.write(work)


def _shown(reader: Reader, records: list[Subnet]) -> list[ShownSubnet]:
    tags = reader.tags_of([r.id for r in records])
    networks = reader.get_many(Network, {r.network_id for r in records})
    return [
        ShownSubnet(
            r,
            tags.get(r.id, []),
            r.network_id in networks and networks[r.network_id].router_external,
        )
        for r in records
    ]


def _bad(reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Bad subnets request: {reason}.", type="BadRequest")


def _pool(
    reader: Reader, caller: Caller, request: SubnetCreate, version: int | None
) -> SubnetPool | None:
    """The pool the subnet's CIDR comes from: the one named, or the IP version's default
    (``use_default_subnetpool``), or none; as Neutron's ``_get_subnetpool_id``."""
    has_cidr = request.cidr is not UNSET
    if has_cidr and request.prefixlen is not UNSET:
        raise _bad("cidr and prefixlen must not be supplied together")
    use_default = request.use_default_subnetpool is True
    if use_default and request.subnetpool_id not in (UNSET, None):
        raise _bad("subnetpool_id and use_default_subnetpool cannot both be specified")
    pool = None
    if isinstance(request.subnetpool_id, str):
        resources.check_uuid(request.subnetpool_id, "subnetpool_id")
        pool = resources.find(reader, caller, SubnetPool, request.subnetpool_id)
    elif use_default:
        if isinstance(request.cidr, str):
            version = addressing.parse_subnet_cidr(request.cidr).version
        if version is None:
            raise _bad("ip_version must be specified in the absence of cidr and subnetpool_id")
        pool = subnet_pools.default_pool(reader, caller, version)
        if pool is None:
            raise _bad(f"No default subnetpool found for IPv{version}")
    if pool is None:
        if not has_cidr:
            raise _bad("a subnetpool must be specified in the absence of a cidr")
        return None
    if not has_cidr and request.allocation_pools is not UNSET:
        raise _bad("allocation_pools allowed only for specific subnet requests.")
    if version is not None and version != pool.ip_version:
        raise _bad(f"Cannot allocate IPv{version} subnet from IPv{pool.ip_version} subnet pool")
    return pool


def _cidr(
    reader: Reader, request: SubnetCreate, *, pool: SubnetPool | None, project_id: str
) -> addressing.Network:
    """The subnet's CIDR: as sent (host bits cleared), or taken from its pool."""
    cidr = None if request.cidr is UNSET else addressing.parse_subnet_cidr(request.cidr)
    if pool is None:
        assert cidr is not None, "_pool refused a subnet without CIDR or pool"
        return cidr
    prefixlen = None if request.prefixlen is UNSET else integer(request.prefixlen)
    if cidr is None and isinstance(request.gateway_ip, str):  # as Neutron: the gateway's net
        gateway = addressing.parse_address(request.gateway_ip, "gateway_ip")
        length = prefixlen or pool.default_prefixlen
        cidr = ipaddress.ip_network(f"{gateway}/{length}", strict=False)
    if cidr is not None and cidr.version != pool.ip_version:
        raise _bad(
            f"Cannot allocate IPv{cidr.version} subnet from IPv{pool.ip_version} subnet pool"
        )
    return subnet_pools.take_cidr(
        reader, pool, project_id=project_id, cidr=cidr, prefixlen=prefixlen
    )


def _by_network(query: Query) -> Query:
    """A subnet's ``router:external`` is its network's: a filter on it is a filter on the
    network (``subnet-external-network``). Its ``shared`` is its network's too, as the caller
    sees it (an RBAC policy sharing the network with it), which the store's query decides."""
    moved = {f: v for f, v in query.filters.items() if f == "router_external"}
    if not moved:
        return query
    kept = {f: v for f, v in query.filters.items() if f not in moved}
    return msgspec.structs.replace(query, filters=kept, network_filters=moved)


def _service_types(requested: list[str] | object) -> list[str]:
    if requested is UNSET:
        return []
    assert isinstance(requested, list)
    return list(requested)


def _check_gateway_not_routed(reader: Reader, subnet: Subnet) -> None:
    """As Neutron: the gateway address stays while a router's port holds it (by the routers'
    records)."""
    if subnet.gateway_ip is None:
        return
    holders = Query(fixed_ips={"subnet_id": (subnet.id,), "ip_address": (subnet.gateway_ip,)})
    for port in reader.select(Port, holders):
        if port.router_id:
            raise errors.InUse(
                f"Current gateway ip {subnet.gateway_ip} already in use by port {port.id}. "
                "Unable to update.",
                type="GatewayIpInUse",
            )


def _gateway(cidr: addressing.Network, requested: str | object | None) -> addressing.Address | None:
    if requested is UNSET:
        return ipam.default_gateway(cidr)
    if requested is None:
        return None
    assert isinstance(requested, str)
    gateway = addressing.parse_address(requested, "gateway_ip")
    ipam.validate_gateway(cidr, gateway)
    return gateway


def _pools(
    cidr: addressing.Network,
    gateway: addressing.Address | None,
    requested: list[PoolRequest] | object,
) -> list[AllocationPool]:
    if requested is UNSET:
        ranges = ipam.default_allocation_pools(cidr, gateway)
    else:
        assert isinstance(requested, list)
        ranges = [
            (
                addressing.parse_address(p.start, "allocation_pools"),
                addressing.parse_address(p.end, "allocation_pools"),
            )
            for p in requested
        ]
        ipam.validate_allocation_pools(cidr, ranges, gateway=gateway)
    return [AllocationPool(str(start), str(end)) for start, end in ranges]


def _routes(cidr: addressing.Network, requested: object) -> list[HostRoute]:
    if requested is UNSET:
        return []
    assert isinstance(requested, list)
    addressing.check_host_routes(cidr, [(r.destination, r.nexthop) for r in requested])
    return [HostRoute(r.destination, r.nexthop) for r in requested]


def _nameservers(cidr: addressing.Network, requested: object) -> list[str]:
    if requested is UNSET:
        return []
    assert isinstance(requested, list)
    addressing.check_nameservers(cidr, requested)
    return list(requested)
