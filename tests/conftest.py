"""Fixtures shared by every layer of tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import UNLIMITED_QUOTAS, ServerProcess


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real ``alcor server`` on loopback with its own SQLite file, shared by one test module.
    Tests keep out of each other's way by creating their own networks (or projects). Its quotas
    are unlimited unless the module sets ``SERVER_QUOTAS`` (the ``--quota`` arguments)."""
    db = Path(tmp_path_factory.mktemp("alcor")) / "alcor.db"
    quotas = getattr(request.module, "SERVER_QUOTAS", UNLIMITED_QUOTAS)
    process = ServerProcess(db, quotas=quotas).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client of the module's server, acting as admin of the default project."""
    with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as client:
        yield client
