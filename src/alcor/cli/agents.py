"""``alcor agent`` (one host agent) and ``alcor sim`` (N recording agents in one process): their
options, parsed once into the agent's settings, and the wiring.

TLS: ``alcor agent`` reads its host's certificate and key and the CA (``--tls-*``) once, at
start (a rotated certificate is taken by restarting the agent). ``alcor sim`` either runs
plaintext over one shared channel (a controller on loopback or a unix socket, its hosts made
nodes beforehand: plaintext hosts are not registered), or, given the CA's key
(``--tls-ca-key``), issues each simulated host its own certificate in memory, valid for a day,
and opens one TLS channel per host: a test tool that holds the CA's key can be any host, so
it is for test controllers only."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import math
import random
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from alcor.agent import admin_socket, drivers, running, stream
from alcor.agent import metrics as agent_metrics
from alcor.agent.drivers import linux, recording
from alcor.cli import agent_health, exposition, logs, startup
from alcor.southbound import certificates

DEFAULT_CONTROLLER = "127.0.0.1:9697"


def _controllers(text: str) -> list[str]:
    try:
        return [stream.channel_target(part.strip()) for part in text.split(",")]
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _backoff(text: str) -> tuple[float, float]:
    first, _, cap = text.partition(":")
    try:
        initial, maximum = float(first), float(cap)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX seconds, got {text!r}") from None
    if not 0 < initial <= maximum:
        raise argparse.ArgumentTypeError(f"expected 0 < MIN <= MAX, got {text!r}")
    return initial, maximum


def _bridge_mapping(text: str) -> tuple[str, str]:
    physical_network, _, bridge = text.partition(":")
    if not physical_network or not bridge or ":" in bridge:
        raise argparse.ArgumentTypeError(f"expected PHYSNET:BRIDGE, got {text!r}")
    return physical_network, bridge


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _add_common(command: argparse.ArgumentParser, *, log_level: str) -> None:
    command.add_argument(
        "--bridge-mapping",
        type=_bridge_mapping,
        action="append",
        default=[],
        metavar="PHYSNET:BRIDGE",
        help="the host's bridge for a flat physical network (repeatable): told to the controller, "
        "which serves the external gateways of routers on that network from such hosts",
    )
    command.add_argument(
        "--controller",
        type=_controllers,
        action="extend",
        metavar="ADDR[,ADDR...]",
        help="the controller's southbound address, HOST:PORT or unix:PATH; repeatable or a "
        "comma list for several southbound replicas: a stream that fails moves to the next, "
        f"a redirect from one replica to another is followed ({DEFAULT_CONTROLLER})",
    )
    command.add_argument(
        "--heartbeat-interval", type=_positive, default=10.0, metavar="S", help="seconds (10)"
    )
    command.add_argument(
        "--reconnect-backoff",
        type=_backoff,
        default=(0.1, 10.0),
        metavar="MIN:MAX",
        help="reconnect waits: full jitter over MIN * 2^n, capped at MAX seconds (0.1:10)",
    )
    command.add_argument(
        "--fail-ports",
        default="",
        metavar="GLOB",
        help="recording driver: fail the ports whose id or device_id matches (for ERROR tests)",
    )
    command.add_argument(
        "--status-file",
        type=Path,
        metavar="PATH",
        help="keep a JSON summary of the hosts here, replaced every --status-interval",
    )
    command.add_argument(
        "--retry-interval",
        type=_positive,
        default=5.0,
        metavar="S",
        help="while resources stand failed, the driver tries them again every S seconds (5)",
    )
    command.add_argument("--status-interval", type=_positive, default=1.0, metavar="S")
    command.add_argument(
        "--tls-ca",
        type=Path,
        metavar="PEM",
        help="mutual TLS: the CA that signed the controller's certificate (`alcor certs init`)",
    )
    command.add_argument(
        "--tls-server-name",
        default="",
        metavar="NAME",
        help="the name the controllers' certificates must carry (default: each address's "
        "host; localhost over a unix socket)",
    )
    logs.add_options(command, level=log_level)
    exposition.add_option(command)


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    agent = commands.add_parser("agent", help="run a host agent")
    agent.add_argument("--host-id", required=True, metavar="H")
    agent.add_argument("--driver", required=True, choices=("recording", "linux"))
    agent.add_argument("--underlay-ip", default="", metavar="IP", help="this host's VXLAN address")
    agent.add_argument(
        "--endpoint-mode",
        choices=linux.ENDPOINT_MODES,
        default="tap",
        help="linux driver: attach the tap named after each port (Nova's), or make a network "
        "namespace per port (tap)",
    )
    agent.add_argument(
        "--endpoint-addressing",
        choices=linux.ENDPOINT_ADDRESSING,
        default="static",
        help="linux driver, netns endpoints: set the ports' addresses (static), or run a DHCP "
        "client in each namespace for its address on a subnet with DHCP (dhcp)",
    )
    agent.add_argument(
        "--state-dir",
        default="",
        metavar="DIR",
        help="linux driver: where the DHCP servers and clients keep their files "
        "(/run/alcor-agent/<host id>)",
    )
    agent.add_argument(
        "--netns-prefix",
        default="",
        metavar="P",
        help="linux driver: the names of the namespaces it makes begin with P (alcor-<host id>-)",
    )
    agent.add_argument(
        "--tls-cert",
        type=Path,
        metavar="PEM",
        help="this host's certificate (`alcor certs issue --host-id H`), with --tls-ca/--tls-key",
    )
    agent.add_argument("--tls-key", type=Path, metavar="PEM", help="this host's private key")
    agent.add_argument(
        "--admin-socket",
        nargs="?",
        const=admin_socket.DEFAULT_PATH,
        default="",
        metavar="PATH",
        help="serve a read-only admin endpoint on this unix socket (mode 0600; root and this "
        f"agent's user only), for `alcor trace PORT --agent` ({admin_socket.DEFAULT_PATH} "
        "when given without a path)",
    )
    _add_common(agent, log_level="info")
    sim = commands.add_parser("sim", help="simulate N hosts with recording agents in one process")
    sim.add_argument("--hosts", type=int, required=True, metavar="N")
    sim.add_argument("--prefix", default="sim-", metavar="P", help="hosts are P0 .. P{N-1}")
    sim.add_argument(
        "--underlay-base",
        default="10.255.0.0",
        metavar="IP",
        help="host i gets underlay address IP + 1 + i (10.255.0.0)",
    )
    sim.add_argument(
        "--status-detail",
        default="",
        metavar="GLOB",
        help="hosts whose recorded data plane the status file holds (none)",
    )
    sim.add_argument(
        "--progress-interval", type=float, default=5.0, metavar="S", help="0: no progress lines"
    )
    sim.add_argument(
        "--tls-ca-key",
        type=Path,
        metavar="PEM",
        help="with --tls-ca: the CA's key, to issue each simulated host a certificate of its own "
        "in memory (one TLS channel per host); without: plaintext, one shared channel",
    )
    _add_common(sim, log_level="warning")


def _settings(args: argparse.Namespace, host_id: str, underlay_ip: str) -> stream.Settings:
    initial, maximum = args.reconnect_backoff
    return stream.Settings(
        host_id=host_id,
        underlay_ip=underlay_ip,
        heartbeat_interval=args.heartbeat_interval,
        retry_interval=args.retry_interval,
        physical_networks=tuple(sorted({name for name, _ in args.bridge_mapping})),
        backoff_initial=initial,
        backoff_max=maximum,
    )


class Readiness:
    """An agent process's ``/readyz``: every host connected to a controller, having applied a
    goal state since the process started, and holding no resource failed to program; judged
    by ``alcor agent-health --ready``'s rule on the status document the agent writes."""

    def __init__(self, agents: Sequence[stream.Agent]) -> None:
        self._agents = agents

    async def reason(self) -> str:
        document = running.status_document(self._agents, detail="")
        return agent_health.verdict(document, now=time.time(), max_age=math.inf, ready=True)


