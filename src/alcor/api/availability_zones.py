"""``GET /v2.0/availability_zones`` (``availability_zone``, ``availability_zone_filter``):
the zones (``services/availability_zones``) as ``{"availability_zones": [{"name", "resource",
"state"}, ...]}``, filtered on any of the three (repeated: any of the values) and picked with
``fields``; any other filter is a 400, as Neutron's. Anyone may list them."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity, listing
from alcor.api.dispatch import Handler
from alcor.api.routes import json_response
from alcor.model import errors
from alcor.services.controller import Controller

FILTERS = ("name", "resource", "state")


class AvailabilityZoneRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("GET", "/v2.0/availability_zones", self.index)]

    async def index(self, request: Request) -> Response:
        params = request.query_params
        wanted: dict[str, set[str]] = {}
        for key, value in params.multi_items():
            if key == "fields":
                continue
            if key not in FILTERS:
                raise errors.InvalidInput(
                    f"['{key}'] is invalid attribute for filtering", type="HTTPBadRequest"
                )
            wanted.setdefault(key, set()).add(value)
        fields = [f for v in params.getlist("fields") for f in v.split(",") if f] or None
        caller = identity.caller_of(request, self.controller)
        zones = await self.controller.availability_zones.query(caller)
        items: list[Any] = [
            listing.select_fields(msgspec.to_builtins(zone), fields)
            for zone in zones
            if all(getattr(zone, key) in values for key, values in wanted.items())
        ]
        return json_response({"availability_zones": items})
