"""Trunks on a kernel without 802.1Q devices: VLANs spliced onto a device by two small eBPF
programs at tc. Pure: which splices the goal state wants, and the programs' bytecode.

A trunk's parent port carries its own network untagged and each subport's network tagged with
the subport's VLAN. The usual way (a ``vlan`` device per subport on the parent's device, or a
VLAN-filtering bridge) needs ``CONFIG_VLAN_8021Q`` or ``CONFIG_BRIDGE_VLAN_FILTERING``, and the
kernels this runs on have neither (nor tc's ``act_vlan``); they have ``cls_bpf`` with
direct actions. So a **splice** of device T (the trunk side) with children (VLAN V -> device C)
is two kinds of program (docs/agent.md, "Trunks"):

- on T's ingress, ``untag``: a frame tagged V (the kernel has moved the tag into the packet's
  metadata before tc sees it) is untagged (``bpf_skb_vlan_pop``) and sent out of C
  (``bpf_redirect``); a frame tagged with a VLAN of no child is dropped; an untagged frame goes
  on as usual (it is the parent's own network);
- on each C's ingress, ``tag``: the frame is tagged V (``bpf_skb_vlan_push``) and sent out of T.

On the host, T is the parent's ``tap`` and each C a subport's ``trunk_leg``, the peer of the
subport's ``tap`` on its segment's bridge: a tagged frame from the parent's endpoint enters the
subport's segment as if the subport had sent it (its security groups, anti-spoofing and
forwarding entries apply on its ``tap``), and what the segment sends the subport leaves on the
parent's device tagged. In netns mode the driver plays the endpoint too: the parent's
namespace gets ``eth0.<V>`` per subport (a veth: ``names.vlan_child``) whose peer is spliced to
``eth0`` the same way, so what the endpoint sends on ``eth0.<V>`` leaves ``eth0`` tagged V.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterable

import msgspec

from alcor.agent.drivers.linux import kernel as k
from alcor.agent.drivers.linux import names
from alcor.v1 import southbound_pb2 as pb


class Splice(msgspec.Struct, frozen=True, kw_only=True):
    """On ``trunk`` in namespace ``ns``: frames tagged with a child's VLAN go out of that child
    untagged; what a child receives goes out of ``trunk`` tagged. ``owners``: the goal-state
    keys it serves (the subports), to whom a failure is reported."""

    ns: str
    trunk: str
    children: tuple[tuple[int, str], ...]  # (VLAN, device), by VLAN
    parent: str  # the parent port
    owners: tuple[str, ...]


def splices(ports: Iterable[pb.Port], *, netns: bool, prefix: str) -> list[Splice]:
    """The splices the host's own ports want: per parent port held here with subports, one on
    the host (and, in netns mode, one in the parent's namespace)."""
    held = {port.id for port in ports if not port.trunk_parent_id}
    riding: defaultdict[str, list[pb.Port]] = defaultdict(list)
    for port in ports:
        if port.trunk_parent_id and port.vlan_id:
            riding[port.trunk_parent_id].append(port)
    found = []
    for parent, subports in sorted(riding.items()):
        if parent not in held:
            continue
        subports.sort(key=lambda port: (port.vlan_id, port.id))
        owners = tuple(f"port:{port.id}" for port in subports)
        found.append(
            Splice(
                ns=k.HOST,
                trunk=names.tap(parent),
                children=tuple((p.vlan_id, names.trunk_leg(p.id)) for p in subports),
                parent=parent,
                owners=owners,
            )
        )
        if netns:
            found.append(
                Splice(
                    ns=names.endpoint_netns(prefix, parent),
                    trunk=names.ENDPOINT_DEVICE,
                    children=tuple((p.vlan_id, names.vlan_leg(p.vlan_id)) for p in subports),
                    parent=parent,
                    owners=owners,
                )
            )
    return found


# --- the programs: eBPF bytecode, assembled here (no compiler on the hosts) -------------------

# tc's direct-action verdicts
TC_ACT_OK = 0
TC_ACT_SHOT = 2
# helpers (include/uapi/linux/bpf.h)
_SKB_VLAN_PUSH = 18
_SKB_VLAN_POP = 19
_REDIRECT = 23
# struct __sk_buff
_VLAN_PRESENT = 20
_VLAN_TCI = 24
_ETH_P_8021Q_BE = 0x0081  # htons(0x8100): the helper takes the protocol in network order
# opcodes
_LDX_W = 0x61  # dst = *(u32 *)(src + off)
_MOV_X = 0xBF  # dst = src
_MOV_K = 0xB7  # dst = imm
_AND_K = 0x57  # dst &= imm
_JEQ_K = 0x15  # if dst == imm: pc += off
_JNE_K = 0x55  # if dst != imm: pc += off
_CALL = 0x85
_EXIT = 0x95


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _send_out(ifindex: int) -> list[bytes]:
    """Redirect to ``ifindex``'s egress and return the helper's verdict."""
    return [
        _insn(_MOV_K, 1, imm=ifindex),
        _insn(_MOV_K, 2, imm=0),
        _insn(_CALL, imm=_REDIRECT),
        _insn(_EXIT),
    ]


def untag(children: Iterable[tuple[int, int]]) -> bytes:
    """The trunk side's ingress: (VLAN, ifindex) per child."""
    per_child: list[bytes] = []
    for vlan, ifindex in children:
        block = [_insn(_MOV_X, 1, 6), _insn(_CALL, imm=_SKB_VLAN_POP), *_send_out(ifindex)]
        per_child += [_insn(_JNE_K, 2, off=len(block), imm=vlan), *block]
    tagged = [
        _insn(_LDX_W, 2, 6, _VLAN_TCI),
        _insn(_AND_K, 2, imm=0x0FFF),
        *per_child,
        _insn(_MOV_K, 0, imm=TC_ACT_SHOT),  # a VLAN of no child
        _insn(_EXIT),
    ]
    return b"".join(
        [
            _insn(_MOV_X, 6, 1),  # r6 = the packet
            _insn(_LDX_W, 2, 6, _VLAN_PRESENT),
            _insn(_JEQ_K, 2, off=len(tagged), imm=0),  # untagged: the parent's own
            *tagged,
            _insn(_MOV_K, 0, imm=TC_ACT_OK),
            _insn(_EXIT),
        ]
    )


def tag(vlan: int, trunk_ifindex: int) -> bytes:
    """A child's ingress: tagged ``vlan``, out of the trunk side."""
    return b"".join(
        [
            _insn(_MOV_X, 6, 1),
            _insn(_MOV_X, 1, 6),
            _insn(_MOV_K, 2, imm=_ETH_P_8021Q_BE),
            _insn(_MOV_K, 3, imm=vlan),
            _insn(_CALL, imm=_SKB_VLAN_PUSH),
            *_send_out(trunk_ifindex),
        ]
    )