async def _run(
    args: argparse.Namespace,
    hosts: list[tuple[str, str]],
    reporting: running.Reporting,
    tls: list[stream.ClientTls] | None,
    metrics_socket: socket.socket | None = None,
) -> None:
    settings = [_settings(args, host_id, ip) for host_id, ip in hosts]
    addresses = args.controller or [DEFAULT_CONTROLLER]
    if tls is None:
        shared = stream.Controllers(addresses, settings[0])
        controllers = [shared] * len(settings)
    else:  # a certificate is a connection's: channels of its own for each host
        controllers = [
            stream.Controllers(addresses, host, tls=host_tls)
            for host, host_tls in zip(settings, tls, strict=True)
        ]
    rng = random.Random()
    agents = [
        stream.Agent(
            settings=host,
            controllers=serving,
            driver=_driver(args, host),
            rng=rng,
        )
        for host, serving in zip(settings, controllers, strict=True)
    ]
    registry = None
    if metrics_socket is not None:
        registry = exposition.process_registry()
        agent_metrics.meter(agents, registry)
    async with exposition.serving(metrics_socket, registry, Readiness(agents), in_thread=False):
        await running.run(agents, controllers=list(dict.fromkeys(controllers)), reporting=reporting)


def _agent_tls(args: argparse.Namespace) -> list[stream.ClientTls] | None:
    """``alcor agent``'s TLS files, read (None when none were given; ValueError if partial)."""
    given = (args.tls_ca, args.tls_cert, args.tls_key)
    if not any(given):
        return None
    if not all(given):
        raise ValueError("--tls-ca, --tls-cert and --tls-key go together")
    ca, cert, key = (path.read_bytes() for path in given)
    return [stream.ClientTls(ca=ca, certificate=cert, key=key, server_name=args.tls_server_name)]


