"""The resource collections the API serves, each described once: names, request and response
types, how to render it, which attributes filter and sort, and the manager behind it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from alcor.api import views
from alcor.api.listing import Attribute, to_bool, to_int
from alcor.model import records, requests
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


class Collection(msgspec.Struct, frozen=True, kw_only=True):
    singular: str
    plural: str
    record: type[records.Record]
    create: type[requests.Request]
    update: type[requests.Request]
    view: type[views.View]
    render: Callable[[Any], views.View]
    attributes: dict[str, Attribute]
    manager: Callable[[Controller], Manager]


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


NETWORKS = Collection(
    singular="network",
    plural="networks",
    record=records.Network,
    create=requests.NetworkCreate,
    update=requests.NetworkUpdate,
    view=views.NetworkView,
    render=views.network_view,
    manager=lambda c: c.networks,
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
    attributes=_common(
        network_id=Attribute("network_id"),
        ip_version=Attribute("ip_version", to_int),
        cidr=Attribute("cidr"),
        gateway_ip=Attribute("gateway_ip"),
        enable_dhcp=Attribute("enable_dhcp", to_bool),
        ipv6_ra_mode=Attribute("ipv6_ra_mode"),
        ipv6_address_mode=Attribute("ipv6_address_mode"),
    ),
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
    attributes=_common(
        network_id=Attribute("network_id"),
        mac_address=Attribute("mac_address"),
        admin_state_up=Attribute("admin_state_up", to_bool),
        device_id=Attribute("device_id"),
        device_owner=Attribute("device_owner"),
        port_security_enabled=Attribute("port_security_enabled", to_bool),
        fixed_ips=Attribute("fixed_ips", sortable=False),
        **{
            "binding:host_id": Attribute("binding_host_id"),
            "binding:vnic_type": Attribute("binding_vnic_type"),
        },
    ),
)

COLLECTIONS: tuple[Collection, ...] = (NETWORKS, SUBNETS, PORTS)
