"""The router manager (extensions ``router``, ``extraroute``, ``extraroute-atomic``,
``ext-gw-mode``, ``dvr``).

A router's ports are the ports this manager made its own (``Port.router_id``, Neutron's
``routerports``): the gateway port (``network:router_gateway``) on an external network, with an
address of it, and one interface port (``network:router_interface``) per attached subnet,
holding that subnet's gateway address (or an existing port of the project, attached by
``port_id``). Their device_owner and device_id say the same for the API's readers, but a port
that only names a router there is no port of it. A router and its ports change in one write, so
the change log carries them together.

Rules, as Neutron's: a subnet is attached to a router once (to several routers by ports of
it; its gateway address is one router's); the subnets of a router
(its gateway's included) do not overlap; an extra route's nexthop is an address (not the
router's own) inside one of the router's subnets; an interface or gateway a route needs stays; so
does an interface a floating IP's fixed address is on, and the gateway's network while floating
IPs go through the router; a router with interfaces is not deleted; a router's ports are not
deleted through ``/ports``.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence

import msgspec

from alcor.model import addressing, errors
from alcor.model.queries import Query
from alcor.model.records import (
    ROUTER_GATEWAY,
    ROUTER_INTERFACE,
    FixedIp,
    FloatingIp,
    HostRoute,
    Network,
    Port,
    Router,
    Subnet,
)
from alcor.model.requests import (
    UNSET,
    ExtraRoutesRequest,
    GatewayRequest,
    HostRouteRequest,
    RouterCreate,
    RouterInterfaceRequest,
    RouterUpdate,
    Unset,
)
from alcor.services import forwarding_holds, resources
from alcor.services.callers import Caller
from alcor.services.ports import Ports
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer

MAX_ROUTES = 30


class ShownRouter(msgspec.Struct, frozen=True):
    record: Router
    tags: list[str]
    gateway_ips: list[FixedIp]


class RouterInterface(msgspec.Struct, frozen=True, kw_only=True):
    """What ``add_router_interface`` and ``remove_router_interface`` answer."""

    router_id: str
    project_id: str
    port_id: str
    network_id: str
    subnet_id: str
    subnet_ids: list[str]


class Routers:
    def __init__(self, context: resources.Context, ports: Ports) -> None:
        self.context = context
        self.ports = ports

    # --- create, read ------------------------------------------------------------------

    async def create(
        self, caller: Caller, requests: Sequence[RouterCreate], *, quota_free: bool = False
    ) -> list[ShownRouter]:
        """``quota_free``: made for the project by the controller itself (an auto-allocated
        topology), which Neutron's quotas do not count against."""
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownRouter]:
            if not quota_free:
                quota_projects = resources.projects_of(caller, requests)
                self.context.quotas.check(writer, Router.kind, quota_projects)
            shown = []
            for request in requests:
                router, gateway = self._new(writer, caller, request)
                writer.insert([router])
                writer.insert([gateway] if gateway else [])
                if request.tags:
                    writer.set_tags(router.id, check_tags(request.tags))
                gateway_ips = gateway.fixed_ips if gateway else []
                shown.append(ShownRouter(router, sorted(set(request.tags or [])), gateway_ips))
            return shown

        return await self.context.store.write(work)

    def _new(
        self, writer: Writer, caller: Caller, request: RouterCreate
    ) -> tuple[Router, Port | None]:
        _check_distributed(caller, request.distributed, action="create_router")
        now = self.context.now()
        router = Router(
            id=self.context.new_id(),
            project_id=caller.project_for(resources.requested_project(request)),
            name=request.name or "",
            description=request.description or "",
            created_at=now,
            updated_at=now,
            admin_state_up=resources.value_or(request.admin_state_up, True),
        )
        info = request.external_gateway_info
        if not isinstance(info, GatewayRequest) or info.network_id is UNSET:
            return router, None
        gateway = self._gateway_port(writer, caller, router, info, interfaces=[])
        return _with_gateway(router, gateway, info), gateway

    async def show(self, caller: Caller, router_id: str) -> ShownRouter:
        def work(reader: Reader) -> ShownRouter:
            return _shown(reader, [resources.find(reader, caller, Router, router_id)])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownRouter]:
        scoped = resources.scoped(caller, query)
        return await self.context.store.read(lambda r: _shown(r, r.select(Router, scoped)))

    # --- update, delete ----------------------------------------------------------------

    async def update(
        self, caller: Caller, router_id: str, request: RouterUpdate, *, if_match: int | None
    ) -> ShownRouter:
        def work(writer: Writer) -> ShownRouter:
            router = resources.owned(writer, caller, Router, router_id)
            resources.check_revision(router, if_match)
            _check_distributed(caller, request.distributed, action="update_router")
            changes: dict[str, object] = {}
            for field in ("name", "description", "admin_state_up"):
                if (value := getattr(request, field)) is not UNSET:
                    changes[field] = value
            if request.external_gateway_info is not UNSET:
                router = self._regateway(writer, caller, router, request.external_gateway_info)
            if request.routes is not UNSET:
                ports = _router_ports(writer, router)
                changes["routes"] = _routes(writer, router, ports, request.routes or [])
            elif request.external_gateway_info is not UNSET:
                _check_routes_kept(writer, router, _router_ports(writer, router))
            updated = resources.revised(router, self.context.now(), **changes)
            writer.update([updated])
            return _shown(writer, [updated])[0]

        return await self.context.store.write(work)

    def _regateway(
        self, writer: Writer, caller: Caller, router: Router, info: GatewayRequest | None
    ) -> Router:
        """The router with its gateway as asked: kept (only SNAT changes) when the network and
        addresses stay, else the old gateway port goes and a new one comes."""
        wanted = info.network_id if info is not None else UNSET
        if info is not None and info.enable_snat is not UNSET:
            caller.require_admin("external_gateway_info:enable_snat")
        same = wanted == router.gateway_network_id and info is not None
        if same and info is not None and info.external_fixed_ips is UNSET:
            return msgspec.structs.replace(
                router, enable_snat=resources.value_or(info.enable_snat, router.enable_snat)
            )
        if wanted != router.gateway_network_id:
            _check_gateway_not_floating(writer, router)
        old = writer.get(Port, router.gateway_port_id) if router.gateway_port_id else None
        if old is not None:
            self.ports.remove(writer, [old])
        cleared = msgspec.structs.replace(
            router, gateway_network_id=None, gateway_port_id=None, enable_snat=True
        )
        if info is None or info.network_id is UNSET:
            return cleared
        interfaces = _router_ports(writer, router, ROUTER_INTERFACE)
        gateway = self._gateway_port(writer, caller, cleared, info, interfaces=interfaces)
        writer.insert([gateway])
        return _with_gateway(cleared, gateway, info)

    async def add_routes(
        self, caller: Caller, router_id: str, request: ExtraRoutesRequest
    ) -> ShownRouter:
        """``extraroute-atomic``: the router's routes and these, an exact duplicate once."""
        return await self._reroute(caller, router_id, request, add=True)

    async def remove_routes(
        self, caller: Caller, router_id: str, request: ExtraRoutesRequest
    ) -> ShownRouter:
        """``extraroute-atomic``: the router's routes but these (one it lacks is no error)."""
        return await self._reroute(caller, router_id, request, add=False)

    async def _reroute(
        self, caller: Caller, router_id: str, request: ExtraRoutesRequest, *, add: bool
    ) -> ShownRouter:
        """As Neutron: the routes are read and changed in one write, and the whole new set is
        checked as an update of ``routes`` would be (so one bad route changes nothing)."""

        def work(writer: Writer) -> ShownRouter:
            router = resources.owned(writer, caller, Router, router_id)
            given = [_route(entry) for entry in request.router.routes]
            if add:
                routes = list(dict.fromkeys([*router.routes, *given]))
            else:
                routes = [r for r in router.routes if r not in given]
            if routes == router.routes:
                return _shown(writer, [router])[0]
            wanted = [HostRouteRequest(r.destination, r.nexthop) for r in routes]
            checked = _routes(writer, router, _router_ports(writer, router), wanted)
            updated = resources.revised(router, self.context.now(), routes=checked)
            writer.update([updated])
            return _shown(writer, [updated])[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, router_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            router = resources.owned(writer, caller, Router, router_id)
            resources.check_revision(router, if_match)
            ports = _router_ports(writer, router)
            if any(p.router_port_type != ROUTER_GATEWAY for p in ports):
                raise errors.InUse(f"Router {router_id} still has ports", type="RouterInUse")
            self.ports.remove(writer, ports)
            writer.delete([router])

        await self.context.store.write(work)

    # --- the gateway -------------------------------------------------------------------

    def _gateway_port(
        self,
        writer: Writer,
        caller: Caller,
        router: Router,
        info: GatewayRequest,
        *,
        interfaces: list[Port],
    ) -> Port:
        assert isinstance(info.network_id, str)
        if info.enable_snat is not UNSET:
            caller.require_admin("external_gateway_info:enable_snat")
        if info.external_fixed_ips is not UNSET:
            caller.require_admin("external_gateway_info:external_fixed_ips")
        network = resources.find(writer, caller, Network, info.network_id)
        if not network.router_external:
            raise errors.InvalidInput(
                f"Network {network.id} is not an external network", type="BadRequest"
            )
        mac = self.context.allocations.allocate_mac(writer, network.id)
        fixed_ips = self.ports.addresses_for(writer, network, mac, info.external_fixed_ips)
        _check_no_overlap(_subnets(writer, fixed_ips), _subnets_of_ports(writer, interfaces))
        port = self._port(router, network, mac, fixed_ips, ROUTER_GATEWAY)
        return msgspec.structs.replace(port, project_id="")  # as Neutron: nobody's port

    def _port(
        self, router: Router, network: Network, mac: str, fixed_ips: list[FixedIp], owner: str
    ) -> Port:
        now = self.context.now()
        return Port(
            id=self.context.new_id(),
            project_id=router.project_id,
            created_at=now,
            updated_at=now,
            network_id=network.id,
            mac_address=mac,
            device_id=router.id,
            device_owner=owner,
            fixed_ips=fixed_ips,
            router_id=router.id,
            router_port_type=owner,
            port_security_enabled=network.port_security_enabled,
        )

    # --- interfaces --------------------------------------------------------------------

    async def add_interface(
        self, caller: Caller, router_id: str, request: RouterInterfaceRequest
    ) -> RouterInterface:
        _check_one_of(request)

        def work(writer: Writer) -> RouterInterface:
            router = resources.owned(writer, caller, Router, router_id)
            _check_uuids(request)
            if isinstance(request.subnet_id, str):
                port = self._interface_on_subnet(writer, caller, router, request.subnet_id)
            else:
                assert isinstance(request.port_id, str)
                port = self._interface_from_port(writer, caller, router, request.port_id)
            writer.update([resources.revised(router, self.context.now())])
            return _interface_info(router, port)

        return await self.context.store.write(work)

    def _interface_on_subnet(
        self, writer: Writer, caller: Caller, router: Router, subnet_id: str
    ) -> Port:
        subnet = resources.find(writer, caller, Subnet, subnet_id)
        if not caller.owns(subnet):  # as Neutron: a shared network's subnet is no one else's
            raise _bad_request(
                f"Cannot add interface to router because subnet {subnet.id} is not owned by "
                "project making the request"
            )
        if subnet.gateway_ip is None:
            raise errors.InvalidInput(
                "Bad router request: Subnet for router interface must have a gateway IP.",
                type="BadRequest",
            )
        _check_attachable(writer, router, [subnet])
        network = writer.get(Network, subnet.network_id)
        assert network is not None
        allocations = self.context.allocations
        mac = allocations.allocate_mac(writer, network.id)
        allocations.claim_ip(writer, subnet, ipaddress.ip_address(subnet.gateway_ip))
        fixed = [FixedIp(subnet.id, subnet.gateway_ip)]
        port = self._port(router, network, mac, fixed, ROUTER_INTERFACE)
        writer.insert([port])
        return port

    def _interface_from_port(
        self, writer: Writer, caller: Caller, router: Router, port_id: str
    ) -> Port:
        port = resources.find(writer, caller, Port, port_id)
        if port.device_id or port.device_owner:
            raise errors.InUse(
                f"Unable to complete operation on port {port.id} for network "
                f"{port.network_id}. Port already has an attached device "
                f"{port.device_id or port.device_owner}.",
                type="PortInUse",
            )
        if port.project_id != router.project_id:
            raise _bad_request(f"Port {port.id} is not of the project of router {router.id}.")
        subnets = _subnets(writer, port.fixed_ips)
        if not subnets:
            raise _bad_request("Router port must have at least one fixed IP.")
        if sum(1 for s in subnets if s.ip_version == 4) > 1:
            raise _bad_request("Cannot have multiple IPv4 subnets on router port.")
        _check_attachable(writer, router, subnets)
        updated = resources.revised(
            port,
            self.context.now(),
            device_id=router.id,
            device_owner=ROUTER_INTERFACE,
            router_id=router.id,
            router_port_type=ROUTER_INTERFACE,
        )
        writer.update([updated])
        return updated

    async def remove_interface(
        self, caller: Caller, router_id: str, request: RouterInterfaceRequest
    ) -> RouterInterface:
        _check_one_of(request, both_allowed=True)

        def work(writer: Writer) -> RouterInterface:
            router = resources.owned(writer, caller, Router, router_id)
            _check_uuids(request)
            port = _attached_interface(writer, caller, router, request)
            _check_not_routed_through(writer, router, port)
            _check_interface_not_floating(writer, router, port)
            self.ports.remove(writer, [port])
            writer.update([resources.revised(router, self.context.now())])
            return _interface_info(router, port)

        return await self.context.store.write(work)


def _check_distributed(caller: Caller, distributed: bool | Unset, *, action: str) -> None:
    """``dvr``: as Neutron's policy, only an admin sets ``distributed``; and every router here
    is distributed (each host routes for the routers on its networks), so a centralized one is
    refused rather than made distributed anyway."""
    if distributed is UNSET:
        return
    caller.require_admin("distributed", action=action)
    if not distributed:
        raise _bad_request(
            "Centralized routers are not supported: every router is distributed "
            "(distributed=False)."
        )


# --- reading ----------------------------------------------------------------------------


def _shown(reader: Reader, records: list[Router]) -> list[ShownRouter]:
    tags = reader.tags_of([r.id for r in records])
    gateway_ids = [r.gateway_port_id for r in records if r.gateway_port_id]
    gateways = reader.get_many(Port, gateway_ids) if gateway_ids else {}
    return [
        ShownRouter(
            r,
            tags.get(r.id, []),
            gateways[r.gateway_port_id].fixed_ips if r.gateway_port_id in gateways else [],
        )
        for r in records
    ]


def _router_ports(reader: Reader, router: Router, port_type: str = "") -> list[Port]:
    """The router's ports by its records (of ``port_type`` only, when given): never a port
    that merely names the router in its device_id (free text)."""
    filters: dict[str, tuple[str, ...]] = {"router_id": (router.id,)}
    if port_type:
        filters["router_port_type"] = (port_type,)
    return reader.select(Port, Query(filters=filters))


def _subnets(reader: Reader, fixed_ips: Sequence[FixedIp]) -> list[Subnet]:
    found: dict[str, Subnet] = {}
    for fixed in fixed_ips:
        if fixed.subnet_id not in found and (subnet := reader.get(Subnet, fixed.subnet_id)):
            found[subnet.id] = subnet
    return list(found.values())


def _subnets_of_ports(reader: Reader, ports: Sequence[Port]) -> list[Subnet]:
    return _subnets(reader, [fixed for port in ports for fixed in port.fixed_ips])


def _with_gateway(router: Router, gateway: Port, info: GatewayRequest) -> Router:
    return msgspec.structs.replace(
        router,
        gateway_network_id=gateway.network_id,
        gateway_port_id=gateway.id,
        enable_snat=resources.value_or(info.enable_snat, True),
    )


def _interface_info(router: Router, port: Port) -> RouterInterface:
    subnet_ids = list(dict.fromkeys(f.subnet_id for f in port.fixed_ips))
    return RouterInterface(
        router_id=router.id,
        project_id=router.project_id,
        port_id=port.id,
        network_id=port.network_id,
        subnet_id=subnet_ids[0] if subnet_ids else "",
        subnet_ids=subnet_ids,
    )


# --- interface rules --------------------------------------------------------------------


def _bad_request(reason: str) -> errors.InvalidInput:
    return errors.InvalidInput(f"Bad router request: {reason}", type="BadRequest")


def _check_one_of(request: RouterInterfaceRequest, *, both_allowed: bool = False) -> None:
    has_subnet, has_port = request.subnet_id is not UNSET, request.port_id is not UNSET
    if not (has_subnet or has_port):
        raise _bad_request("Either subnet_id or port_id must be specified.")
    if has_subnet and has_port and not both_allowed:
        raise _bad_request("Cannot specify both subnet-id and port-id.")


def _check_uuids(request: RouterInterfaceRequest) -> None:
    """As Neutron (``validate_uuid``): an id that is no UUID is a 400, not a 404."""
    for value in (request.port_id, request.subnet_id):
        if isinstance(value, str) and not _uuid_like(value):
            raise _bad_request(f"'{value}' is not a valid UUID.")


def _uuid_like(value: str) -> bool:
    """oslo's ``is_uuid_like``: a UUID in any form Python reads, dashes and case aside."""
    try:
        parsed = uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return (
        parsed.hex
        == value.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "").lower()
    )


