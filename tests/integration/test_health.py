"""The probes, over real HTTP and gRPC on loopback: ``/healthz`` and ``/readyz`` on every role
that serves HTTP (no token, also with Keystone), ``/readyz`` a 503 with its reason while the
store is away (a PostgreSQL cluster stopped) and 200 again once it is back; gRPC's health service
of a southbound process, on its plaintext health port, SERVING while it serves, NOT_SERVING for
the southbound while it cannot hold its lease and for both names once it stops; and
``alcor agent-health`` judging a real agent's status file as it connects, loses its controller
and stops."""

from __future__ import annotations

import contextlib
import functools
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from alcor.lab import waiting
from alcor.lab.controllers import free_port
from alcor.southbound import health
from tests import databases
from tests.servers import Pki, ServerProcess

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def cluster() -> Iterator[databases.PostgresCluster]:
    """A cluster of this test's own: it stops and starts it."""
    yield from databases.private_cluster()


eventually = functools.partial(waiting.eventually, timeout=30.0)


def assert_ready(url: str) -> None:
    live = httpx.get(url + "/healthz", timeout=10)
    assert (live.status_code, live.text) == (200, "ok")
    assert live.headers["content-type"].startswith("text/plain")
    eventually(  # a process serving the southbound: once its engine has replayed the log
        lambda: httpx.get(url + "/readyz", timeout=10).status_code == 200, what="ready"
    )
    assert httpx.get(url + "/readyz", timeout=10).json() == {"status": "ready"}


@pytest.mark.parametrize("role", ["all", "api"])
def test_every_http_role_answers_the_probes(role: str, tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "alcor.db", role=role).start()
    try:
        assert_ready(server.url)
    finally:
        server.stop()


def test_the_probes_need_no_token_with_keystone(tmp_path: Path) -> None:
    """Keystone is not even reachable: the Neutron API refuses, the probes answer."""
    keystone = f"http://127.0.0.1:{free_port()}/v3"
    server = ServerProcess(
        tmp_path / "alcor.db",
        *("--auth-strategy", "keystone", "--keystone-url", keystone),
        *("--keystone-username", "alcor", "--keystone-password", "secret"),
        *("--keystone-project", "service", "--keystone-option", "http_request_max_retries=0"),
    ).start()
    try:
        assert httpx.get(server.url + "/v2.0/networks", timeout=30).status_code == 401
        assert_ready(server.url)
    finally:
        server.stop()


def test_the_probes_are_not_neutron_resources_in_the_openapi_document(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "alcor.db").start()
    try:
        paths = httpx.get(server.url + "/openapi.json", timeout=10).json()["paths"]
        assert not {"/healthz", "/readyz"} & set(paths)
    finally:
        server.stop()


def test_readyz_is_a_503_with_a_reason_while_the_store_is_away(
    cluster: databases.PostgresCluster, tmp_path: Path
) -> None:
    url = cluster.create_database("health")
    server = ServerProcess(tmp_path / "alcor.db", db_url=url, role="api").start()
    try:
        assert_ready(server.url)
        cluster.halt()
        for _ in range(3):  # again and again: each probe answers, none hangs behind another
            ready = httpx.get(server.url + "/readyz", timeout=30)
            assert ready.status_code == 503, ready.text
            body = ready.json()
            assert body["status"] == "not ready"
            assert body["reason"].startswith("the store cannot be reached")
            assert httpx.get(server.url + "/healthz", timeout=10).text == "ok"  # still alive
        cluster.start()
        eventually(
            lambda: httpx.get(server.url + "/readyz", timeout=30).status_code == 200,
            what="/readyz answers 200 once the store is back",
        )
    finally:
        server.stop()


def check(address: str, service: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        return int(answer.status)


def southbound_process(
    folder: Path, *, db_url: str | None = None, lease: float = 6.0
) -> tuple[ServerProcess, str]:
    address = f"127.0.0.1:{free_port()}"
    server = ServerProcess(
        folder / "alcor.db",
        *("--southbound-health", address, "--southbound-lease", str(lease)),
        role="southbound",
        db_url=db_url,
    )
    return server.start(), address


def test_a_southbound_reports_serving_then_not_serving_when_it_stops(tmp_path: Path) -> None:
    server, address = southbound_process(tmp_path)
    try:
        eventually(
            lambda: check(address, health.SERVICE) == SERVING,
            what="the southbound serves once its engine caught up and it holds its lease",
        )
        assert check(address, "") == SERVING
        with grpc.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            watch = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
            seen = [next(watch).status]
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(grpc.RpcError):  # the server went away after telling
                seen.extend(answer.status for answer in watch)
        assert seen[0] == SERVING
        assert NOT_SERVING in seen[1:]
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()


def test_a_southbound_that_cannot_hold_its_lease_is_not_serving(
    cluster: databases.PostgresCluster, tmp_path: Path
) -> None:
    url = cluster.create_database("health_southbound")
    server, address = southbound_process(tmp_path, db_url=url, lease=1.0)
    try:
        eventually(lambda: check(address, health.SERVICE) == SERVING, what="serving")
        cluster.halt()
        eventually(
            lambda: check(address, health.SERVICE) == NOT_SERVING,
            what="the southbound stops serving agents once its lease ran out",
        )
        assert check(address, "") == SERVING  # the process itself is alive
        cluster.start()
        eventually(
            lambda: check(address, health.SERVICE) == SERVING,
            what="serving again once it renews its lease",
        )
    finally:
        server.stop()


def agent_health(status_file: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "alcor.cli.main", "agent-health"),
            "--status-file",
            str(status_file),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_agent_health_follows_a_real_agent_s_connection_and_life(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "pki")
    server = ServerProcess(tmp_path / "alcor.db", pki=pki).start()
    status_file = tmp_path / "status.json"
    agent = subprocess.Popen(
        [
            *(sys.executable, "-m", "alcor.cli.main", "agent", "--host-id", "h1"),
            *("--driver", "recording", "--controller", server.southbound),
            *("--underlay-ip", "10.250.0.1", "--status-file", str(status_file)),
            *("--status-interval", "0.2", "--reconnect-backoff", "0.05:0.2"),
            *pki.host_files("h1"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        eventually(lambda: agent_health(status_file).returncode == 0, what="agent connected")
        assert agent_health(status_file).stderr == ""
        server.stop()
        eventually(lambda: agent_health(status_file).returncode == 1, what="agent disconnected")
        failed = agent_health(status_file).stderr
        assert failed.startswith("alcor agent-health: not connected to a controller: h1")
        assert failed.count("\n") == 1
        assert agent_health(status_file, "--fresh-only").returncode == 0  # alive, waiting
        agent.kill()
        agent.wait()
        eventually(
            lambda: agent_health(status_file, "--fresh-only", "--max-age", "1").returncode == 1,
            what="the stopped agent's file goes stale",
        )
        stale = agent_health(status_file, "--fresh-only", "--max-age", "1").stderr
        assert "stale: last updated" in stale
    finally:
        agent.kill()
        agent.wait()
        server.stop()
