"""What ``alcor ports`` and ``alcor hosts`` make of the controller's answers: a port's reason
(its own host's failure, a router's on any host holding it, an away or lagging host, no host)
and a host's state, and that ``--api`` beats ``ALCOR_API``, which beats the default."""

from __future__ import annotations

from typing import Any

import pytest

from alcor.cli import hosts, main, operator_api, ports


def report(host: str, **more: Any) -> dict[str, Any]:
    shown = {"host": host, "connected": True, "lost": False, "lag": 0, "failures": []}
    shown.update(more)
    return shown


def port(**more: Any) -> dict[str, Any]:
    shown = {"id": "p1", "status": "DOWN", "binding:host_id": "h1", "device_owner": ""}
    shown["device_id"] = "vm1"
    shown.update(more)
    return shown


def test_a_ports_reason_is_its_hosts_failure_or_what_keeps_it_down() -> None:
    failed = [{"kind": "port", "id": "p1", "message": "no tap"}]
    assert ports.reason(port(status="ACTIVE"), {}) == ""
    assert ports.reason(port(status="ERROR"), {"h1": report("h1", failures=failed)}) == (
        "h1: no tap"
    )
    # another host's stale word about the port is not its reason
    assert ports.reason(
        port(), {"h1": report("h1", lag=3), "h2": report("h2", failures=failed)}
    ) == ("host h1 has not acknowledged it yet (lag 3)")
    assert ports.reason(port(**{"binding:host_id": ""}), {}) == "bound to no host"
    assert ports.reason(port(), {}) == "host h1 has not connected"
    away = report("h1", connected=False, disconnected_since="2026-01-01T00:00:00Z")
    assert ports.reason(port(), {"h1": away}) == "host h1 disconnected at 2026-01-01T00:00:00Z"
    lost = report("h1", lost=True, last_heartbeat=None)
    assert ports.reason(port(), {"h1": lost}) == "host h1 is lost (silent since start)"


def test_a_routers_port_names_the_routers_failure_on_any_host() -> None:
    leg = port(
        status="ERROR",
        device_owner="network:router_interface",
        device_id="r1",
        **{"binding:host_id": ""},
    )
    failed = [{"kind": "router", "id": "r1", "message": "no namespace"}]
    reports = {"h1": report("h1"), "h2": report("h2", failures=failed)}
    assert ports.reason(leg, reports) == "h2: no namespace"


def test_a_hosts_state() -> None:
    assert hosts.state_of(report("h1"), {"state": "up"}) == "connected"
    assert hosts.state_of(report("h1", connected=False), {"state": "up"}) == "up"
    assert hosts.state_of(report("h1", lost=True), {"state": "up"}) == "down"
    assert hosts.state_of(None, {"state": "down"}) == "down"
    assert hosts.state_of(None, None) == "down"


def test_the_api_is_the_flag_else_the_environment_else_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def url(*words: str) -> str:
        return operator_api.api_url(main.arguments(main.parser(), ["hosts", *words]))

    monkeypatch.delenv("ALCOR_API", raising=False)
    assert url() == "http://127.0.0.1:9696"
    monkeypatch.setenv("ALCOR_API", "http://ctl:9696/")
    assert url() == "http://ctl:9696"
    assert url("--api", "https://x:1") == "https://x:1"
