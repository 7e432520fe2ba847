"""``alcor server`` as a child process for a lab: SQLite in a folder, REST on loopback, the
agents' southbound on ``unix:<folder>/southbound.sock``."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from alcor.lab import errors, processes

START_WAIT = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Controller:
    process: subprocess.Popen[bytes]
    url: str
    southbound: str
    log_path: Path


def command(*, folder: Path, bind: tuple[str, int], extra: tuple[str, ...] = ()) -> list[str]:
    host, port = bind
    return [
        sys.executable, "-m", "alcor.cli.main", "server",
        "--bind", f"{host}:{port}",
        "--db", f"sqlite:///{folder / 'alcor.db'}",
        "--southbound", f"unix:{folder / 'southbound.sock'}",
        "--log-level", "warning",
        *extra,
    ]  # fmt: skip


def start(
    folder: Path,
    *,
    bind: tuple[str, int] | None = None,
    detach: bool = False,
    extra: tuple[str, ...] = (),
) -> Controller:
    """A started controller (``extra``: more options, such as its TLS files), once it answers
    HTTP (``NotStarted`` if it exits or does not)."""
    host, port = bind or ("127.0.0.1", free_port())
    log_path = folder / "controller.log"
    process = processes.start(
        command(folder=folder, bind=(host, port), extra=extra), log=log_path, detach=detach
    )
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    controller = Controller(process, url, f"unix:{folder / 'southbound.sock'}", log_path)
    deadline = time.monotonic() + START_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise errors.NotStarted(f"the controller exited: {_tail(log_path)}")
        if _answers(host, port):
            return controller
        time.sleep(0.05)
    processes.stop(process)
    raise errors.NotStarted(f"the controller did not answer on {url}: {_tail(log_path)}")


def _answers(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=1.0)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True


def _tail(path: Path, lines: int = 5) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"
