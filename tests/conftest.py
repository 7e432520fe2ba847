"""Fixtures shared by every layer of tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``alcor server`` on loopback with its own SQLite file, shared by one test module.
    Tests keep out of each other's way by creating their own networks (or projects)."""
    db = Path(tmp_path_factory.mktemp("alcor")) / "alcor.db"
    process = ServerProcess(db).start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client of the module's server, acting as admin of the default project."""
    with httpx.Client(base_url=server.url + "/v2.0", timeout=30.0) as client:
        yield client
