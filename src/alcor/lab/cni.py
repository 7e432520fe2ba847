"""Calling ``alcor-cni`` exactly as a container runtime calls a plugin: ``CNI_*`` in the
environment, the network configuration on stdin, run in the node's network namespace (a
simulated host's, under ``nsenter --net``); its stdout parsed and its exit status kept."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alcor.lab import processes, waiting

NODE_API_PORT = 9696  # where a node reaches the controller's API (``api_in``)
PLUGIN = str(Path(sys.executable).with_name("alcor-cni"))  # the console script beside python


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: int
    document: dict[str, Any]  # the result or the spec's error ({} when stdout was empty)
    stderr: str

    @property
    def code(self) -> int:
        """The spec's error code (0 when it succeeded)."""
        return int(self.document.get("code", 0)) if self.status else 0


def invoke(
    command: str,
    config: dict[str, Any],
    *,
    node: str = "",
    container: str = "",
    netns: str = "",
    ifname: str = "eth0",
    args: str = "",
    plugin: str = PLUGIN,
    timeout: float = 60.0,
) -> Outcome:
    """Run ``plugin`` for ``command`` in namespace ``node`` ("" : this one). Variables left
    empty are not set (a runtime that forgot one)."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("CNI_")}
    given = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_NETNS": netns,
        "CNI_IFNAME": ifname if container else "",
        "CNI_ARGS": args,
        "CNI_PATH": "/usr/lib/cni",
    }
    environ |= {key: value for key, value in given.items() if value}
    where = ["nsenter", f"--net=/run/netns/{node}"] if node else []
    done = subprocess.run(
        [*where, plugin],
        input=json.dumps(config),
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    document = json.loads(done.stdout) if done.stdout.strip() else {}
    return Outcome(done.returncode, document, done.stderr)


def daemon(node: str, *, socket_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """``alcor cni-daemon`` in the node's namespace, listening on ``socket_path``; once it
    listens."""
    process = processes.start(
        [
            "nsenter", f"--net=/run/netns/{node}",
            sys.executable, "-m", "alcor.cli.main", "cni-daemon", f"--socket={socket_path}",
        ],
        log=log,
    )  # fmt: skip
    waiting.eventually(socket_path.exists, what=f"the CNI daemon of {node}")
    return process


def api_relay(url: str, *, socket_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """A relay from a unix socket to the controller's API at ``url`` (``http://HOST:PORT``),
    for ``api_in``: a unix socket is reachable from every network namespace."""
    target = url.removeprefix("http://")
    return processes.start(
        ["socat", f"UNIX-LISTEN:{socket_path},fork,mode=600", f"TCP:{target},nodelay"], log=log
    )


def api_in(node: str, *, socket_path: Path, log: Path) -> subprocess.Popen[bytes]:
    """The controller's API at ``http://127.0.0.1:9696`` inside the node's namespace (as a
    node-local proxy would give it), through ``api_relay``'s socket; once it listens."""
    process = processes.start(
        [
            "nsenter", f"--net=/run/netns/{node}",
            "socat", f"TCP-LISTEN:{NODE_API_PORT},bind=127.0.0.1,reuseaddr,fork,nodelay",
            f"UNIX-CONNECT:{socket_path}",
        ],
        log=log,
    )  # fmt: skip

    def listening() -> bool:
        probe = subprocess.run(
            ["nsenter", f"--net=/run/netns/{node}", "ss", "-Hltn", f"sport = :{NODE_API_PORT}"],
            capture_output=True,
            text=True,
        )
        return bool(probe.stdout.strip())

    waiting.eventually(listening, what=f"the API relay in {node}")
    return process


def node_api() -> str:
    return f"http://127.0.0.1:{NODE_API_PORT}"
