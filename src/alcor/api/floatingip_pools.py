"""Floating IP pools (extension ``floatingip-pools``): which subnets floating IPs come from.

    GET /v2.0/floatingip_pools   {"floatingip_pools": [<pool>, ...]}   filters, fields

A pool is an IPv4 subnet of an external network (``services.floating_ips.FloatingIps.pools``).
As Neutron, it shows the asking project as its ``project_id``, and the list is read-only. Neutron
takes filters on the pool's attributes and ignores them; here they select, an unknown one is a
400 (``filter-validation``), and paging parameters are taken and ignored, as Neutron's.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity, listing
from alcor.api.dispatch import Handler
from alcor.api.routes import json_response
from alcor.api.views import View
from alcor.services.controller import Controller
from alcor.services.floating_ips import FloatingIpPool

ATTRIBUTES = {
    name: listing.Attribute(field)
    for name, field in (
        ("subnet_id", "subnet_id"),
        ("subnet_name", "subnet_name"),
        ("network_id", "network_id"),
        ("cidr", "cidr"),
        ("project_id", "project_id"),
        ("tenant_id", "project_id"),
    )
}


class FloatingIpPoolView(View, frozen=True, kw_only=True):
    subnet_id: str
    subnet_name: str
    project_id: str
    network_id: str
    cidr: str
    tenant_id: str


def pool_view(pool: FloatingIpPool) -> FloatingIpPoolView:
    return FloatingIpPoolView(
        subnet_id=pool.subnet_id,
        subnet_name=pool.subnet_name,
        project_id=pool.project_id,
        network_id=pool.network_id,
        cidr=pool.cidr,
        tenant_id=pool.project_id,
    )


class FloatingIpPoolRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def routes(self) -> list[tuple[str, str, Handler]]:
        # Neutron serves an extension's collection with hyphens (its router's
        # build_resource_info), as neutron-tempest-plugin's client asks for it; the api-ref
        # spells it with an underscore, which openstacksdk uses: both answer.
        return [
            ("GET", "/v2.0/floatingip-pools", self.index),
            ("GET", "/v2.0/floatingip_pools", self.index),
        ]

    async def index(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        query, fields = listing.parse(request.query_params, ATTRIBUTES)
        pools = await self.controller.floating_ips.pools(caller)
        wanted = [
            pool
            for pool in pools
            if all(getattr(pool, field) in values for field, values in query.filters.items())
        ]
        return json_response({"floatingip_pools": [_item(pool, fields) for pool in wanted]})


def _item(pool: FloatingIpPool, fields: list[str] | None) -> Any:
    view = pool_view(pool)
    if fields is None:
        return view
    return listing.select_fields(msgspec.to_builtins(view), fields)
