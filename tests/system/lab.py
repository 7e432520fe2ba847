"""A lab of simulated hosts for system tests: network namespaces on an underlay bridge, each
running ``alcor agent --driver linux --endpoint-mode netns`` against a real ``alcor server``
(reached over ``unix:PATH`` with mutual TLS: each host's certificate is issued by ``alcor
certs`` as it is added), and a Neutron client for that server.

The machinery is ``alcor.lab`` (``alcor demo`` is built on it too); this is the tests' face of
it: a failure is an ``AssertionError``, processes are waited for.

Every name a lab makes begins with its own random tag (``t1a2b3c-``): the underlay namespace
``<tag>-ul``, the hosts ``<tag>-<name>`` (host ids too), and what their agents make
(``--netns-prefix <tag>-<name>-``). ``close`` stops every process the lab started and removes
every namespace with its tag, whatever state a failed test left. Traffic goes only to
addresses inside these namespaces.

Agents run under ``nsenter --net=...``: ``ip netns exec`` would give them a mount namespace of
their own, and the namespaces they make would not be usable outside it.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from alcor.lab import (
    certificates,
    cni,
    commands,
    errors,
    hosts,
    namespaces,
    neutron,
    processes,
    traffic,
    waiting,
)
from tests.servers import ServerProcess

TOOLS = (*commands.TOOLS, "socat")
UNDERLAY = "192.0.2.{}"
WAIT = waiting.WAIT
run = commands.run  # CommandFailed is a CalledProcessError


def unusable() -> str:
    """Why system tests cannot run here ('' when they can)."""
    return commands.unusable(TOOLS)


@contextlib.contextmanager
def _asserting() -> Iterator[None]:
    """The lab's failures as test failures."""
    try:
        yield
    except errors.LabError as error:
        raise AssertionError(str(error)) from error


def eventually(probe: Callable[[], Any], *, timeout: float = WAIT, what: str = "") -> Any:
    """``probe()``'s first true value, tried until ``timeout``."""
    with _asserting():
        return waiting.eventually(probe, timeout=timeout, what=what)


class Host(hosts.Host):
    """A lab host; its agent has a certificate for its host id (and the physical networks it
    maps, which its node is registered with)."""

    def __init__(
        self,
        lab: Lab,
        name: str,
        number: int,
        *,
        mode: str = "netns",
        args: tuple[str, ...] = (),
        physical_networks: tuple[str, ...] = (),
    ) -> None:
        host_id = f"{lab.tag}-{name}"  # host id and namespace
        tls = lab.pki.host_args(host_id, physical_networks=physical_networks)
        super().__init__(
            name=name,
            id=host_id,
            ip=UNDERLAY.format(10 + number),
            controller=lab.server.southbound,
            folder=lab.tmp,
            mode=mode,
            args=(*tls, *args),
        )
        self.lab = lab


