"""The namespaces' batch lines as rtnetlink requests (``rtnetlink``), without a kernel: every line
planning writes for a namespace translates, each request carries what ``ip`` would send (read
back with pyroute2's decoder), a device that is not there or an error the kernel answers is
pinned to its line, and the executor sends only namespaces' ``ip`` batches over netlink."""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLMSG_ERROR
from pyroute2.netlink.rtnl import (
    RTM_DELADDR,
    RTM_DELNEIGH,
    RTM_DELROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWNEIGH,
    RTM_NEWROUTE,
)
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from alcor.agent.drivers.linux import executing, names, planning, rtnetlink
from alcor.agent.drivers.linux import kernel as k
from tests.unit.test_linux_driver import Agent, World

NLM_F_CAPPED, NLM_F_ACK_TLVS, NLMSGERR_ATTR_MSG = 0x100, 0x200, 1
INDEXES = {"lo": 1, "eth0": 7, "qr-1": 9, "br0": 3}


def sent(text: str, *, ack: bool = True) -> Any:
    """The request of one line as the kernel would read it."""
    request = rtnetlink.request(planning.Line(text, "port:p"))
    data = rtnetlink.encode(request, sequence=5, indexes=INDEXES, ack=ack)
    (message,) = MarshalRtnl().parse(data)
    assert message["header"]["sequence_number"] == 5
    return message


def attrs(message: Any) -> dict[str, Any]:
    return dict(message["attrs"])


# --- what each line sends -----------------------------------------------------------------------


def test_link_settings_set_the_device_by_index() -> None:
    mode = sent("link set dev eth0 addrgenmode none")
    assert (mode["header"]["type"], mode["index"], mode["change"]) == (RTM_NEWLINK, 7, 0)
    inet6 = mode.get_attr("IFLA_AF_SPEC").get_attr("AF_INET6")
    assert inet6.get_attr("IFLA_INET6_ADDR_GEN_MODE") == 1
    up = sent("link set dev eth0 mtu 1450 address FA:16:3E:00:00:02 up")
    assert (up["index"], up["flags"] & 1, up["change"]) == (7, 1, 1)
    assert attrs(up) == {"IFLA_MTU": 1450, "IFLA_ADDRESS": "fa:16:3e:00:00:02"}
    down = sent("link set dev lo down")
    assert (down["index"], down["flags"], down["change"]) == (1, 0, 1)
    attached = sent("link set dev qr-1 master br0")
    assert attached.get_attr("IFLA_MASTER") == 3
    assert sent("link set dev qr-1 nomaster").get_attr("IFLA_MASTER") == 0


def test_addresses_are_replaced_as_ip_replaces_them() -> None:
    v4 = sent("addr replace 10.0.1.11/24 dev eth0")
    assert v4["header"]["type"] == RTM_NEWADDR
    assert v4["header"]["flags"] & (NLM_F_CREATE | NLM_F_REPLACE) == NLM_F_CREATE | NLM_F_REPLACE
    assert (v4["family"], v4["prefixlen"], v4["index"], v4["flags"]) == (socket.AF_INET, 24, 7, 0)
    assert attrs(v4) == {"IFA_LOCAL": "10.0.1.11", "IFA_ADDRESS": "10.0.1.11"}
    v6 = sent("addr replace fe80::f816:3eff:fe00:2/64 dev eth0 nodad")
    assert (v6["family"], v6["prefixlen"], v6["flags"]) == (socket.AF_INET6, 64, 0x02)
    gone = sent("addr del 10.0.1.11/24 dev eth0")
    assert gone["header"]["type"] == RTM_DELADDR
    assert attrs(gone) == {"IFA_LOCAL": "10.0.1.11"}


