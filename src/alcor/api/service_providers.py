"""``GET /v2.0/service-providers`` (``service-type``): the providers of Neutron's advanced
services. Alcor has none to choose among (its routers are its own, as the reference Neutron's
L3 is no listed provider), so the list is empty, whatever the filters, fields or paging, as the
reference Neutron answers. Anyone may list it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from alcor.api.dispatch import Handler
from alcor.api.routes import json_response


async def index(_request: Request) -> Response:
    return json_response({"service_providers": []})


ROUTES: list[tuple[str, str, Handler]] = [("GET", "/v2.0/service-providers", index)]
