"""The namespaces of a lab: an underlay namespace holding bridge ``br-ul``, hosts plugged into it
by a veth pair (``eth0`` in the host, ``ul-<name>`` on the bridge), and removal of every namespace
whose name begins with a prefix."""

from __future__ import annotations

import subprocess

from alcor.lab import commands

BRIDGE = "br-ul"


def make_underlay(ns: str) -> None:
    """Namespace ``ns`` with the underlay bridge, up."""
    commands.run("ip", "netns", "add", ns)
    commands.run("ip", "-n", ns, "link", "add", BRIDGE, "type", "bridge")
    commands.run("ip", "-n", ns, "link", "set", BRIDGE, "up")


def plug_host(*, underlay: str, ns: str, name: str, ip: str) -> None:
    """Namespace ``ns``, its ``eth0`` holding ``ip``/24 on the underlay bridge, and ``lo`` up."""
    commands.run("ip", "netns", "add", ns)
    commands.run(
        "ip", "-n", ns, "link", "add", "eth0", "type", "veth",
        "peer", "name", f"ul-{name}", "netns", underlay,
    )  # fmt: skip
    commands.run("ip", "-n", underlay, "link", "set", f"ul-{name}", "master", BRIDGE, "up")
    commands.run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
    commands.run("ip", "-n", ns, "link", "set", "eth0", "up")
    commands.run("ip", "-n", ns, "link", "set", "lo", "up")


def listed(prefix: str) -> list[str]:
    """The namespaces whose names begin with ``prefix``."""
    lines = commands.run("ip", "netns", "list", check=False).stdout.split("\n")
    return [line.split()[0] for line in lines if line.startswith(prefix)]


def remove(prefix: str) -> list[str]:
    """Remove every namespace whose name begins with ``prefix``; the names removed."""
    if not prefix:
        raise ValueError("an empty prefix would remove every namespace")
    doomed = listed(prefix)
    if doomed:
        batch = "".join(f"netns del {name}\n" for name in doomed)
        subprocess.run(
            ["ip", "-force", "-batch", "-"], input=batch, text=True, check=False,
            capture_output=True, timeout=30,
        )  # fmt: skip
    return doomed
