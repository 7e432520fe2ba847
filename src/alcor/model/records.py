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
    """A network. Who may use it besides its project is said by RBAC policies (``RbacPolicy``);
    ``shared`` mirrors the policy sharing it with every project (``access_as_shared`` to
    ``*``), and ``router_external`` whether it is external (Neutron's ``externalnetworks``
    row: made by ``router:external`` or by any ``access_as_external`` policy, gone with the
    last). The services keep both in step with the policies, in the same transaction.
    ``is_default``: the region's default external network (at most one; only while external).
    ``auto_allocated_router_id``: set on a project's auto-allocated network
    (``auto-allocated-topology``), the router that links it to the default external network."""

    kind: ClassVar[str] = "network"

    admin_state_up: bool = True
    shared: bool = False
    mtu: int = 1450
    router_external: bool = False
    network_type: str = "vxlan"
    segmentation_id: int | None = None
    physical_network: str | None = None
    port_security_enabled: bool = True
    is_default: bool = False
    availability_zone_hints: list[str] = msgspec.field(default_factory=list)
    auto_allocated_router_id: str | None = None
    dns_domain: str = ""  # dns-integration: the network's domain (lower case, a trailing dot)
    qos_policy_id: str | None = None  # qos: the policy its ports inherit (alcor.model.qos)


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
    # The subnet pool its CIDR was taken from (``subnet_allocation``), if any
    subnetpool_id: str | None = None
    # ``subnet-service-types``: the device owners whose ports take addresses here (empty: any)
    service_types: list[str] = msgspec.field(default_factory=list)


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
    # Internal DNS (``alcor.model.dns``): the name the port asked for (``dns_name``, lower case;
    # empty: its addresses are named host-<address>) and its own domain (``dns-domain-ports``)
    dns_name: str = ""
    dns_domain: str = ""
    # QoS (``alcor.model.qos``): the port's own policy, and its network's, which the network
    # manager keeps in step (``qos-port-network-policy``); the own one wins
    qos_policy_id: str | None = None
    qos_network_policy_id: str | None = None


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
    remote_address_group_id: str | None = None
    # Set when the rule is made, never changed: a prefix's network, and whether the group is its
    # project's default one (which keeps its name, as no other group may take it)
    normalized_cidr: str | None = None
    belongs_to_default_sg: bool = False


class AddressGroup(Record, frozen=True, kw_only=True):
    """A named set of CIDRs (``address-group``), each as its network (``10.0.0.0/24``), that
    security group rules name as ``remote_address_group_id``."""

    kind: ClassVar[str] = "address_group"

    addresses: list[str] = msgspec.field(default_factory=list)


class DefaultSecurityGroupRule(Record, frozen=True, kw_only=True):
    """A template rule (``security-groups-default-rules``): every new default group
    (``used_in_default_sg``) or other group (``used_in_non_default_sg``) gets a rule like it.
    ``remote_group_id`` ``PARENT`` names the new group itself. Templates belong to no project
    (``project_id`` is empty) and have no name."""

    kind: ClassVar[str] = "default_security_group_rule"

    direction: str
    ethertype: str
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    remote_address_group_id: str | None = None
    used_in_default_sg: bool = False
    used_in_non_default_sg: bool = True


PARENT_GROUP = "PARENT"  # a template's remote_group_id meaning "the group it is copied into"


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


class PortForwarding(Record, frozen=True, kw_only=True):
    """A port forwarding of a floating IP (``floating-ip-port-forwarding``): what arrives for
    ``floating_ip_address`` on ``protocol`` at an external port goes to ``internal_ip_address``
    (a fixed IP of ``internal_port_id``) at the internal port of the same offset. The ranges
    are ``*_port_start`` .. ``*_port_end`` (a single port: start equals end). Its project is
    its floating IP's; ``router_id`` (the floating IP's, fixed while it has forwardings) and
    ``floating_ip_address`` are copied from it so that the gateway host's entry needs nothing
    else. It has no name."""

    kind: ClassVar[str] = "port_forwarding"

    floatingip_id: str
    floating_ip_address: str
    router_id: str
    protocol: str
    internal_port_id: str
    internal_ip_address: str
    external_port_start: int
    external_port_end: int
    internal_port_start: int
    internal_port_end: int


class FirewallRule(Record, frozen=True, kw_only=True):
    """A firewall rule (``fwaas_v2``): what it matches (``protocol`` None: any; the addresses
    an address or a CIDR; a port range ``*_port_min`` .. ``*_port_max``, None: any) and its
    ``action`` (allow, deny, reject). A disabled rule matches nothing. ``shared``: every project
    sees it and may put it in its policies."""

    kind: ClassVar[str] = "firewall_rule"

    protocol: str | None = None
    ip_version: int = 4
    source_ip_address: str | None = None
    destination_ip_address: str | None = None
    source_port_min: int | None = None
    source_port_max: int | None = None
    destination_port_min: int | None = None
    destination_port_max: int | None = None
    action: str = "deny"
    enabled: bool = True
    shared: bool = False


