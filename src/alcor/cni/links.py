"""The pod's interface, made with iproute2 (``ip -batch``; inside the pod's namespace under
``nsenter --net``, which takes the runtime's path as it is): two short processes per ADD, where
a netlink library's import alone would cost more than the whole ADD may take.

The host end is ``tap<port:11>`` (as Nova names a port's tap; the node's agent attaches it to
the segment's bridge) with the port's MAC but ``fe`` for its first octet (as libvirt does) and
the alias ``alcor-cni:<container id>:<ifname>``: the agent attaches such a device and never
deletes it, and ``strays`` finds the ones whose pod is gone. The pod's end has the port's MAC,
MTU and addresses (IPv6 without duplicate address detection: the controller allocated it),
a default route per IP version via its subnet's gateway, and the subnets' host routes.

A node's own port on a network (``node_ports``) is a veth too, both ends in the node's
namespace: ``tap<port:11>`` (aliased ``alcor-cni-node:<network id>``, which the agent attaches
and never deletes, and which is no pod's) and ``alcor-<network:9>`` with the port's MAC, MTU and
addresses, and no route but the connected ones.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from alcor.cni.errors import IO_FAILURE, CniError

ALIAS = "alcor-cni"  # how the alias of every device this plugin makes begins
NODE_ALIAS = "alcor-cni-node"  # a node port's host end: attached by the agent, no pod's
NODE_DEVICE = "alcor-"  # a node port's interface: alcor-<network id's first 9 hex digits>
TAP = "tap"
# Read by the node: no forwarding of what arrives from the network, no router advertisement
# taken from it (the node's own default route stays as it is).
NODE_SYSCTLS = (("ipv4", "forwarding", "0"), ("ipv6", "accept_ra", "0"))


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


def node_device(network_id: str) -> str:
    """The node's interface on a network: at most 15 characters, as the kernel wants."""
    return NODE_DEVICE + network_id.replace("-", "")[:9]


def node_alias(network_id: str) -> str:
    return f"{NODE_ALIAS}:{network_id}"


def plug(*, device: str, label: str, netns: str, inside: Interface, again: bool) -> None:
    """Make the veth ``device`` (host end, aliased ``label``) and ``inside`` in ``netns``;
    ``again`` (a repeated ADD): replacing the device an earlier one made."""
    if again:
        unplug(device)
    _batch(_veth(device, label=label, inside=inside, peer_netns=netns))
    lines = ["link set dev lo up", *_addressed(inside)]
    lines += [f"route add {dst} via {via} dev {inside.name}" for dst, via in inside.routes]
    try:
        _batch(lines, netns=netns)
    except CniError:
        unplug(device)
        raise


def plug_node(*, device: str, label: str, inside: Interface) -> None:
    """Make the veth ``device`` (host end, aliased ``label``) and ``inside``, both in this
    namespace (the node's), ``inside`` with its addresses (hence their connected routes) and
    ``NODE_SYSCTLS`` set before it is up; ``inside.routes`` are not made."""
    what = "the node's interface"
    _batch(_veth(device, label=label, inside=inside, peer_netns=""), what=what)
    try:
        for family, name, value in NODE_SYSCTLS:
            _sysctl(family, inside.name, name, value)
        _batch(list(_addressed(inside)), what=what)
    except CniError:
        unplug(device)
        raise


def exists(device: str) -> bool:
    """Whether this namespace has ``device`` (a system call, no process)."""
    try:
        socket.if_nametoindex(device)
    except OSError:
        return False
    return True


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


def _veth(device: str, *, label: str, inside: Interface, peer_netns: str) -> list[str]:
    """The lines of ``ip -batch`` making the veth, its peer in ``peer_netns`` ("": here)."""
    mtu = inside.mtu
    there = f" netns {peer_netns}" if peer_netns else ""
    return [
        f"link add {device} mtu {mtu} address {host_mac(inside.mac)} type veth"
        f" peer name {inside.name} mtu {mtu} address {inside.mac}{there}",
        f'link set dev {device} addrgenmode none alias "{label}" up',
    ]


def _addressed(inside: Interface) -> Iterator[str]:
    for cidr in inside.addresses:
        yield f"addr add {cidr} dev {inside.name}" + (" nodad" if ":" in cidr else "")
    yield f"link set dev {inside.name} up"


def _sysctl(family: str, device: str, name: str, value: str) -> None:
    """A per-device sysctl of this namespace; an IP version the kernel lacks is none to set."""
    path = f"/proc/sys/net/{family}/conf/{device}/{name}"
    try:
        with open(path, "w") as file:
            file.write(value)
    except FileNotFoundError:
        if os.path.exists(f"/proc/sys/net/{family}/conf/{device}"):
            raise CniError(IO_FAILURE, f"cannot set {path}") from None
    except OSError as error:
        raise CniError(IO_FAILURE, f"cannot set {path}", str(error)) from None


def _ip(arguments: Sequence[str], *, netns: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_entering(netns), "ip", *arguments], capture_output=True, text=True)


def _batch(lines: Sequence[str], *, netns: str = "", what: str = "the pod's interface") -> None:
    done = subprocess.run(
        [*_entering(netns), "ip", "-batch", "-"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CniError(IO_FAILURE, f"cannot make {what}", done.stderr.strip())


def _entering(netns: str) -> list[str]:
    """What runs a command in ``netns`` (a path), or in this namespace for ""."""
    return ["nsenter", f"--net={netns}"] if netns else []
