"""Neutron's agents (extension ``agent``), as a view of the nodes: one "Alcor agent" per node,
so that ``openstack network agent list/show/set/delete`` work. Admin only: a member's list is
empty (Neutron's policy filters every agent out), its other requests are a 403.

    GET    /v2.0/agents        {"agents": [<agent>, ...]}   filters, fields, paging, sorting
    GET    /v2.0/agents/{id}   {"agent": <agent>}           the id is the node's
    PUT    /v2.0/agents/{id}   {"agent": {"admin_state_up"?, "description"?}}: the node's
    DELETE /v2.0/agents/{id}   204: deletes the node (409 NodeInUse while ports are bound to it)

``host`` is the node's name and ``alive`` its state (``up``); ``agent_type``, ``binary`` and
``topic`` are the same for every agent, so a filter on them keeps all or nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity, listing
from alcor.api.dispatch import Handler
from alcor.api.routes import decode, if_match, json_response
from alcor.api.views import View, iso_time
from alcor.model import errors
from alcor.model.requests import UNSET, AgentUpdate, NodeUpdate
from alcor.services.callers import Caller
from alcor.services.controller import Controller
from alcor.services.nodes import DOWN, UP, ShownNode

AGENT_TYPE = "Alcor agent"
AGENT_BINARY = "alcor-agent"
AGENT_TOPIC = "N/A"
CONSTANT = {
    "agent_type": AGENT_TYPE,
    "binary": AGENT_BINARY,
    "topic": AGENT_TOPIC,
    "availability_zone": "",
}


def _alive(text: str) -> str:
    return UP if listing.to_bool(text) else DOWN


_envelope = msgspec.json.Decoder(dict[str, msgspec.Raw])

ATTRIBUTES = {
    "id": listing.Attribute("id"),
    "host": listing.Attribute("name"),
    "admin_state_up": listing.Attribute("admin_state_up", listing.to_bool),
    "alive": listing.Attribute("state", _alive),
    "description": listing.Attribute("description"),
    "created_at": listing.Attribute("created_at"),
}


class AgentView(View, frozen=True, kw_only=True):
    """Neutron's agent body. Timestamps are in Neutron's agent format (``YYYY-MM-DD
    HH:MM:SS``, UTC); ``heartbeat_timestamp`` is null until the agent's first heartbeat since
    the controller started (heartbeats are kept in memory)."""

    id: str
    agent_type: str = AGENT_TYPE
    binary: str = AGENT_BINARY
    topic: str = AGENT_TOPIC
    host: str
    admin_state_up: bool
    alive: bool
    availability_zone: None = None
    description: str
    configurations: dict[str, Any]
    resources_synced: None = None
    heartbeat_timestamp: str | None
    started_at: str | None
    created_at: str


def _neutron_time(iso: str | None) -> str | None:
    return None if iso is None else iso.replace("T", " ").removesuffix("Z")


def agent_view(shown: ShownNode) -> AgentView:
    node, health, link = shown.record, shown.health, shown.link
    configurations: dict[str, Any] = {
        "underlay_ip": node.underlay_ip,
        "mac_address": node.mac_address,
        "physical_networks": node.physical_networks,
    }
    if link is not None:
        configurations["connected"] = link.connected
        configurations["agent_version"] = link.agent_version
    if health is not None:
        configurations["resource_counts"] = dict(health.resource_counts)
        configurations["dataplane_errors"] = health.dataplane_errors
    return AgentView(
        id=node.id,
        host=node.name,
        admin_state_up=node.admin_state_up,
        alive=node.state == UP,
        description=node.description,
        configurations=configurations,
        heartbeat_timestamp=_neutron_time(iso_time(health.at)) if health is not None else None,
        started_at=(
            _neutron_time(iso_time(link.at)) if link is not None and link.connected else None
        ),
        created_at=_neutron_time(node.created_at) or node.created_at,
    )


class AgentRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.nodes = controller.nodes
        self._update = msgspec.json.Decoder(AgentUpdate)

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/v2.0/agents"
        return [
            ("GET", base, self.index),
            ("GET", base + "/{id}", self.show),
            ("PUT", base + "/{id}", self.update),
            ("DELETE", base + "/{id}", self.delete),
        ]

    def caller(self, request: Request) -> Caller:
        return identity.caller_of(request, self.controller)

    async def index(self, request: Request) -> Response:
        caller = self.caller(request)
        params = request.query_params
        kept = QueryParams([(k, v) for k, v in params.multi_items() if k not in CONSTANT])
        query, fields = listing.parse(kept, ATTRIBUTES)
        matches = all(
            value == CONSTANT[key] for key, value in params.multi_items() if key in CONSTANT
        )
        # as Neutron's policy: agents are the admins'; a member's list is empty, not refused
        shown = await self.nodes.query(caller, query) if matches and caller.is_admin else []
        body: dict[str, Any] = {"agents": [_item(s, fields) for s in shown]}
        page_links = listing.links(request.url, params, query, [s.record.id for s in shown])
        if page_links:
            body["agents_links"] = page_links
        return json_response(body)

    async def show(self, request: Request) -> Response:
        _query, fields = listing.parse(
            QueryParams([(k, v) for k, v in request.query_params.multi_items() if k == "fields"]),
            ATTRIBUTES,
        )
        agent_id = request.path_params["id"]
        shown = await _as_agent(self.nodes.show(self.caller(request), agent_id), agent_id)
        return json_response({"agent": _item(shown, fields)})

    async def update(self, request: Request) -> Response:
        envelope = decode(await request.body(), _envelope)
        if set(envelope) != {"agent"}:
            raise errors.InvalidInput("Resource body required: expected 'agent'.")
        change = decode(envelope["agent"], self._update)
        node_change = NodeUpdate(
            admin_state_up=change.admin_state_up,
            description=UNSET if change.description is UNSET else (change.description or ""),
        )
        agent_id = request.path_params["id"]
        shown = await _as_agent(
            self.nodes.update(
                self.caller(request), agent_id, node_change, if_match=if_match(request)
            ),
            agent_id,
        )
        return json_response({"agent": agent_view(shown)})

    async def delete(self, request: Request) -> Response:
        agent_id = request.path_params["id"]
        await _as_agent(
            self.nodes.delete(self.caller(request), agent_id, if_match=if_match(request)),
            agent_id,
        )
        return Response(status_code=204)


async def _as_agent(call: Any, agent_id: str) -> Any:
    """The node manager's answer, with a missing node reported as Neutron's AgentNotFound."""
    try:
        return await call
    except errors.NotFound as error:
        if error.type == "NodeNotFound":
            raise errors.NotFound.resource("agent", agent_id) from None
        raise


def _item(shown: ShownNode, fields: list[str] | None) -> Any:
    view = agent_view(shown)
    if fields is None:
        return view
    return listing.select_fields(msgspec.to_builtins(view), fields)
