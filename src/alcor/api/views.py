"""Responses: what the API shows, with the keys (and key order) the reference Neutron returns.

Attributes of extensions this controller does not implement are shown with their neutral values
(``qos_policy_id: null``, ``availability_zones: []``...), because clients read them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from alcor.model.records import AddressPair, AllocationPool, FixedIp, HostRoute
from alcor.services.networks import ShownNetwork
from alcor.services.ports import ShownPort
from alcor.services.subnets import ShownSubnet


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
    qos_policy_id: None = None
    dns_domain: str = ""
    router_external: bool = msgspec.field(name="router:external")
    network_type: str = msgspec.field(name="provider:network_type")
    physical_network: str | None = msgspec.field(name="provider:physical_network")
    segmentation_id: int | None = msgspec.field(name="provider:segmentation_id")
    vlan_transparent: bool = False
    qinq: bool = False
    is_default: bool = False
    availability_zone_hints: list[str] = msgspec.field(default_factory=list)
    availability_zones: list[str] = msgspec.field(default_factory=list)
    ipv4_address_scope: None = None
    ipv6_address_scope: None = None
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
    subnetpool_id: None = None
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
    service_types: list[str] = msgspec.field(default_factory=list)
    segment_id: None = None
    tags: list[str]
    created_at: str
    updated_at: str
    revision_number: int


class DnsAssignment(msgspec.Struct, frozen=True, gc=False):
    ip_address: str
    hostname: str
    fqdn: str


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
    qos_policy_id: None = None
    security_groups: list[str]
    binding_vnic_type: str = msgspec.field(name="binding:vnic_type")
    binding_profile: dict[str, Any] = msgspec.field(name="binding:profile")
    binding_host_id: str = msgspec.field(name="binding:host_id")
    binding_vif_type: str = msgspec.field(name="binding:vif_type")
    binding_vif_details: dict[str, Any] = msgspec.field(name="binding:vif_details")
    allowed_address_pairs: list[AddressPair]
    extra_dhcp_opts: list[dict[str, Any]] = msgspec.field(default_factory=list)
    description: str
    qos_network_policy_id: None = None
    dns_name: str = ""
    dns_assignment: list[DnsAssignment]
    ip_allocation: str = "immediate"
    resource_request: None = None
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
        shared=n.shared,
        port_security_enabled=n.port_security_enabled,
        router_external=n.router_external,
        network_type=n.network_type,
        physical_network=n.physical_network,
        segmentation_id=n.segmentation_id,
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
        security_groups=p.security_groups,
        binding_vnic_type=p.binding_vnic_type,
        binding_profile=p.binding_profile,
        binding_host_id=p.binding_host_id,
        binding_vif_type=p.binding_vif_type,
        binding_vif_details=p.binding_vif_details,
        allowed_address_pairs=p.allowed_address_pairs,
        description=p.description,
        dns_assignment=[_dns(ip.ip_address) for ip in p.fixed_ips],
        tags=shown.tags,
        created_at=p.created_at,
        updated_at=p.updated_at,
        revision_number=p.revision_number,
    )


def _dns(address: str) -> DnsAssignment:
    hostname = "host-" + address.replace(".", "-").replace(":", "-")
    return DnsAssignment(address, hostname, f"{hostname}.openstacklocal.")