class Lab:
    def __init__(self, server: ServerProcess, tmp: Path, *, pki: certificates.Pki) -> None:
        self.server = server
        self.pki = pki
        self.tmp = tmp
        self.tag = "t" + secrets.token_hex(3)
        self.underlay = f"{self.tag}-ul"
        self.hosts: dict[str, Host] = {}
        self.processes: list[subprocess.Popen[Any]] = []
        self.api = httpx.Client(base_url=server.url + "/v2.0", timeout=30.0)
        self.neutron = neutron.Neutron(server.url, hosts=self._running_hosts)
        namespaces.make_underlay(self.underlay)

    # --- hosts ----------------------------------------------------------------------------------

    def add_hosts(
        self,
        *names: str,
        mode: str = "netns",
        args: tuple[str, ...] = (),
        physical_networks: tuple[str, ...] = (),
        start: bool = True,
    ) -> list[Host]:
        """Hosts on the underlay, their agents started (unless not ``start``: the test makes
        what the agent needs first, then calls ``start_agent`` and ``wait_connected``)."""
        made = []
        for name in names:
            host = Host(
                self,
                name,
                len(self.hosts) + 1,
                mode=mode,
                args=args,
                physical_networks=physical_networks,
            )
            self.hosts[name] = host
            namespaces.plug_host(underlay=self.underlay, ns=host.ns, name=name, ip=host.ip)
            if start:
                host.start_agent()
            made.append(host)
        for host in made:
            if start:
                self.wait_connected(host)
        return made

    def api_in(self, host: Host) -> str:
        """The controller's API as ``host`` reaches it (a relay into its namespace), for what
        runs there and calls it: ``alcor-cni``."""
        relay = self.tmp / "api.sock"
        if not relay.exists():
            self.processes.append(
                cni.api_relay(self.server.url, socket_path=relay, log=self.tmp / "relay.log")
            )
            eventually(relay.exists, what="the API relay's socket")
        self.processes.append(
            cni.api_in(host.ns, socket_path=relay, log=self.tmp / f"relay-{host.name}.log")
        )
        return cni.node_api()

    def cni_daemon(self, host: Host) -> str:
        """``alcor cni-daemon`` on ``host``; its socket (the conflist's ``daemon_socket``)."""
        path = self.tmp / f"cni-{host.name}.sock"
        log = self.tmp / f"cni-daemon-{host.name}.log"
        self.processes.append(cni.daemon(host.ns, socket_path=path, log=log))
        return str(path)

    def wait_connected(self, host: Host) -> None:
        with _asserting():
            self.neutron.wait_connected(
                host.id, what=f"{host.id} to connect (log: {host.log_path})"
            )

    def _running_hosts(self) -> list[str]:
        return [host.id for host in self.hosts.values() if host.running()]

    # --- the controller -----------------------------------------------------------------------

    def revision(self) -> int:
        with _asserting():
            return self.neutron.revision()

    def converge(self, since: int) -> None:
        """Wait until the controller took in a change after ``since`` and every host of the
        lab acknowledged everything it was given."""
        with _asserting():
            self.neutron.converge(since)

    def call(self, method: str, path: str, body: Any = None, *, project: str = "") -> Any:
        with _asserting():
            return self.neutron.call(method, path, body, project=project)

    def network(self, *, project: str = "") -> str:
        with _asserting():
            return self.neutron.network(name=f"{self.tag}-net", project=project)

    def subnet(self, network_id: str, cidr: str, *, project: str = "") -> str:
        with _asserting():
            return self.neutron.subnet(network_id, cidr, project=project)

    def router(self, *subnets: str, project: str = "") -> str:
        with _asserting():
            return self.neutron.router(*subnets, project=project)

    def group(self, *rules: dict[str, Any], project: str = "") -> str:
        """A security group (with Neutron's default egress rules) and these ingress rules."""
        with _asserting():
            return self.neutron.group(*rules, name=f"{self.tag}-sg", project=project)

    def rule(self, group_id: str, *, project: str = "", **rule: Any) -> str:
        with _asserting():
            return self.neutron.rule(group_id, project=project, **rule)

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
        with _asserting():
            return self.neutron.port(
                subnet_id, ip, host.id, groups=groups, project=project, active=active, **extra
            )

    # --- traffic --------------------------------------------------------------------------------

    def ping(self, ns: str, ip: str, *, count: int = 1, wait: float = 1.0) -> bool:
        return traffic.ping(ns, ip, count=count, wait=wait)

    def pings(
        self, pairs: list[tuple[str, str]], *, wait: float = 1.0
    ) -> dict[tuple[str, str], bool]:
        """Many pings at once: (namespace, address) -> answered. A pair that gets no answer is
        tried once more (a loaded machine may be slow), so a False is two lost pings."""
        return traffic.pings(pairs, wait=wait)

    def _ping(self, ns: str, ip: str, *, wait: float) -> subprocess.Popen[bytes]:
        return traffic.start_ping(ns, ip, wait=wait)

    def serve(self, ns: str, port: int, answer: str, *, protocol: str = "tcp") -> None:
        """A TCP (or UDP) server in ``ns`` that says ``answer`` to whoever connects."""
        self.processes.append(traffic.serve(ns, port, answer, protocol=protocol))

    def connect(self, ns: str, ip: str, port: int, *, source: str = "") -> str:
        """What the server at ip:port says to a client in ``ns`` ('' if it cannot connect)."""
        return traffic.connect(ns, ip, port, source=source)

    # --- cleaning up --------------------------------------------------------------------------

    def namespaces(self) -> list[str]:
        return namespaces.listed(self.tag + "-")

    def close(self) -> None:
        for host in self.hosts.values():
            host.stop_agent()
        for process in self.processes:
            processes.stop(process, wait=5)
        self.api.close()
        namespaces.remove(self.tag + "-")
        processes.stop_daemons(self.tag + "-")
