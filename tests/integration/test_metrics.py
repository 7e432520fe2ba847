"""Metrics and health on ``--metrics-bind``, over real HTTP on loopback: a real controller and
real agent processes (``alcor sim``, ``alcor agent``) are made to do things (networks, ports
bound to their hosts, one port made to fail, a controller stopped and started, a store
stopped), and their ``/metrics``, parsed with Prometheus' own text parser, must count exactly
that; ``/readyz`` follows the store, the engine and an agent's connection; the Neutron API's
port serves no metrics; the Grafana dashboard asks only for metrics a scrape has."""

from __future__ import annotations

import contextlib
import functools
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from alcor.lab import waiting
from alcor.lab.controllers import free_port
from tests import databases
from tests.integration.neutron import create_network, create_port, create_subnet, ensure_nodes
from tests.servers import Pki, ServerProcess

DASHBOARD = Path(__file__).parents[2] / "deploy" / "grafana" / "alcor.json"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


eventually = functools.partial(waiting.eventually, timeout=30.0)


def scrape(address: str) -> Samples:
    """Every sample of ``/metrics`` at ``address``: (name, sorted labels) -> value."""
    response = httpx.get(f"http://{address}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    """``name``'s values by one label."""
    return {dict(key)[label]: found for (metric, key), found in samples.items() if metric == name}


def ready(address: str) -> httpx.Response:
    return httpx.get(f"http://{address}/readyz", timeout=30)


@contextlib.contextmanager
def running(command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def alcor(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "alcor.cli.main", *arguments]


def test_a_controller_and_its_agents_count_what_they_did(tmp_path: Path) -> None:
    metrics = f"127.0.0.1:{free_port()}"
    sim_metrics = f"127.0.0.1:{free_port()}"
    server = ServerProcess(tmp_path / "alcor.db", "--metrics-bind", metrics).start()
    hosts = ["m-0", "m-1"]
    sim = alcor(
        *("sim", "--hosts", "2", "--prefix", "m-", "--controller", server.southbound),
        *("--fail-ports", "fail-*", "--progress-interval", "0", "--metrics-bind", sim_metrics),
        *("--heartbeat-interval", "0.5", "--reconnect-backoff", "0.05:0.2"),
    )
    try:
        with httpx.Client(base_url=server.url + "/v2.0", timeout=20) as api, running(sim):
            ensure_nodes(api, *hosts)
            network = create_network(api, name="counted")
            create_subnet(api, network["id"], "10.7.0.0/24")
            made = [create_port(api, network["id"], **{"binding:host_id": host}) for host in hosts]
            made.append(
                create_port(
                    api, network["id"], device_id="fail-vm", **{"binding:host_id": hosts[0]}
                )
            )
            create_port(api, network["id"])  # unbound: on no host
            assert api.get("/networks/no-such-network").status_code == 404

            def statuses() -> list[str]:
                return [api.get(f"/ports/{p['id']}").json()["port"]["status"] for p in made]

            eventually(lambda: statuses() == ["ACTIVE", "ACTIVE", "ERROR"], what="ports programmed")
            controller = scrape(metrics)
            assert labelled(controller, "alcor_ports", "status") == {
                "ACTIVE": 2,
                "ERROR": 1,
                "DOWN": 0,
            }
            assert labelled(controller, "alcor_hosts", "state") == {
                "connected": 2,
                "disconnected": 0,
                "down": 0,
                "unseen": 0,
            }
            assert value(controller, "alcor_host_failed_resources", kind="port") == 1
            resources = labelled(controller, "alcor_resources", "kind")
            assert (resources["network"], resources["subnet"], resources["node"]) == (1, 1, 2)
            assert resources["port"] == 4
            assert (
                value(
                    controller,
                    "alcor_api_requests_total",
                    method="POST",
                    route="/v2.0/ports",
                    status="201",
                )
                == 4
            )
            assert (
                value(
                    controller,
                    "alcor_api_requests_total",
                    method="GET",
                    route="/v2.0/networks/{id}",
                    status="404",
                )
                == 1
            )
            routes = set(labelled(controller, "alcor_api_requests_total", "route"))
            assert not any("no-such-network" in route for route in routes)  # templates only
            assert (
                value(
                    controller,
                    "alcor_api_request_duration_seconds_count",
                    method="POST",
                    route="/v2.0/ports",
                )
                == 4
            )
            assert value(controller, "alcor_engine_ready") == 1
            assert value(controller, "alcor_goalstate_sent_messages_total") >= 2
            assert value(controller, "alcor_goalstate_sent_entries_total") >= 3
            assert value(controller, "alcor_goalstate_sent_bytes_total") > 0
            assert value(controller, "alcor_southbound_acks_total") >= 2
            assert value(controller, "alcor_engine_apply_seconds_count") >= 7
            assert value(controller, "alcor_store_commit_group_size_sum") >= 7  # the writes
            assert value(controller, "alcor_host_lag_revisions_gcount") == 2

            agents = scrape(sim_metrics)
            assert value(agents, "alcor_agent_hosts") == 2
            assert value(agents, "alcor_agent_connected_hosts") == 2
            assert value(agents, "alcor_agent_failed_resources", kind="port") == 1
            assert value(agents, "alcor_agent_programming_seconds_count") >= 2
            assert value(agents, "alcor_agent_reconnects_total") == 0
            revision = value(controller, "alcor_engine_revision")
            eventually(
                lambda: value(scrape(sim_metrics), "alcor_agent_applied_revision") == revision,
                what="the agents applied the engine's revision",
            )
            refused = ready(sim_metrics)  # a port failed: connected, not ready
            assert refused.status_code == 503
            assert refused.json()["reason"].startswith("resources failed to program on m-0")
            assert ready(metrics).json() == {"status": "ready"}

            assert httpx.get(server.url + "/metrics", timeout=10).status_code == 404
            assert_the_dashboard_asks_only_for(controller.keys() | agents.keys())
    finally:
        server.stop()


def assert_the_dashboard_asks_only_for(
    scraped: set[tuple[str, tuple[tuple[str, str], ...]]],
) -> None:
    names = {name for name, _ in scraped}
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert exprs
    asked = {name for expr in exprs for name in re.findall(r"\balcor_[a-z_]+", expr)}
    assert asked - names == set()


def test_an_agent_is_ready_while_connected_and_applied(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    server = ServerProcess(tmp_path / "alcor.db", pki=pki).start()
    metrics = f"127.0.0.1:{free_port()}"
    agent = alcor(
        *("agent", "--host-id", "h1", "--driver", "recording", "--controller", server.southbound),
        *("--underlay-ip", "10.250.0.1", "--reconnect-backoff", "0.05:0.2"),
        *("--metrics-bind", metrics, *pki.host_files("h1")),
    )
    try:
        with running(agent):
            eventually(lambda: ready_code(metrics) == 200, what="agent ready")
            assert httpx.get(f"http://{metrics}/healthz", timeout=10).text == "ok"
            server.stop()
            eventually(lambda: ready_code(metrics) == 503, what="agent not ready")
            reason = ready(metrics).json()["reason"]
            assert reason.startswith("not connected to a controller: h1")
            assert httpx.get(f"http://{metrics}/healthz", timeout=10).text == "ok"  # alive
            server.start()
            eventually(lambda: ready_code(metrics) == 200, what="agent ready again")
            assert value(scrape(metrics), "alcor_agent_reconnects_total") >= 1
    finally:
        server.stop()


def ready_code(address: str) -> int:
    try:
        return ready(address).status_code
    except httpx.TransportError:
        return 0


@pytest.fixture
def cluster() -> Iterator[databases.PostgresCluster]:
    """A cluster of this test's own: it stops and starts it."""
    yield from databases.private_cluster()


@pytest.mark.parametrize("role", ["all", "api", "southbound"])
def test_readyz_on_the_metrics_listener_follows_the_store(
    role: str, cluster: databases.PostgresCluster, tmp_path: Path
) -> None:
    url = cluster.create_database(f"metrics_{role}")
    metrics = f"127.0.0.1:{free_port()}"
    server = ServerProcess(
        tmp_path / "alcor.db",
        *("--metrics-bind", metrics, "--southbound-lease", "1"),
        db_url=url,
        role=role,
    ).start()
    try:
        eventually(lambda: ready_code(metrics) == 200, what="ready once the engine caught up")
        if role != "southbound":  # counted where the API is served
            assert httpx.get(f"{server.url}/v2.0/networks", timeout=10).status_code == 200
        samples = scrape(metrics)
        names = {name for name, _ in samples}
        assert ("alcor_api_requests_total" in names) == (role != "southbound")
        assert ("alcor_engine_ready" in names) == (role != "api")  # an engine serves agents
        assert samples[("alcor_resources", (("kind", "network"),))] == 0  # every role counts
        cluster.halt()
        for _ in range(3):  # every probe answers, none hangs behind another
            refused = ready(metrics)
            assert refused.status_code == 503, refused.text
            assert refused.json()["status"] == "not ready"
            assert httpx.get(f"http://{metrics}/healthz", timeout=10).text == "ok"
        assert "process_cpu_seconds_total" in {name for name, _ in scrape(metrics)}
        cluster.start()
        eventually(lambda: ready_code(metrics) == 200, what="ready once the store is back")
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (("server", "--bind", "127.0.0.1:0", "--southbound", "off"), "alcor server: error: "),
        (("agent", "--host-id", "h1", "--driver", "recording"), "alcor agent: "),
    ],
)
def test_a_metrics_address_in_use_stops_a_process_with_one_line(
    command: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        ended = subprocess.run(
            alcor(*command, "--metrics-bind", address),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,  # the server's default SQLite file goes there
        )
    assert ended.returncode == 2
    assert ended.stderr == (
        f"{said}cannot listen on {address} (--metrics-bind): address already in use\n"
    )
