"""The port manager: MAC and fixed-IP allocation, binding, and the bulk create path.

A bulk create is one write: every port of it commits together or none does. Addresses come from
the in-memory pools (``Allocations``), so a port costs no scan of its subnet.

What the port API may not do to the ports of routers and floating IPs is ``service_ports``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from alcor.model import address_pairs, addressing, dhcp_options, dns, errors, service_types
from alcor.model.identifiers import normalize_mac
from alcor.model.queries import Query
from alcor.model.records import (
    ROUTER_GATEWAY,
    ROUTER_INTERFACE,
    AddressPair,
    FixedIp,
    Network,
    Port,
    Subnet,
)
from alcor.model.requests import (
    UNSET,
    FixedIpRequest,
    PortAttributes,
    PortCreate,
    PortUpdate,
    Unset,
)
from alcor.services import (
    firewall_groups,
    forwarding_holds,
    nodes,
    qos_bindings,
    resources,
    service_ports,
    sharing,
    status,
    trunks,
)
from alcor.services.callers import Caller
from alcor.services.security_groups import PortGroups, check_address_pairs
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer

VNIC_TYPES = ("normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder")


class ShownPort(msgspec.Struct, frozen=True):
    record: Port
    tags: list[str]
    status: str
    # what its host reported of it (``services.status``), shown over the stored vif_details
    observed_vif_details: Mapping[str, str] = msgspec.field(default_factory=dict)
    trunk: trunks.Details | None = None  # ``trunk_details``, when the port is a trunk's parent
    dns_domain: str = dns.DEFAULT_DOMAIN  # the server's, naming its addresses (dns_assignment)

    def vif_details(self) -> dict[str, Any]:
        """``binding:vif_details``: the stored keys first, the host's observed ones over them."""
        if not self.observed_vif_details:
            return self.record.binding_vif_details
        return {**self.record.binding_vif_details, **self.observed_vif_details}


