"""Requests: what a tenant may send, as msgspec Structs.

Decoding checks types and rejects unknown attributes (``forbid_unknown_fields``), so the
services see only well-typed requests. ``UNSET`` marks an attribute the client did not send,
which is not the same as one it sent as ``null``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["UNSET", "Unset"]

Unset = UnsetType


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Owned(Request, frozen=True, kw_only=True):
    name: str | Unset = UNSET
    description: str | Unset = UNSET
    project_id: str | Unset = UNSET
    tenant_id: str | Unset = UNSET
    tags: list[str] | Unset = UNSET


# --- networks ---------------------------------------------------------------------------


class NetworkCreate(Owned, frozen=True, kw_only=True):
    admin_state_up: bool | Unset = UNSET
    shared: bool | Unset = UNSET
    mtu: int | Unset = UNSET
    port_security_enabled: bool | Unset = UNSET
    router_external: bool | Unset = msgspec.field(default=UNSET, name="router:external")
    network_type: str | Unset = msgspec.field(default=UNSET, name="provider:network_type")
    physical_network: str | Unset | None = msgspec.field(
        default=UNSET, name="provider:physical_network"
    )
    segmentation_id: int | Unset | None = msgspec.field(
        default=UNSET, name="provider:segmentation_id"
    )


class NetworkUpdate(Request, frozen=True, kw_only=True):
    name: str | Unset = UNSET
    description: str | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    shared: bool | Unset = UNSET
    mtu: int | Unset = UNSET
    port_security_enabled: bool | Unset = UNSET
    router_external: bool | Unset = msgspec.field(default=UNSET, name="router:external")
    # Admin only, and only to the values the network has (no type here changes its segment)
    network_type: str | Unset = msgspec.field(default=UNSET, name="provider:network_type")
    physical_network: str | Unset | None = msgspec.field(
        default=UNSET, name="provider:physical_network"
    )
    segmentation_id: int | Unset | None = msgspec.field(
        default=UNSET, name="provider:segmentation_id"
    )


# --- subnets ----------------------------------------------------------------------------


class PoolRequest(Request, frozen=True):
    start: str
    end: str


class HostRouteRequest(Request, frozen=True):
    destination: str
    nexthop: str


class SubnetCreate(Owned, frozen=True, kw_only=True):
    network_id: str
    cidr: str
    ip_version: int | Unset = UNSET
    gateway_ip: str | Unset | None = UNSET
    allocation_pools: list[PoolRequest] | Unset = UNSET
    host_routes: list[HostRouteRequest] | Unset = UNSET
    dns_nameservers: list[str] | Unset = UNSET
    enable_dhcp: bool | Unset = UNSET
    ipv6_ra_mode: str | Unset | None = UNSET
    ipv6_address_mode: str | Unset | None = UNSET
    subnetpool_id: Unset | None = UNSET


class SubnetUpdate(Request, frozen=True, kw_only=True):
    name: str | Unset = UNSET
    description: str | Unset = UNSET
    gateway_ip: str | Unset | None = UNSET
    allocation_pools: list[PoolRequest] | Unset = UNSET
    host_routes: list[HostRouteRequest] | Unset = UNSET
    dns_nameservers: list[str] | Unset = UNSET
    enable_dhcp: bool | Unset = UNSET


# --- ports ------------------------------------------------------------------------------


class FixedIpRequest(Request, frozen=True, kw_only=True):
    subnet_id: str | Unset = UNSET
    ip_address: str | Unset = UNSET


class AddressPairRequest(Request, frozen=True, kw_only=True):
    ip_address: str
    mac_address: str | Unset = UNSET


class PortAttributes(Request, frozen=True, kw_only=True):
    """What both create and update may set."""

    name: str | Unset = UNSET
    description: str | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    fixed_ips: list[FixedIpRequest] | Unset = UNSET
    device_id: str | Unset = UNSET
    device_owner: str | Unset = UNSET
    security_groups: list[str] | Unset = UNSET
    port_security_enabled: bool | Unset = UNSET
    allowed_address_pairs: list[AddressPairRequest] | Unset = UNSET
    binding_host_id: str | Unset = msgspec.field(default=UNSET, name="binding:host_id")
    binding_profile: dict[str, Any] | Unset = msgspec.field(default=UNSET, name="binding:profile")
    binding_vnic_type: str | Unset = msgspec.field(default=UNSET, name="binding:vnic_type")


class PortCreate(PortAttributes, frozen=True, kw_only=True):
    network_id: str
    mac_address: str | Unset = UNSET
    project_id: str | Unset = UNSET
    tenant_id: str | Unset = UNSET
    tags: list[str] | Unset = UNSET


class PortUpdate(PortAttributes, frozen=True, kw_only=True):
    pass


# --- security groups --------------------------------------------------------------------


class SecurityGroupCreate(Owned, frozen=True, kw_only=True):
    stateful: bool | Unset = UNSET


class SecurityGroupUpdate(Request, frozen=True, kw_only=True):
    name: str | Unset = UNSET
    description: str | Unset = UNSET
    stateful: bool | Unset = UNSET


class SecurityGroupRuleCreate(Request, frozen=True, kw_only=True):
    security_group_id: str
    direction: str
    ethertype: str | Unset = UNSET
    protocol: str | int | Unset | None = UNSET
    port_range_min: int | Unset | None = UNSET
    port_range_max: int | Unset | None = UNSET
    remote_ip_prefix: str | Unset | None = UNSET
    remote_group_id: str | Unset | None = UNSET
    remote_address_group_id: Unset | None = UNSET
    description: str | Unset = UNSET
    project_id: str | Unset = UNSET
    tenant_id: str | Unset = UNSET


# --- routers ----------------------------------------------------------------------------


class GatewayRequest(Request, frozen=True, kw_only=True):
    """``external_gateway_info``; an empty object (no ``network_id``) clears the gateway."""

    network_id: str | Unset = UNSET
    enable_snat: bool | Unset = UNSET
    external_fixed_ips: list[FixedIpRequest] | Unset = UNSET


class RouterCreate(Owned, frozen=True, kw_only=True):
    admin_state_up: bool | Unset = UNSET
    external_gateway_info: GatewayRequest | Unset | None = UNSET


class RouterUpdate(Request, frozen=True, kw_only=True):
    name: str | Unset = UNSET
    description: str | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    external_gateway_info: GatewayRequest | Unset | None = UNSET
    routes: list[HostRouteRequest] | Unset | None = UNSET


class RouterInterfaceRequest(Request, frozen=True, kw_only=True):
    """The body of ``add_router_interface`` / ``remove_router_interface``: one of the two."""

    subnet_id: str | Unset = UNSET
    port_id: str | Unset = UNSET


# --- floating IPs -----------------------------------------------------------------------


class FloatingIpUpdate(Request, frozen=True, kw_only=True):
    """What may change: the association (``port_id`` null disassociates) and the description."""

    port_id: str | Unset | None = UNSET
    fixed_ip_address: str | Unset | None = UNSET
    description: str | Unset = UNSET


class FloatingIpCreate(FloatingIpUpdate, frozen=True, kw_only=True):
    """Neutron takes no tags and no name here; ``floating_ip_address`` is admin-only."""

    floating_network_id: str
    floating_ip_address: str | Unset = UNSET
    subnet_id: str | Unset = UNSET
    project_id: str | Unset = UNSET
    tenant_id: str | Unset = UNSET


# --- nodes (admin only) -----------------------------------------------------------------


class NodeCreate(Request, frozen=True, kw_only=True):
    """A host of the region. ``name`` is its host id (``binding:host_id``, the agent's
    ``--host-id``)."""

    name: str
    underlay_ip: str
    mac_address: str | Unset = UNSET
    description: str | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    physical_networks: list[str] | Unset = UNSET


class NodeUpdate(Request, frozen=True, kw_only=True):
    name: str | Unset = UNSET
    underlay_ip: str | Unset = UNSET
    mac_address: str | Unset = UNSET
    description: str | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    physical_networks: list[str] | Unset = UNSET


class AgentUpdate(Request, frozen=True, kw_only=True):
    """What Neutron lets an admin change on an agent: ``PUT /v2.0/agents/{id}``."""

    admin_state_up: bool | Unset = UNSET
    description: str | Unset | None = UNSET