def _sim_tls(
    args: argparse.Namespace, hosts: list[tuple[str, str]]
) -> list[stream.ClientTls] | None:
    """``alcor sim``'s certificates: one per host, issued here by the CA whose key it holds."""
    if args.tls_ca is None and args.tls_ca_key is None:
        return None
    if args.tls_ca is None or args.tls_ca_key is None:
        raise ValueError("--tls-ca and --tls-ca-key go together")
    ca = certificates.Issued(key=args.tls_ca_key.read_bytes(), certificate=args.tls_ca.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    found = []
    for host_id, _ in hosts:
        issued = certificates.issue_host(ca, host_id, now=now, days=1)
        found.append(
            stream.ClientTls(
                ca=ca.certificate,
                certificate=issued.certificate,
                key=issued.key,
                server_name=args.tls_server_name,
            )
        )
    return found


def _driver(args: argparse.Namespace, host: stream.Settings) -> drivers.Driver:
    if getattr(args, "driver", "recording") == "linux":
        return linux.create(
            linux.HostSettings(
                host_id=host.host_id,
                underlay_ip=host.underlay_ip,
                endpoint_mode=args.endpoint_mode,
                endpoint_addressing=args.endpoint_addressing,
                netns_prefix=args.netns_prefix,
                bridge_mappings=dict(args.bridge_mapping),
                state_dir=args.state_dir,
            )
        )
    return recording.RecordingDriver(host.host_id, fail_ports=args.fail_ports)


def _linux_unusable(args: argparse.Namespace) -> str:
    if not args.underlay_ip:
        return "--driver linux needs --underlay-ip"
    missing = linux.missing_tools()
    return f"--driver linux needs {', '.join(missing)} (not found)" if missing else ""


def main(args: argparse.Namespace) -> int:
    """Run ``alcor agent`` or ``alcor sim``; 1 when the controller refused a host."""
    if args.command == "agent":
        unusable = _linux_unusable(args) if args.driver == "linux" else ""
        if unusable:
            print(f"alcor agent: {unusable}", file=sys.stderr)
            return 2
        hosts = [(args.host_id, args.underlay_ip)]
        reporting = running.Reporting(
            status_file=args.status_file,
            status_interval=args.status_interval,
            detail="*",
            admin_socket=args.admin_socket,
        )
    else:
        if args.hosts < 1:
            print("alcor sim: --hosts must be at least 1", file=sys.stderr)
            return 2
        try:
            hosts = running.sim_hosts(args.prefix, args.hosts, args.underlay_base)
        except ValueError as error:
            print(f"alcor sim: {error}", file=sys.stderr)
            return 2
        reporting = running.Reporting(
            status_file=args.status_file,
            status_interval=args.status_interval,
            detail=args.status_detail,
            progress_interval=args.progress_interval,
        )
    try:
        tls = _agent_tls(args) if args.command == "agent" else _sim_tls(args, hosts)
    except (OSError, ValueError) as error:
        print(f"alcor {args.command}: TLS: {error}", file=sys.stderr)
        return 2
    try:
        metrics_socket = exposition.listening(args)
    except startup.CannotStart as error:
        print(f"alcor {args.command}: {error}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_run(args, hosts, reporting, tls, metrics_socket))
    except stream.Refused as refused:
        print(f"alcor {args.command}: {refused}", file=sys.stderr)
        return 1
    except running.CannotListen as error:
        print(f"alcor {args.command}: {error}", file=sys.stderr)
        return 2
    return 0
