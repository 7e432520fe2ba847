"""The resource collections the API serves, each described once: names, request and response
types, how to render it, which attributes filter and sort, and the manager behind it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import msgspec

from alcor.api import firewall_views, qos_views, views
from alcor.api.listing import Attribute, to_bool, to_int
from alcor.model import firewalls, qos, records, requests
from alcor.model.queries import Query
from alcor.services.callers import Caller
from alcor.services.controller import Controller


class Manager(Protocol):
    async def create(self, caller: Caller, requests: Sequence[Any]) -> Sequence[Any]: ...

    async def show(self, caller: Caller, resource_id: str) -> Any: ...

    async def query(self, caller: Caller, query: Query) -> Sequence[Any]: ...

    async def update(
        self, caller: Caller, resource_id: str, request: Any, *, if_match: int | None
    ) -> Any: ...

    async def delete(self, caller: Caller, resource_id: str, *, if_match: int | None) -> None: ...


ActionCall = Callable[[Caller, str, Any], Awaitable[Any]]


class Action(msgspec.Struct, frozen=True, kw_only=True):
    """A member action, ``PUT /v2.0/{collection}/{id}/{name}`` (``add_router_interface``): a bare
    request object in, a bare response object out (200). A ``GET`` action takes no body (its
    call is given None)."""

    name: str
    method: str = "PUT"
    request: type[requests.Request]
    view: type[views.View]
    render: Callable[[Any], views.View]
    call: Callable[[Controller], ActionCall]
    # the answer holds the collection's resource under its singular key (``add_extraroutes``),
    # shown as the caller may see it (``api/policy``)
    resource: bool = False


class Collection(msgspec.Struct, frozen=True, kw_only=True):
    """``singular`` and ``plural`` are the body's keys; ``path`` the URL's name where it differs
    from ``plural`` (``/v2.0/security-groups`` holds ``security_groups``). A collection without
    an ``update`` type takes no PUT; one not ``taggable`` has no tag routes, and ``tag_path`` is
    where its tags are where that is not beneath ``path`` (Neutron's tag extension names a QoS
    policy's ``/v2.0/policies/{id}/tags``, not ``/v2.0/qos/policies/...``)."""

    singular: str
    plural: str
    path: str = ""
    record: type[records.Record]
    create: type[requests.Request]
    update: type[requests.Request] | None
    view: type[views.View]
    render: Callable[[Any], views.View]
    attributes: dict[str, Attribute]
    manager: Callable[[Controller], Manager]
    taggable: bool = True
    tag_path: str = ""
    admin_only: bool = False  # a member's every request is a 403
    # Shown, filtered on, sorted by and picked with ``fields`` by admins only (``api/policy``)
    admin_only_attributes: frozenset[str] = frozenset()
    actions: tuple[Action, ...] = ()

    @property
    def url_name(self) -> str:
        return self.path or self.plural


def _common(**more: Attribute) -> dict[str, Attribute]:
    return {
        "id": Attribute("id"),
        "name": Attribute("name"),
        "description": Attribute("description"),
        "project_id": Attribute("project_id"),
        "tenant_id": Attribute("project_id"),
        "revision_number": Attribute("revision_number", to_int),
        "created_at": Attribute("created_at"),
        "updated_at": Attribute("updated_at"),
        **more,
    }


def _unnamed(**more: Attribute) -> dict[str, Attribute]:
    """The common attributes of a resource that has no name (rules, floating IPs)."""
    return {name: attribute for name, attribute in _common(**more).items() if name != "name"}


NETWORKS = Collection(
    singular="network",
    plural="networks",
    record=records.Network,
    create=requests.NetworkCreate,
    update=requests.NetworkUpdate,
    view=views.NetworkView,
    render=views.network_view,
    manager=lambda c: c.networks,
    admin_only_attributes=frozenset(
        {"provider:network_type", "provider:physical_network", "provider:segmentation_id"}
    ),
    attributes=_common(
        admin_state_up=Attribute("admin_state_up", to_bool),
        shared=Attribute("shared", to_bool),
        mtu=Attribute("mtu", to_int),
        port_security_enabled=Attribute("port_security_enabled", to_bool),
        **{
            "router:external": Attribute("router_external", to_bool),
            "provider:network_type": Attribute("network_type"),
            "provider:physical_network": Attribute("physical_network"),
            "provider:segmentation_id": Attribute("segmentation_id", to_int),
        },
    ),
)

SUBNETS = Collection(
    singular="subnet",
    plural="subnets",
    record=records.Subnet,
    create=requests.SubnetCreate,
    update=requests.SubnetUpdate,
    view=views.SubnetView,
    render=views.subnet_view,
    manager=lambda c: c.subnets,
    admin_only_attributes=frozenset({"segment_id"}),
    attributes=_common(
        network_id=Attribute("network_id"),
        ip_version=Attribute("ip_version", to_int),
        cidr=Attribute("cidr"),
        gateway_ip=Attribute("gateway_ip"),
        enable_dhcp=Attribute("enable_dhcp", to_bool),
        ipv6_ra_mode=Attribute("ipv6_ra_mode"),
        ipv6_address_mode=Attribute("ipv6_address_mode"),
        subnetpool_id=Attribute("subnetpool_id"),
        # the network's, filtered by the subnet manager (``subnet-external-network``)
        shared=Attribute("shared", to_bool, sortable=False),
        **{"router:external": Attribute("router_external", to_bool, sortable=False)},
    ),
)

SUBNET_POOLS = Collection(
    singular="subnetpool",
    plural="subnetpools",
    record=records.SubnetPool,
    create=requests.SubnetPoolCreate,
    update=requests.SubnetPoolUpdate,
    view=views.SubnetPoolView,
    render=views.subnet_pool_view,
    manager=lambda c: c.subnet_pools,
    attributes=_common(
        ip_version=Attribute("ip_version", to_int),
        min_prefixlen=Attribute("min_prefixlen", to_int),
        max_prefixlen=Attribute("max_prefixlen", to_int),
        default_prefixlen=Attribute("default_prefixlen", to_int),
        default_quota=Attribute("default_quota", to_int),
        is_default=Attribute("is_default", to_bool),
        shared=Attribute("shared", to_bool),
        address_scope_id=Attribute("address_scope_id"),
    ),
    actions=(
        Action(
            name="add_prefixes",
            request=requests.PrefixesRequest,
            view=views.PrefixesView,
            render=views.prefixes_view,
            call=lambda c: c.subnet_pools.add_prefixes,
        ),
        Action(
            name="remove_prefixes",
            request=requests.PrefixesRequest,
            view=views.PrefixesView,
            render=views.prefixes_view,
            call=lambda c: c.subnet_pools.remove_prefixes,
        ),
    ),
)

ADDRESS_SCOPES = Collection(
    singular="address_scope",
    plural="address_scopes",
    path="address-scopes",
    record=records.AddressScope,
    create=requests.AddressScopeCreate,
    update=requests.AddressScopeUpdate,
    view=views.AddressScopeView,
    render=views.address_scope_view,
    manager=lambda c: c.address_scopes,
    taggable=False,
    attributes={
        "id": Attribute("id"),
        "name": Attribute("name"),
        "project_id": Attribute("project_id"),
        "tenant_id": Attribute("project_id"),
        "ip_version": Attribute("ip_version", to_int),
        "shared": Attribute("shared", to_bool),
    },
)

PORTS = Collection(
    singular="port",
    plural="ports",
    record=records.Port,
    create=requests.PortCreate,
    update=requests.PortUpdate,
    view=views.PortView,
    render=views.port_view,
    manager=lambda c: c.ports,
    admin_only_attributes=frozenset(
        {
            "binding:host_id",
            "binding:profile",
            "binding:vif_type",
            "binding:vif_details",
            "resource_request",
        }
    ),
    attributes=_common(
        network_id=Attribute("network_id"),
        mac_address=Attribute("mac_address"),
        admin_state_up=Attribute("admin_state_up", to_bool),
        device_id=Attribute("device_id"),
        device_owner=Attribute("device_owner"),
        port_security_enabled=Attribute("port_security_enabled", to_bool),
        fixed_ips=Attribute("fixed_ips", sortable=False),
        status=Attribute("status", sortable=False),  # observed: filtered in services/ports.py
        # port-security-groups-filtering: the ports in any of the groups (store/sql.py)
        security_groups=Attribute("security_groups", sortable=False),
        **{
            "binding:host_id": Attribute("binding_host_id"),
            "binding:vnic_type": Attribute("binding_vnic_type"),
        },
    ),
)

SECURITY_GROUPS = Collection(
    singular="security_group",
    plural="security_groups",
    path="security-groups",
    record=records.SecurityGroup,
    create=requests.SecurityGroupCreate,
    update=requests.SecurityGroupUpdate,
    view=views.SecurityGroupView,
    render=views.security_group_view,
    manager=lambda c: c.security_groups,
    attributes=_common(
        stateful=Attribute("stateful", to_bool),
        # as the caller sees it (rbac-security-groups: store/sql.py): no column to sort by
        shared=Attribute("shared", to_bool, sortable=False),
    ),
)

SECURITY_GROUP_RULES = Collection(
    singular="security_group_rule",
    plural="security_group_rules",
    path="security-group-rules",
    record=records.SecurityGroupRule,
    create=requests.SecurityGroupRuleCreate,
    update=None,
    view=views.SecurityGroupRuleView,
    render=views.security_group_rule_view,
    manager=lambda c: c.security_group_rules,
    taggable=False,
    attributes=_unnamed(
        security_group_id=Attribute("security_group_id"),
        direction=Attribute("direction"),
        ethertype=Attribute("ethertype"),
        protocol=Attribute("protocol"),
        port_range_min=Attribute("port_range_min", to_int),
        port_range_max=Attribute("port_range_max", to_int),
        remote_ip_prefix=Attribute("remote_ip_prefix"),
        remote_group_id=Attribute("remote_group_id"),
        remote_address_group_id=Attribute("remote_address_group_id"),
        normalized_cidr=Attribute("normalized_cidr"),
        belongs_to_default_sg=Attribute("belongs_to_default_sg", to_bool, sortable=False),
    ),
)

DEFAULT_SECURITY_GROUP_RULES = Collection(
    singular="default_security_group_rule",
    plural="default_security_group_rules",
    path="default-security-group-rules",
    record=records.DefaultSecurityGroupRule,
    create=requests.DefaultSecurityGroupRuleCreate,
    update=None,
    view=views.DefaultSecurityGroupRuleView,
    render=views.default_security_group_rule_view,
    manager=lambda c: c.default_security_group_rules,
    taggable=False,
    attributes={
        "id": Attribute("id"),
        "description": Attribute("description"),
        "direction": Attribute("direction"),
        "ethertype": Attribute("ethertype"),
        "protocol": Attribute("protocol"),
        "port_range_min": Attribute("port_range_min", to_int),
        "port_range_max": Attribute("port_range_max", to_int),
        "remote_ip_prefix": Attribute("remote_ip_prefix"),
        "remote_group_id": Attribute("remote_group_id"),
        "remote_address_group_id": Attribute("remote_address_group_id"),
        "used_in_default_sg": Attribute("used_in_default_sg", to_bool),
        "used_in_non_default_sg": Attribute("used_in_non_default_sg", to_bool),
    },
)

ADDRESS_GROUPS = Collection(
    singular="address_group",
    plural="address_groups",
    path="address-groups",
    record=records.AddressGroup,
    create=requests.AddressGroupCreate,
    update=requests.AddressGroupUpdate,
    view=views.AddressGroupView,
    render=views.address_group_view,
    manager=lambda c: c.address_groups,
    taggable=False,
    attributes=_common(),
    actions=(
        Action(
            name="add_addresses",
            request=requests.AddressesRequest,
            view=views.AddressGroupActionView,
            render=views.address_group_action_view,
            call=lambda c: c.address_groups.add_addresses,
        ),
        Action(
            name="remove_addresses",
            request=requests.AddressesRequest,
            view=views.AddressGroupActionView,
            render=views.address_group_action_view,
            call=lambda c: c.address_groups.remove_addresses,
        ),
    ),
)

ROUTERS = Collection(
    singular="router",
    plural="routers",
    record=records.Router,
    create=requests.RouterCreate,
    update=requests.RouterUpdate,
    view=views.RouterView,
    render=views.router_view,
    manager=lambda c: c.routers,
    admin_only_attributes=frozenset({"distributed", "ha"}),
    attributes=_common(admin_state_up=Attribute("admin_state_up", to_bool)),
    actions=(
        Action(
            name="add_router_interface",
            request=requests.RouterInterfaceRequest,
            view=views.RouterInterfaceView,
            render=views.router_interface_view,
            call=lambda c: c.routers.add_interface,
        ),
        Action(
            name="remove_router_interface",
            request=requests.RouterInterfaceRequest,
            view=views.RouterInterfaceView,
            render=views.router_interface_view,
            call=lambda c: c.routers.remove_interface,
        ),
        Action(
            name="add_extraroutes",
            request=requests.ExtraRoutesRequest,
            view=views.RouterEnvelopeView,
            render=views.router_envelope_view,
            call=lambda c: c.routers.add_routes,
            resource=True,
        ),
        Action(
            name="remove_extraroutes",
            request=requests.ExtraRoutesRequest,
            view=views.RouterEnvelopeView,
            render=views.router_envelope_view,
            call=lambda c: c.routers.remove_routes,
            resource=True,
        ),
    ),
)

FLOATING_IPS = Collection(
    singular="floatingip",
    plural="floatingips",
    record=records.FloatingIp,
    create=requests.FloatingIpCreate,
    update=requests.FloatingIpUpdate,
    view=views.FloatingIpView,
    render=views.floating_ip_view,
    manager=lambda c: c.floating_ips,
    attributes=_unnamed(
        floating_ip_address=Attribute("floating_ip_address"),
        floating_network_id=Attribute("floating_network_id"),
        router_id=Attribute("router_id"),
        port_id=Attribute("port_id"),
        fixed_ip_address=Attribute("fixed_ip_address"),
        status=Attribute("status"),
    ),
)

NODES = Collection(
    singular="node",
    plural="nodes",
    record=records.Node,
    create=requests.NodeCreate,
    update=requests.NodeUpdate,
    view=views.NodeView,
    render=views.node_view,
    manager=lambda c: c.nodes,
    taggable=False,
    admin_only=True,
    attributes={
        name: attribute
        for name, attribute in _common(
            underlay_ip=Attribute("underlay_ip"),
            mac_address=Attribute("mac_address"),
            admin_state_up=Attribute("admin_state_up", to_bool),
            state=Attribute("state"),
            state_changed_at=Attribute("state_changed_at"),
        ).items()
        if name not in ("project_id", "tenant_id")  # nodes belong to no project
    },
)

TRUNKS = Collection(
    singular="trunk",
    plural="trunks",
    record=records.Trunk,
    create=requests.TrunkCreate,
    update=requests.TrunkUpdate,
    view=views.TrunkView,
    render=views.trunk_view,
    manager=lambda c: c.trunks,
    attributes=_common(
        admin_state_up=Attribute("admin_state_up", to_bool),
        port_id=Attribute("port_id"),
        status=Attribute("status", sortable=False),  # observed: filtered in services/trunks.py
    ),
    actions=(
        Action(
            name="add_subports",
            request=requests.SubPortsRequest,
            view=views.TrunkView,
            render=views.trunk_view,
            call=lambda c: c.trunks.add_subports,
        ),
        Action(
            name="remove_subports",
            request=requests.SubPortsRequest,
            view=views.TrunkView,
            render=views.trunk_view,
            call=lambda c: c.trunks.remove_subports,
        ),
        Action(
            name="get_subports",
            method="GET",
            request=requests.SubPortsRequest,
            view=views.SubPortsView,
            render=views.subports_view,
            call=lambda c: c.trunks.get_subports,
        ),
    ),
)

RBAC_POLICIES = Collection(
    singular="rbac_policy",
    plural="rbac_policies",
    path="rbac-policies",
    record=records.RbacPolicy,
    create=requests.RbacPolicyCreate,
    update=requests.RbacPolicyUpdate,
    view=views.RbacPolicyView,
    render=views.rbac_policy_view,
    manager=lambda c: c.rbac_policies,
    taggable=False,
    attributes={
        "id": Attribute("id"),
        "project_id": Attribute("project_id"),
        "tenant_id": Attribute("project_id"),
        "object_type": Attribute("object_type"),
        "object_id": Attribute("object_id"),
        "action": Attribute("action"),
        # Neutron filters by it but cannot sort by it
        "target_tenant": Attribute("target_project", sortable=False),
    },
)

FIREWALL_RULES = Collection(
    singular="firewall_rule",
    plural="firewall_rules",
    path="fwaas/firewall_rules",
    record=records.FirewallRule,
    create=firewalls.FirewallRuleCreate,
    update=firewalls.FirewallRuleUpdate,
    view=firewall_views.FirewallRuleView,
    render=firewall_views.firewall_rule_view,
    manager=lambda c: c.firewall_rules,
    attributes=_common(
        protocol=Attribute("protocol"),
        ip_version=Attribute("ip_version", to_int),
        source_ip_address=Attribute("source_ip_address"),
        destination_ip_address=Attribute("destination_ip_address"),
        action=Attribute("action"),
        enabled=Attribute("enabled", to_bool),
        shared=Attribute("shared", to_bool),
    ),
)

FIREWALL_POLICIES = Collection(
    singular="firewall_policy",
    plural="firewall_policies",
    path="fwaas/firewall_policies",
    record=records.FirewallPolicy,
    create=firewalls.FirewallPolicyCreate,
    update=firewalls.FirewallPolicyUpdate,
    view=firewall_views.FirewallPolicyView,
    render=firewall_views.firewall_policy_view,
    manager=lambda c: c.firewall_policies,
    attributes=_common(
        audited=Attribute("audited", to_bool),
        shared=Attribute("shared", to_bool),
        # the policies holding any of the rules (services/firewall_policies.py)
        firewall_rules=Attribute("firewall_rules", sortable=False),
    ),
    actions=tuple(
        Action(
            name=name,
            request=firewalls.RuleInfo,
            view=firewall_views.FirewallPolicyView,
            render=firewall_views.firewall_policy_view,
            call=call,
        )
        for name, call in (
            ("insert_rule", lambda c: c.firewall_policies.insert_rule),
            ("remove_rule", lambda c: c.firewall_policies.remove_rule),
        )
    ),
)

FIREWALL_GROUPS = Collection(
    singular="firewall_group",
    plural="firewall_groups",
    path="fwaas/firewall_groups",
    record=records.FirewallGroup,
    create=firewalls.FirewallGroupCreate,
    update=firewalls.FirewallGroupUpdate,
    view=firewall_views.FirewallGroupView,
    render=firewall_views.firewall_group_view,
    manager=lambda c: c.firewall_groups,
    attributes=_common(
        admin_state_up=Attribute("admin_state_up", to_bool),
        status=Attribute("status"),
        shared=Attribute("shared", to_bool),
        ingress_firewall_policy_id=Attribute("ingress_firewall_policy_id"),
        egress_firewall_policy_id=Attribute("egress_firewall_policy_id"),
        # the groups holding any of the ports (services/firewall_groups.py)
        ports=Attribute("ports", sortable=False),
    ),
)

QOS_POLICIES = Collection(
    singular="policy",
    plural="policies",
    path="qos/policies",
    tag_path="policies",
    record=records.QosPolicy,
    create=qos.PolicyCreate,
    update=qos.PolicyUpdate,
    view=qos_views.QosPolicyView,
    render=qos_views.qos_policy_view,
    manager=lambda c: c.qos_policies,
    attributes=_common(
        shared=Attribute("shared", to_bool),
        is_default=Attribute("is_default", to_bool),
    ),
)

COLLECTIONS: tuple[Collection, ...] = (
    NETWORKS,
    SUBNETS,
    PORTS,
    SECURITY_GROUPS,
    SECURITY_GROUP_RULES,
    ROUTERS,
    FLOATING_IPS,
    NODES,
    SUBNET_POOLS,
    ADDRESS_SCOPES,
    TRUNKS,
    RBAC_POLICIES,
    ADDRESS_GROUPS,
    DEFAULT_SECURITY_GROUP_RULES,
    FIREWALL_RULES,
    FIREWALL_POLICIES,
    FIREWALL_GROUPS,
    QOS_POLICIES,
)
