"""Port forwardings of a floating IP (``floating-ip-port-forwarding``), a sub-resource:

    POST   /v2.0/floatingips/{fip}/port_forwardings        {"port_forwarding": {...}}   201
                                                           {"port_forwardings": [...]}  201
    GET    /v2.0/floatingips/{fip}/port_forwardings        filters, fields
    GET    /v2.0/floatingips/{fip}/port_forwardings/{id}   fields
    PUT    /v2.0/floatingips/{fip}/port_forwardings/{id}   {"port_forwarding": {...}}
    DELETE /v2.0/floatingips/{fip}/port_forwardings/{id}   204

A forwarding shows its ports both ways (``-port-ranges``): ``external_port`` is the single
port (null for a range) and ``external_port_range`` always ``"first:last"``; likewise
internally. As Neutron's, a listed forwarding leaves out a null single port, filters are
matched on what is shown (``internal_port_range`` filters nothing: a 400), and sorting and
paging parameters are taken and ignored (one floating IP's forwardings are few; they are listed
by id). The floating IP shows them too (``expose-port-forwarding-in-fip``, ``-detail``:
``port_forwardings.in_floating_ip``).
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity, listing
from alcor.api.dispatch import Handler
from alcor.api.routes import decode, json_response
from alcor.api.views import View
from alcor.model import errors, limits
from alcor.model import port_forwardings as pf
from alcor.model.records import PortForwarding
from alcor.services.controller import Controller

BASE = "/v2.0/floatingips/{floatingip_id}/port_forwardings"
ATTRIBUTES = {
    "id": listing.Attribute("id"),
    "protocol": listing.Attribute("protocol"),
    "internal_port_id": listing.Attribute("internal_port_id"),
    "internal_ip_address": listing.Attribute("internal_ip_address"),
    "internal_port": listing.Attribute("internal_port", listing.to_int),
    "external_port": listing.Attribute("external_port", listing.to_int),
    "external_port_range": listing.Attribute("external_port_range"),
    "description": listing.Attribute("description"),
}
_READ_ONLY = ("id", "floatingip_id", "floating_ip_address", "router_id", "project_id")


class PortForwardingView(View, frozen=True, kw_only=True):
    """Shown whole; a list leaves a null single port out (so they are not required)."""

    id: str
    external_port: int | None = None
    external_port_range: str
    protocol: str
    internal_port_id: str
    internal_ip_address: str
    internal_port: int | None = None
    internal_port_range: str
    description: str


def port_forwarding_view(record: PortForwarding) -> PortForwardingView:
    external = (record.external_port_start, record.external_port_end)
    internal = (record.internal_port_start, record.internal_port_end)
    return PortForwardingView(
        id=record.id,
        external_port=pf.one(external),
        external_port_range=pf.text(external),
        protocol=record.protocol,
        internal_port_id=record.internal_port_id,
        internal_ip_address=record.internal_ip_address,
        internal_port=pf.one(internal),
        internal_port_range=pf.text(internal),
        description=record.description,
    )


class PortForwardingRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.manager = controller.port_forwardings
        self.limits = controller.context.settings.limits
        self._create = msgspec.json.Decoder(pf.PortForwardingCreate)
        self._update = msgspec.json.Decoder(pf.PortForwardingUpdate)

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", BASE, self.index),
            ("POST", BASE, self.create),
            ("GET", BASE + "/{id}", self.show),
            ("PUT", BASE + "/{id}", self.update),
            ("DELETE", BASE + "/{id}", self.delete),
        ]

    async def index(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        query, fields = listing.parse(request.query_params, ATTRIBUTES)
        found = await self.manager.query(caller, request.path_params["floatingip_id"])
        items = []
        for record in found:
            shown = msgspec.to_builtins(port_forwarding_view(record))
            if all(shown.get(field) in values for field, values in query.filters.items()):
                listed = {key: value for key, value in shown.items() if value is not None}
                items.append(listing.select_fields(listed, fields))
        return json_response({"port_forwardings": items})

    async def show(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]
        record = await self.manager.show(
            caller, request.path_params["floatingip_id"], request.path_params["id"]
        )
        shown = msgspec.to_builtins(port_forwarding_view(record))
        return json_response({"port_forwarding": listing.select_fields(shown, fields or None)})

    async def create(self, request: Request) -> Response:
        envelope = decode(await request.body(), dict[str, msgspec.Raw])
        caller = identity.caller_of(request, self.controller)
        fip = request.path_params["floatingip_id"]
        if set(envelope) == {"port_forwarding"}:
            one = decode(envelope["port_forwarding"], self._create)
            limits.check_request(one, self.limits)
            made = await self.manager.create(caller, fip, [one])
            return json_response({"port_forwarding": port_forwarding_view(made[0])}, 201)
        if set(envelope) == {"port_forwardings"}:
            many = decode(envelope["port_forwardings"], list[pf.PortForwardingCreate])
            for item in many:
                limits.check_request(item, self.limits)
            made = await self.manager.create(caller, fip, many)
            return json_response({"port_forwardings": [port_forwarding_view(m) for m in made]}, 201)
        raise errors.InvalidInput(
            "Resource body required: expected 'port_forwarding' or 'port_forwardings'."
        )

    async def update(self, request: Request) -> Response:
        envelope = decode(await request.body(), dict[str, msgspec.Raw])
        if set(envelope) != {"port_forwarding"}:
            raise errors.InvalidInput("Resource body required: expected 'port_forwarding'.")
        attributes = decode(envelope["port_forwarding"], dict[str, msgspec.Raw])
        for name in _READ_ONLY:
            if name in attributes:
                raise errors.InvalidInput(f"Cannot update read-only attribute {name}")
        change = decode(envelope["port_forwarding"], self._update)
        limits.check_request(change, self.limits, resource_id=request.path_params["id"])
        record = await self.manager.update(
            identity.caller_of(request, self.controller),
            request.path_params["floatingip_id"],
            request.path_params["id"],
            change,
        )
        return json_response({"port_forwarding": port_forwarding_view(record)})

    async def delete(self, request: Request) -> Response:
        await self.manager.delete(
            identity.caller_of(request, self.controller),
            request.path_params["floatingip_id"],
            request.path_params["id"],
        )
        return Response(status_code=204)
