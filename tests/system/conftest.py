"""System tests: real namespaces, a real controller, real agents programming the kernel. Each
module marks its tests ``root`` and skips them, saying why, without root or the tools
(``tests.system.lab.unusable``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alcor.lab import certificates, processes
from tests.servers import ServerProcess
from tests.system.lab import Lab


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> certificates.Pki:
    """The southbound's CA and the controller's certificate, made with ``alcor certs``."""
    return certificates.Pki(Path(tmp_path_factory.mktemp("pki"))).init()


@pytest.fixture(scope="module")
def controller(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pki: certificates.Pki,
) -> Iterator[ServerProcess]:
    """A real ``alcor server`` whose southbound listens on a unix socket, with mutual TLS (and
    the module's ``CONTROLLER_OPTIONS``, if it sets them)."""
    folder = Path(tmp_path_factory.mktemp("controller"))
    options = getattr(request.module, "CONTROLLER_OPTIONS", ())
    process = ServerProcess(
        folder / "alcor.db",
        *pki.server_args(),
        *options,
        southbound=f"unix:{folder}/southbound.sock",
    )
    process.start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


@pytest.fixture
def lab(controller: ServerProcess, pki: certificates.Pki, tmp_path: Path) -> Iterator[Lab]:
    made = Lab(controller, tmp_path, pki=pki)
    try:
        yield made
    finally:
        made.close()
        assert not made.namespaces(), made.namespaces()
        assert not processes.daemons(made.tag + "-"), processes.daemons(made.tag + "-")