def _check_attachable(writer: Writer, router: Router, subnets: list[Subnet]) -> None:
    """The subnets may become the router's: not on it yet, overlapping none of its own. As
    Neutron, a subnet may be on several routers (by ports of it: its gateway address is one
    router's, so a second router's interface by ``subnet_id`` finds it taken)."""
    ports = _router_ports(writer, router)
    interfaces = [p for p in ports if p.router_port_type == ROUTER_INTERFACE]
    attached = {f.subnet_id for port in interfaces for f in port.fixed_ips}
    for subnet in subnets:
        if subnet.id in attached:
            raise _bad_request(f"Router already has a port on subnet {subnet.id}.")
    _check_no_overlap(subnets, _subnets_of_ports(writer, ports))


def _check_no_overlap(new: list[Subnet], existing: list[Subnet]) -> None:
    for subnet in new:
        cidr = ipaddress.ip_network(subnet.cidr)
        for other in existing:
            if other.id != subnet.id and _overlap(cidr, other.cidr):
                raise _bad_request(
                    f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr {other.cidr} "
                    f"of subnet {other.id}."
                )


def _overlap(cidr: addressing.Network, other: str) -> bool:
    return addressing.overlapping(cidr, [other]) is not None


def _attached_interface(
    writer: Writer, caller: Caller, router: Router, request: RouterInterfaceRequest
) -> Port:
    interfaces = _router_ports(writer, router, ROUTER_INTERFACE)
    if isinstance(request.port_id, str):
        port = next((p for p in interfaces if p.id == request.port_id), None)
        if port is None:
            raise errors.NotFound(
                f"Router {router.id} does not have an interface with id {request.port_id}",
                type="RouterInterfaceNotFound",
            )
        if isinstance(request.subnet_id, str) and all(
            f.subnet_id != request.subnet_id for f in port.fixed_ips
        ):
            raise errors.InvalidInput(
                f"Subnet {request.subnet_id} does not match with the port {port.id}.",
                type="SubnetMismatchForPort",
            )
        return port
    assert isinstance(request.subnet_id, str)
    subnet = resources.find(writer, caller, Subnet, request.subnet_id)
    for port in interfaces:
        if any(f.subnet_id == subnet.id for f in port.fixed_ips):
            return port
    raise errors.NotFound(
        f"Router {router.id} has no interface on subnet {subnet.id}",
        type="RouterInterfaceNotFoundForSubnet",
    )


