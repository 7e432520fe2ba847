"""A simulated host: a namespace on the underlay, named after the host id, running
``alcor agent --driver linux`` under ``nsenter --net=/run/netns/<id>``.

``nsenter`` and not ``ip netns exec``: the latter gives the agent a mount namespace of its own,
and the namespaces the agent makes under ``/run/netns`` would not be usable outside it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from alcor.lab import processes


class Host:
    """Host ``id`` (also its namespace) at underlay address ``ip``; its agent's namespaces begin
    with ``<id>-``; its agent's status file and log are ``<folder>/<name>.json`` and ``.log``."""

    def __init__(
        self,
        *,
        name: str,
        id: str,
        ip: str,
        controller: str,
        folder: Path,
        mode: str = "netns",
        args: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.args = args  # more agent options
        self.id = id
        self.ns = id
        self.ip = ip
        self.mode = mode
        self.controller = controller
        self.prefix = f"{id}-"
        self.status_path = folder / f"{name}.json"
        self.log_path = folder / f"{name}.log"
        self.agent: subprocess.Popen[bytes] | None = None

    def endpoint(self, port_id: str) -> str:
        """The namespace the agent makes for a port bound here (``--endpoint-mode netns``)."""
        return f"{self.prefix}ep-{port_id}"

    def agent_command(self) -> list[str]:
        return [
            "nsenter", f"--net=/run/netns/{self.ns}",
            sys.executable, "-m", "alcor.cli.main", "agent",
            "--driver=linux",
            f"--host-id={self.id}",
            f"--underlay-ip={self.ip}",
            f"--endpoint-mode={self.mode}",
            f"--netns-prefix={self.prefix}",
            f"--controller={self.controller}",
            f"--status-file={self.status_path}",
            "--status-interval=0.2",
            "--heartbeat-interval=1",
            "--retry-interval=0.5",
            "--reconnect-backoff=0.05:0.5",
            *self.args,
        ]  # fmt: skip

    def start_agent(self, *, detach: bool = False) -> subprocess.Popen[bytes]:
        self.status_path.unlink(missing_ok=True)
        self.agent = processes.start(self.agent_command(), log=self.log_path, detach=detach)
        return self.agent

    def stop_agent(self, *, kill: bool = False) -> None:
        if self.agent is not None:
            processes.stop(self.agent, kill=kill)

    def running(self) -> bool:
        return self.agent is not None and self.agent.poll() is None

    def status(self) -> dict[str, Any]:
        """This host's part of the agent's status file ({} until there is one)."""
        try:
            document: dict[str, Any] = msgspec.json.decode(self.status_path.read_bytes())
        except (FileNotFoundError, msgspec.DecodeError):
            return {}
        return dict(document.get("hosts", {}).get(self.id, {}))