class Ports:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(self, caller: Caller, requests: Sequence[PortCreate]) -> list[ShownPort]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownPort]:
            quota_projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, Port.kind, quota_projects)
            networks: dict[str, Network] = {}
            subnets: dict[str, list[Subnet]] = {}
            groups = PortGroups(writer, caller, self.context)
            known = nodes.known_hosts(
                writer, self.context, (resources.value_or(q.binding_host_id, "") for q in requests)
            )
            records = []
            for request in requests:
                network = networks.get(request.network_id)
                if network is None:
                    network = resources.find(writer, caller, Network, request.network_id)
                    networks[network.id] = network
                    subnets[network.id] = writer.subnets_of(network.id)
                records.append(
                    self._new(
                        writer,
                        caller,
                        request,
                        network=network,
                        subnets=subnets[network.id],
                        groups=groups,
                        known_hosts=known,
                    )
                )
            writer.insert(records)
            for record, request in zip(records, requests, strict=True):
                if request.tags:
                    writer.set_tags(record.id, check_tags(request.tags))
            board = self.context.status
            domain = self.context.settings.dns_domain
            return [
                ShownPort(
                    r,
                    sorted(set(q.tags or [])),
                    status_of(r, board),
                    observed_of(r, board),
                    dns_domain=domain,
                )
                for r, q in zip(records, requests, strict=True)
            ]

        return await self.context.store.write(work)

    def _new(
        self,
        writer: Writer,
        caller: Caller,
        request: PortCreate,
        *,
        network: Network,
        subnets: list[Subnet],
        groups: PortGroups,
        known_hosts: set[str],
    ) -> Port:
        names = dns.port_fields(request, domain=self.context.settings.dns_domain, creating=True)
        project = caller.project_for(resources.requested_project(request))
        _check_attributes(caller, request, action="create_port")
        _check_network_owner_attributes(caller, request, network, action="create_port")
        service_ports.check_device_owned(
            writer,
            caller,
            project_id=project,
            device_owner=resources.value_or(request.device_owner, ""),
            device_id=resources.value_or(request.device_id, ""),
        )
        _check_network_owner(caller, network, request)
        _check_network_project(writer, caller, network, project)
        port_security = resources.value_or(
            request.port_security_enabled, network.port_security_enabled
        )
        check_address_pairs(
            port_security=port_security,
            has_pairs=bool(resources.value_or(request.allowed_address_pairs, [])),
        )
        security_groups = groups.on_create(request, project_id=project, port_security=port_security)
        allocations = self.context.allocations
        if request.mac_address is not UNSET:
            mac = normalize_mac(request.mac_address)
            allocations.claim_mac(writer, network.id, mac)
        else:
            mac = allocations.allocate_mac(writer, network.id)
        device_owner = resources.value_or(request.device_owner, "")
        subnets = service_types.eligible(subnets, device_owner, network_id=network.id)
        if request.fixed_ips is not UNSET:
            fixed_ips = self._assign(writer, network, subnets, request.fixed_ips)
            fixed_ips += self._eui64(writer, subnets, mac)
        else:
            fixed_ips = self._automatic(writer, network, subnets, mac)
        now = self.context.now()
        host = resources.value_or(request.binding_host_id, "")
        return Port(
            id=self.context.new_id(),
            project_id=project,
            name=request.name or "",
            description=request.description or "",
            created_at=now,
            updated_at=now,
            network_id=network.id,
            mac_address=mac,
            admin_state_up=resources.value_or(request.admin_state_up, True),
            device_id=resources.value_or(request.device_id, ""),
            device_owner=resources.value_or(request.device_owner, ""),
            fixed_ips=fixed_ips,
            security_groups=security_groups,
            port_security_enabled=port_security,
            allowed_address_pairs=_address_pairs(request, mac),
            binding_host_id=host,
            binding_profile=resources.value_or(request.binding_profile, {}),
            binding_vnic_type=resources.value_or(request.binding_vnic_type, "normal"),
            binding_vif_type=nodes.vif_type(host, known_hosts),
            extra_dhcp_opts=dhcp_options.created(resources.value_or(request.extra_dhcp_opts, [])),
            dns_name=names.get("dns_name", ""),
            dns_domain=names.get("dns_domain", ""),
            qos_policy_id=qos_bindings.requested(
                writer, caller, resources.value_or(request.qos_policy_id, None)
            ),
            qos_network_policy_id=network.qos_policy_id,
        )

    def _automatic(
        self, writer: Writer, network: Network, subnets: list[Subnet], mac: str
    ) -> list[FixedIp]:
        """No fixed_ips asked for, as Neutron: the EUI-64 address on every SLAAC subnet, and one
        address of each IP version from the first other subnet that has one free."""
        fixed: list[FixedIp] = []
        for version in (4, 6):
            candidates = [s for s in subnets if s.ip_version == version]
            fixed += self._eui64(writer, candidates, mac)
            stateful = [s for s in candidates if not _auto_address(s)]
            if stateful:
                fixed.append(self._first_free(writer, network, stateful))
        return fixed

    def _eui64(
        self, writer: Writer, subnets: list[Subnet], mac: str, *, skip: frozenset[str] = frozenset()
    ) -> list[FixedIp]:
        """The MAC's EUI-64 address on every SLAAC / DHCPv6-stateless subnet (but those skipped):
        Neutron gives a port these whatever fixed_ips it asked for."""
        fixed: list[FixedIp] = []
        for subnet in subnets:
            if _auto_address(subnet) and subnet.id not in skip:
                address = addressing.eui64(ipaddress.IPv6Network(subnet.cidr), mac)
                self.context.allocations.claim_ip(writer, subnet, address)
                fixed.append(FixedIp(subnet.id, str(address)))
        return fixed

    def _first_free(self, writer: Writer, network: Network, subnets: list[Subnet]) -> FixedIp:
        for subnet in subnets:
            try:
                return FixedIp(subnet.id, str(self.context.allocations.allocate_ip(writer, subnet)))
            except errors.IpAddressGenerationFailure:
                continue
        raise errors.IpAddressGenerationFailure(
            f"No more IP addresses available on network {network.id}."
        )

    def _assign(
        self,
        writer: Writer,
        network: Network,
        subnets: list[Subnet],
        requested: list[FixedIpRequest],
    ) -> list[FixedIp]:
        by_id = {s.id: s for s in subnets}
        fixed: list[FixedIp] = []
        for entry in requested:
            address = (
                addressing.parse_address(entry.ip_address, "fixed_ips")
                if entry.ip_address is not UNSET
                else None
            )
            subnet = _subnet_for(network, by_id, subnets, entry, address)
            if _auto_address(subnet):  # its address is the EUI-64 one, never chosen or pooled
                if address is not None:
                    raise errors.InvalidInput(
                        f"IPv6 address {address} cannot be directly assigned to a port on subnet "
                        f"{subnet.id} as the subnet is configured for automatic addresses.",
                        type="AllocationOnAutoAddressSubnet",
                    )
                continue
            if address is None:
                address = self.context.allocations.allocate_ip(writer, subnet)
            else:
                self.context.allocations.claim_ip(writer, subnet, address)
            fixed.append(FixedIp(subnet.id, str(address)))
        return fixed

    async def show(self, caller: Caller, port_id: str) -> ShownPort:
        def work(reader: Reader) -> ShownPort:
            found = resources.find(reader, caller, Port, port_id)
            return self._shown(reader, [found])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownPort]:
        scoped = resources.scoped(caller, query, shared=True)  # with the ports on its networks
        wanted = scoped.filters.get("status")
        if wanted is None:
            return await self.context.store.read(lambda r: self._shown(r, r.select(Port, scoped)))
        # status is observed, not stored: the other filters select, status filters what they
        # select, and the page is cut after it
        filters = {k: v for k, v in scoped.filters.items() if k != "status"}
        every = msgspec.structs.replace(scoped, filters=filters, limit=None)
        board = self.context.status

        def work(reader: Reader) -> list[ShownPort]:
            found = [p for p in reader.select(Port, every) if status_of(p, board) in wanted]
            if scoped.limit is not None:
                found = found[-scoped.limit :] if scoped.page_reverse else found[: scoped.limit]
            return self._shown(reader, found)

        return await self.context.store.read(work)

    async def update(
        self, caller: Caller, port_id: str, request: PortUpdate, *, if_match: int | None
    ) -> ShownPort:
        domain = self.context.settings.dns_domain
        names = dns.port_fields(request, domain=domain, creating=False)

        def work(writer: Writer) -> ShownPort:
            port = resources.owned(writer, caller, Port, port_id)
            resources.check_revision(port, if_match)
            _check_attributes(caller, request, action="update_port")
            if any(getattr(request, a) is not UNSET for a in NETWORK_OWNER_ATTRIBUTES):
                network = writer.get(Network, port.network_id)
                assert network is not None
                _check_network_owner_attributes(caller, request, network, action="update_port")
            service_ports.check_owner_kept(writer, port, request)
            if request.device_owner is not UNSET or request.device_id is not UNSET:
                service_ports.check_device_owned(
                    writer,
                    caller,
                    project_id=port.project_id,
                    device_owner=resources.value_or(request.device_owner, port.device_owner),
                    device_id=resources.value_or(request.device_id, port.device_id),
                )
            changes: dict[str, object] = dict(names)
            for field in (
                "name",
                "description",
                "admin_state_up",
                "device_id",
                "device_owner",
                "port_security_enabled",
                "binding_profile",
                "binding_vnic_type",
            ):
                if (value := getattr(request, field)) is not UNSET:
                    changes[field] = value
            if request.allowed_address_pairs is not UNSET:
                changes["allowed_address_pairs"] = _address_pairs(request, port.mac_address)
            check_address_pairs(  # before the groups, as Neutron
                port_security=resources.value_or(
                    request.port_security_enabled, port.port_security_enabled
                ),
                has_pairs=bool(changes.get("allowed_address_pairs", port.allowed_address_pairs)),
            )
            changes["security_groups"] = PortGroups(writer, caller, self.context).on_update(
                port, request
            )
            if request.binding_host_id is not UNSET:
                host = request.binding_host_id
                changes["binding_host_id"] = host
                changes["binding_vif_type"] = nodes.vif_type(
                    host, nodes.known_hosts(writer, self.context, [host])
                )
            if request.qos_policy_id is not UNSET:
                changes["qos_policy_id"] = qos_bindings.requested(
                    writer, caller, request.qos_policy_id
                )
            if request.extra_dhcp_opts is not UNSET:
                changes["extra_dhcp_opts"] = dhcp_options.merged(
                    port.extra_dhcp_opts, request.extra_dhcp_opts
                )
            if request.mac_address is not UNSET:
                changes["mac_address"] = self._new_mac(writer, caller, port, request.mac_address)
            if request.fixed_ips is not UNSET:
                service_ports.check_floating_addresses_kept(writer, port, request.fixed_ips)
                fixed_ips = self._reassign(writer, caller, port, request)
                service_ports.check_interface_addresses_kept(writer, port, fixed_ips)
                changes["fixed_ips"] = fixed_ips
            if changes.get("mac_address", port.mac_address) != port.mac_address:
                changes["fixed_ips"] = self._eui64_moved(
                    writer,
                    changes.get("fixed_ips", port.fixed_ips),  # type: ignore[arg-type]
                    network_id=port.network_id,
                    mac=str(changes["mac_address"]),
                )
            updated = resources.revised(port, self.context.now(), **changes)
            writer.update([updated])
            if port.port_security_enabled and not updated.port_security_enabled:
                firewall_groups.check_filterable(writer, updated)
            if updated.fixed_ips != port.fixed_ips:
                forwarding_holds.release_addresses(writer, self.context.now(), updated)
            if updated.binding_host_id != port.binding_host_id:
                trunks.follow_parent(writer, updated, self.context.now())
            return self._shown(writer, [updated])[0]

        return await self.context.store.write(work)

    def _shown(self, reader: Reader, records: list[Port]) -> list[ShownPort]:
        tags = reader.tags_of([r.id for r in records])
        details = trunks.details_of(reader, records)
        board = self.context.status
        return [
            ShownPort(
                r,
                tags.get(r.id, []),
                status_of(r, board),
                observed_of(r, board),
                details.get(r.id),
                dns_domain=self.context.settings.dns_domain,
            )
            for r in records
        ]

    def _reassign(
        self, writer: Writer, caller: Caller, port: Port, request: PortUpdate
    ) -> list[FixedIp]:
        """New fixed IPs: addresses the port keeps stay, the others are released, new ones taken.
        As in Neutron, a port keeps (or gains) its EUI-64 address on every SLAAC subnet."""
        network = writer.get(Network, port.network_id)
        assert network is not None
        assert request.fixed_ips is not UNSET
        _check_network_owner(caller, network, request)
        requested = request.fixed_ips
        subnets = writer.subnets_of(network.id)
        by_id = {s.id: s for s in subnets}
        keep, wanted = _matched(port.fixed_ips, requested, by_id)
        automatic = [
            old
            for old in port.fixed_ips
            if old not in keep and old.subnet_id in by_id and _auto_address(by_id[old.subnet_id])
        ]
        for old in port.fixed_ips:
            if old not in keep and old not in automatic and old.subnet_id in by_id:
                address = ipaddress.ip_address(old.ip_address)
                self.context.allocations.release_ip(writer, by_id[old.subnet_id], address)
        fixed = keep + self._assign(writer, network, subnets, wanted) + automatic
        handled = frozenset(f.subnet_id for f in [*fixed, *port.fixed_ips])
        return fixed + self._eui64(writer, subnets, port.mac_address, skip=handled)

    def _new_mac(self, writer: Writer, caller: Caller, port: Port, requested: str | None) -> str:
        """An admin's new MAC for a port, or a fresh one for null
        (``port-mac-address-regenerate``). As Neutron's ML2: only while the port is not bound
        (``unbound`` or ``binding_failed``), and unique on its network."""
        caller.require_admin("mac_address", action="update_port")
        mac = normalize_mac(requested) if requested is not None else None
        if mac == port.mac_address:
            return mac
        if port.binding_vif_type not in (nodes.UNBOUND_VIF_TYPE, nodes.FAILED_VIF_TYPE):
            raise errors.InUse(
                f"Unable to complete operation on port {port.id}, port is already bound, port "
                f"type: {port.binding_vif_type}, old_mac {port.mac_address}, new_mac "
                f"{requested}.",
                type="PortBound",
            )
        allocations = self.context.allocations
        if mac is None:
            mac = allocations.allocate_mac(writer, port.network_id)
        else:
            allocations.claim_mac(writer, port.network_id, mac)
        allocations.release_mac(writer, port.network_id, port.mac_address)
        return mac

    def _eui64_moved(
        self, writer: Writer, fixed_ips: list[FixedIp], *, network_id: str, mac: str
    ) -> list[FixedIp]:
        """A port's EUI-64 addresses follow its new MAC, as Neutron re-derives them."""
        subnets = {s.id: s for s in writer.subnets_of(network_id)}
        allocations = self.context.allocations
        moved = []
        for fixed in fixed_ips:
            subnet = subnets.get(fixed.subnet_id)
            if subnet is None or not _auto_address(subnet):
                moved.append(fixed)
                continue
            address = addressing.eui64(ipaddress.IPv6Network(subnet.cidr), mac)
            allocations.release_ip(writer, subnet, ipaddress.ip_address(fixed.ip_address))
            allocations.claim_ip(writer, subnet, address)
            moved.append(FixedIp(subnet.id, str(address)))
        return moved

    async def delete(self, caller: Caller, port_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            port = resources.find(writer, caller, Port, port_id)
            if not caller.owns(port) and not resources.owns_network_of(writer, caller, port):
                raise errors.NotAuthorized(f"Policy doesn't allow changing port {port_id}.")
            resources.check_revision(port, if_match)
            service_ports.check_not_service_port(writer, port)
            trunks.check_port_deletable(writer, port)
            self.remove(writer, [port])

        await self.context.store.write(work)

    def addresses_for(
        self,
        writer: Writer,
        network: Network,
        mac: str,
        requested: list[FixedIpRequest] | Unset,
    ) -> list[FixedIp]:
        """The fixed IPs of a new port on the network (a router's gateway port): those asked
        for, or Neutron's automatic choice when none are."""
        subnets = writer.subnets_of(network.id)
        if requested is UNSET:
            return self._automatic(writer, network, subnets, mac)
        return self._assign(writer, network, subnets, requested) + self._eui64(writer, subnets, mac)

    def remove(self, writer: Writer, ports: Sequence[Port]) -> None:
        """Delete ports, giving their addresses and MACs back to the pools. As Neutron does, the
        floating IPs associated with a port are disassociated (not deleted) when it goes, and the
        port forwardings to it deleted (and, as neutron-fwaas, it leaves its firewall group)."""
        service_ports.disassociate_floating_ips(writer, self.context.now(), ports)
        forwarding_holds.release_ports(writer, self.context.now(), ports)
        firewall_groups.release_ports(writer, [port.id for port in ports], self.context.now())
        for port in ports:
            subnets = {s.id: s for s in writer.subnets_of(port.network_id)}
            for fixed in port.fixed_ips:
                self.context.allocations.release_ip(
                    writer, subnets[fixed.subnet_id], ipaddress.ip_address(fixed.ip_address)
                )
            self.context.allocations.release_mac(writer, port.network_id, port.mac_address)
        writer.delete(ports)


# a router's port that no host holds: an interface needs none yet, a gateway has nowhere to go
_ROUTER_PORT_IDLE = {ROUTER_INTERFACE: status.ACTIVE, ROUTER_GATEWAY: status.DOWN}


def status_of(port: Port, board: status.StatusView | None = None) -> str:
    """What its host reported (``services.status``; without a board: DOWN); a router's port,
    what the hosts holding the router reported (an interface no host holds yet is ACTIVE, a
    gateway no host serves DOWN); a floating IP's port is N/A, as Neutron's."""
    if port.device_owner == service_ports.FLOATING_IP_OWNER:
        return "N/A"
    if board is None:
        return status.DOWN
    if port.router_id and port.router_port_type in _ROUTER_PORT_IDLE:
        idle = _ROUTER_PORT_IDLE[port.router_port_type]
        return status.spread_status(board, port.id, router_id=port.router_id, idle=idle)
    return board.port_status(port.id, port.binding_host_id)


def observed_of(port: Port, board: status.StatusView | None = None) -> Mapping[str, str]:
    """The vif_details its host reported (``services.status``), if any."""
    if board is None or not port.binding_host_id:
        return {}
    return board.vif_details(port.id, port.binding_host_id)


def _auto_address(subnet: Subnet) -> bool:
    return addressing.is_auto_address(subnet.ipv6_ra_mode, subnet.ipv6_address_mode)


def _subnet_for(
    network: Network,
    by_id: dict[str, Subnet],
    subnets: list[Subnet],
    entry: FixedIpRequest,
    address: addressing.Address | None,
) -> Subnet:
    if entry.subnet_id is not UNSET:
        subnet = by_id.get(entry.subnet_id)
        if subnet is None:
            raise errors.InvalidInput(
                f"Invalid input for operation: Failed to create port on network {network.id}, "
                f"because fixed_ips included invalid subnet {entry.subnet_id}.",
                type="InvalidInput",
            )
        if address is not None and address not in ipaddress.ip_network(subnet.cidr):
            raise errors.InvalidInput(
                f"IP address {address} is not a valid IP for the specified subnet.",
                type="InvalidIpForSubnet",
            )
        return subnet
    if address is None:
        raise errors.InvalidInput(
            "Invalid input for fixed_ips. Reason: an entry needs a subnet_id or an ip_address."
        )
    for subnet in subnets:
        if address in ipaddress.ip_network(subnet.cidr):
            return subnet
    raise errors.InvalidInput(
        f"IP address {address} is not a valid IP for any of the subnets on the specified network.",
        type="InvalidIpForNetwork",
    )


def _matched(
    held: list[FixedIp], requested: list[FixedIpRequest], subnets: Mapping[str, Subnet]
) -> tuple[list[FixedIp], list[FixedIpRequest]]:
    """Which addresses a port keeps and which entries ask for new ones, as Neutron's
    ``_get_changed_ips_for_port``: an entry naming a held address keeps it (on its subnet);
    then an entry naming only a subnet keeps an address the port still holds there, unless
    that subnet's addresses are automatic (EUI-64: never chosen, re-derived)."""
    keep: list[FixedIp] = []
    by_address = {f.ip_address: f for f in held}
    for entry in requested:
        old = by_address.get(entry.ip_address) if entry.ip_address is not UNSET else None
        if old is not None and entry.subnet_id in (UNSET, old.subnet_id):
            keep.append(by_address.pop(old.ip_address))
    left: dict[str, list[FixedIp]] = {}
    for old in by_address.values():
        left.setdefault(old.subnet_id, []).append(old)
    wanted: list[FixedIpRequest] = []
    for entry in requested:
        if entry.ip_address is not UNSET:
            if not any(f.ip_address == entry.ip_address for f in keep):
                wanted.append(entry)
            continue
        subnet = subnets.get(entry.subnet_id) if entry.subnet_id is not UNSET else None
        candidates = left.get(entry.subnet_id, []) if entry.subnet_id is not UNSET else []
        if candidates and subnet is not None and not _auto_address(subnet):
            keep.append(candidates.pop())
        else:
            wanted.append(entry)
    return keep, wanted


def _check_attributes(caller: Caller, request: PortAttributes, *, action: str) -> None:
    for attribute, value in (
        ("binding:host_id", request.binding_host_id),
        ("binding:profile", request.binding_profile),
    ):
        if value is not UNSET:
            caller.require_admin(attribute, action=action)
    if request.security_groups is not UNSET:
        seen: set[str] = set()
        for group in request.security_groups:
            if group in seen:
                raise addressing.invalid(
                    "security_groups", f"Duplicate items in the list: '{group}'."
                )
            seen.add(group)
    if request.binding_vnic_type is not UNSET and request.binding_vnic_type not in VNIC_TYPES:
        raise addressing.invalid(
            "binding:vnic_type", f"'{request.binding_vnic_type}' is not in {list(VNIC_TYPES)}."
        )


def _check_network_project(reader: Reader, caller: Caller, network: Network, project: str) -> None:
    """As Neutron: a member's port goes on a network of its project or one shared with the
    caller (by a policy to its project or to every project); an external network that is not
    shared is not theirs to take addresses from."""
    if caller.is_admin or network.project_id == project:
        return
    if not sharing.shared_with(reader, "network", network.id, caller.project_id):
        raise errors.NotAuthorized(
            f"Project {project} not allowed to create port on network {network.id}."
        )


def _check_network_owner(caller: Caller, network: Network, request: PortAttributes) -> None:
    """As Neutron's policy: on a network of another project (a shared one), only its owner or an
    admin may choose a port's MAC address or fixed IP addresses (a subnet_id alone is fine)."""
    if caller.owns(network):
        return
    chosen = [
        attribute
        for attribute, sent in (
            ("mac_address", getattr(request, "mac_address", UNSET) is not UNSET),
            (
                "fixed_ips:ip_address",
                request.fixed_ips is not UNSET
                and any(entry.ip_address is not UNSET for entry in request.fixed_ips),
            ),
        )
        if sent
    ]
    if chosen:
        raise errors.NotAuthorized(
            f"Policy doesn't allow setting {chosen[0]} on network {network.id}: only its owner "
            "or an admin may."
        )


def _address_pairs(request: PortAttributes, mac: str) -> list[AddressPair]:
    if not request.allowed_address_pairs:  # not sent, null or empty
        return []
    return address_pairs.parsed(request.allowed_address_pairs, port_mac=mac)


# What Neutron's policy leaves to the port's network's owner (or an admin): on a shared network
# another project's port may not turn its filtering off or claim other addresses.
NETWORK_OWNER_ATTRIBUTES = ("port_security_enabled", "allowed_address_pairs")


def _check_network_owner_attributes(
    caller: Caller, request: PortCreate | PortUpdate, network: Network, *, action: str
) -> None:
    for attribute in NETWORK_OWNER_ATTRIBUTES:
        if getattr(request, attribute) is not UNSET:
            caller.require_owner(network, attribute, action=action)