def _check_not_routed_through(writer: Writer, router: Router, port: Port) -> None:
    for subnet in _subnets(writer, port.fixed_ips):
        cidr = ipaddress.ip_network(subnet.cidr)
        if any(_within(route.nexthop, cidr) for route in router.routes):
            raise errors.InUse(
                f"Router interface for subnet {subnet.id} on router {router.id} cannot be "
                "deleted, as it is required by one or more routes.",
                type="RouterInterfaceInUseByRoute",
            )


# --- floating IPs -----------------------------------------------------------------------


def _floating_ips(reader: Reader, router: Router) -> list[FloatingIp]:
    return reader.select(FloatingIp, Query(filters={"router_id": (router.id,)}))


def _check_gateway_not_floating(reader: Reader, router: Router) -> None:
    """As Neutron: the gateway's network stays while floating IPs go through the router."""
    if router.gateway_network_id is not None and _floating_ips(reader, router):
        raise errors.InUse(
            f"Gateway cannot be updated for router {router.id}, since a gateway to external "
            f"network {router.gateway_network_id} is required by one or more floating IPs.",
            type="RouterExternalGatewayInUseByFloatingIp",
        )


def _check_interface_not_floating(reader: Reader, router: Router, port: Port) -> None:
    """As Neutron: an interface stays while a floating IP maps to an address on its subnets."""
    subnet_ids = {fixed.subnet_id for fixed in port.fixed_ips}
    forwarding_holds.check_interface_free(reader, router.id, subnet_ids)
    floating = _floating_ips(reader, router)
    internal = reader.get_many(Port, {fip.port_id for fip in floating if fip.port_id})
    for fip in floating:
        held = internal[fip.port_id].fixed_ips if fip.port_id in internal else []
        used = {f.subnet_id for f in held if f.ip_address == fip.fixed_ip_address}
        if subnet := next(iter(used & subnet_ids), None):
            raise errors.InUse(
                f"Router interface for subnet {subnet} on router {router.id} cannot be "
                "deleted, as it is required by one or more floating IPs.",
                type="RouterInterfaceInUseByFloatingIP",
            )


