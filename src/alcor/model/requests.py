"""Requests: what a tenant may send, as msgspec Structs.

Decoding checks types and rejects unknown attributes (``forbid_unknown_fields``), so the
services see only well-typed requests. ``UNSET`` marks an attribute the client did not send,
which is not the same as one it sent as ``null``.

Every string attribute is at most ``STRING_MAX`` (255) characters, checked while decoding:
Neutron's column sizes for names, descriptions, ``device_id``, ``device_owner``, project ids,
host ids and tags (``neutron_lib.db.constants``: NAME_FIELD_SIZE, DESCRIPTION_FIELD_SIZE,
DEVICE_ID_FIELD_SIZE, DEVICE_OWNER_FIELD_SIZE, ...); ids, addresses and enumerations are
shorter still, so the one cap refuses nothing Neutron takes. The limits an operator may change
are in ``alcor.model.limits``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from alcor.model import errors

__all__ = ["STRING_MAX", "UNSET", "Integer", "String", "Unset", "integer"]

Unset = UnsetType

STRING_MAX = 255
String = Annotated[str, msgspec.Meta(max_length=STRING_MAX)]
# What Neutron converts to an integer (``convert_to_int``): 4 or "4"; see ``integer``.
Integer = int | String


def integer(value: int | str) -> int:
    """An ``Integer`` attribute as the integer it is, as Neutron's ``convert_to_int``."""
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        raise errors.InvalidInput(
            f"Invalid input for operation: '{value}' is not an integer.", type="InvalidInput"
        ) from None


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class Owned(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET
    tags: list[String] | Unset = UNSET


# --- networks ---------------------------------------------------------------------------


class NetworkCreate(Owned, frozen=True, kw_only=True):
    admin_state_up: bool | Unset = UNSET
    shared: bool | Unset = UNSET
    mtu: int | Unset = UNSET
    port_security_enabled: bool | Unset = UNSET
    router_external: bool | Unset = msgspec.field(default=UNSET, name="router:external")
    is_default: bool | Unset = UNSET
    network_type: String | Unset = msgspec.field(default=UNSET, name="provider:network_type")
    physical_network: String | Unset | None = msgspec.field(
        default=UNSET, name="provider:physical_network"
    )
    segmentation_id: int | Unset | None = msgspec.field(
        default=UNSET, name="provider:segmentation_id"
    )
    availability_zone_hints: list[String] | Unset = UNSET
    dns_domain: Any = UNSET  # checked by alcor.model.dns, as Neutron words its refusals
    qos_policy_id: String | Unset | None = UNSET  # checked by services.qos_bindings


class NetworkUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    shared: bool | Unset = UNSET
    mtu: int | Unset = UNSET
    port_security_enabled: bool | Unset = UNSET
    router_external: bool | Unset = msgspec.field(default=UNSET, name="router:external")
    is_default: bool | Unset = UNSET
    # Admin only, and only to the values the network has (no type here changes its segment)
    network_type: str | Unset = msgspec.field(default=UNSET, name="provider:network_type")
    physical_network: str | Unset | None = msgspec.field(
        default=UNSET, name="provider:physical_network"
    )
    segmentation_id: int | Unset | None = msgspec.field(
        default=UNSET, name="provider:segmentation_id"
    )
    dns_domain: Any = UNSET
    qos_policy_id: String | Unset | None = UNSET


# --- subnets ----------------------------------------------------------------------------


class PoolRequest(Request, frozen=True):
    start: String
    end: String


class HostRouteRequest(Request, frozen=True):
    destination: String
    nexthop: String


class SubnetCreate(Owned, frozen=True, kw_only=True):
    network_id: String
    cidr: String | Unset = UNSET  # none: taken from the subnet pool
    ip_version: Integer | Unset = UNSET
    gateway_ip: String | Unset | None = UNSET
    allocation_pools: list[PoolRequest] | Unset = UNSET
    host_routes: list[HostRouteRequest] | Unset = UNSET
    dns_nameservers: list[String] | Unset = UNSET
    enable_dhcp: bool | Unset = UNSET
    ipv6_ra_mode: String | Unset | None = UNSET
    ipv6_address_mode: String | Unset | None = UNSET
    subnetpool_id: String | Unset | None = UNSET
    prefixlen: Integer | Unset = UNSET
    use_default_subnetpool: bool | Unset = UNSET
    service_types: list[String] | Unset = UNSET


class SubnetUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    gateway_ip: String | Unset | None = UNSET
    allocation_pools: list[PoolRequest] | Unset = UNSET
    host_routes: list[HostRouteRequest] | Unset = UNSET
    dns_nameservers: list[String] | Unset = UNSET
    enable_dhcp: bool | Unset = UNSET
    service_types: list[String] | Unset = UNSET
    ipv6_ra_mode: Any = UNSET  # read-only: named by the refusal
    ipv6_address_mode: Any = UNSET


# --- subnet pools and address scopes ----------------------------------------------------


class SubnetPoolCreate(Owned, frozen=True, kw_only=True):
    name: String
    prefixes: list[String]
    min_prefixlen: Integer | Unset = UNSET
    max_prefixlen: Integer | Unset = UNSET
    default_prefixlen: Integer | Unset = UNSET
    default_quota: Integer | Unset | None = UNSET  # null: refused, as Neutron
    is_default: bool | Unset = UNSET
    shared: bool | Unset = UNSET
    address_scope_id: String | Unset | None = UNSET


class ReadOnly(Request, frozen=True, kw_only=True):
    """Attributes Neutron refuses on update ("Cannot update read-only attribute"): decoded
    as anything, so that the refusal names them."""

    ip_version: Any = UNSET
    project_id: Any = UNSET
    tenant_id: Any = UNSET


class SubnetPoolUpdate(ReadOnly, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    prefixes: list[String] | Unset = UNSET
    min_prefixlen: Integer | Unset = UNSET
    max_prefixlen: Integer | Unset = UNSET
    default_prefixlen: Integer | Unset = UNSET
    default_quota: Integer | Unset | None = UNSET
    is_default: bool | Unset = UNSET
    address_scope_id: String | Unset | None = UNSET
    shared: Any = UNSET


class PrefixesRequest(Request, frozen=True, kw_only=True):
    """The body of ``add_prefixes`` / ``remove_prefixes`` (``subnetpool-prefix-ops``); without
    prefixes, or with none, it is refused (``SubnetPools.prefixes_of``)."""

    prefixes: list[String] | Unset = UNSET


class AddressScopeCreate(Request, frozen=True, kw_only=True):
    """Neutron's address scopes have no description and take no tags."""

    name: String | Unset = UNSET
    ip_version: Integer
    shared: bool | Unset = UNSET
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET


class AddressScopeUpdate(ReadOnly, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    shared: bool | Unset = UNSET


# --- ports ------------------------------------------------------------------------------


class FixedIpRequest(Request, frozen=True, kw_only=True):
    subnet_id: String | Unset = UNSET
    ip_address: String | Unset = UNSET


class AddressPairRequest(Request, frozen=True, kw_only=True):
    ip_address: String | Unset = UNSET  # required: AllowedAddressPairsMissingIP, as Neutron
    mac_address: String | Unset = UNSET


class DhcpOptionRequest(Request, frozen=True, kw_only=True):
    """An extra DHCP option; a null value removes the option of that name (on update)."""

    opt_name: String
    opt_value: String | None
    ip_version: int | String | Unset = UNSET


class PortAttributes(Request, frozen=True, kw_only=True):
    """What both create and update may set."""

    name: String | Unset = UNSET
    description: String | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    fixed_ips: list[FixedIpRequest] | Unset = UNSET
    device_id: String | Unset = UNSET
    device_owner: String | Unset = UNSET
    security_groups: list[String] | Unset = UNSET
    port_security_enabled: bool | Unset = UNSET
    allowed_address_pairs: list[AddressPairRequest] | Unset | None = UNSET  # null: none
    binding_host_id: String | Unset = msgspec.field(default=UNSET, name="binding:host_id")
    binding_profile: dict[str, Any] | Unset = msgspec.field(default=UNSET, name="binding:profile")
    binding_vnic_type: String | Unset = msgspec.field(default=UNSET, name="binding:vnic_type")
    extra_dhcp_opts: list[DhcpOptionRequest] | Unset | None = UNSET
    # internal DNS: checked by alcor.model.dns, as Neutron words its refusals
    dns_name: Any = UNSET
    dns_domain: Any = UNSET
    dns_assignment: Any = UNSET  # read-only: named only to be refused as Neutron refuses it
    qos_policy_id: String | Unset | None = UNSET  # checked by services.qos_bindings


class PortCreate(PortAttributes, frozen=True, kw_only=True):
    network_id: String
    mac_address: String | Unset = UNSET
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET
    tags: list[String] | Unset = UNSET


class PortUpdate(PortAttributes, frozen=True, kw_only=True):
    # admin only, on a port not bound: a new MAC, or null for a fresh one
    mac_address: String | Unset | None = UNSET


# --- security groups --------------------------------------------------------------------


class SecurityGroupCreate(Owned, frozen=True, kw_only=True):
    stateful: bool | Unset = UNSET


class SecurityGroupUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    stateful: bool | Unset = UNSET


class SecurityGroupRuleCreate(Request, frozen=True, kw_only=True):
    security_group_id: String
    direction: String
    ethertype: String | Unset = UNSET
    protocol: String | int | Unset | None = UNSET
    port_range_min: int | Unset | None = UNSET
    port_range_max: int | Unset | None = UNSET
    remote_ip_prefix: String | Unset | None = UNSET
    remote_group_id: String | Unset | None = UNSET
    remote_address_group_id: String | Unset | None = UNSET
    description: String | Unset = UNSET
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET


class DefaultSecurityGroupRuleCreate(Request, frozen=True, kw_only=True):
    """A template of new groups' rules (admin only); ``remote_group_id`` may be ``PARENT``."""

    direction: String
    ethertype: String | Unset = UNSET
    protocol: String | int | Unset | None = UNSET
    port_range_min: int | Unset | None = UNSET
    port_range_max: int | Unset | None = UNSET
    remote_ip_prefix: String | Unset | None = UNSET
    remote_group_id: String | Unset | None = UNSET
    remote_address_group_id: String | Unset | None = UNSET
    description: String | Unset = UNSET
    used_in_default_sg: bool
    used_in_non_default_sg: bool
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET


# --- address groups ---------------------------------------------------------------------


class AddressGroupCreate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET
    addresses: list[String] | Unset | None = UNSET


class AddressGroupUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    addresses: list[String] | Unset | None = UNSET  # refused: the actions change them


class AddressesRequest(Request, frozen=True, kw_only=True):
    """The body of ``add_addresses`` / ``remove_addresses``."""

    addresses: list[String]


# --- routers ----------------------------------------------------------------------------


class GatewayRequest(Request, frozen=True, kw_only=True):
    """``external_gateway_info``; an empty object (no ``network_id``) clears the gateway."""

    network_id: String | Unset = UNSET
    enable_snat: bool | Unset = UNSET
    external_fixed_ips: list[FixedIpRequest] | Unset = UNSET


class RouterCreate(Owned, frozen=True, kw_only=True):
    admin_state_up: bool | Unset = UNSET
    external_gateway_info: GatewayRequest | Unset | None = UNSET
    distributed: bool | Unset = UNSET  # ``dvr``: admin only, and every router is distributed


class RouterUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    description: String | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    external_gateway_info: GatewayRequest | Unset | None = UNSET
    routes: list[HostRouteRequest] | Unset | None = UNSET
    distributed: bool | Unset = UNSET


class RouterInterfaceRequest(Request, frozen=True, kw_only=True):
    """The body of ``add_router_interface`` / ``remove_router_interface``: one of the two."""

    subnet_id: String | Unset = UNSET
    port_id: String | Unset = UNSET


class ExtraRoutes(Request, frozen=True, kw_only=True):
    routes: list[HostRouteRequest]


class ExtraRoutesRequest(Request, frozen=True, kw_only=True):
    """The body of ``add_extraroutes`` / ``remove_extraroutes`` (``extraroute-atomic``):
    ``{"router": {"routes": [...]}}``, the routes to add to or remove from the router's."""

    router: ExtraRoutes


# --- floating IPs -----------------------------------------------------------------------


class FloatingIpUpdate(Request, frozen=True, kw_only=True):
    """What may change: the association (``port_id`` null disassociates) and the description."""

    port_id: String | Unset | None = UNSET
    fixed_ip_address: String | Unset | None = UNSET
    description: String | Unset = UNSET


class FloatingIpCreate(FloatingIpUpdate, frozen=True, kw_only=True):
    """Neutron takes no tags and no name here; ``floating_ip_address`` is admin-only."""

    floating_network_id: String
    floating_ip_address: String | Unset = UNSET
    subnet_id: String | Unset = UNSET
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET


# --- nodes (admin only) -----------------------------------------------------------------


class NodeCreate(Request, frozen=True, kw_only=True):
    """A host of the region. ``name`` is its host id (``binding:host_id``, the agent's
    ``--host-id``)."""

    name: String
    underlay_ip: String
    mac_address: String | Unset = UNSET
    description: String | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    physical_networks: list[String] | Unset = UNSET


class NodeUpdate(Request, frozen=True, kw_only=True):
    name: String | Unset = UNSET
    underlay_ip: String | Unset = UNSET
    mac_address: String | Unset = UNSET
    description: String | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    physical_networks: list[String] | Unset = UNSET


class AgentUpdate(Request, frozen=True, kw_only=True):
    """What Neutron lets an admin change on an agent: ``PUT /v2.0/agents/{id}``."""

    admin_state_up: bool | Unset = UNSET
    description: String | Unset | None = UNSET


# --- trunks -----------------------------------------------------------------------------


class TrunkUpdate(Request, frozen=True, kw_only=True):
    """What may change on a trunk (``port_id``, ``sub_ports`` and ``status`` are read-only)."""

    name: String | Unset = UNSET
    description: String | Unset = UNSET
    admin_state_up: bool | Unset = UNSET


class TrunkCreate(Owned, frozen=True, kw_only=True):
    """``sub_ports`` is taken as sent and checked by ``model/trunks.py``, as Neutron's
    ``validate_subports`` checks it (keys it does not know are ignored, a numeric string is a
    segmentation id)."""

    port_id: String
    admin_state_up: bool | Unset = UNSET
    sub_ports: Any = UNSET


class SubPortsRequest(Request, frozen=True, kw_only=True):
    """The body of ``add_subports`` / ``remove_subports``."""

    sub_ports: Any


# --- RBAC policies ----------------------------------------------------------------------


class RbacPolicyCreate(Request, frozen=True, kw_only=True):
    """``target_tenant``: a project id (UUID-like) or ``*`` for every project. Neutron 2026.1's
    API takes no ``target_project`` (an unrecognized attribute there too)."""

    object_type: String
    object_id: String
    action: String
    target_tenant: String
    project_id: String | Unset = UNSET
    tenant_id: String | Unset = UNSET


class RbacPolicyUpdate(Request, frozen=True, kw_only=True):
    """Only the target changes (Neutron: the other attributes are read-only)."""

    target_tenant: String | Unset = UNSET
