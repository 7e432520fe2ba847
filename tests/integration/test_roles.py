"""Roles split: an ``alcor server --role api`` process takes the Neutron API, a ``--role
southbound`` process on the same store (one SQLite file, or a PostgreSQL database) serves the
agents. Each serves only its own face; the southbound process writes nothing through the API,
follows the API process's commits from the store (woken by the store's signal: its safety poll
is set beyond the test), and its hosts converge to exactly their goal state."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agents import NEVER_POLL, hosts_follow_writes, project_api, run
from tests.servers import Pki, ServerProcess


@pytest.fixture(scope="module")
def split(
    server_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    folder = Path(tmp_path_factory.mktemp("roles"))
    api = ServerProcess(folder / "api.db", db_url=server_database, role="api")
    southbound = ServerProcess(
        folder / "southbound.db",
        *NEVER_POLL,
        db_url=server_database,
        pki=Pki(folder / "pki"),
        role="southbound",
    )
    started: list[ServerProcess] = []
    try:
        for server in (api, southbound):  # one at a time: the first migrates the schema
            started.append(server.start())
        yield api, southbound
    finally:
        for server in started:
            server.stop()
    for server in started:
        assert "Traceback" not in server.errors_logged(), server.errors_logged()


def refused(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5.0).close()
    except ConnectionRefusedError:
        return True
    return False


def test_each_process_serves_only_its_role(split: tuple[ServerProcess, ServerProcess]) -> None:
    api, southbound = split
    assert refused(api.southbound)  # no gRPC on the API process
    assert refused(southbound.url.removeprefix("http://"))  # no HTTP on the southbound's
    assert not refused(southbound.southbound)


def test_what_the_api_process_commits_reaches_the_southbound_processs_hosts(
    split: tuple[ServerProcess, ServerProcess],
) -> None:
    writing, serving = split

    async def scenario() -> None:
        async with project_api(writing) as api:
            for host in await hosts_follow_writes(api, serving, cidr="10.4.0.0/24"):
                await host.close()

    run(scenario)