def test_routes_go_to_the_main_table_with_ips_protocol_and_scope() -> None:
    default = sent("route replace 0.0.0.0/0 via 10.0.1.1 dev eth0")
    assert default["header"]["type"] == RTM_NEWROUTE
    assert (default["table"], default["proto"], default["scope"], default["type"]) == (
        254,
        3,
        0,
        1,
    )
    assert default["dst_len"] == 0
    assert (default.get_attr("RTA_GATEWAY"), default.get_attr("RTA_OIF")) == ("10.0.1.1", 7)
    onlink = sent("route replace 169.254.169.254/32 dev eth0")
    assert (onlink["scope"], onlink["dst_len"], onlink.get_attr("RTA_DST")) == (
        253,
        32,
        "169.254.169.254",
    )
    assert sent("route replace 10.9.0.0/16 via 10.0.1.9 dev eth0 onlink")["flags"] == 4
    v6 = sent("route replace ::/0 via 2001:db8::1 dev eth0")
    assert (v6["family"], v6["scope"]) == (socket.AF_INET6, 0)
    gone = sent("route del 10.9.0.0/16")
    assert (gone["header"]["type"], gone["table"], gone["scope"]) == (RTM_DELROUTE, 254, 255)


def test_neighbor_entries_are_permanent() -> None:
    entry = sent("neigh replace 10.0.1.12 lladdr FA:16:3E:00:00:09 dev eth0 nud permanent")
    assert (entry["header"]["type"], entry["ifindex"], entry["state"]) == (RTM_NEWNEIGH, 7, 0x80)
    assert attrs(entry) == {"NDA_DST": "10.0.1.12", "NDA_LLADDR": "fa:16:3e:00:00:09"}
    gone = sent("neigh del 10.0.1.12 dev eth0")
    assert (gone["header"]["type"], attrs(gone)) == (RTM_DELNEIGH, {"NDA_DST": "10.0.1.12"})


def test_only_the_last_request_of_a_send_asks_for_an_acknowledgement() -> None:
    assert sent("link set dev lo up")["header"]["flags"] & NLM_F_ACK
    assert not sent("link set dev lo up", ack=False)["header"]["flags"] & NLM_F_ACK


@pytest.mark.parametrize(
    "text",
    [
        "link add x type dummy",
        "link set dev eth0 type bridge nf_call_iptables 1",
        "link set dev eth0 learning off",
        "route replace 10.0.0.0/8 via 10.0.0.1 table 7",
        "route replace 10.0.0.0/8 via 2001:db8::1",
        "neigh replace 10.0.0.1 lladdr fa:16:3e:00:00:01 dev eth0 nud reachable",
        "addr replace not-an-address dev eth0",
        "link set",
    ],
)
def test_a_line_in_another_form_leaves_its_batch_to_an_ip_process(text: str) -> None:
    lines = [planning.Line("link set dev lo up", "a"), planning.Line(text, "b")]
    assert rtnetlink.translate(lines) is None


# --- every namespace batch the driver plans ------------------------------------------------------


def namespace_batches(agent: Agent) -> list[planning.Batch]:
    return [
        batch
        for ops in agent.kernel.executed
        for stage in planning.stages(ops)
        for batch in stage
        if batch.tool == "ip" and batch.ns
    ]


def test_every_namespace_batch_the_driver_plans_goes_over_netlink() -> None:
    world = World()
    v6 = world.cloud.subnet(world.net_a, "2001:db8:1::/64", routes=(("10.9.0.0/16", "10.0.1.9"),))
    world.cloud.port(v6, "2001:db8:1::11", host="h1")
    world.cloud.interface(world.router, v6)
    h1 = Agent(world.cloud, "h1", executing.InMemory())
    assert h1.start() == []
    world.cloud.delete(world.a1)
    world.cloud.change(world.sub_b, host_routes=[])
    assert h1.follow() == []
    batches = namespace_batches(h1)
    router = names.router_netns(h1.settings.prefix, world.router)
    assert {batch.ns for batch in batches} >= {router, h1.ns(world.b1)}
    texts = {line.text.split()[0] + " " + line.text.split()[1] for b in batches for line in b.lines}
    assert {"link set", "addr replace", "route replace"} <= texts
    for batch in batches:
        assert rtnetlink.translate(batch.lines) is not None, [line.text for line in batch.lines]


