"""System tests: real namespaces, a real controller, real agents programming the kernel. Each
module marks its tests ``root`` and skips them, saying why, without root or the tools
(``tests.system.lab.unusable``)."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ServerProcess
from tests.system.lab import Lab

STATE_ROOT = Path("/run/alcor-agent")  # the agents' default --state-dir is under it


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``alcor server`` whose southbound listens on a unix socket."""
    folder = Path(tmp_path_factory.mktemp("controller"))
    process = ServerProcess(folder / "alcor.db", southbound=f"unix:{folder}/southbound.sock")
    process.start()
    yield process
    process.stop()
    assert "Traceback" not in process.errors_logged(), process.errors_logged()


@pytest.fixture
def lab(controller: ServerProcess, tmp_path: Path) -> Iterator[Lab]:
    made = Lab(controller, tmp_path)
    try:
        yield made
    finally:
        made.close()
        assert not made.namespaces(), made.namespaces()
        # the agents leave their DHCP daemons running when they stop (so that a restart does
        # not interrupt DHCP): end those of the lab's hosts, and their folders
        for pid in daemons(made.tag):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while daemons(made.tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        for folder in STATE_ROOT.glob(f"{made.tag}-*"):
            shutil.rmtree(folder, ignore_errors=True)
        assert not daemons(made.tag), daemons(made.tag)


def daemons(tag: str) -> list[int]:
    """The live processes whose command line names the lab (its hosts' state folders)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        program = os.path.basename(words[0].decode(errors="replace"))
        if program in ("dnsmasq", "busybox", "udhcpc") and any(
            f"/{tag}-".encode() in word for word in words
        ):
            found.append(int(entry.name))
    return found
