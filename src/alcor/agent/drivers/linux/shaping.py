"""QoS on the endpoints' host-side devices (pure): goal state -> shapes -> batches.

A port enforces the QoS policy its entry names (``Port.qos_policy_id``; the host holds the
policy's entry ``qos_policy:<id>``: a rate and burst each way and a DSCP mark). On the port's
device on the host (its ``tap``, whose egress is what the VM receives and whose ingress is what
it sends):

- **ingress** (to the VM): a token bucket (``tbf``) as the tap's root qdisc;
- **egress** (from the VM): the kernel here has no policer (``NET_ACT_POLICE``) and no
  ``matchall``, so what the VM sends is redirected (``u32`` matching everything, ``mirred``) from
  the tap's ingress qdisc to an IFB device of the port's (``ifb-<port>``), whose root is the
  token bucket: the VM's traffic is shaped, not dropped at once;
- **DSCP** (``dscp_marking``): an nftables table of its own (``bridge alcor-qos``) where the
  bridge's prerouting hook jumps, by the tap the frame came in on (verdict map ``marks``), to a
  chain per mark that sets it on IPv4 and IPv6 (a map from device to mark is not possible in nft
  1.0.6). One element per marked port.

Changes are planned as differences: a port whose shape is unchanged is not touched; one that
changed gets ``replace`` lines for what it has and ``del`` lines for what it lost, every port's
lines in one ``ip``, one ``tc`` and one ``nft`` process (``batches``), so a new policy for 1,000
ports is three processes. Rates are in kbit/s and bursts in kbit, Neutron's units, which tc
takes as they are (``kbit``).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping

import msgspec

from alcor.agent.drivers.linux import names, planning
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

TABLE = "alcor-qos"
MARKS = "marks"
IFB = "alif-"
LATENCY = "50ms"  # the longest a packet waits in a token bucket before it is dropped
# The marks Neutron allows (VALID_DSCP_MARKS): a chain each
DSCP_MARKS = (0, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 44, 46, 48,
              56)  # fmt: skip
NO_MARK = -1
UNKNOWN = -1  # a rate read back as present, its value not known
DOOMED = 4215  # the device group IFB devices are put in to be deleted together


class Shape(msgspec.Struct, frozen=True, gc=False):
    """What one port's device is given. A rate of 0: no limit that way."""

    port: str
    device: str
    egress_kbps: int = 0
    egress_burst_kb: int = 0
    ingress_kbps: int = 0
    ingress_burst_kb: int = 0
    dscp: int = NO_MARK
    redirected: bool = False  # the device's ingress is redirected to the IFB (egress_kbps set)

    @property
    def owner(self) -> str:
        return keys.key("port", self.port)


def ifb(port_id: str) -> str:
    """The IFB device the port's egress is shaped on."""
    return IFB + port_id[:10]


def shape_of(port: pb.Port, policy: pb.QosPolicy | None, *, device: str) -> Shape | None:
    """The port's shape under its policy; None when the policy asks nothing of it."""
    if policy is None:
        return None
    shape = Shape(
        port=port.id,
        device=device,
        egress_kbps=policy.egress_kbps,
        egress_burst_kb=policy.egress_burst_kb if policy.egress_kbps else 0,
        ingress_kbps=policy.ingress_kbps,
        ingress_burst_kb=policy.ingress_burst_kb if policy.ingress_kbps else 0,
        dscp=policy.dscp_mark if policy.marks else NO_MARK,
        redirected=policy.egress_kbps > 0,
    )
    return shape if shape != Shape(port=port.id, device=device) else None


def _bucket(device: str, kbps: int, burst_kb: int) -> str:
    # a bucket must hold at least one full frame beyond what a tick of the rate gives
    burst = max(burst_kb, 16)
    return (
        f"qdisc replace dev {device} root tbf rate {kbps}kbit burst {burst}kbit latency {LATENCY}"
    )


def _redirect(device: str, port_id: str) -> list[str]:
    return [
        f"qdisc replace dev {device} ingress",
        f"filter replace dev {device} parent ffff: protocol all prio 1 handle 800::800 "
        f"u32 match u32 0 0 action mirred egress redirect dev {ifb(port_id)}",
    ]


def lines(old: Shape | None, new: Shape | None, *, present: bool) -> tuple[list[str], list[str]]:
    """The ``ip`` and ``tc`` lines that take one port's device from ``old`` to ``new`` (None:
    nothing). ``present``: the port (so its device) is still here; a device gone took its
    qdiscs with it, but not the port's IFB device. A rate of ``UNKNOWN`` in ``old``: something
    is there (read back after a restart), its values not known: it is replaced, or removed."""
    either = new or old
    if either is None:
        return [], []
    ip: list[str] = []
    tc: list[str] = []
    was, now = old or _NONE, new or _NONE
    device, port = either.device, either.port
    if now.ingress_kbps:
        if (now.ingress_kbps, now.ingress_burst_kb) != (was.ingress_kbps, was.ingress_burst_kb):
            tc.append(_bucket(device, now.ingress_kbps, now.ingress_burst_kb))
    elif was.ingress_kbps and present:
        tc.append(f"qdisc del dev {device} root")
    if now.egress_kbps:
        if not was.egress_kbps:
            ip.append(f"link add {ifb(port)} up type ifb")
        if (now.egress_kbps, now.egress_burst_kb) != (was.egress_kbps, was.egress_burst_kb):
            tc.append(_bucket(ifb(port), now.egress_kbps, now.egress_burst_kb))
        if not was.redirected:
            tc += _redirect(device, port)
    else:
        if was.redirected and present:
            tc.append(f"qdisc del dev {device} ingress")
        if was.egress_kbps:
            ip.append(f"link set {ifb(port)} group {DOOMED}")
    return ip, tc


