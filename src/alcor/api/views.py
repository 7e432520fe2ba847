"""Responses: what the API shows, with the keys (and key order) the reference Neutron returns.

Attributes of extensions this controller does not implement are shown with their neutral values
(``qos_policy_id: null``, ``availability_zones: []``...), because clients read them.

The attributes Neutron's default policy shows to admins only (``provider:*``, ``binding:*``...)
may be ``UNSET``: ``api/policy.py`` unsets them for everyone else, and an unset attribute is
left out of the body, as Neutron leaves it out.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from alcor.model import dns, port_forwardings
from alcor.model.records import AddressPair, AllocationPool, DhcpOption, FixedIp, HostRoute
from alcor.services.address_groups import ShownAddressGroup
from alcor.services.address_scopes import ShownAddressScope
from alcor.services.default_security_group_rules import ShownTemplate
from alcor.services.floating_ips import ShownFloatingIp
from alcor.services.networks import ShownNetwork
from alcor.services.nodes import ShownNode
from alcor.services.ports import ShownPort, status_of
from alcor.services.rbac_policies import ShownPolicy
from alcor.services.routers import RouterInterface, ShownRouter
from alcor.services.security_groups import ShownRule, ShownSecurityGroup
from alcor.services.subnet_pools import Prefixes, ShownSubnetPool
from alcor.services.subnets import ShownSubnet
from alcor.services.trunks import Details, ShownTrunk


class View(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    pass


class NetworkView(View, frozen=True, kw_only=True):
    id: str
    name: str
    tenant_id: str
    project_id: str
    admin_state_up: bool
    mtu: int
    status: str
    subnets: list[str]
    shared: bool
    port_security_enabled: bool
    qos_policy_id: str | None = None
    dns_domain: str = ""
    router_external: bool = msgspec.field(name="router:external")
    network_type: str | UnsetType = msgspec.field(default=UNSET, name="provider:network_type")
    physical_network: str | UnsetType | None = msgspec.field(
        default=UNSET, name="provider:physical_network"
    )
    segmentation_id: int | UnsetType | None = msgspec.field(
        default=UNSET, name="provider:segmentation_id"
    )
    vlan_transparent: bool = False
    qinq: bool = False
    is_default: bool = False
    availability_zone_hints: list[str] = msgspec.field(default_factory=list)
    availability_zones: list[str] = msgspec.field(default_factory=list)
    ipv4_address_scope: str | None
    ipv6_address_scope: str | None
    description: str
    l2_adjacency: bool = True
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


class SubnetView(View, frozen=True, kw_only=True):
    id: str
    name: str
    tenant_id: str
    project_id: str
    network_id: str
    ip_version: int
    subnetpool_id: str | None
    enable_dhcp: bool
    ipv6_ra_mode: str | None
    ipv6_address_mode: str | None
    gateway_ip: str | None
    cidr: str
    allocation_pools: list[AllocationPool]
    host_routes: list[HostRoute]
    dns_nameservers: list[str]
    description: str
    router_external: bool = msgspec.field(name="router:external")
    service_types: list[str]
    segment_id: UnsetType | None = None
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


class SubnetPoolView(View, frozen=True, kw_only=True):
    """A subnet pool as Neutron shows it: the prefix lengths as strings (Neutron's own)."""

    id: str
    name: str
    project_id: str
    default_prefixlen: str
    min_prefixlen: str
    max_prefixlen: str
    is_default: bool
    shared: bool
    prefixes: list[str]
    ip_version: int
    default_quota: int | None
    address_scope_id: str | None
    description: str
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int
    tenant_id: str


def subnet_pool_view(shown: ShownSubnetPool) -> SubnetPoolView:
    p = shown.record
    return SubnetPoolView(
        id=p.id,
        name=p.name,
        project_id=p.project_id,
        default_prefixlen=str(p.default_prefixlen),
        min_prefixlen=str(p.min_prefixlen),
        max_prefixlen=str(p.max_prefixlen),
        is_default=p.is_default,
        shared=shown.shared,
        prefixes=p.prefixes,
        ip_version=p.ip_version,
        default_quota=p.default_quota,
        address_scope_id=p.address_scope_id,
        description=p.description,
        tags=shown.tags,
        created_at=p.created_at,
        updated_at=p.updated_at,
        revision_number=p.revision_number,
        tenant_id=p.project_id,
    )


class PrefixesView(View, frozen=True, kw_only=True):
    """What ``add_prefixes`` and ``remove_prefixes`` answer."""

    prefixes: list[str]


def prefixes_view(shown: Prefixes) -> PrefixesView:
    return PrefixesView(prefixes=shown.prefixes)


class AddressScopeView(View, frozen=True, kw_only=True):
    """An address scope: Neutron shows no description, timestamps, revision or tags."""

    id: str
    project_id: str
    name: str
    shared: bool
    ip_version: int
    tenant_id: str


def address_scope_view(shown: ShownAddressScope) -> AddressScopeView:
    a = shown.record
    return AddressScopeView(
        id=a.id,
        project_id=a.project_id,
        name=a.name,
        shared=shown.shared,
        ip_version=a.ip_version,
        tenant_id=a.project_id,
    )


class SubPortView(msgspec.Struct, frozen=True, gc=False):
    port_id: str
    segmentation_type: str
    segmentation_id: int


class ParentSubPortView(msgspec.Struct, frozen=True, gc=False):
    """A subport in a parent port's ``trunk_details``: with its MAC, in Neutron's key order."""

    segmentation_id: int
    segmentation_type: str
    port_id: str
    mac_address: str


class TrunkDetailsView(msgspec.Struct, frozen=True, gc=False):
    trunk_id: str
    sub_ports: list[ParentSubPortView]


def trunk_details_view(details: Details) -> TrunkDetailsView:
    return TrunkDetailsView(
        trunk_id=details.trunk_id,
        sub_ports=[
            ParentSubPortView(
                segmentation_id=s.segmentation_id,
                segmentation_type=s.segmentation_type,
                port_id=s.port_id,
                mac_address=mac,
            )
            for s, mac in details.sub_ports
        ],
    )


class PortView(View, frozen=True, kw_only=True):
    id: str
    name: str
    network_id: str
    tenant_id: str
    project_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_id: str
    device_owner: str
    fixed_ips: list[FixedIp]
    port_security_enabled: bool
    qos_policy_id: str | None = None
    security_groups: list[str]
    binding_vnic_type: str = msgspec.field(name="binding:vnic_type")
    binding_profile: dict[str, Any] | UnsetType = msgspec.field(
        default=UNSET, name="binding:profile"
    )
    binding_host_id: str | UnsetType = msgspec.field(default=UNSET, name="binding:host_id")
    binding_vif_type: str | UnsetType = msgspec.field(default=UNSET, name="binding:vif_type")
    binding_vif_details: dict[str, Any] | UnsetType = msgspec.field(
        default=UNSET, name="binding:vif_details"
    )
    allowed_address_pairs: list[AddressPair]
    extra_dhcp_opts: list[DhcpOption] = msgspec.field(default_factory=list)
    description: str
    qos_network_policy_id: str | None = None
    dns_name: str = ""
    dns_assignment: list[dns.Assignment]
    dns_domain: str = ""
    ip_allocation: str = "immediate"
    resource_request: UnsetType | None = None
    trunk_details: TrunkDetailsView | UnsetType = UNSET  # only on a trunk's parent
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


def network_view(shown: ShownNetwork) -> NetworkView:
    n = shown.record
    return NetworkView(
        id=n.id,
        name=n.name,
        tenant_id=n.project_id,
        project_id=n.project_id,
        admin_state_up=n.admin_state_up,
        mtu=n.mtu,
        status="ACTIVE",
        subnets=shown.subnet_ids,
        shared=shown.shared,
        port_security_enabled=n.port_security_enabled,
        qos_policy_id=n.qos_policy_id,
        router_external=n.router_external,
        is_default=n.is_default,
        network_type=n.network_type,
        physical_network=n.physical_network,
        segmentation_id=n.segmentation_id,
        ipv4_address_scope=shown.address_scopes.get(4),
        ipv6_address_scope=shown.address_scopes.get(6),
        availability_zone_hints=n.availability_zone_hints,
        availability_zones=shown.zones,
        dns_domain=n.dns_domain,
        description=n.description,
        tags=shown.tags,
        created_at=n.created_at,
        updated_at=n.updated_at,
        revision_number=n.revision_number,
    )


def subnet_view(shown: ShownSubnet) -> SubnetView:
    s = shown.record
    return SubnetView(
        id=s.id,
        name=s.name,
        tenant_id=s.project_id,
        project_id=s.project_id,
        network_id=s.network_id,
        ip_version=s.ip_version,
        subnetpool_id=s.subnetpool_id,
        enable_dhcp=s.enable_dhcp,
        ipv6_ra_mode=s.ipv6_ra_mode,
        ipv6_address_mode=s.ipv6_address_mode,
        gateway_ip=s.gateway_ip,
        cidr=s.cidr,
        allocation_pools=s.allocation_pools,
        host_routes=s.host_routes,
        dns_nameservers=s.dns_nameservers,
        description=s.description,
        router_external=shown.router_external,
        service_types=s.service_types,
        tags=shown.tags,
        created_at=s.created_at,
        updated_at=s.updated_at,
        revision_number=s.revision_number,
    )


def port_view(shown: ShownPort) -> PortView:
    p = shown.record
    return PortView(
        id=p.id,
        name=p.name,
        network_id=p.network_id,
        tenant_id=p.project_id,
        project_id=p.project_id,
        mac_address=p.mac_address,
        admin_state_up=p.admin_state_up,
        status=shown.status,
        device_id=p.device_id,
        device_owner=p.device_owner,
        fixed_ips=p.fixed_ips,
        port_security_enabled=p.port_security_enabled,
        qos_policy_id=p.qos_policy_id,
        security_groups=p.security_groups,
        binding_vnic_type=p.binding_vnic_type,
        binding_profile=p.binding_profile,
        binding_host_id=p.binding_host_id,
        binding_vif_type=p.binding_vif_type,
        binding_vif_details=shown.vif_details(),
        allowed_address_pairs=p.allowed_address_pairs,
        extra_dhcp_opts=p.extra_dhcp_opts,
        description=p.description,
        qos_network_policy_id=p.qos_network_policy_id,
        dns_name=p.dns_name,
        dns_domain=p.dns_domain,
        dns_assignment=dns.assignment(
            p.dns_name, [ip.ip_address for ip in p.fixed_ips], domain=shown.dns_domain
        ),
        trunk_details=trunk_details_view(shown.trunk) if shown.trunk is not None else UNSET,
        tags=shown.tags,
        created_at=p.created_at,
        updated_at=p.updated_at,
        revision_number=p.revision_number,
    )


class SecurityGroupRuleView(View, frozen=True, kw_only=True):
    id: str
    project_id: str
    security_group_id: str
    ethertype: str
    direction: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_address_group_id: str | None
    normalized_cidr: str | None
    remote_group_id: str | None
    belongs_to_default_sg: bool
    description: str
    created_at: str
    updated_at: str
    revision_number: int
    tenant_id: str


class SecurityGroupView(View, frozen=True, kw_only=True):
    id: str
    name: str
    stateful: bool
    tenant_id: str
    project_id: str
    description: str
    shared: bool = False
    security_group_rules: list[SecurityGroupRuleView]
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


def security_group_rule_view(shown: ShownRule) -> SecurityGroupRuleView:
    r = shown.record
    return SecurityGroupRuleView(
        id=r.id,
        project_id=r.project_id,
        security_group_id=r.security_group_id,
        ethertype=r.ethertype,
        direction=r.direction,
        protocol=r.protocol,
        port_range_min=r.port_range_min,
        port_range_max=r.port_range_max,
        remote_ip_prefix=r.remote_ip_prefix,
        remote_address_group_id=r.remote_address_group_id,
        normalized_cidr=r.normalized_cidr,
        remote_group_id=r.remote_group_id,
        belongs_to_default_sg=r.belongs_to_default_sg,
        description=r.description,
        created_at=r.created_at,
        updated_at=r.updated_at,
        revision_number=r.revision_number,
        tenant_id=r.project_id,
    )


def security_group_view(shown: ShownSecurityGroup) -> SecurityGroupView:
    g = shown.record
    return SecurityGroupView(
        id=g.id,
        name=g.name,
        stateful=g.stateful,
        tenant_id=g.project_id,
        project_id=g.project_id,
        description=g.description,
        shared=shown.shared,
        security_group_rules=[security_group_rule_view(rule) for rule in shown.rules],
        tags=shown.tags,
        created_at=g.created_at,
        updated_at=g.updated_at,
        revision_number=g.revision_number,
    )


class DefaultSecurityGroupRuleView(View, frozen=True, kw_only=True):
    id: str
    ethertype: str
    direction: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_address_group_id: str | None
    remote_group_id: str | None
    description: str
    used_in_default_sg: bool
    used_in_non_default_sg: bool


def default_security_group_rule_view(shown: ShownTemplate) -> DefaultSecurityGroupRuleView:
    t = shown.record
    return DefaultSecurityGroupRuleView(
        id=t.id,
        ethertype=t.ethertype,
        direction=t.direction,
        protocol=t.protocol,
        port_range_min=t.port_range_min,
        port_range_max=t.port_range_max,
        remote_ip_prefix=t.remote_ip_prefix,
        remote_address_group_id=t.remote_address_group_id,
        remote_group_id=t.remote_group_id,
        description=t.description,
        used_in_default_sg=t.used_in_default_sg,
        used_in_non_default_sg=t.used_in_non_default_sg,
    )


class AddressGroupView(View, frozen=True, kw_only=True):
    id: str
    name: str
    project_id: str
    addresses: list[str]
    revision_number: int
    description: str
    created_at: str
    updated_at: str
    tenant_id: str


class AddressGroupActionView(View, frozen=True, kw_only=True):
    """What ``add_addresses`` and ``remove_addresses`` answer: the group, wrapped."""

    address_group: AddressGroupView


def address_group_view(shown: ShownAddressGroup) -> AddressGroupView:
    g = shown.record
    return AddressGroupView(
        id=g.id,
        name=g.name,
        project_id=g.project_id,
        addresses=g.addresses,
        revision_number=g.revision_number,
        description=g.description,
        created_at=g.created_at,
        updated_at=g.updated_at,
        tenant_id=g.project_id,
    )


def address_group_action_view(shown: ShownAddressGroup) -> AddressGroupActionView:
    return AddressGroupActionView(address_group=address_group_view(shown))


class ExternalGatewayInfoView(msgspec.Struct, frozen=True, gc=False):
    network_id: str
    external_fixed_ips: list[FixedIp]
    enable_snat: bool


class RouterView(View, frozen=True, kw_only=True):
    id: str
    name: str
    project_id: str
    admin_state_up: bool
    status: str
    external_gateway_info: ExternalGatewayInfoView | None
    description: str
    availability_zones: list[str] = msgspec.field(default_factory=list)
    distributed: bool | UnsetType = True  # ``dvr``: every router is (admins only see it)
    ha: bool | UnsetType = False
    availability_zone_hints: list[str] = msgspec.field(default_factory=list)
    routes: list[HostRoute]
    flavor_id: None = None
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int
    tenant_id: str


class RouterInterfaceView(View, frozen=True, kw_only=True):
    """The bare object ``add_router_interface`` and ``remove_router_interface`` answer."""

    id: str
    tenant_id: str
    project_id: str
    port_id: str
    network_id: str
    subnet_id: str
    subnet_ids: list[str]


def router_view(shown: ShownRouter) -> RouterView:
    r = shown.record
    gateway = (
        ExternalGatewayInfoView(r.gateway_network_id, shown.gateway_ips, r.enable_snat)
        if r.gateway_network_id is not None
        else None
    )
    return RouterView(
        id=r.id,
        name=r.name,
        project_id=r.project_id,
        admin_state_up=r.admin_state_up,
        status="ACTIVE",
        external_gateway_info=gateway,
        description=r.description,
        routes=r.routes,
        tags=shown.tags,
        created_at=r.created_at,
        updated_at=r.updated_at,
        revision_number=r.revision_number,
        tenant_id=r.project_id,
    )


class RouterEnvelopeView(View, frozen=True, kw_only=True):
    """What ``add_extraroutes`` and ``remove_extraroutes`` answer: the router."""

    router: RouterView


def router_envelope_view(shown: ShownRouter) -> RouterEnvelopeView:
    return RouterEnvelopeView(router=router_view(shown))


def router_interface_view(info: RouterInterface) -> RouterInterfaceView:
    return RouterInterfaceView(
        id=info.router_id,
        tenant_id=info.project_id,
        project_id=info.project_id,
        port_id=info.port_id,
        network_id=info.network_id,
        subnet_id=info.subnet_id,
        subnet_ids=info.subnet_ids,
    )


class PortDetailsView(msgspec.Struct, frozen=True, gc=False):
    """``fip-port-details``: the associated port, as a floating IP shows it."""

    name: str
    network_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_id: str
    device_owner: str


class FloatingIpView(View, frozen=True, kw_only=True):
    id: str
    tenant_id: str
    project_id: str
    floating_ip_address: str
    floating_network_id: str
    router_id: str | None
    port_id: str | None
    fixed_ip_address: str | None
    status: str
    description: str
    qos_policy_id: None = None
    port_details: PortDetailsView | None
    dns_domain: str = ""
    dns_name: str = ""
    port_forwardings: list[dict[str, Any]] = msgspec.field(default_factory=list)
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


def floating_ip_view(shown: ShownFloatingIp) -> FloatingIpView:
    f, port = shown.record, shown.port
    details = (
        PortDetailsView(
            name=port.name,
            network_id=port.network_id,
            mac_address=port.mac_address,
            admin_state_up=port.admin_state_up,
            status=status_of(port),
            device_id=port.device_id,
            device_owner=port.device_owner,
        )
        if port is not None
        else None
    )
    return FloatingIpView(
        id=f.id,
        tenant_id=f.project_id,
        project_id=f.project_id,
        floating_ip_address=f.floating_ip_address,
        floating_network_id=f.floating_network_id,
        router_id=f.router_id,
        port_id=f.port_id,
        fixed_ip_address=f.fixed_ip_address,
        status=f.status,
        description=f.description,
        port_details=details,
        port_forwardings=[port_forwardings.in_floating_ip(r) for r in shown.forwardings],
        tags=shown.tags,
        created_at=f.created_at,
        updated_at=f.updated_at,
        revision_number=f.revision_number,
    )


def iso_time(wall: float | None) -> str | None:
    return None if wall is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


class NodeView(View, frozen=True, kw_only=True):
    """A node (``/v2.0/nodes``): ``state`` and ``state_changed_at`` are stored on transitions;
    ``last_heartbeat`` comes from memory (null when none since the controller started)."""

    id: str
    name: str
    underlay_ip: str
    mac_address: str
    description: str
    admin_state_up: bool
    state: str
    state_changed_at: str | None
    physical_networks: list[str]
    last_heartbeat: str | None
    created_at: str
    updated_at: str
    revision_number: int


def node_view(shown: ShownNode) -> NodeView:
    n = shown.record
    return NodeView(
        id=n.id,
        name=n.name,
        underlay_ip=n.underlay_ip,
        mac_address=n.mac_address,
        description=n.description,
        admin_state_up=n.admin_state_up,
        state=n.state,
        state_changed_at=n.state_changed_at,
        physical_networks=n.physical_networks,
        last_heartbeat=iso_time(shown.health.at) if shown.health is not None else None,
        created_at=n.created_at,
        updated_at=n.updated_at,
        revision_number=n.revision_number,
    )


class TrunkView(View, frozen=True, kw_only=True):
    """A trunk, in the reference Neutron's key order."""

    admin_state_up: bool
    id: str
    project_id: str
    name: str
    port_id: str
    status: str
    sub_ports: list[SubPortView]
    revision_number: int
    description: str
    created_at: str
    updated_at: str
    tenant_id: str
    tags: list[str]


def _subports(trunk: ShownTrunk) -> list[SubPortView]:
    return [
        SubPortView(s.port_id, s.segmentation_type, s.segmentation_id)
        for s in trunk.record.sub_ports
    ]


def trunk_view(shown: ShownTrunk) -> TrunkView:
    t = shown.record
    return TrunkView(
        admin_state_up=t.admin_state_up,
        id=t.id,
        project_id=t.project_id,
        name=t.name,
        port_id=t.port_id,
        status=shown.status,
        sub_ports=_subports(shown),
        revision_number=t.revision_number,
        description=t.description,
        created_at=t.created_at,
        updated_at=t.updated_at,
        tenant_id=t.project_id,
        tags=shown.tags,
    )


class SubPortsView(View, frozen=True, kw_only=True):
    """``GET /v2.0/trunks/{id}/get_subports``."""

    sub_ports: list[SubPortView]


def subports_view(shown: ShownTrunk) -> SubPortsView:
    return SubPortsView(sub_ports=_subports(shown))


class RbacPolicyView(View, frozen=True, kw_only=True):
    id: str
    project_id: str
    action: str
    object_id: str
    target_tenant: str
    object_type: str
    tenant_id: str


def rbac_policy_view(shown: ShownPolicy) -> RbacPolicyView:
    p = shown.record
    return RbacPolicyView(
        id=p.id,
        project_id=p.project_id,
        action=p.action,
        object_id=p.object_id,
        target_tenant=p.target_project,
        object_type=p.object_type,
        tenant_id=p.project_id,
    )
