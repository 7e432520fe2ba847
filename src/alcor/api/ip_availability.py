"""Neutron's network IP availability (``network-ip-availability``,
``network-ip-availability-details``): read only.

    GET /v2.0/network-ip-availabilities        {"network_ip_availabilities": [...]}
    GET /v2.0/network-ip-availabilities/{id}   {"network_ip_availability": {...}}

Filters: ``network_id``, ``network_name``, ``project_id`` (``tenant_id``), ``ip_version``;
``fields``, sorting and paging by the network's attributes. Admins only, as Neutron's policy:
a member's list is empty and a show is a 404.
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
from alcor.model.availability import Details, NetworkAvailability
from alcor.services.controller import Controller

ATTRIBUTES = {
    "network_id": listing.Attribute("id"),
    "network_name": listing.Attribute("name"),
    "project_id": listing.Attribute("project_id"),
    "tenant_id": listing.Attribute("project_id"),
    "ip_version": listing.Attribute("ip_version", listing.to_int, sortable=False),
}


class SubnetIpAvailabilityView(View, frozen=True, kw_only=True):
    subnet_id: str
    ip_version: int
    cidr: str
    subnet_name: str
    used_ips: int
    total_ips: int
    ip_availability_details: Details


class NetworkIpAvailabilityView(View, frozen=True, kw_only=True):
    network_id: str
    network_name: str
    project_id: str
    subnet_ip_availability: list[SubnetIpAvailabilityView]
    used_ips: int
    total_ips: int
    ip_availability_details: Details
    tenant_id: str


def network_ip_availability_view(shown: NetworkAvailability) -> NetworkIpAvailabilityView:
    n = shown.network
    return NetworkIpAvailabilityView(
        network_id=n.id,
        network_name=n.name,
        project_id=n.project_id,
        subnet_ip_availability=[
            SubnetIpAvailabilityView(
                subnet_id=s.subnet.id,
                ip_version=s.subnet.ip_version,
                cidr=s.subnet.cidr,
                subnet_name=s.subnet.name,
                used_ips=s.used_ips,
                total_ips=s.total_ips,
                ip_availability_details=s.details,
            )
            for s in shown.subnets
        ],
        used_ips=shown.used_ips,
        total_ips=shown.total_ips,
        ip_availability_details=shown.details,
        tenant_id=n.project_id,
    )


class IpAvailabilityRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.manager = controller.ip_availability

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/v2.0/network-ip-availabilities"
        return [("GET", base, self.index), ("GET", base + "/{id}", self.show)]

    async def index(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        query, fields = listing.parse(request.query_params, ATTRIBUTES)
        shown = await self.manager.query(caller, query)
        items = [_picked(network_ip_availability_view(s), fields) for s in shown]
        return json_response({"network_ip_availabilities": items})

    async def show(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]
        shown = await self.manager.show(caller, request.path_params["id"])
        item = _picked(network_ip_availability_view(shown), fields or None)
        return json_response({"network_ip_availability": item})


def _picked(view: NetworkIpAvailabilityView, fields: list[str] | None) -> Any:
    if fields is None:
        return view
    return listing.select_fields(msgspec.to_builtins(view), fields)
