"""``alcor demo`` (root): the whole system on one machine, to see it work.

It issues the southbound's CA and certificates (``alcor certs``, in ``<state dir>/pki``),
starts a controller (``alcor server``, SQLite in the state directory, REST on loopback, the
southbound on ``unix:<state dir>/southbound.sock`` with mutual TLS), makes an underlay namespace
with a bridge and two host namespaces on it (every name begins with ``--prefix``), starts
``alcor agent --driver linux --endpoint-mode netns`` with its host's certificate in each host,
creates through the REST API the reference topology (one VPC: two subnets joined by a router, a
security group letting ICMP in, two endpoints per subnet, one of each subnet per host), waits
until the ports are ACTIVE and prints who pings whom.

The controller and the agents keep running after it returns, so one can try things: they are
started in sessions of their own, their pids (``*.pid``) and logs (``*.log``) in the state
directory. When ``alcor demo`` exits, the kernel hands them to PID 1 (or the nearest subreaper),
which reaps them once ``--down`` stops them: on a machine whose PID 1 does not reap, each leaves
a zombie until reboot (run it under an init that reaps, e.g. ``docker run --init``).

``alcor demo --down`` stops every ``alcor`` process whose command line names the state
directory (SIGTERM, then SIGKILL), removes every namespace with the prefix and the state
directory, and says what it removed; it is idempotent. A failing ``alcor demo`` removes what
it made and exits 1 with the reason; one that finds a demo up refuses (``--down`` first).

Exit status: 0 when every pair pinged (``--down``: when all is removed), 1 otherwise, 2 when the
machine cannot run it (not root, tools missing).
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import msgspec

from alcor.cli import logs
from alcor.lab import (
    certificates,
    commands,
    controllers,
    errors,
    hosts,
    namespaces,
    neutron,
    ping_matrix,
    processes,
    reference,
    waiting,
)

DEFAULT_STATE_DIR = Path("/run/alcor-demo")
DEFAULT_PREFIX = "alcor-demo-"
MARKER = "demo.json"  # says a folder is a demo's state directory, and with which prefix
HOSTS = (("h1", "192.0.2.11"), ("h2", "192.0.2.12"))
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes


def _prefix(text: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}-", text):
        raise argparse.ArgumentTypeError(
            f"expected 2-21 characters a-z, 0-9 or '-', ending with '-', got {text!r}"
        )
    return text


def _bind(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def add_parsers(commands_: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands_.add_parser(
        "demo",
        help="(root) simulated hosts, agents and one VPC on this machine, and who pings whom",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    demo.add_argument("--down", action="store_true", help="stop and remove a demo; idempotent")
    demo.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        metavar="DIR",
        help=f"the controller's database, pids, logs, sockets ({DEFAULT_STATE_DIR})",
    )
    demo.add_argument(
        "--prefix",
        type=_prefix,
        default=DEFAULT_PREFIX,
        metavar="P",
        help=f"every namespace the demo makes begins with P ({DEFAULT_PREFIX})",
    )
    demo.add_argument(
        "--api-bind",
        type=_bind,
        metavar="HOST:PORT",
        help="the REST API's address (default: a free port on 127.0.0.1)",
    )
    logs.add_options(demo, level="warning")


def main(args: argparse.Namespace) -> int:
    state_dir = args.state_dir.absolute()
    problem = commands.unusable(("ip",) if args.down else commands.TOOLS)
    if problem:
        print(f"alcor demo: {problem}", file=sys.stderr)
        return 2
    if args.down:
        return down(state_dir, args.prefix)
    return up(state_dir, args.prefix, api_bind=args.api_bind)


# --- up -------------------------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _refusal(state_dir: Path, prefix: str) -> str:
    """Why a demo cannot be made with this state directory and prefix ('' if it can)."""
    if len(str(state_dir / "southbound.sock")) > SOCKET_PATH_MAX:
        return f"{state_dir} is too long a path for a unix socket in it; choose a shorter one"
    again = f"`{_down_command(state_dir, prefix)}` first"
    found = namespaces.listed(prefix)
    if found:
        return f"a demo is up (namespaces {', '.join(found[:3])}...): {again}"
    if processes.find(_marks(state_dir)):
        return f"a demo is up (processes using {state_dir}): {again}"
    if state_dir.exists() and any(state_dir.iterdir()) and not (state_dir / MARKER).exists():
        return f"{state_dir} exists and is not a demo's state directory; choose another"
    return ""


class Demo:
    """What one ``alcor demo`` made, so that it can be removed if it fails."""

    def __init__(self, state_dir: Path, prefix: str) -> None:
        self.state_dir = state_dir
        self.prefix = prefix
        self.controller: controllers.Controller | None = None
        self.hosts: list[hosts.Host] = []

    def build(self, api_bind: tuple[str, int] | None) -> tuple[neutron.Neutron, reference.Vpc]:
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)  # a stale one: nothing runs, no namespaces
        self.state_dir.mkdir(parents=True)
        self.record(prefix=self.prefix)
        _say(f"issuing the southbound's CA and certificates ({self.state_dir / 'pki'}) ...")
        pki = certificates.Pki(self.state_dir / "pki").init()
        _say(f"starting the controller (state in {self.state_dir}) ...")
        self.controller = controllers.start(
            self.state_dir, bind=api_bind, detach=True, extra=pki.server_args()
        )
        self._pid_file("controller", self.controller.process.pid)
        api = neutron.Neutron(self.controller.url, hosts=self._running_hosts)
        _say(f"making namespaces {self.prefix}* and starting an agent in each host ...")
        underlay = f"{self.prefix}ul"
        namespaces.make_underlay(underlay)
        for name, ip in HOSTS:
            host = hosts.Host(
                name=name,
                id=f"{self.prefix}{name}",
                ip=ip,
                controller=self.controller.southbound,
                folder=self.state_dir,
                args=pki.host_args(f"{self.prefix}{name}"),
            )
            self.hosts.append(host)
            namespaces.plug_host(underlay=underlay, ns=host.ns, name=name, ip=ip)
            self._pid_file(name, host.start_agent(detach=True).pid)
        for host in self.hosts:
            _wait_connected(api, host)
        _say("creating through the API: 2 networks and subnets, a router, a group, 4 ports ...")
        vpc = reference.build(api, self.hosts[0], self.hosts[1], name="demo")
        self.record(prefix=self.prefix, api=self.controller.url)
        return api, vpc

    def _running_hosts(self) -> list[str]:
        return [host.id for host in self.hosts if host.running()]

    def _pid_file(self, name: str, pid: int) -> None:
        (self.state_dir / f"{name}.pid").write_text(f"{pid}\n")

    def record(self, **facts: Any) -> None:
        (self.state_dir / MARKER).write_bytes(msgspec.json.encode(facts))

    def tear_down(self) -> None:
        for host in self.hosts:
            host.stop_agent()
        if self.controller is not None:
            processes.stop(self.controller.process)
        namespaces.remove(self.prefix)
        processes.stop_daemons(self.prefix)
        shutil.rmtree(self.state_dir, ignore_errors=True)


def _wait_connected(api: neutron.Neutron, host: hosts.Host) -> None:
    def connected() -> bool:
        if not host.running():
            tail = host.log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise errors.NotStarted(f"the agent of {host.id} exited: " + "\n".join(tail))
        report = api.host_report(host.id)
        return bool(report and report["connected"])

    waiting.eventually(connected, what=f"the agent of {host.id} to connect (log {host.log_path})")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def up(state_dir: Path, prefix: str, *, api_bind: tuple[str, int] | None) -> int:
    refusal = _refusal(state_dir, prefix)
    if refusal:
        print(f"alcor demo: {refusal}", file=sys.stderr)
        return 1
    demo = Demo(state_dir, prefix)
    signal.signal(signal.SIGTERM, _interrupt)  # so that a SIGTERM tears down too
    try:
        api, vpc = demo.build(api_bind)
        _say("pinging every endpoint from every other one ...")
        answered = vpc.ping_all()
    except (Exception, KeyboardInterrupt) as error:
        reason = str(error) if isinstance(error, errors.LabError) else repr(error)
        print(f"alcor demo: {reason}\nalcor demo: removing what it made", file=sys.stderr)
        demo.tear_down()
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    print(_report(vpc, answered, api=api.url, state_dir=state_dir, prefix=prefix))
    return 0 if all(answered.values()) else 1


def _report(
    vpc: reference.Vpc,
    answered: dict[tuple[str, str], bool],
    *,
    api: str,
    state_dir: Path,
    prefix: str,
) -> str:
    endpoints = vpc.endpoints
    members = [ping_matrix.Member(e.name, e.ip, e.host.name) for e in endpoints]
    listed = [
        f"  {e.name}  {e.ip:<10}  host {e.host.name} ({e.host.id}, {e.host.ip})  netns {e.netns}"
        for e in endpoints
    ]
    first, last = endpoints[0], endpoints[-1]
    return "\n".join(
        [
            "Alcor demo: one VPC, subnets 10.0.1.0/24 and 10.0.2.0/24 joined by a router,",
            "an endpoint of each subnet on each of two hosts, ICMP allowed in.",
            "",
            *listed,
            "",
            "Ping matrix (each row pings each column):",
            ping_matrix.render(members, answered),
            "",
            "Try it yourself:",
            f"  sudo ip netns exec {first.netns} ping {last.ip}",
            f"  curl -s {api}/v2.0/ports",
            f"  openstack --os-auth-type none --os-endpoint {api} port list",
            f"  logs and pids: {state_dir}",
            f"  sudo {_down_command(state_dir, prefix)}    # stop it and remove it all",
        ]
    )


def _down_command(state_dir: Path, prefix: str) -> str:
    command = "alcor demo --down"
    if state_dir != DEFAULT_STATE_DIR:
        command += f" --state-dir {state_dir}"
    if prefix != DEFAULT_PREFIX:
        command += f" --prefix {prefix}"
    return command


# --- down -----------------------------------------------------------------------------------------


def down(state_dir: Path, prefix: str) -> int:
    """Stop the demo's processes, remove its namespaces and state directory; say what."""
    marker = state_dir / MARKER
    prefixes = [prefix]
    try:
        recorded = str(msgspec.json.decode(marker.read_bytes()).get("prefix", ""))
    except (OSError, msgspec.DecodeError, AttributeError):
        recorded = ""
    if recorded and recorded != prefix and _prefix_ok(recorded):
        prefixes.append(recorded)
    did = False
    names = _pid_files(state_dir)
    for pid in sorted(set(processes.find(_marks(state_dir))) | set(names)):
        if processes.stop_pid(pid, marks=_marks(state_dir)):
            print(f"stopped {names.get(pid, 'process')} (pid {pid})")
            did = True
    for each in prefixes:
        removed = namespaces.remove(each)
        if removed:
            print(f"removed {len(removed)} namespaces {each}*")
            did = True
        stopped = processes.stop_daemons(each)
        if stopped:
            print(f"stopped {len(stopped)} DHCP daemons of hosts {each}*")
            did = True
    if state_dir.exists():
        if not marker.exists() and any(state_dir.iterdir()):
            print(f"alcor demo: left {state_dir}: not a demo's state directory", file=sys.stderr)
            return 1
        shutil.rmtree(state_dir)
        print(f"removed {state_dir}")
        did = True
    if not did:
        print(f"nothing to remove: no demo with state in {state_dir} or namespaces {prefix}*")
    return 0


def _marks(state_dir: Path) -> tuple[str, ...]:
    """What the command line of a process of the demo holds: an ``alcor`` command, and a path
    in the state directory."""
    return ("alcor.cli.main", f"{state_dir}/")


def _prefix_ok(text: str) -> bool:
    try:
        return bool(_prefix(text))
    except argparse.ArgumentTypeError:
        return False


def _pid_files(state_dir: Path) -> dict[int, str]:
    """pid -> what it is (``controller``, ``agent of h1``), from the state directory."""
    named = {}
    for path in state_dir.glob("*.pid"):
        text = path.read_text().strip()
        if text.isdigit():
            named[int(text)] = path.stem if path.stem == "controller" else f"agent of {path.stem}"
    return named
