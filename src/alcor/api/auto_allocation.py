"""Get me a network (``auto-allocated-topology``): a project's ready-made network.

    GET    /v2.0/auto-allocated-topology/{project_id}                  {"auto_allocated_topology":
                                                                        {"id", "tenant_id",
                                                                         "project_id"}}
    GET    /v2.0/auto-allocated-topology/{project_id}?fields=dry-run   id "dry-run=pass"
    DELETE /v2.0/auto-allocated-topology/{project_id}                  204

``id`` is the network's; the rules are ``services.auto_allocation``'s. Any other ``fields`` is
Neutron's 400.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity
from alcor.api.dispatch import Handler
from alcor.api.routes import json_response
from alcor.services.auto_allocation import Topology
from alcor.services.controller import Controller

PATH = "/v2.0/auto-allocated-topology/{project_id}"


class AutoAllocationRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("GET", PATH, self.show), ("DELETE", PATH, self.delete)]

    async def show(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        fields = [f for v in request.query_params.getlist("fields") for f in v.split(",") if f]
        topology = await self.controller.auto_allocation.get(
            caller, request.path_params["project_id"], fields=fields
        )
        return json_response({"auto_allocated_topology": _body(topology)})

    async def delete(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        await self.controller.auto_allocation.delete(caller, request.path_params["project_id"])
        return Response(status_code=204)


def _body(topology: Topology) -> dict[str, str]:
    return {"id": topology.id, "tenant_id": topology.project_id, "project_id": topology.project_id}
