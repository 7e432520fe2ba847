"""``alcor``: run the controller (``alcor server``), host agents (``alcor agent``, ``alcor sim``),
load nodes (``alcor nodes``) and see it all work on one machine (``alcor demo``).

Configuration is parsed once here into frozen settings and handed down; nothing below reads the
command line or the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

import uvicorn
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp

from alcor.api import health, keystone, request_ids
from alcor.api import metrics as api_metrics
from alcor.api.app import create_app
from alcor.cli import (
    agent_health,
    agents,
    certs,
    cni,
    config,
    configuration,
    demo,
    exposition,
    hosts,
    logs,
    metering,
    nodes,
    ports,
    roles,
    southbound_options,
    startup,
    trace,
)
from alcor.model import dns, errors, limits, mtus, quotas
from alcor.services.allocation import Allocations
from alcor.services.controller import Controller
from alcor.services.quota_limits import QuotaLimits
from alcor.services.resources import Context, Settings
from alcor.services.status import StatusBoard, StatusView
from alcor.southbound import serving
from alcor.store.committing import SqlStore, utc_now

log = logging.getLogger("alcor")


def _bind(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _range(text: str) -> tuple[int, int]:
    first, _, last = text.partition(":")
    try:
        return int(first), int(last)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIRST:LAST, got {text!r}") from None


def _physical_mtu(text: str) -> int:
    try:
        mtu = int(text)
    except ValueError:
        mtu = 0
    if not 1280 <= mtu <= 65535:
        raise argparse.ArgumentTypeError(f"expected an MTU from 1280 to 65535, got {text!r}")
    return mtu


def _dns_domain(text: str) -> str:
    try:
        return dns.dns_domain(dns.domain_option(text))
    except errors.InvalidInput as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _quota(text: str) -> tuple[str, int]:
    try:
        return quotas.parse_default(text)
    except errors.InvalidInput as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _option(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


_LIMIT_OPTIONS = {  # flag: help; the default and the attribute come from limits.Limits
    "--max-body-size": "bytes of a request body; larger ones are refused with 413",
    "--max-bulk": "resources in one bulk POST",
    "--max-fixed-ips-per-port": "fixed IPs of a port (and of a router's gateway)",
    "--max-allowed-address-pair": "allowed address pairs of a port (Neutron's option)",
    "--max-dns-nameservers": "DNS nameservers of a subnet (Neutron's option)",
    "--max-subnet-host-routes": "host routes of a subnet (Neutron's option)",
    "--max-routes": "extra routes of a router (Neutron's option)",
}


def _limit_field(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def _add_limit_options(server: argparse.ArgumentParser) -> None:
    group = server.add_argument_group(
        "limits", "what one request may ask for; the defaults are Neutron's where it has one"
    )
    defaults = limits.Limits()
    for flag, text in _LIMIT_OPTIONS.items():
        default = getattr(defaults, _limit_field(flag))
        group.add_argument(
            flag, type=_positive, default=default, metavar="N", help=f"{text} ({default})"
        )


def limits_from(args: argparse.Namespace) -> limits.Limits:
    return limits.Limits(
        **{_limit_field(flag): getattr(args, _limit_field(flag)) for flag in _LIMIT_OPTIONS}
    )


def _add_auth_options(server: argparse.ArgumentParser) -> None:
    auth = server.add_argument_group(
        "authentication",
        "noauth (default): no token; a request acts as the project in its X-Project-Id header "
        "(with the roles in X-Roles), or as admin of --default-project without one. keystone: "
        "every /v2.0 request needs an X-Auth-Token that keystonemiddleware's auth_token "
        "validates against Keystone, as Neutron does; identity headers sent by clients are "
        "ignored. auth_token's [keystone_authtoken] options (as in neutron.conf) come from "
        "--keystone-config, then the options below override them.",
    )
    auth.add_argument("--auth-strategy", choices=("noauth", "keystone"), default="noauth")
    auth.add_argument(
        "--keystone-config",
        metavar="FILE",
        help="INI file with a [keystone_authtoken] section (auth_type, auth_url, username, "
        "password, project_name, user_domain_name, project_domain_name, www_authenticate_uri, "
        "memcached_servers, token_cache_time, ...)",
    )
    auth.add_argument(
        "--keystone-url",
        metavar="URL",
        help="Keystone's identity endpoint (auth_url and www_authenticate_uri), "
        "e.g. http://keystone:5000/v3",
    )
    auth.add_argument(
        "--keystone-username", help="service user validating tokens (auth_type password)"
    )
    auth.add_argument(
        "--keystone-password",
        help="its password: in the configuration file or ALCOR_SERVER_KEYSTONE_PASSWORD, or "
        "--keystone-config (on the command line, other local users see it)",
    )
    auth.add_argument("--keystone-project", help="its project (project_name), e.g. service")
    auth.add_argument(
        "--keystone-option",
        metavar="NAME=VALUE",
        type=_option,
        action="append",
        default=[],
        help="any other [keystone_authtoken] option, repeatable "
        "(e.g. memcached_servers=127.0.0.1:11211, user_domain_name=Default)",
    )


def keystone_settings_from(args: argparse.Namespace) -> keystone.KeystoneSettings:
    options: list[tuple[str, str]] = []
    if args.keystone_url:
        options += [("auth_url", args.keystone_url), ("www_authenticate_uri", args.keystone_url)]
    if args.keystone_username:
        options += [
            ("auth_type", "password"),
            ("username", args.keystone_username),
            ("user_domain_name", "Default"),
            ("project_domain_name", "Default"),
        ]
    for name, value in (
        ("password", args.keystone_password),
        ("project_name", args.keystone_project),
    ):
        if value is not None:
            options.append((name, value))
    return keystone.KeystoneSettings(
        config_file=args.keystone_config, options=(*options, *args.keystone_option)
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="alcor", description="Alcor virtual-networking control plane"
    )
    commands = top.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server", help="run the controller (Neutron API on HTTP)")
    server.add_argument(
        "--bind", type=_bind, default=("127.0.0.1", 9696), help="HOST:PORT (127.0.0.1:9696)"
    )
    server.add_argument(
        "--db", default="sqlite:///alcor.db", help="SQLAlchemy URL (sqlite:///alcor.db)"
    )
    server.add_argument(
        "--sync",
        choices=("full", "normal"),
        default="full",
        help="SQLite durability: full fsyncs every commit (default); normal may lose the last "
        "commits on power loss, never on a process crash",
    )
    server.add_argument(
        "--default-project", default="admin", help="project of unauthenticated requests"
    )
    server.add_argument("--mac-base", default="fa:16:3e:00:00:00")
    server.add_argument("--vni-range", type=_range, default=(1000, 16_777_215), help="FIRST:LAST")
    server.add_argument(
        "--physical-mtu",
        type=_physical_mtu,
        default=mtus.PHYSICAL_MTU,
        help="the MTU of the hosts' physical networks (Neutron's global_physnet_mtu, "
        f"{mtus.PHYSICAL_MTU}): a VXLAN network carries 50 bytes less, a flat one as much",
    )
    server.add_argument(
        "--dns-domain",
        type=_dns_domain,
        default=dns.DEFAULT_DOMAIN,
        metavar="DOMAIN",
        help="the domain of ports' names (Neutron's dns_domain, openstacklocal): a port's "
        "addresses are <dns_name or host-<address>>.<domain> (dns_assignment) and the hosts' "
        "DHCP servers answer those names; as in Neutron, ports keep a dns_name only under "
        "another domain than openstacklocal",
    )
    server.add_argument(
        "--quota",
        metavar="RESOURCE=N",
        type=_quota,
        action="append",
        default=[],
        help="default quota of every project for one resource, repeatable (-1: unlimited), "
        "e.g. --quota port=1000 --quota router=-1. Resources and Neutron's defaults, used for "
        "those not given: "
        + ", ".join(f"{name} {limit}" for name, limit in quotas.NEUTRON_DEFAULTS.items())
        + ". An admin overrides them per project with PUT /v2.0/quotas/PROJECT",
    )
    logs.add_options(server, level="info", access_log=True)
    roles.add_option(server)
    exposition.add_option(server)
    _add_limit_options(server)
    southbound_options.add_options(server)
    _add_auth_options(server)
    agents.add_parsers(commands)
    agent_health.add_parser(commands)
    nodes.add_parsers(commands)
    certs.add_parsers(commands)
    demo.add_parsers(commands)
    cni.add_parsers(commands)
    hosts.add_parser(commands)
    ports.add_parser(commands)
    trace.add_parser(commands)
    config.add_parsers(commands)
    configuration.add_option(top)
    return top


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        default_project=args.default_project,
        mac_base=args.mac_base,
        segment_range=args.vni_range,
        physical_mtu=args.physical_mtu,
        dns_domain=args.dns_domain,
        quota_defaults=quotas.merged(quotas.NEUTRON_DEFAULTS, dict(args.quota)),
        limits=limits_from(args),
    )


def build_controller(
    store: SqlStore, settings: Settings, *, board: StatusView | None = None
) -> Controller:
    allocations = Allocations(
        mac_base=settings.mac_base, segment_range=settings.segment_range, rng=random.Random()
    )
    return Controller(
        Context(
            store=store,
            allocations=allocations,
            settings=settings,
            now=utc_now,
            quotas=QuotaLimits(settings.quota_defaults),
            status=board or StatusBoard(),
        )
    )


class _Server(uvicorn.Server):
    """uvicorn's server, except that SIGTERM or SIGINT makes ``serve()`` return instead of being
    raised again once it has stopped (uvicorn's way), so what ``serve`` started afterwards (the
    southbound, the store) is closed too; and that ``/readyz`` says it is stopping from then."""

    def __init__(self, config: uvicorn.Config, *, readiness: health.Readiness) -> None:
        super().__init__(config)
        self.readiness = readiness

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.readiness.serving = False
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


async def serve(args: argparse.Namespace, tokens: keystone.TokenValidator | None) -> None:
    """Run the server until SIGTERM or SIGINT; ``startup.CannotStart`` if it cannot start."""
    host, port = args.bind
    if not roles.serves_api(args):
        with roles.signalled() as stopping:
            await _serve(args, tokens, stopping)
        return
    listening = startup.listening_socket(host, port)
    try:
        await _serve(args, tokens, listening)
    finally:
        listening.close()


def _southbound_checks(
    board: StatusBoard, southbound: serving.SouthboundServer
) -> list[Callable[[], str]]:
    """What readiness adds for a process serving the southbound: its engine caught up with the
    change log since start, and it serves agents (it holds its lease)."""

    def engine() -> str:
        return "" if board.ready else "the goal-state engine is replaying the change log"

    def agents() -> str:
        if southbound.health.serves_agents:
            return ""
        return "the southbound serves no agents (it cannot hold its lease)"

    return [engine, agents]


async def _serve(
    args: argparse.Namespace,
    tokens: keystone.TokenValidator | None,
    until: socket.socket | asyncio.Event,
) -> None:
    """Serve the API on ``until``, a listening socket; or, a southbound process, until the
    event is set."""
    southbound_settings = None
    if roles.serves_southbound(args):
        southbound_settings = southbound_options.settings_from(args)  # checked before the store
        startup.check_southbound(args.southbound)
        if southbound_settings.health:
            startup.check_southbound(southbound_settings.health, option="--southbound-health")
    metrics_socket = exposition.listening(args)
    try:
        store = startup.open_store(args.db, synchronous=args.sync.upper())
    except startup.CannotStart:
        if metrics_socket is not None:
            metrics_socket.close()
        raise
    board = southbound_options.board_from(args)
    serves_agents = southbound_settings is not None
    status = roles.StatusPath(store=store, board=board, serving=serves_agents)
    controller = build_controller(store, settings_from(args), board=status.view)
    registry, meters = (
        metering.controller(store, board=board if serves_agents else None)
        if metrics_socket is not None
        else (None, None)
    )
    southbound = None
    if southbound_settings is not None:
        southbound = serving.SouthboundServer(
            store=store,
            board=board,
            settings=southbound_settings,
            nodes=controller.nodes,
            reporter=status.reporter,
            meters=meters,
        )
    if southbound is not None:
        try:
            southbound.start()
        except (RuntimeError, OSError) as error:
            await store.close()
            raise startup.southbound_failed(args.southbound, error) from None
    stop_mirror = None if isinstance(until, asyncio.Event) else status.follow()
    readiness = health.Readiness(
        store, checks=_southbound_checks(board, southbound) if southbound is not None else ()
    )
    try:
        async with exposition.serving(metrics_socket, registry, readiness, in_thread=True):
            if isinstance(until, asyncio.Event):  # --role southbound: no HTTP
                log.info(
                    "alcor southbound on %s, store %s",
                    args.southbound,
                    startup.shown_database(args.db),
                )
                await until.wait()
            else:
                await _serve_api(
                    args, tokens, controller, until, readiness=readiness, registry=registry
                )
    finally:
        if stop_mirror is not None:
            await asyncio.to_thread(stop_mirror)
        if southbound is not None:
            await asyncio.to_thread(southbound.stop)
        await store.close()


async def _serve_api(
    args: argparse.Namespace,
    tokens: keystone.TokenValidator | None,
    controller: Controller,
    listening: socket.socket,
    *,
    readiness: health.Readiness | None = None,
    registry: CollectorRegistry | None = None,
) -> None:
    readiness = readiness or health.Readiness(controller.context.store)
    app: ASGIApp = create_app(controller, readiness=readiness)
    app = request_ids.ProjectOf(app, default_project=controller.context.settings.default_project)
    if tokens is not None:
        app = keystone.KeystoneAuth(app, tokens)
    if registry is not None:  # outside authentication: a request Keystone refuses is counted too
        app = api_metrics.RequestMetrics(app, registry)
    app = request_ids.RequestIds(app, access_log=args.access_log)
    host, port = args.bind
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="none",
        http="httptools",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        date_header=False,
        log_config=None,  # logs.configure's handlers, format and levels
        log_level=None,
        lifespan="off",
    )
    log.info(
        "alcor server on http://%s:%d, store %s, auth %s",
        host,
        port,
        startup.shown_database(args.db),
        args.auth_strategy,
    )
    await _Server(config, readiness=readiness).serve(sockets=[listening])


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {  # all but server (below) and config
    "agent": agents.main,
    "sim": agents.main,
    "agent-health": agent_health.main,
    "nodes": nodes.main,
    "certs": certs.main,
    "demo": demo.main,
    "cni-daemon": cni.main,
    "hosts": hosts.main,
    "ports": ports.main,
    "trace": trace.main,
}


def arguments(command_line: argparse.ArgumentParser, words: Sequence[str]) -> argparse.Namespace:
    """The command line parsed over the configuration file and the ``ALCOR_*`` variables
    (``configuration.ConfigError`` for a bad one)."""
    configured = configuration.configure(command_line, words, os.environ)
    args = command_line.parse_args(words)
    configured.finish(args)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    command_line = parser()
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = arguments(command_line, words)
        if args.command == "config":
            return config.main(args, top=command_line, argv=words)
        logs.configure(args)
    except (configuration.ConfigError, startup.CannotStart) as error:
        command = configuration.command_path(command_line, words)[:1]
        print(f"{' '.join(('alcor', *command))}: error: {error}", file=sys.stderr)
        return startup.EXIT_STATUS
    run = COMMANDS.get(args.command)
    if run is not None:
        return run(args)
    if args.command == "server":
        import uvloop

        tokens = None
        if args.auth_strategy == "keystone":
            try:
                conf = keystone.configuration(keystone_settings_from(args))
            except ValueError as error:
                command_line.error(f"keystone: {error}")
            tokens = keystone.TokenValidator(conf)
        try:
            uvloop.run(serve(args, tokens))
        except startup.CannotStart as error:
            print(f"alcor server: error: {error}", file=sys.stderr)
            return startup.EXIT_STATUS
    return 0


if __name__ == "__main__":
    sys.exit(main())
