"""Stored records: what the controller keeps about each resource.

These are a superset of what the API shows and what hosts are sent. They are immutable; a change
is a new record (``msgspec.structs.replace``) written through the store. Field names are Python
names; the API renames them to Neutron's (``binding_host_id`` is ``binding:host_id``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec


class AllocationPool(msgspec.Struct, frozen=True, gc=False):
    start: str
    end: str


class HostRoute(msgspec.Struct, frozen=True, gc=False):
    destination: str
    nexthop: str


class FixedIp(msgspec.Struct, frozen=True, gc=False):
    subnet_id: str
    ip_address: str


class AddressPair(msgspec.Struct, frozen=True, gc=False):
    ip_address: str
    mac_address: str


class DhcpOption(msgspec.Struct, frozen=True, gc=False):
    """An extra DHCP option of a port (``extra_dhcp_opt``): dnsmasq's option name or number,
    its value, and the IP version it is handed out for."""

    opt_name: str
    opt_value: str
    ip_version: int = 4


class Record(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Fields every resource has. ``kind`` names the resource ('network', 'subnet', 'port')."""

    kind: ClassVar[str] = ""

    id: str
    project_id: str
    name: str = ""
    description: str = ""
    created_at: str
    updated_at: str
    revision_number: int = 1


class Network(Record, frozen=True, kw_only=True):
    kind: ClassVar[str] = "network"

    admin_state_up: bool = True
    shared: bool = False
    mtu: int = 1450
    router_external: bool = False
    network_type: str = "vxlan"
    segmentation_id: int | None = None
    physical_network: str | None = None
    port_security_enabled: bool = True
    availability_zone_hints: list[str] = msgspec.field(default_factory=list)


class Subnet(Record, frozen=True, kw_only=True):
    kind: ClassVar[str] = "subnet"

    network_id: str
    ip_version: int
    cidr: str
    gateway_ip: str | None = None
    allocation_pools: list[AllocationPool] = msgspec.field(default_factory=list)
    host_routes: list[HostRoute] = msgspec.field(default_factory=list)
    dns_nameservers: list[str] = msgspec.field(default_factory=list)
    enable_dhcp: bool = True
    ipv6_ra_mode: str | None = None
    ipv6_address_mode: str | None = None


class Port(Record, frozen=True, kw_only=True):
    kind: ClassVar[str] = "port"

    network_id: str
    mac_address: str
    admin_state_up: bool = True
    device_id: str = ""
    device_owner: str = ""
    fixed_ips: list[FixedIp] = msgspec.field(default_factory=list)
    security_groups: list[str] = msgspec.field(default_factory=list)
    port_security_enabled: bool = True
    allowed_address_pairs: list[AddressPair] = msgspec.field(default_factory=list)
    binding_host_id: str = ""
    binding_profile: dict[str, Any] = msgspec.field(default_factory=dict)
    binding_vnic_type: str = "normal"
    binding_vif_type: str = "unbound"
    binding_vif_details: dict[str, Any] = msgspec.field(default_factory=dict)
    extra_dhcp_opts: list[DhcpOption] = msgspec.field(default_factory=list)
    # Router membership, Neutron's ``routerports``: the router whose interface or gateway this
    # port is (``router_port_type``: ROUTER_INTERFACE or ROUTER_GATEWAY). Set only by the
    # router manager (add_router_interface, external_gateway_info); the API neither sets nor
    # shows it. ``device_owner``/``device_id`` are free text a tenant may write: they give a
    # port no router meaning.
    router_id: str = ""
    router_port_type: str = ""


ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"


class SecurityGroup(Record, frozen=True, kw_only=True):
    kind: ClassVar[str] = "security_group"

    stateful: bool = True


class SecurityGroupRule(Record, frozen=True, kw_only=True):
    """A rule of a group. Its project is its group's; ``name`` stays empty (rules have none)."""

    kind: ClassVar[str] = "security_group_rule"

    security_group_id: str
    direction: str
    ethertype: str
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None


class Router(Record, frozen=True, kw_only=True):
    """A router. Its gateway is the port ``gateway_port_id`` on ``gateway_network_id``; its
    interfaces and its gateway are the ports whose ``router_id`` is the router's (with
    ``router_port_type`` ROUTER_INTERFACE or ROUTER_GATEWAY), never the ports that merely name
    it in ``device_id``. ``routes`` are the extra routes (``extraroute``)."""

    kind: ClassVar[str] = "router"

    admin_state_up: bool = True
    gateway_network_id: str | None = None
    gateway_port_id: str | None = None
    enable_snat: bool = True
    routes: list[HostRoute] = msgspec.field(default_factory=list)


class FloatingIp(Record, frozen=True, kw_only=True):
    """A floating IP: ``floating_ip_address`` held by its own port ``floating_port_id``
    (device_owner ``network:floatingip``) on the external network ``floating_network_id``;
    associated, it maps to ``fixed_ip_address`` of the port ``port_id`` through ``router_id``.
    It has no name (``name`` stays empty and is not stored)."""

    kind: ClassVar[str] = "floatingip"

    floating_network_id: str
    floating_ip_address: str
    floating_port_id: str
    port_id: str | None = None
    fixed_ip_address: str | None = None
    router_id: str | None = None
    status: str = "DOWN"


class Node(Record, frozen=True, kw_only=True):
    """A host of the region (Alcor's node manager): ``name`` is the host id that ports name in
    ``binding:host_id`` and its agent sends in its Hello (unique); ``underlay_ip`` is where
    other hosts send its VXLAN traffic. Nodes belong to no project (``project_id`` is empty).

    ``state`` is what the controller last concluded from its agent: ``up`` while it hears from
    it, ``down`` once it missed its heartbeats for ``--node-down-after`` seconds (or before its
    agent ever connected). Only transitions are stored, at ``state_changed_at``; a transition
    changes neither ``revision_number`` nor ``updated_at`` (it is observed, not intended, so a
    client's ``If-Match`` keeps working). Heartbeats themselves are kept in memory only."""

    kind: ClassVar[str] = "node"

    underlay_ip: str
    mac_address: str = ""
    admin_state_up: bool = True
    state: str = "down"
    state_changed_at: str | None = None
    # The physical networks the host maps to one of its bridges (its agent's
    # ``--bridge-mapping``): a router's external gateway on a flat network is served by an up
    # node that has that network's physical network.
    physical_networks: list[str] = msgspec.field(default_factory=list)


RECORD_TYPES: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (Network, Subnet, Port, SecurityGroup, SecurityGroupRule, Router, FloatingIp, Node)
}
