"""Fixtures shared by every layer of tests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.servers import UNLIMITED_QUOTAS, ServerProcess

DIALECTS = ("sqlite", "postgresql")
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[databases.PostgresCluster]:
    """A private PostgreSQL server for the whole run."""
    yield from databases.private_cluster()


def database_url(request: pytest.FixtureRequest, folder: Path) -> str:
    """A new empty store of the dialect ``request.param`` names."""
    if request.param == "sqlite":
        return f"sqlite:///{folder / 'alcor.db'}"
    cluster: databases.PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"alcor_{next(_database_numbers)}")


@pytest.fixture(params=DIALECTS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store for one test, on each dialect in turn."""
    return database_url(request, tmp_path)


@pytest.fixture(scope="module", params=DIALECTS)
def server_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """An empty store for one module's server, on each dialect in turn."""
    return database_url(request, Path(tmp_path_factory.mktemp("store")))


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_database: str,
) -> Iterator[ServerProcess]:
    """A real ``alcor server`` on loopback with a store of its own (an SQLite file, then a
    PostgreSQL database), shared by one test module. Tests keep out of each other's way by
    creating their own networks (or projects). Its quotas are unlimited unless the module sets
    ``SERVER_QUOTAS`` (the ``--quota`` arguments); ``SERVER_OPTIONS`` are more arguments."""
    db = Path(tmp_path_factory.mktemp("alcor")) / "alcor.db"
    quotas = getattr(request.module, "SERVER_QUOTAS", UNLIMITED_QUOTAS)
    options = getattr(request.module, "SERVER_OPTIONS", ())
    process = ServerProcess(db, *options, quotas=quotas, db_url=server_database).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client of the module's server, acting as admin of the default project."""
    with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as client:
        yield client