_NONE = Shape(port="", device="")


def _mark_element(shape: Shape) -> str:
    return f'"{shape.device}" : jump dscp-{shape.dscp}'


def table() -> str:
    """The DSCP table, made anew (empty map): every chain, and the hook."""
    chains = "".join(
        f"  chain dscp-{mark} {{\n    ether type ip ip dscp set {mark}\n"
        f"    ether type ip6 ip6 dscp set {mark}\n  }}\n"
        for mark in DSCP_MARKS
    )
    return (
        f"add table bridge {TABLE}\ndelete table bridge {TABLE}\n"
        f"table bridge {TABLE} {{\n  map {MARKS} {{\n    type ifname : verdict\n  }}\n{chains}"
        f"  chain pre {{\n    type filter hook prerouting priority -150; policy accept;\n"
        f"    iifname vmap @{MARKS}\n  }}\n}}\n"
    )


def marks(old: Shape | None, new: Shape | None) -> list[str]:
    """The nft lines that take one port's mark from ``old`` to ``new``."""
    was = old.dscp if old is not None else NO_MARK
    now = new.dscp if new is not None else NO_MARK
    if was == now and (old is None or new is None or old.device == new.device):
        return []
    found = []
    if was != NO_MARK:
        assert old is not None
        found.append(f'delete element bridge {TABLE} {MARKS} {{ "{old.device}" }}')
    if now != NO_MARK:
        assert new is not None
        found.append(f"add element bridge {TABLE} {MARKS} {{ {_mark_element(new)} }}")
    return found


def batches(
    old: Mapping[str, Shape],
    new: Mapping[str, Shape],
    todo: Iterable[str],
    *,
    present: Container[str],
    fresh: bool = False,
    strays: Iterable[planning.Line] = (),
) -> list[planning.Batch]:
    """The processes that take the ports ``todo`` from ``old`` to ``new`` (by port id), in
    order: IFB devices made (ip), the qdiscs and filters (tc), the marks (nft), then the IFB
    devices no longer wanted removed (ip). ``present``: the ports still here (their devices
    too). ``fresh``: the DSCP table is made anew first. IFB devices are removed all at once
    (put in the group ``DOOMED``, then the group deleted), ``strays`` among them."""
    made: list[planning.Line] = []
    removed: list[planning.Line] = list(strays)
    tc: list[planning.Line] = []
    nft: list[planning.Line] = [planning.Line(table(), "")] if fresh else []
    for port_id in sorted(todo):
        before, after = old.get(port_id), new.get(port_id)
        owner = keys.key("port", port_id)
        ip_lines, tc_lines = lines(before, after, present=port_id in present)
        for text in ip_lines:
            (removed if text.startswith("link set") and " group " in text else made).append(
                planning.Line(text, owner)
            )
        tc += [planning.Line(text, owner) for text in tc_lines]
        nft += [planning.Line(text, owner) for text in marks(None if fresh else before, after)]
    if removed:  # one deletion of them all: a device's deletion waits for the kernel's RCU
        removed.append(planning.Line(f"link del group {DOOMED}", ""))
    return [
        planning.Batch(tool=tool, ns="", lines=chosen)
        for tool, chosen in (("ip", made), ("tc", tc), ("nft", nft), ("ip", removed))
        if chosen
    ]


def observed(
    ports: Mapping[str, str], *, rooted: set[str], ingress: set[str], ifbs: set[str]
) -> tuple[dict[str, Shape], list[planning.Line]]:
    """What the kernel holds, read back after a restart: the shapes (their rates ``UNKNOWN``)
    of the ports (id -> device) whose devices have a root qdisc (``rooted``), an ingress qdisc
    or an IFB device of ours; and the lines that remove the IFB devices of ours no port here
    has (``batches``' ``strays``)."""
    found = {}
    for port_id, device in ports.items():
        held = Shape(
            port=port_id,
            device=device,
            ingress_kbps=UNKNOWN if device in rooted else 0,
            egress_kbps=UNKNOWN if ifb(port_id) in ifbs else 0,
            redirected=device in ingress,
        )
        if held != Shape(port=port_id, device=device):
            found[port_id] = held
    mine = {ifb(port_id) for port_id in ports}
    strays = [planning.Line(f"link set {name} group {DOOMED}", "") for name in sorted(ifbs - mine)]
    return found, strays


def device_of(port: pb.Port) -> str:
    return names.tap(port.id)


def owns(device: str) -> bool:
    return device.startswith(IFB)
