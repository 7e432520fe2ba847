"""Engine checkpoints against a replay, in this process: where a southbound's start goes.

Builds the change log of bench/goalstate.py part c in memory (nodes; VPCs of --vpc-ports
ports, each with its network, subnet, default group and its four rules; each VPC on
--vpc-hosts hosts), then times:

- replay   the log through ``Engine.apply`` (quiet), as a start without a checkpoint does (the
           store's reading and decoding of the rows not included: ~20% more, docs/benchmarks.md);
- capture  ``checkpoints.capture``: what holds the southbound loop when a checkpoint is taken;
- encode   cutting and encoding the pieces (a thread does it in the server);
- restore  decoding the pieces into a new engine (the collector off, as the server does), in
           a fresh process as at a start (the pieces read from a file: the store's read is not
           included), and in this one, where it checks that the restored engine serves a
           sample of hosts as the replayed one.

    .venv/bin/python bench/checkpoint.py --ports 200000
    .venv/bin/python bench/checkpoint.py --ports 1000000 --json   # ~12 GB at its peak
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from alcor.goalstate import checkpoints
from alcor.goalstate.engine import Engine
from alcor.model import records

NOW = "2026-12-07T00:00:00Z"
Change = tuple[int, str, records.Record]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def change_log(*, ports: int, hosts: int, vpc_ports: int, vpc_hosts: int) -> list[Change]:
    """Part c's store as its change log: every row a create."""
    rng = random.Random(1)
    log: list[Change] = []

    def uid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    def emit(record: records.Record) -> None:
        log.append((len(log) + 1, "create", record))

    names = [f"c{k}-h{i}" for k in range(2) for i in range(hosts // 2)]
    for i, name in enumerate(names):
        underlay = f"10.64.{i // 250}.{i % 250 + 1}"
        emit(
            records.Node(
                id=uid(),
                project_id="",
                name=name,
                created_at=NOW,
                updated_at=NOW,
                underlay_ip=underlay,
                state="up",
            )
        )
    vpcs = []
    for v in range(-(-ports // vpc_ports)):
        project = f"bench-c-{v}"
        common: dict[str, Any] = {"project_id": project, "created_at": NOW, "updated_at": NOW}
        network = records.Network(id=uid(), name=project, segmentation_id=1000 + v, **common)
        group = records.SecurityGroup(id=uid(), name="default", **common)
        emit(network)
        emit(group)
        for direction in ("ingress", "egress"):
            for ethertype in ("IPv4", "IPv6"):
                remote = group.id if direction == "ingress" else None
                emit(
                    records.SecurityGroupRule(
                        id=uid(),
                        security_group_id=group.id,
                        direction=direction,
                        ethertype=ethertype,
                        remote_group_id=remote,
                        **common,
                    )
                )
        subnet = records.Subnet(
            id=uid(),
            network_id=network.id,
            ip_version=4,
            cidr="10.0.0.0/20",
            gateway_ip="10.0.0.1",
            **common,
        )
        emit(subnet)
        vpcs.append((common, network, group, subnet))
    for i in range(ports):
        v, j = divmod(i, vpc_ports)
        common, network, group, subnet = vpcs[v]
        address = f"10.0.{(j + 2) // 256}.{(j + 2) % 256}"
        emit(
            records.Port(
                id=uid(),
                name=f"c{i}",
                network_id=network.id,
                mac_address=f"fa:16:3e:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                fixed_ips=[records.FixedIp(subnet.id, address)],
                security_groups=[group.id],
                binding_vif_type="ovs",
                binding_host_id=names[(v * vpc_hosts + j % vpc_hosts) % len(names)],
                **common,
            )
        )
    return log


def measure(args: argparse.Namespace) -> dict[str, Any]:
    log = change_log(
        ports=args.ports, hosts=args.hosts, vpc_ports=args.vpc_ports, vpc_hosts=args.vpc_hosts
    )
    found: dict[str, Any] = {"ports": args.ports, "hosts": args.hosts, "changes": len(log)}
    before = rss_mb()
    engine = Engine()
    started = time.perf_counter()
    for revision, operation, record in log:
        engine.apply(revision, operation, record, quiet=True)
    found["replay_s"] = round(time.perf_counter() - started, 2)
    del log
    gc.collect()
    gc.freeze()  # as the server does once it has replayed
    found["engine_mb"] = round(rss_mb() - before)

    started = time.perf_counter()
    captured = checkpoints.capture(engine)
    found["capture_s"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    pieces = list(checkpoints.encoded(captured))
    found["encode_s"] = round(time.perf_counter() - started, 2)
    found["pieces"] = len(pieces)
    found["checkpoint_mb"] = round(sum(map(len, pieces)) / 1e6)
    found["largest_piece_mb"] = round(max(map(len, pieces)) / 1e6, 1)
    del captured

    found |= restore_elsewhere(pieces)
    gc.disable()
    started = time.perf_counter()
    restored = checkpoints.restore(pieces)
    found["restore_here_s"] = round(time.perf_counter() - started, 2)
    gc.enable()
    sample = engine.known_hosts()[:: max(1, len(engine.known_hosts()) // 50)]
    for host in sample:
        assert restored.snapshot(host) == engine.snapshot(host), host
        assert restored.delta_since(host, engine.revision - 1000) == engine.delta_since(
            host, engine.revision - 1000
        ), host
    found["hosts_compared"] = len(sample)
    return found


def restore_elsewhere(pieces: list[bytes]) -> dict[str, Any]:
    """Restore the pieces in a new process (``--restore FILE``), as a starting server does."""
    with tempfile.NamedTemporaryFile(suffix=".pieces") as file:
        file.write(msgspec.msgpack.encode(pieces))
        file.flush()
        del pieces
        answer = subprocess.run(
            [sys.executable, __file__, "--restore", file.name],
            check=True,
            capture_output=True,
            text=True,
        )
    found: dict[str, Any] = json.loads(answer.stdout)
    return found


def restore_file(path: str) -> dict[str, Any]:
    with open(path, "rb") as file:
        pieces = msgspec.msgpack.decode(file.read(), type=list[bytes])
    before = rss_mb()
    gc.disable()
    started = time.perf_counter()
    engine = checkpoints.restore(pieces)
    seconds = time.perf_counter() - started
    return {
        "restore_s": round(seconds, 2),
        "restored_mb": round(rss_mb() - before),
        "restored_revision": engine.revision,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", type=int, default=200_000)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--vpc-ports", type=int, default=100)
    parser.add_argument("--vpc-hosts", type=int, default=1, help="hosts a VPC is spread over")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--restore", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.restore:
        print(json.dumps(restore_file(args.restore)))
        return 0
    found = measure(args)
    if args.json:
        print(json.dumps(found))
    else:
        for name, value in found.items():
            print(f"{name:>18}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
