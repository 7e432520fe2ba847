"""``alcor demo`` as an operator runs it: a subprocess that builds the simulated hosts, the
controller, the agents and the reference VPC, prints the ping matrix and returns with all of it
running; ``alcor demo --down`` removes it. Each test uses its own prefix and state directory.

The demo's controller and agents are detached: they outlive ``alcor demo``, and the kernel hands
them to the nearest subreaper. This test process makes itself one while a test runs, so it is
their parent once ``alcor demo`` exits, and reaps them after ``--down`` (on a machine whose
PID 1 does not reap, they would otherwise stay zombies)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alcor.lab import namespaces, processes, traffic
from tests.system.lab import unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]

PR_SET_CHILD_SUBREAPER = 36


def alcor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "alcor.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def _subreaper(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def _reap(pids: set[int]) -> None:
    """Wait for those of ``pids`` that are our children (adopted), for 10 s at most."""
    deadline = time.monotonic() + 10
    left = set(pids)
    while left and time.monotonic() < deadline:
        for pid in list(left):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0] == 0:
                    continue
            left.discard(pid)
        time.sleep(0.05)


class Place:
    """A demo's prefix and state directory, and its processes as the pid files name them."""

    def __init__(self, tmp: Path) -> None:
        self.prefix = f"demo{secrets.token_hex(3)}-"
        self.state = tmp / "state"
        self.options = ("--prefix", self.prefix, "--state-dir", str(self.state))
        self.seen: set[int] = set()

    def pids(self) -> set[int]:
        found = {int(path.read_text()) for path in self.state.glob("*.pid")}
        self.seen |= found
        return found

    def marks(self) -> tuple[str, ...]:
        return ("alcor.cli.main", f"{self.state}/")


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Place]:
    made = Place(tmp_path)
    _subreaper(True)
    try:
        yield made
    finally:
        if made.state.exists():
            made.pids()
        alcor("demo", "--down", *made.options)
        _reap(made.seen)
        _subreaper(False)
        namespaces.remove(made.prefix)


def test_the_demo_pings_every_pair_stays_up_and_comes_down(place: Place) -> None:
    up = alcor("demo", *place.options)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "12/12 pairs answered" in up.stdout, up.stdout
    rows = [line for line in up.stdout.splitlines() if re.match(r"[ab][12] 10\.0\.", line)]
    assert len(rows) == 4, up.stdout
    assert all(row.split().count("ok") == 3 and "NO ANSWER" not in row for row in rows), rows
    # what it says to try works: an endpoint's namespace pings another endpoint's address
    hint = re.search(r"ip netns exec (\S+) ping (10\.0\.2\.12)", up.stdout)
    assert hint, up.stdout
    ns, ip = hint.groups()
    assert ns.startswith(place.prefix + "h1-ep-")
    assert traffic.ping(ns, ip)
    # it keeps running: the controller and both agents
    pids = place.pids()
    assert len(pids) == 3
    assert all(processes.running(pid, marks=place.marks()) for pid in pids)
    # over mutual TLS: the controller with the demo's CA, each agent with its host's certificate
    pki = place.state / "pki"
    assert all(processes.running(pid, marks=(f"{pki}/ca.pem",)) for pid in pids)
    for host in ("h1", "h2"):
        assert processes.find((f"--tls-cert={pki}/host-{place.prefix}{host}.pem",))
    assert (pki / "ca.key").stat().st_mode & 0o777 == 0o600

    # a second demo over it is refused, and leaves the first alone
    again = alcor("demo", *place.options)
    assert again.returncode == 1
    assert "--down" in again.stderr, again.stderr
    assert traffic.ping(ns, ip)

    down = alcor("demo", "--down", *place.options)
    assert down.returncode == 0, down.stdout + down.stderr
    assert "stopped controller" in down.stdout, down.stdout
    assert f"removed {place.state}" in down.stdout
    assert namespaces.listed(place.prefix) == []
    assert not place.state.exists()
    assert processes.find(place.marks()) == []
    # and again: nothing to do
    twice = alcor("demo", "--down", *place.options)
    assert twice.returncode == 0
    assert "nothing to remove" in twice.stdout, twice.stdout


def test_a_demo_that_fails_removes_what_it_made(place: Place) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        failed = alcor("demo", *place.options, "--api-bind", f"127.0.0.1:{port}")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "the controller exited" in failed.stderr, failed.stderr
    assert "removing what it made" in failed.stderr
    assert namespaces.listed(place.prefix) == []
    assert not place.state.exists()
    assert processes.find(place.marks()) == []
