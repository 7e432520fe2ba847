"""Fixtures of the unit tests that more than one module uses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from alcor.cni import daemon


@pytest.fixture
def cni_daemon(tmp_path: Path) -> Iterator[Path]:
    """``alcor cni-daemon`` serving on a socket of the test's (in this process); its path."""
    path = tmp_path / "cni.sock"
    server = daemon.Daemon(path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()