class FirewallPolicy(Record, frozen=True, kw_only=True):
    """An ordered list of firewall rules (``firewall_rules``, first match wins)."""

    kind: ClassVar[str] = "firewall_policy"

    firewall_rules: list[str] = msgspec.field(default_factory=list)
    audited: bool = False
    shared: bool = False


class FirewallGroup(Record, frozen=True, kw_only=True):
    """Ports (router interfaces or VM ports) filtered by an ingress and an egress policy (None:
    that direction is not filtered). A port is in one group at most."""

    kind: ClassVar[str] = "firewall_group"

    ports: list[str] = msgspec.field(default_factory=list)
    ingress_firewall_policy_id: str | None = None
    egress_firewall_policy_id: str | None = None
    admin_state_up: bool = True
    status: str = "INACTIVE"
    shared: bool = False


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


class AddressScope(Record, frozen=True, kw_only=True):
    """An address scope (``address-scope``): subnet pools in it never overlap, and a network's
    subnets of one IP version are all in the same scope or none. Neutron shows no description,
    timestamps, revision or tags for it; they are kept all the same."""

    kind: ClassVar[str] = "address_scope"

    ip_version: int
    shared: bool = False


class SubnetPool(Record, frozen=True, kw_only=True):
    """A subnet pool (``subnet_allocation``): the prefixes (compact CIDRs, one IP version) its
    subnets take their CIDRs from, within ``min_prefixlen``..``max_prefixlen``.
    ``default_quota`` (None: no limit) caps each project's share, in /32s or /64s."""

    kind: ClassVar[str] = "subnetpool"

    ip_version: int
    prefixes: list[str]
    min_prefixlen: int
    max_prefixlen: int
    default_prefixlen: int
    default_quota: int | None = None
    is_default: bool = False
    shared: bool = False
    address_scope_id: str | None = None


class SubPort(msgspec.Struct, frozen=True, gc=False):
    """A port of a trunk other than its parent: frames on the parent's device tagged
    ``segmentation_id`` (``segmentation_type`` vlan) belong to this port's network."""

    port_id: str
    segmentation_type: str
    segmentation_id: int


class Trunk(Record, frozen=True, kw_only=True):
    """A trunk (``trunk``): the parent port ``port_id`` carries its own network untagged and
    each subport's network tagged with the subport's VLAN. A port is the parent of one trunk at
    most and a subport of one trunk at most, never both. Its status is observed, not stored
    (``services/trunks.py``)."""

    kind: ClassVar[str] = "trunk"

    admin_state_up: bool = True
    port_id: str
    sub_ports: list[SubPort] = msgspec.field(default_factory=list)


ACCESS_AS_SHARED = "access_as_shared"
ACCESS_AS_EXTERNAL = "access_as_external"
EVERY_PROJECT = "*"
# The object types RBAC policies name, and the actions of a policy that let its target see
# the object (a network shared or external to it; anything else shared with it).
RBAC_SEEING: dict[str, tuple[str, ...]] = {
    "network": (ACCESS_AS_SHARED, ACCESS_AS_EXTERNAL),
    "security_group": (ACCESS_AS_SHARED,),
    "address_scope": (ACCESS_AS_SHARED,),
    "subnetpool": (ACCESS_AS_SHARED,),
    "address_group": (ACCESS_AS_SHARED,),
    "qos_policy": (ACCESS_AS_SHARED,),
}


class QosRule(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A rule of a QoS policy: ``bandwidth_limit`` (``max_kbps``, ``max_burst_kbps``,
    ``direction``) or ``dscp_marking`` (``dscp_mark``); the fields of the other type stay 0."""

    id: str
    type: str
    max_kbps: int = 0
    max_burst_kbps: int = 0
    direction: str = "egress"
    dscp_mark: int = 0


class QosPolicy(Record, frozen=True, kw_only=True):
    """A QoS policy (``qos``) with its rules. ``shared`` mirrors its ``*`` RBAC policy;
    ``is_default`` (``qos-default``): the policy its project's new networks get (one a project)."""

    kind: ClassVar[str] = "qos_policy"

    shared: bool = False
    is_default: bool = False
    rules: list[QosRule] = msgspec.field(default_factory=list)


class RbacPolicy(Record, frozen=True, kw_only=True):
    """Neutron's RBAC policy: ``target_project`` (a project, or ``*``: every project) may use
    the object ``object_id`` of ``object_type`` as ``action`` says. Its ``project_id`` is its
    owner's, who alone (or an admin) sees and changes it. It has no name."""

    kind: ClassVar[str] = "rbac_policy"

    object_type: str
    object_id: str
    action: str
    target_project: str


RECORD_TYPES: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (
        Network,
        Subnet,
        Port,
        SecurityGroup,
        SecurityGroupRule,
        Router,
        FloatingIp,
        Node,
        AddressScope,
        SubnetPool,
        Trunk,
        RbacPolicy,
        AddressGroup,
        DefaultSecurityGroupRule,
        PortForwarding,
        FirewallRule,
        FirewallPolicy,
        FirewallGroup,
        QosPolicy,
    )
}
