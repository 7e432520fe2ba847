"""``alcor server``'s southbound options: where the agents' streams are served and how goal
states are delivered, parsed once into ``SouthboundSettings`` and a ``StatusBoard``."""

from __future__ import annotations

import argparse

from alcor.cli import startup
from alcor.services.status import StatusBoard
from alcor.southbound import credentials, serving
from alcor.southbound.checkpointing import Checkpointing
from alcor.southbound.compacting import Compaction
from alcor.southbound.leases import LeaseSettings
from alcor.southbound.sessions import Delivery


def _address(text: str) -> str:
    if text == serving.OFF:
        return text
    if text.startswith("unix:"):
        if len(text) == len("unix:"):
            raise argparse.ArgumentTypeError("expected unix:PATH")
        return text
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT or unix:PATH, got {text!r}")
    return text


def _advertised(text: str) -> str:
    address = _address(text)
    if address == serving.OFF:
        raise argparse.ArgumentTypeError("expected HOST:PORT or unix:PATH")
    return address


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected zero or more, got {text!r}")
    return value


def add_options(server: argparse.ArgumentParser) -> None:
    group = server.add_argument_group(
        "southbound", "the host agents' gRPC streams: goal states out, acks and heartbeats in"
    )
    group.add_argument(
        "--southbound",
        metavar="ADDR",
        type=_address,
        default=serving.DEFAULT_ADDRESS,
        help=f"HOST:PORT, unix:PATH, or {serving.OFF} to serve no agents "
        f"({serving.DEFAULT_ADDRESS})",
    )
    group.add_argument(
        "--southbound-advertise",
        metavar="HOST:PORT",
        type=_advertised,
        default=None,
        help="the address other southbound replicas send this one's agents to (default: "
        "--southbound, unless it is a wildcard address)",
    )
    group.add_argument(
        "--southbound-health",
        metavar="HOST:PORT",
        type=_advertised,
        default=None,
        help="also serve gRPC's standard health service (grpc.health.v1: '' while the "
        "southbound listens, alcor.v1.Southbound while it serves agents) on this address in "
        "plaintext, and nothing else there: for Kubernetes grpc probes, which speak no TLS "
        "(default: on the southbound's own address only)",
    )
    group.add_argument(
        "--southbound-lease",
        type=_positive_seconds,
        default=LeaseSettings().lease,
        metavar="SECONDS",
        help="each southbound process holds a lease in the store, renewed every third of it; "
        "the live ones share the hosts, and a dead one's hosts are taken over within about "
        f"1.3 leases ({LeaseSettings().lease:g})",
    )
    group.add_argument(
        "--change-log-keep",
        type=_not_negative_int,
        default=Compaction().keep,
        metavar="REVISIONS",
        help="compact the change log behind the last REVISIONS (each resource's last change is "
        "kept; hosts further behind get snapshots); 0 never compacts "
        f"({Compaction().keep})",
    )
    group.add_argument(
        "--change-log-interval",
        type=_not_negative,
        default=Compaction().interval,
        metavar="SECONDS",
        help=f"how often to look whether compaction is due ({Compaction().interval:g})",
    )
    group.add_argument(
        "--checkpoint-every",
        type=_not_negative_int,
        default=Checkpointing().every,
        metavar="REVISIONS",
        help="checkpoint the goal-state engine whenever it is REVISIONS past the last "
        "checkpoint, so that a restart replays only the change log after it; 0 never "
        f"checkpoints (a restart replays the whole log) ({Checkpointing().every})",
    )
    group.add_argument(
        "--change-log-poll",
        type=_positive_seconds,
        default=serving.SouthboundSettings().log_poll,
        metavar="SECONDS",
        help="other processes' commits wake the southbound at once (NOTIFY on PostgreSQL, "
        "SQLite's data_version); it also reads the change log after SECONDS without a word, in "
        f"case a wake-up was missed ({serving.SouthboundSettings().log_poll:g})",
    )
    group.add_argument(
        "--coalesce-ms",
        type=_not_negative,
        default=5.0,
        metavar="MS",
        help="a host is sent at most one message per window: the first change after a quiet "
        "spell at once, what follows within the window together at its end (5)",
    )
    group.add_argument(
        "--host-queue-limit",
        type=_positive,
        default=10_000,
        metavar="ENTRIES",
        help="entries waiting for one host beyond which it is resynced by a snapshot (10000)",
    )
    group.add_argument(
        "--disconnect-grace",
        type=_not_negative,
        default=15.0,
        metavar="SECONDS",
        help="a host's ports keep their status this long after its stream ends, then are DOWN (15)",
    )
    group.add_argument(
        "--node-down-after",
        type=_positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="a node not heard from (heartbeat, ack, Hello) this long is marked down and its "
        "ports DOWN, until it is heard again (30: three of the agents' default heartbeat "
        "intervals)",
    )
    group.add_argument(
        "--no-register-hosts",
        dest="register_hosts",
        action="store_false",
        help="refuse agents whose host is not a node (default, with TLS only: register it on "
        "its first Hello, with the underlay address the agent sends and the physical networks "
        "its certificate names)",
    )
    group.add_argument(
        "--register-hosts-limit",
        type=_positive,
        default=serving.SouthboundSettings().register_limit,
        metavar="N",
        help="at most N nodes registered by their agents; beyond, an unknown host is refused "
        f"({serving.SouthboundSettings().register_limit})",
    )
    for name, what in (
        ("ca", "the CA whose host certificates are admitted (`alcor certs init`)"),
        ("cert", "the controller's certificate (`alcor certs issue --controller`)"),
        ("key", "the controller's private key"),
    ):
        group.add_argument(
            f"--southbound-tls-{name}",
            metavar="PEM",
            help=f"{what}; the three together turn mutual TLS on; files are read again when "
            "they change (rotation without restart)",
        )
    group.add_argument(
        "--southbound-insecure",
        action="store_true",
        help="allow plaintext on an address beyond loopback (default: a southbound on a "
        "loopback address or unix socket may be plaintext, any other needs TLS)",
    )


def _not_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected zero or more, got {text!r}")
    return value


def _tls_files(args: argparse.Namespace) -> credentials.TlsFiles | None:
    given = (args.southbound_tls_ca, args.southbound_tls_cert, args.southbound_tls_key)
    if not any(given):
        return None
    if not all(given):
        raise startup.CannotStart(
            "--southbound-tls-ca, --southbound-tls-cert and --southbound-tls-key go together"
        )
    ca, cert, key = given
    return credentials.TlsFiles(ca=ca, cert=cert, key=key)


def settings_from(args: argparse.Namespace) -> serving.SouthboundSettings:
    return serving.SouthboundSettings(
        address=args.southbound,
        delivery=Delivery(window=args.coalesce_ms / 1000, limit=args.host_queue_limit),
        register_hosts=args.register_hosts,
        register_limit=args.register_hosts_limit,
        tls=_tls_files(args),
        insecure=args.southbound_insecure,
        node_down_after=args.node_down_after,
        compaction=Compaction(keep=args.change_log_keep, interval=args.change_log_interval),
        checkpoints=Checkpointing(every=args.checkpoint_every),
        health=args.southbound_health or "",
        log_poll=args.change_log_poll,
        dns_domain=args.dns_domain,
        leases=LeaseSettings(
            lease=args.southbound_lease, advertise=args.southbound_advertise or ""
        ),
    )


def board_from(args: argparse.Namespace) -> StatusBoard:
    return StatusBoard(grace=args.disconnect_grace)
