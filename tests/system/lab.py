"""A lab of simulated hosts for system tests: network namespaces on an underlay bridge, each
running ``alcor agent --driver linux --endpoint-mode netns`` against a real ``alcor server``
(reached over ``unix:PATH``), and a Neutron client for that server.

Every name a lab makes begins with its own random tag (``t1a2b3c-``): the underlay namespace
``<tag>-ul``, the hosts ``<tag>-<name>`` (host ids too), and what their agents make
(``--netns-prefix <tag>-<name>-``). ``close`` stops every process the lab started and removes
every namespace with its tag, whatever state a failed test left. Traffic goes only to
addresses inside these namespaces.

Agents run under ``nsenter --net=...``: ``ip netns exec`` would give them a mount namespace of
their own, and the namespaces they make would not be usable outside it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from tests.servers import ServerProcess

TOOLS = ("ip", "bridge", "nft", "nsenter", "sysctl", "ping", "socat")
UNDERLAY = "192.0.2.{}"
WAIT = 20.0


def unusable() -> str:
    """Why system tests cannot run here ('' when they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    return f"needs {', '.join(missing)} (apt-get install iproute2 nftables ...)" if missing else ""


def run(*argv: str, check: bool = True, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)


def eventually(probe: Callable[[], Any], *, timeout: float = WAIT, what: str = "") -> Any:
    """``probe()``'s first true value, tried until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        time.sleep(0.05)


class Host:
    def __init__(
        self, lab: Lab, name: str, number: int, *, mode: str = "netns", args: tuple[str, ...] = ()
    ) -> None:
        self.lab = lab
        self.name = name
        self.mode = mode
        self.args = args  # more agent options
        self.id = f"{lab.tag}-{name}"  # host id and namespace
        self.ns = self.id
        self.ip = UNDERLAY.format(10 + number)
        self.prefix = f"{self.id}-"
        self.status_path = lab.tmp / f"{name}.json"
        self.agent: subprocess.Popen[bytes] | None = None
        self.log_path = lab.tmp / f"{name}.log"

    def endpoint(self, port_id: str) -> str:
        """The namespace the agent makes for a port bound here."""
        return f"{self.prefix}ep-{port_id}"

    def start_agent(self) -> None:
        command = [
            "nsenter",
            f"--net=/run/netns/{self.ns}",
            sys.executable,
            "-m",
            "alcor.cli.main",
            "agent",
            "--driver=linux",
            f"--host-id={self.id}",
            f"--underlay-ip={self.ip}",
            f"--endpoint-mode={self.mode}",
            f"--netns-prefix={self.prefix}",
            f"--controller={self.lab.server.southbound}",
            f"--status-file={self.status_path}",
            "--status-interval=0.2",
            "--heartbeat-interval=1",
            "--reconnect-backoff=0.05:0.5",
            *self.args,
        ]
        self.status_path.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.agent = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def stop_agent(self, *, kill: bool = False) -> None:
        if self.agent is None or self.agent.poll() is not None:
            return
        self.agent.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.agent.kill()
            self.agent.wait()

    def status(self) -> dict[str, Any]:
        try:
            document: dict[str, Any] = msgspec.json.decode(self.status_path.read_bytes())
        except (FileNotFoundError, msgspec.DecodeError):
            return {}
        return document.get("hosts", {}).get(self.id, {})


class Lab:
    def __init__(self, server: ServerProcess, tmp: Path) -> None:
        self.server = server
        self.tmp = tmp
        self.tag = "t" + secrets.token_hex(3)
        self.underlay = f"{self.tag}-ul"
        self.hosts: dict[str, Host] = {}
        self.processes: list[subprocess.Popen[Any]] = []
        self.api = httpx.Client(base_url=server.url + "/v2.0", timeout=30.0)
        run("ip", "netns", "add", self.underlay)
        run("ip", "-n", self.underlay, "link", "add", "br-ul", "type", "bridge")
        run("ip", "-n", self.underlay, "link", "set", "br-ul", "up")

    # --- hosts ----------------------------------------------------------------------------------

    def add_hosts(
        self, *names: str, mode: str = "netns", args: tuple[str, ...] = (), start: bool = True
    ) -> list[Host]:
        """Hosts on the underlay, their agents started (unless not ``start``: the test makes
        what the agent needs first, then calls ``start_agent`` and ``wait_connected``)."""
        made = []
        for name in names:
            host = Host(self, name, len(self.hosts) + 1, mode=mode, args=args)
            self.hosts[name] = host
            run("ip", "netns", "add", host.ns)
            run(
                "ip", "-n", host.ns, "link", "add", "eth0", "type", "veth",
                "peer", "name", f"ul-{name}", "netns", self.underlay,
            )  # fmt: skip
            run("ip", "-n", self.underlay, "link", "set", f"ul-{name}", "master", "br-ul", "up")
            run("ip", "-n", host.ns, "addr", "add", f"{host.ip}/24", "dev", "eth0")
            run("ip", "-n", host.ns, "link", "set", "eth0", "up")
            run("ip", "-n", host.ns, "link", "set", "lo", "up")
            if start:
                host.start_agent()
            made.append(host)
        for host in made:
            if start:
                self.wait_connected(host)
        return made

    def wait_connected(self, host: Host) -> None:
        def connected() -> bool:
            answer = self.api.get(f"/goalstate/hosts/{host.id}")
            return answer.status_code == 200 and answer.json()["host"]["connected"]

        eventually(connected, what=f"{host.id} to connect (log: {host.log_path})")

    # --- the controller -----------------------------------------------------------------------

    def revision(self) -> int:
        return int(self.api.get("/goalstate").json()["goalstate"]["revision"])

    def converge(self, since: int) -> None:
        """Wait until the controller took in a change after ``since`` and every host of the
        lab acknowledged everything it was given."""
        eventually(lambda: self.revision() > since, what="the change to reach the engine")

        def acknowledged() -> bool:
            for host in self.hosts.values():
                if host.agent is None or host.agent.poll() is not None:
                    continue
                report = self.api.get(f"/goalstate/hosts/{host.id}").json()["host"]
                if not report["connected"] or report["lag"]:
                    return False
            return True

        eventually(acknowledged, what="every host to acknowledge")

    def call(self, method: str, path: str, body: Any = None, *, project: str = "") -> Any:
        headers = {"X-Project-Id": project, "X-Roles": "admin"} if project else {}
        since = self.revision() if method != "GET" else 0
        answer = self.api.request(method, path, json=body, headers=headers)
        assert answer.status_code < 300, answer.text
        if method != "GET":
            self.converge(since)
        return answer.json() if answer.content else None

    def network(self, *, project: str = "") -> str:
        body = {"network": {"name": f"{self.tag}-net"}}
        return str(self.call("POST", "/networks", body, project=project)["network"]["id"])

    def subnet(self, network_id: str, cidr: str, *, project: str = "") -> str:
        version = 6 if ":" in cidr else 4
        body = {"subnet": {"network_id": network_id, "cidr": cidr, "ip_version": version}}
        return str(self.call("POST", "/subnets", body, project=project)["subnet"]["id"])

    def router(self, *subnets: str, project: str = "") -> str:
        router_id = self.call("POST", "/routers", {"router": {}}, project=project)["router"]["id"]
        for subnet_id in subnets:
            self.call(
                "PUT",
                f"/routers/{router_id}/add_router_interface",
                {"subnet_id": subnet_id},
                project=project,
            )
        return str(router_id)

    def group(self, *rules: dict[str, Any], project: str = "") -> str:
        """A security group (with Neutron's default egress rules) and these ingress rules."""
        body = {"security_group": {"name": f"{self.tag}-sg"}}
        group_id = self.call("POST", "/security-groups", body, project=project)
        group_id = group_id["security_group"]["id"]
        for rule in rules:
            self.rule(group_id, project=project, **rule)
        return str(group_id)

    def rule(self, group_id: str, *, project: str = "", **rule: Any) -> str:
        body = {
            "security_group_rule": {
                "security_group_id": group_id,
                "direction": "ingress",
                "ethertype": "IPv4",
                **rule,
            }
        }
        answer = self.call("POST", "/security-group-rules", body, project=project)
        return str(answer["security_group_rule"]["id"])

    def port(
        self,
        subnet_id: str,
        ip: str,
        host: Host,
        *,
        groups: list[str] | None = None,
        project: str = "",
        active: bool = True,
        **extra: Any,
    ) -> str:
        network_id = self.call("GET", f"/subnets/{subnet_id}", project=project)["subnet"][
            "network_id"
        ]
        fixed = [{"subnet_id": subnet_id, "ip_address": ip}]
        fixed += [{"subnet_id": s, "ip_address": a} for s, a in extra.pop("more_ips", ())]
        port: dict[str, Any] = {
            "network_id": network_id,
            "fixed_ips": fixed,
            "binding:host_id": host.id,
            "device_owner": "compute:nova",
            **extra,
        }
        if groups is not None:
            port["security_groups"] = groups
        answer = self.call("POST", "/ports", {"port": port}, project=project)["port"]
        port_id = str(answer["id"])
        if not active:
            return port_id
        eventually(
            lambda: (
                self.call("GET", f"/ports/{port_id}", project=project)["port"]["status"] == "ACTIVE"
            ),
            what=f"port {port_id} ACTIVE",
        )
        return port_id

    # --- traffic --------------------------------------------------------------------------------

    def ping(self, ns: str, ip: str, *, count: int = 1, wait: float = 1.0) -> bool:
        done = run(
            "ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(count), "-W", str(wait), ip,
            check=False, timeout=count * wait + 10,
        )  # fmt: skip
        return done.returncode == 0

    def pings(
        self, pairs: list[tuple[str, str]], *, wait: float = 1.0
    ) -> dict[tuple[str, str], bool]:
        """Many pings at once: (namespace, address) -> answered. A pair that gets no answer is
        tried once more (a loaded machine may be slow), so a False is two lost pings."""
        answered: dict[tuple[str, str], bool] = {}
        for attempt in (wait, 2 * wait):
            todo = [pair for pair in pairs if not answered.get(pair)]
            started = {pair: self._ping(*pair, wait=attempt) for pair in todo}
            answered.update(
                {pair: process.wait(timeout=attempt + 10) == 0 for pair, process in started.items()}
            )
        return answered

    def _ping(self, ns: str, ip: str, *, wait: float) -> subprocess.Popen[bytes]:
        command = ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", "1", "-W", str(wait), ip]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def serve(self, ns: str, port: int, answer: str) -> None:
        """A TCP server in ``ns`` that says ``answer`` to whoever connects."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", ns, "socat", f"TCP-LISTEN:{port},fork,reuseaddr",
             f"SYSTEM:echo {answer}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.processes.append(process)
        time.sleep(0.1)

    def connect(self, ns: str, ip: str, port: int, *, source: str = "") -> str:
        """What the server at ip:port says to a client in ``ns`` ('' if it cannot connect)."""
        bind = f",bind={source}" if source else ""
        done = run(
            "ip", "netns", "exec", ns, "socat", "-T", "2", "-",
            f"TCP:{ip}:{port},connect-timeout=1{bind}",
            check=False, timeout=10,
        )  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else ""

    # --- cleaning up --------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        listed = run("ip", "netns", "list", check=False).stdout.split("\n")
        return [line.split()[0] for line in listed if line.startswith(self.tag + "-")]

    def close(self) -> None:
        for host in self.hosts.values():
            host.stop_agent()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.api.close()
        doomed = "".join(f"netns del {name}\n" for name in self.namespaces())
        if doomed:
            subprocess.run(["ip", "-force", "-batch", "-"], input=doomed, text=True, check=False)
