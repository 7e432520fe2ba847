"""The executor's two ways into a namespace agree on a real kernel: netlink sockets opened in the
namespaces (``netlinking``) and ``ip -n NS -batch`` processes program the same objects and fail
the same resources, each failure pinned to its own resource: a route whose gateway is not
reachable, an address on a device that is not there, a namespace that is gone. No controller:
``executing.Processes`` is given the operations, and what it made is read back with its own
``observe``. The namespaces carry a random tag and are removed, also on failure."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from alcor.agent.drivers.linux import executing, layouts, planning
from alcor.agent.drivers.linux import kernel as k
from tests.system.lab import unusable

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(bool(unusable()), reason=f"system tests: {unusable()}"),
]


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def prefix() -> Iterator[str]:
    tag = f"t{secrets.token_hex(3)}-"
    yield tag
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        if line.startswith(tag):
            ip("netns", "del", line.split()[0])


def endpoint(prefix: str, name: str) -> str:
    """A namespace as a VM's would be before the driver sets it: eth0 there, down, bare."""
    ns = f"{prefix}ep-{name}"
    ip("netns", "add", ns)
    ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1")
    return ns


def wanted(ns: str, last: int) -> list[k.Object]:
    return [
        k.Link(ns=ns, name="lo", kind=""),
        k.Link(ns=ns, name="eth0", kind=k.PEER, mtu=1400, mac=f"fa:16:3e:00:00:{last:02x}",
               ipv6_auto=False),
        k.Address(ns, "eth0", f"10.0.1.{last}/24"),
        k.Address(ns, "eth0", f"fe80::f816:3eff:fe00:{last:x}/64"),
        k.Address(ns, "eth0", f"2001:db8::{last:x}/64"),
        k.Route(ns=ns, dst="0.0.0.0/0", via="10.0.1.1", dev="eth0"),
        k.Route(ns=ns, dst="10.9.0.0/16", via="10.0.1.9", dev="eth0"),
        k.Route(ns=ns, dst="10.8.0.0/16", via="192.168.7.1", dev="eth0", onlink=True),
        k.Route(ns=ns, dst="::/0", via="2001:db8::1", dev="eth0"),
    ]  # fmt: skip


def run(prefix: str, *, netlink: bool) -> tuple[dict[str, str], k.Objects, list[k.Object]]:
    """Set up two endpoints, the second with two bad objects under owners of their own (a route
    through a gateway it cannot reach, an address on a device it lacks), and an address in a
    namespace that is gone: the failures by owner, what the kernel holds, what was wanted of
    the endpoints."""
    good, bad = endpoint(prefix, "good"), endpoint(prefix, "bad")
    gone = f"{prefix}ep-gone"
    ops = [planning.Op(action=planning.ADD, obj=obj, owner="port:good") for obj in wanted(good, 11)]
    ops += [planning.Op(action=planning.ADD, obj=obj, owner="port:bad") for obj in wanted(bad, 12)]
    ops += [
        planning.Op(action=planning.ADD, obj=k.Route(ns=bad, dst="10.7.0.0/16", via="192.168.9.1",
                                                       dev="eth0"), owner="port:unreachable"),
        planning.Op(action=planning.ADD, obj=k.Address(bad, "eth5", "10.0.2.5/24"),
                    owner="port:nodevice"),
        planning.Op(action=planning.ADD, obj=k.Address(gone, "eth0", "10.0.1.13/24"),
                    owner="port:gone"),
    ]  # fmt: skip
    executor = executing.Processes(netlink=netlink)
    failed = asyncio.run(executor.execute(ops))
    host = layouts.HostSettings(
        host_id="x", underlay_ip="192.0.2.1", endpoint_mode="netns", netns_prefix=prefix
    )
    held = k.objects(asyncio.run(executor.observe(host)).objects)
    for ns in (good, bad):
        ip("netns", "del", ns)
    return {f.owner: f.message for f in failed}, held, wanted(good, 11) + wanted(bad, 12)


@pytest.mark.parametrize("netlink", [True, False], ids=["netlink", "processes"])
def test_each_bad_object_fails_its_own_resource_and_the_rest_is_programmed(
    prefix: str, *, netlink: bool
) -> None:
    failed, held, programmed = run(prefix, netlink=netlink)
    assert set(failed) == {"port:unreachable", "port:nodevice", "port:gone"}, failed
    assert "Nexthop has invalid gateway" in failed["port:unreachable"]
    assert "10.7.0.0/16" in failed["port:unreachable"]
    assert 'Cannot find device "eth5"' in failed["port:nodevice"]
    assert "Cannot open network namespace" in failed["port:gone"]
    for obj in programmed:
        have = held.get(k.identity(obj))
        assert have is not None, obj
        assert k.satisfies(have, obj), (obj, have)
