"""Measured traffic between namespaces: TCP throughput with iperf3, and packets counted by the
DSCP mark they arrive with (an nftables counter in the receiver's namespace)."""

from __future__ import annotations

import json
import subprocess

from alcor.lab import commands, processes, waiting

TABLE = "alcor-lab-dscp"


def throughput(
    client: str, server: str, ip: str, *, port: int = 5201, seconds: int = 3, reverse: bool = False
) -> float:
    """Mbit/s of one TCP stream from ``client`` to the iperf3 server at ``ip`` in ``server``
    (``reverse``: from the server to the client), received, leaving out the first second (the
    slow start and the token buckets' first burst)."""
    serving = subprocess.Popen(
        ["ip", "netns", "exec", server, "iperf3", "-s", "-1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        waiting.eventually(
            lambda: (
                f":{port} " in commands.run("ip", "netns", "exec", server, "ss", "-ltnH").stdout
            ),
            what=f"iperf3 to listen in {server}",
        )
        done = commands.run(
            "ip", "netns", "exec", client, "iperf3", "-c", ip, "-p", str(port),
            "-t", str(seconds + 1), "-O", "1", "-J", *(["-R"] if reverse else []),
            timeout=seconds + 30,
        )  # fmt: skip
    finally:
        processes.stop(serving, wait=5)
    result = json.loads(done.stdout)
    return float(result["end"]["sum_received"]["bits_per_second"]) / 1e6


def count_dscp(ns: str, mark: int) -> None:
    """Count, in ``ns``, the IPv4 packets that arrive marked ``mark`` (``dscp_counted``)."""
    subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"],
        input=(
            f"table inet {TABLE} {{\n  chain input {{\n"
            f"    type filter hook input priority 0; policy accept;\n"
            f"    ip dscp {mark} counter\n  }}\n}}\n"
        ),
        text=True,
        check=True,
        capture_output=True,
        timeout=10,
    )  # fmt: skip


def dscp_counted(ns: str) -> int:
    """The packets counted in ``ns`` since ``count_dscp``."""
    listed = commands.run("ip", "netns", "exec", ns, "nft", "-j", "list", "table", "inet", TABLE)
    for item in json.loads(listed.stdout)["nftables"]:
        rule = item.get("rule")
        if rule is None:
            continue
        for expression in rule["expr"]:
            if "counter" in expression:
                return int(expression["counter"]["packets"])
    return 0