def test_the_executor_sends_namespaces_over_netlink_and_runs_the_hosts_batches() -> None:
    lines = [planning.Line("link set dev eth0 up", "port:p")]
    stage = [
        planning.Batch(tool="ip", ns=k.HOST, lines=lines),
        planning.Batch(tool="ip", ns="ep-1", lines=lines),
        planning.Batch(tool="ip", ns="ep-2", lines=[planning.Line("link add x type dummy", "x")]),
        planning.Batch(tool="sysctl", ns="ep-1", lines=[planning.Line("a.b=1", "x")]),
    ]
    inside, processes = executing.Processes()._split(stage)
    assert [ns for ns, _ in inside] == ["ep-1"]
    assert [(batch.tool, batch.ns) for batch in processes] == [
        ("ip", k.HOST),
        ("ip", "ep-2"),
        ("sysctl", "ep-1"),
    ]
    _, all_processes = executing.Processes(netlink=False)._split(stage)
    assert all_processes == stage


def test_a_long_netns_add_batch_is_spread_over_processes() -> None:
    lines = [planning.Line(f"netns add n{i}", f"port:{i}") for i in range(100)]
    parts = executing._spread(planning.Batch(tool="ip", ns=k.HOST, lines=lines))
    assert len(parts) == min(executing.NETNS_PROCESSES, 100 // executing.NETNS_PER_PROCESS)
    assert sorted(line.text for part in parts for line in part.lines) == sorted(
        line.text for line in lines
    )
    few = planning.Batch(tool="ip", ns=k.HOST, lines=lines[:3])
    assert executing._spread(few) == [few]
    mixed = planning.Batch(tool="ip", ns=k.HOST, lines=[*lines, planning.Line("link add", "x")])
    assert executing._spread(mixed) == [mixed]


# --- failures ------------------------------------------------------------------------------------


def test_a_device_that_is_not_there_fails_its_line_as_ip_says_it() -> None:
    request = rtnetlink.request(planning.Line("addr replace 10.0.0.2/24 dev eth9", "port:p"))
    assert rtnetlink.devices([request]) == {"eth9"}
    assert rtnetlink.missing(request, INDEXES) == 'Cannot find device "eth9"'
    assert rtnetlink.missing(rtnetlink.request(planning.Line("route del 10.0.0.0/8", "")), {}) == ""


def answer(sequence: int, code: int, said: str = "") -> bytes:
    """The kernel's answer to a request, as it lays it out: the error code (0: an
    acknowledgement, which echoes the request's header only), the request, the kernel's own
    words (extended acknowledgement)."""
    original = rtnetlink.encode(
        rtnetlink.request(planning.Line("link set dev lo up", "")),
        sequence=sequence,
        indexes=INDEXES,
    )
    echoed = original if code else original[:16]
    words = b""
    if said:
        text = said.encode() + b"\0"
        words = struct.pack("=HH", 4 + len(text), NLMSGERR_ATTR_MSG) + text
        words += b"\0" * (-len(words) % 4)
    flags = (NLM_F_ACK_TLVS if words else 0) | (0 if code else NLM_F_CAPPED)
    body = struct.pack("=i", -code) + echoed + words
    return struct.pack("=IHHII", 16 + len(body), NLMSG_ERROR, flags, sequence, 0) + body


def test_the_kernels_answers_name_the_request_and_why() -> None:
    replies = rtnetlink.Replies()
    assert replies.read(answer(3, 0)) == [(3, "")]
    assert replies.read(answer(4, 17)) == [(4, "RTNETLINK answers: File exists")]
    assert replies.read(answer(5, 22, "Nexthop has invalid gateway")) == [
        (5, "RTNETLINK answers: Invalid argument: Nexthop has invalid gateway")
    ]