# --- extra routes -----------------------------------------------------------------------


def _within(address: str, cidr: addressing.Network) -> bool:
    hop = ipaddress.ip_address(address)
    return hop.version == cidr.version and hop in cidr


def _routes(
    reader: Reader, router: Router, ports: list[Port], requested: list[HostRouteRequest]
) -> list[HostRoute]:
    """The extra routes asked for, checked as Neutron's ``extraroute`` does."""
    if len(requested) > MAX_ROUTES:
        raise errors.InvalidInput(
            f"Unable to complete operation for {router.id}. The number of routes exceeds the "
            f"maximum {MAX_ROUTES}.",
            type="RoutesExhausted",
        )
    routes: list[HostRoute] = []
    for entry in requested:
        route = _route(entry)
        if route in routes:
            raise addressing.invalid("routes", f"Duplicate hostroute '{route.destination}'.")
        routes.append(route)
    reason = _unreachable(reader, routes, ports)
    if reason is not None:
        raise _invalid_routes(routes, reason)
    return routes


def _route(entry: HostRouteRequest) -> HostRoute:
    destination = addressing.parse_cidr(entry.destination, "routes")
    nexthop = addressing.parse_address(entry.nexthop, "routes")
    if destination.version != nexthop.version:
        raise _invalid_routes(
            [HostRoute(entry.destination, entry.nexthop)],
            "the destination and the nexthop are of different IP versions",
        )
    return HostRoute(str(destination), str(nexthop))


def _unreachable(reader: Reader, routes: list[HostRoute], ports: list[Port]) -> str | None:
    """Why a route cannot be taken by the router with these ports, if it cannot."""
    own = {f.ip_address for port in ports for f in port.fixed_ips}
    cidrs = [ipaddress.ip_network(s.cidr) for s in _subnets_of_ports(reader, ports)]
    for route in routes:
        if not any(_within(route.nexthop, cidr) for cidr in cidrs):
            return "the nexthop is not connected with router"
        if route.nexthop in own:
            return "the nexthop is used by router"
    return None


def _check_routes_kept(reader: Reader, router: Router, ports: list[Port]) -> None:
    """A gateway change must leave every extra route reachable."""
    if _unreachable(reader, router.routes, ports) is not None:
        raise errors.InUse(
            f"Router {router.id}'s external gateway is required by one or more routes.",
            type="RouterInUse",
        )


def _invalid_routes(routes: list[HostRoute], reason: str) -> errors.InvalidInput:
    shown = [{"destination": r.destination, "nexthop": r.nexthop} for r in routes]
    return errors.InvalidInput(
        f"Invalid format for routes: {shown}, {reason}.", type="InvalidRoutes"
    )
