"""Goal-state delivery as observed, per host: read-only and admin-only, for operators and the
benchmarks (status is observed state: the board of the process serving the hosts, or the
status rows the southbound processes write, ``services.status_mirror``):

    GET /v2.0/goalstate               {"goalstate": {"revision", "ready", "hosts", "connected"}}
    GET /v2.0/goalstate/hosts         {"hosts": [<host>, ...]}
    GET /v2.0/goalstate/hosts/{host}  {"host": <host>}
    GET /v2.0/goalstate/trace/{port}[?to=PORT|IP&protocol=P&port=N]  {"trace": <trace>}

``revision`` is the last committed revision the goal-state engine has taken in, ``ready``
whether it has replayed the change log since the controller started. A host shows its desired
and acknowledged revisions and their difference (``lag``), its stream (connected since or
disconnected since, peer, agent version), its last ack and programming time, its last heartbeat
(uptime, load, resource counts, data-plane errors), the bound ports it holds, what was sent to it
(messages, entries, snapshots) and the resources its agent failed to program, with the agent's
messages. A trace (``services.tracing``) says who must hold what of a port and whether they
acknowledged it, and with ``to`` the path to another port or an address and where it breaks.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from alcor.api import identity
from alcor.api.dispatch import Handler
from alcor.api.routes import json_response
from alcor.model import errors
from alcor.services.controller import Controller
from alcor.services.port_traces import PortTraces
from alcor.services.status import StatusView

_TRACE_PARAMETERS = frozenset({"to", "protocol", "port"})


class HostStatusRoutes:
    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.board: StatusView = controller.context.status
        self.traces = PortTraces(controller.context)

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/v2.0/goalstate"
        return [
            ("GET", base, self.summary),
            ("GET", base + "/hosts", self.index),
            ("GET", base + "/hosts/{host}", self.show),
            ("GET", base + "/trace/{port}", self.trace),
        ]

    def _require_admin(self, request: Request) -> None:
        if not identity.caller_of(request, self.controller).is_admin:
            raise errors.NotAuthorized("Goal-state status is shown to admins only.")

    async def summary(self, request: Request) -> Response:
        self._require_admin(request)
        board = self.board
        hosts = board.hosts()
        return json_response(
            {
                "goalstate": {
                    "revision": board.revision,
                    "ready": board.ready,
                    "hosts": len(hosts),
                    "connected": board.connected_hosts(),
                }
            }
        )

    async def index(self, request: Request) -> Response:
        self._require_admin(request)
        reports = [self.board.report(host) for host in self.board.hosts()]
        return json_response({"hosts": [report for report in reports if report is not None]})

    async def show(self, request: Request) -> Response:
        self._require_admin(request)
        host = request.path_params["host"]
        report = self.board.report(host)
        if report is None:
            raise errors.NotFound(f"Host {host} could not be found.")
        return json_response({"host": report})

    async def trace(self, request: Request) -> Response:
        caller = identity.caller_of(request, self.controller)
        query = request.query_params
        unknown = sorted(set(query) - _TRACE_PARAMETERS)
        if unknown:
            raise errors.InvalidInput(f"Unknown trace parameter(s): {', '.join(unknown)}.")
        port_number = None
        if "port" in query:
            text = query["port"]
            if not text.isdigit() or int(text) > 65535:
                raise errors.InvalidInput(f"Invalid port {text!r}: expected 0 to 65535.")
            port_number = int(text)
        found = await self.traces.trace(
            caller,
            request.path_params["port"],
            to=query.get("to") or None,
            protocol=(query.get("protocol") or "").lower() or None,
            port_number=port_number,
        )
        return json_response({"trace": found})
