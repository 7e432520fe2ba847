"""The quota routes (``quotas``, ``quota_details``), with the reference Neutron's bodies:

    GET    /v2.0/quotas                    {"quotas": [{<limits>, "project_id", "tenant_id"}]}
    GET    /v2.0/quotas/{project}          {"quota": {<resource>: <limit>, ...}}
    PUT    /v2.0/quotas/{project}          {"quota": {<resource>: <limit>, "force"?}} -> as GET
    DELETE /v2.0/quotas/{project}          204: back to the defaults
    GET    /v2.0/quotas/{project}/default  {"quota": <the configured defaults>}
    GET    /v2.0/quotas/{project}/details  {"quota": {<resource>: {"limit", "used", "reserved"}}}
    GET    /v2.0/quotas/tenant, /project   {"tenant": {"tenant_id"}}: who the caller is

Limits are keyed by resource name, so bodies are built as mappings in Neutron's order. A POST
to ``/v2.0/quotas`` is a 405 here (Neutron answers 501: no 5xx is answered for a client's
mistake).
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity
from alcor.api.dispatch import Handler
from alcor.api.routes import decode, json_response
from alcor.model import errors
from alcor.services.callers import Caller
from alcor.services.controller import Controller

_envelope = msgspec.json.Decoder(dict[str, msgspec.Raw])
_quota_body = msgspec.json.Decoder(dict[str, Any])


class QuotaRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.quotas = controller.quotas

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/v2.0/quotas"
        return [
            ("GET", base, self.index),
            # Before "{id}": these two names are the caller's own project, not a project id.
            ("GET", base + "/tenant", self.tenant),
            ("GET", base + "/project", self.project),
            ("GET", base + "/{id}", self.show),
            ("PUT", base + "/{id}", self.update),
            ("DELETE", base + "/{id}", self.delete),
            ("GET", base + "/{id}/default", self.default),
            ("GET", base + "/{id}/details", self.details),
        ]

    def caller(self, request: Request) -> Caller:
        return identity.caller_of(request, self.controller)

    async def index(self, request: Request) -> Response:
        listed = await self.quotas.query(self.caller(request))
        items = [
            {**quota.limits, "project_id": quota.project_id, "tenant_id": quota.project_id}
            for quota in listed
        ]
        return json_response({"quotas": items})

    async def tenant(self, request: Request) -> Response:
        return json_response({"tenant": {"tenant_id": self.caller(request).project_id}})

    async def project(self, request: Request) -> Response:
        return json_response({"project": {"project_id": self.caller(request).project_id}})

    async def show(self, request: Request) -> Response:
        limits = await self.quotas.show(self.caller(request), request.path_params["id"])
        return json_response({"quota": limits})

    async def default(self, request: Request) -> Response:
        limits = await self.quotas.defaults(self.caller(request), request.path_params["id"])
        return json_response({"quota": limits})

    async def details(self, request: Request) -> Response:
        usage = await self.quotas.details(self.caller(request), request.path_params["id"])
        return json_response({"quota": usage})

    async def update(self, request: Request) -> Response:
        envelope = decode(await request.body(), _envelope)
        if set(envelope) != {"quota"}:
            raise errors.InvalidInput("Resource body required: expected 'quota'.")
        body = decode(envelope["quota"], _quota_body)
        limits = await self.quotas.update(self.caller(request), request.path_params["id"], body)
        return json_response({"quota": limits})

    async def delete(self, request: Request) -> Response:
        await self.quotas.reset(self.caller(request), request.path_params["id"])
        return Response(status_code=204)
