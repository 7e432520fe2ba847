"""The ASGI application: discovery, the OpenAPI document, the probes and every collection's
routes, in one dispatcher."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import (
    agents,
    auto_allocation,
    availability_zones,
    discovery,
    floatingip_pools,
    health,
    host_status,
    ip_availability,
    openapi,
    port_forwardings,
    qos,
    quotas,
    service_providers,
)
from alcor.api.collections import COLLECTIONS
from alcor.api.dispatch import Dispatcher
from alcor.api.routes import CollectionRoutes
from alcor.services.controller import Controller


def create_app(controller: Controller, *, readiness: health.Readiness | None = None) -> Dispatcher:
    """The application; ``readiness`` is what ``/readyz`` reports (by default: the controller's
    store answers)."""
    document = msgspec.json.encode(openapi.document())

    async def openapi_document(_request: Request) -> Response:
        return Response(document, media_type="application/json")

    routes = [*discovery.ROUTES, ("GET", "/openapi.json", openapi_document)]
    routes.extend(health.routes(readiness or health.Readiness(controller.context.store)))
    for collection in COLLECTIONS:
        routes.extend(CollectionRoutes(collection, controller).routes())
    routes.extend(quotas.QuotaRoutes(controller).routes())
    routes.extend(host_status.HostStatusRoutes(controller).routes())
    routes.extend(agents.AgentRoutes(controller).routes())
    routes.extend(ip_availability.IpAvailabilityRoutes(controller).routes())
    routes.extend(floatingip_pools.FloatingIpPoolRoutes(controller).routes())
    routes.extend(port_forwardings.PortForwardingRoutes(controller).routes())
    routes.extend(qos.QosRoutes(controller).routes())
    routes.extend(availability_zones.AvailabilityZoneRoutes(controller).routes())
    routes.extend(auto_allocation.AutoAllocationRoutes(controller).routes())
    routes.extend(service_providers.ROUTES)
    return Dispatcher(routes, max_body_size=controller.context.settings.limits.max_body_size)
