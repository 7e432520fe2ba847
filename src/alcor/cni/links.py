"""The pod's interface, made with iproute2 (``ip -batch``; inside the pod's namespace under
``nsenter --net``, which takes the runtime's path as it is): two short processes per ADD, where
a netlink library's import alone would cost more than the whole ADD may take.

The host end is ``tap<port:11>`` (as Nova names a port's tap; the node's agent attaches it to
the segment's bridge) with the port's MAC but ``fe`` for its first octet (as libvirt does) and
the alias ``alcor-cni:<container id>:<ifname>``: the agent attaches such a device and never
deletes it, and ``strays`` finds the ones whose pod is gone. The pod's end has the port's MAC,
MTU and addresses (IPv6 without duplicate address detection: the controller allocated it),
a default route per IP version via its subnet's gateway, and the subnets' host routes.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import NamedTuple

from alcor.cni.errors import IO_FAILURE, CniError

ALIAS = "alcor-cni"  # how the alias of every device this plugin makes begins
TAP = "tap"


class Interface(NamedTuple):
    """What the pod's end must hold (or, read back, holds)."""

    name: str
    mac: str
    mtu: int
    addresses: tuple[str, ...]  # address/prefix length
    routes: tuple[tuple[str, str], ...] = ()  # (destination, next hop)


def tap(port_id: str) -> str:
    return f"{TAP}{port_id[:11]}"


def host_mac(mac: str) -> str:
    return f"fe{mac.lower()[2:]}"


def alias(container_id: str, ifname: str) -> str:
    return f"{ALIAS}:{container_id}:{ifname}"


def plug(*, device: str, label: str, netns: str, inside: Interface, again: bool) -> None:
    """Make the veth ``device`` (host end, aliased ``label``) and ``inside`` in ``netns``;
    ``again`` (a repeated ADD): replacing the device an earlier one made."""
    if again:
        unplug(device)
    mtu = inside.mtu
    _batch(
        [
            f"link add {device} mtu {mtu} address {host_mac(inside.mac)} type veth"
            f" peer name {inside.name} mtu {mtu} address {inside.mac} netns {netns}",
            f'link set dev {device} addrgenmode none alias "{label}" up',
        ]
    )
    lines = ["link set dev lo up"]
    for cidr in inside.addresses:
        lines.append(f"addr add {cidr} dev {inside.name}" + (" nodad" if ":" in cidr else ""))
    lines.append(f"link set dev {inside.name} up")
    lines += [f"route add {dst} via {via} dev {inside.name}" for dst, via in inside.routes]
    try:
        _batch(lines, netns=netns)
    except CniError:
        unplug(device)
        raise


def unplug(device: str) -> bool:
    """Delete the veth (both ends); False when there was none."""
    done = subprocess.run(["ip", "link", "del", "dev", device], capture_output=True, text=True)
    if done.returncode == 0:
        return True
    if "Cannot find device" in done.stderr:
        return False
    raise CniError(IO_FAILURE, f"cannot delete {device}", done.stderr.strip())


def read(netns: str, name: str) -> Interface | None:
    """The interface ``name`` in ``netns`` as it is (no routes), None when there is none."""
    done = _ip(["-j", "addr", "show", "dev", name], netns=netns)
    if done.returncode != 0:
        return None
    (link,) = json.loads(done.stdout)
    return Interface(
        name=name,
        mac=str(link.get("address", "")).lower(),
        mtu=int(link.get("mtu", 0)),
        addresses=tuple(
            f"{a['local']}/{a['prefixlen']}"
            for a in link.get("addr_info", ())
            if a.get("scope") == "global"
        ),
    )


def up(device: str) -> bool:
    """Whether the host end exists and is up."""
    done = _ip(["-j", "link", "show", "dev", device])
    return done.returncode == 0 and "UP" in json.loads(done.stdout)[0].get("flags", ())


def strays() -> dict[str, str]:
    """Every device this plugin made on the node: name -> alias."""
    done = _ip(["-j", "link", "show", "type", "veth"])
    if done.returncode != 0:
        raise CniError(IO_FAILURE, "cannot list the node's devices", done.stderr.strip())
    return {
        link["ifname"]: link["ifalias"]
        for link in json.loads(done.stdout or "[]")
        if str(link.get("ifalias", "")).startswith(f"{ALIAS}:")
    }


def _ip(arguments: Sequence[str], *, netns: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_entering(netns), "ip", *arguments], capture_output=True, text=True)


def _batch(lines: Sequence[str], *, netns: str = "") -> None:
    done = subprocess.run(
        [*_entering(netns), "ip", "-batch", "-"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CniError(IO_FAILURE, "cannot make the pod's interface", done.stderr.strip())


def _entering(netns: str) -> list[str]:
    """What runs a command in ``netns`` (a path), or in this namespace for ""."""
    return ["nsenter", f"--net={netns}"] if netns else []
