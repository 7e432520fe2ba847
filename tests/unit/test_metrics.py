"""What ``/metrics`` is made of, in-process: ports by status counted the quick way agree with
the board asked port by port, whatever the hosts did; hosts by state and their lag; request
series bounded whatever a client sends; an agent's readiness from its status document."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from alcor.api import metrics as api_metrics
from alcor.api.dispatch import Dispatcher
from alcor.cli.agent_health import verdict
from alcor.services import metrics, status


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def board_with_hosts() -> tuple[status.StatusBoard, Clock]:
    """h-steady acknowledged all; h-lag is behind one port; h-fail failed one port; h-gone left
    beyond the grace; h-lost is silent (lost) though connected; each holds two ports."""
    clock = Clock()
    board = status.StatusBoard(grace=5.0, clock=clock, wall=clock)
    revision = 0
    for host in ("h-steady", "h-lag", "h-fail", "h-gone", "h-lost"):
        board.connected(host, applied_revision=0)
        for n in range(2):
            revision += 1
            board.program(f"{host}-p{n}", host, revision)
            board.desire(host, revision)
        acked = revision - 1 if host == "h-lag" else revision
        failures = [status.Failure(kind="port", id=f"{host}-p0", message="no tap")]
        board.acknowledged(
            host, acked, failures=failures if host == "h-fail" else [], programming_micros=5
        )
    board.disconnected("h-gone")
    board.lose("h-lost")
    clock.now += 10  # h-gone is away beyond the grace
    return board, clock


def asked_port_by_port(board: status.StatusBoard) -> dict[str, int]:
    counted = Counter(
        board.port_status(port, host)
        for host in board.hosts()
        for port in board.programmed_ports(host)
    )
    return {state: counted[state] for state in metrics.PORT_STATUSES}


def test_ports_by_status_agree_with_the_board_port_by_port() -> None:
    board, _ = board_with_hosts()
    assert metrics.port_statuses(board) == asked_port_by_port(board)
    assert metrics.port_statuses(board) == {"ACTIVE": 4, "DOWN": 5, "ERROR": 1}


def test_ports_by_status_agree_once_every_host_caught_up_and_recovered() -> None:
    board, _ = board_with_hosts()
    board.acknowledged("h-lag", 4, failures=[], programming_micros=5)
    board.acknowledged("h-fail", 6, failures=[], programming_micros=5)
    assert metrics.port_statuses(board) == asked_port_by_port(board)
    assert metrics.port_statuses(board)["ACTIVE"] == 6


def test_hosts_by_state_and_the_lag_of_connected_hosts() -> None:
    board, _ = board_with_hosts()
    board.desire("h-unseen", 3)
    families = {family.name: family for family in metrics.BoardCollector(board).collect()}
    states = {s.labels["state"]: s.value for s in families["alcor_hosts"].samples}
    assert states == {"connected": 3, "disconnected": 1, "down": 1, "unseen": 1}
    lag = {
        s.name + s.labels.get("le", ""): s.value
        for s in families["alcor_host_lag_revisions"].samples
    }
    assert lag["alcor_host_lag_revisions_gcount"] == 3  # the connected hosts
    assert lag["alcor_host_lag_revisions_bucket0"] == 2
    assert lag["alcor_host_lag_revisions_bucket1"] == 3
    assert families["alcor_host_lag_max_revisions"].samples[0].value == 1
    failed = families["alcor_host_failed_resources"].samples
    assert [(s.labels["kind"], s.value) for s in failed] == [("port", 1)]


def test_request_series_are_bounded_whatever_the_client_sends() -> None:
    async def show(_request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    registry = CollectorRegistry()
    app = api_metrics.RequestMetrics(
        Dispatcher([("GET", "/v2.0/ports/{id}", show)], max_body_size=100), registry
    )

    async def requests() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            for n in range(20):
                await client.get(f"/v2.0/ports/port-{n}")
                await client.get(f"/no/such/path/{n}")
                await client.request(f"INVENTED{n}", f"/v2.0/ports/port-{n}")

    asyncio.run(requests())
    counted = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in registry.collect()
        if family.name == "alcor_api_requests"
        for s in family.samples
        if s.name == "alcor_api_requests_total"
    }
    assert counted == {
        ("GET", "/v2.0/ports/{id}", "200"): 20,
        ("GET", "unmatched", "404"): 20,
        ("OTHER", "/v2.0/ports/{id}", "405"): 20,
    }


NOW = 1_000.0


def test_an_agent_is_ready_once_connected_applied_and_failing_nothing() -> None:
    def judged(**host: object) -> str:
        document = {"updated": NOW, "hosts": {"h1": {"connected": True, **host}}}
        return verdict(document, now=NOW, max_age=5, ready=True)

    assert judged(goal_states=0, failed=[]) == "no goal state applied yet: h1"
    failure = {"kind": "port", "id": "p1", "message": "no tap tapp1\nmore"}
    assert judged(goal_states=3, failed=[failure]) == (
        "resources failed to program on h1 (first: port p1: no tap tapp1)"
    )
    assert judged(goal_states=3, failed=[]) == ""
    disconnected = {"updated": NOW, "hosts": {"h1": {"connected": False, "goal_states": 3}}}
    assert verdict(disconnected, now=NOW, max_age=5, ready=True).startswith("not connected")
