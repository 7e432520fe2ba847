"""QoS on the endpoints' devices, planned (``shaping``): what a shape becomes in ``ip``, ``tc``
and ``nft`` lines, that only what changed is touched, that 1,000 ports' change is a few
processes, and what a restart reads back is replaced or cleared. The lines themselves are
proved on a real kernel by tests/system/test_qos.py."""

from __future__ import annotations

from alcor.agent.drivers.linux import executing, names, planning, shaping
from alcor.model import records
from alcor.v1 import southbound_pb2 as pb
from tests.goalstates import NOW, Cloud
from tests.unit.test_linux_driver import IP, Agent

PORT = "0123456789abcdef"
TAP = "tap0123456789a"
IFB = "alif-0123456789"


def shape(**rates: int) -> shaping.Shape:
    return shaping.Shape(port=PORT, device=TAP, redirected=rates.get("egress_kbps", 0) > 0, **rates)


def texts(batches: list[planning.Batch]) -> list[tuple[str, str]]:
    return [(batch.tool, line.text) for batch in batches for line in batch.lines]


def test_a_policy_asking_nothing_shapes_nothing() -> None:
    port = pb.Port(id=PORT)
    assert shaping.shape_of(port, None, device=TAP) is None
    assert shaping.shape_of(port, pb.QosPolicy(id="p"), device=TAP) is None
    marked = shaping.shape_of(port, pb.QosPolicy(id="p", marks=True, dscp_mark=0), device=TAP)
    assert marked == shape(dscp=0)  # 0 is a mark


def test_a_new_shape_limits_both_ways_and_marks() -> None:
    new = shape(
        egress_kbps=10000, egress_burst_kb=1000, ingress_kbps=20000, ingress_burst_kb=8, dscp=26
    )
    found = texts(shaping.batches({}, {PORT: new}, [PORT], present={PORT}))
    assert found == [
        ("ip", f"link add {IFB} up type ifb"),
        ("tc", f"qdisc replace dev {TAP} root tbf rate 20000kbit burst 16kbit latency 50ms"),
        ("tc", f"qdisc replace dev {IFB} root tbf rate 10000kbit burst 1000kbit latency 50ms"),
        ("tc", f"qdisc replace dev {TAP} ingress"),
        ("tc", f"filter replace dev {TAP} parent ffff: protocol all prio 1 handle 800::800 u32 "
               f"match u32 0 0 action mirred egress redirect dev {IFB}"),
        ("nft", f'add element bridge alcor-qos marks {{ "{TAP}" : jump dscp-26 }}'),
    ]  # fmt: skip
    owners = {
        line.owner
        for batch in shaping.batches({}, {PORT: new}, [PORT], present={PORT})
        for line in batch.lines
    }
    assert owners == {f"port:{PORT}"}


def test_only_what_changed_is_programmed_again() -> None:
    old = shape(egress_kbps=10000, egress_burst_kb=1000, dscp=26)
    assert shaping.batches({PORT: old}, {PORT: old}, [PORT], present={PORT}) == []
    faster = shape(egress_kbps=20000, egress_burst_kb=1000, dscp=26)
    assert texts(shaping.batches({PORT: old}, {PORT: faster}, [PORT], present={PORT})) == [
        ("tc", f"qdisc replace dev {IFB} root tbf rate 20000kbit burst 1000kbit latency 50ms"),
    ]
    remarked = shape(egress_kbps=10000, egress_burst_kb=1000, dscp=46)
    assert texts(shaping.batches({PORT: old}, {PORT: remarked}, [PORT], present={PORT})) == [
        ("nft", f'delete element bridge alcor-qos marks {{ "{TAP}" }}'),
        ("nft", f'add element bridge alcor-qos marks {{ "{TAP}" : jump dscp-46 }}'),
    ]


def test_a_limit_taken_away_is_removed_and_a_port_gone_leaves_no_ifb() -> None:
    old = shape(egress_kbps=10000, egress_burst_kb=1000, ingress_kbps=5000, ingress_burst_kb=500)
    only_in = shape(ingress_kbps=5000, ingress_burst_kb=500)
    assert texts(shaping.batches({PORT: old}, {PORT: only_in}, [PORT], present={PORT})) == [
        ("tc", f"qdisc del dev {TAP} ingress"),
        ("ip", f"link set {IFB} group 4215"),  # IFB devices go together: one wait for RCU
        ("ip", "link del group 4215"),
    ]
    gone_with_its_device = shaping.batches({PORT: only_in}, {}, [PORT], present=set())
    assert gone_with_its_device == []
    assert texts(shaping.batches({PORT: old}, {}, [PORT], present=set())) == [
        ("ip", f"link set {IFB} group 4215"),
        ("ip", "link del group 4215"),
    ]


def test_a_change_on_a_thousand_ports_is_one_process() -> None:
    ports = [f"{n:016x}" for n in range(1000)]
    old = {p: shaping.Shape(port=p, device=p, egress_kbps=1000, redirected=True) for p in ports}
    new = {p: shaping.Shape(port=p, device=p, egress_kbps=2000, redirected=True) for p in ports}
    found = shaping.batches(old, new, ports, present=set(ports))
    assert [(batch.tool, len(batch.lines)) for batch in found] == [("tc", 1000)]


def test_what_a_restart_reads_back_is_replaced_or_cleared() -> None:
    other = "fedcba9876543210"
    ports = {PORT: TAP, other: "tapfedcba98765"}
    old, strays = shaping.observed(
        ports, rooted={TAP}, ingress={"tapfedcba98765"}, ifbs={IFB, "alif-gone"}
    )
    assert [line.text for line in strays] == ["link set alif-gone group 4215"]
    wanted = {PORT: shape(ingress_kbps=1000, ingress_burst_kb=100)}
    found = texts(
        shaping.batches(
            old, wanted, set(old) | set(wanted), present=set(ports), fresh=True, strays=strays
        )
    )
    assert (
        "tc",
        f"qdisc replace dev {TAP} root tbf rate 1000kbit burst 100kbit latency 50ms",
    ) in found
    assert ("tc", "qdisc del dev tapfedcba98765 ingress") in found
    assert ("ip", f"link set {IFB} group 4215") in found  # there, and no egress limit wanted
    assert ("ip", "link set alif-gone group 4215") in found  # a port no longer here
    assert found[-1] == ("ip", "link del group 4215")
    assert not any("alif-fedcba9876" in text for _tool, text in found)  # none there to remove
    assert any(tool == "nft" and "add table bridge alcor-qos" in text for tool, text in found)


# --- the driver, fed by the real engine, over the in-memory kernel ---------------------------


def qos_world() -> tuple[Cloud, Agent, str]:
    cloud = Cloud()
    cloud.host("h1", IP["h1"])
    subnet = cloud.subnet(cloud.network(), "10.0.1.0/24")
    port = cloud.port(subnet, "10.0.1.11", host="h1")
    cloud.put(
        records.QosPolicy(
            id="gold",
            project_id="p",
            created_at=NOW,
            updated_at=NOW,
            rules=[records.QosRule(id="r", type="bandwidth_limit", max_kbps=8000)],
        )
    )
    agent = Agent(cloud, "h1", executing.InMemory())
    agent.start()
    return cloud, agent, port


def lines_run(kernel: executing.InMemory) -> list[tuple[str, str]]:
    return texts(kernel.ran)


def test_a_port_given_a_policy_is_shaped_and_follows_the_policy() -> None:
    cloud, agent, port = qos_world()
    assert not [text for tool, text in lines_run(agent.kernel) if tool == "tc"]
    cloud.change(port, qos_policy_id="gold")
    agent.kernel.ran.clear()
    assert agent.follow() == []
    tap, ifb = names.tap(port), shaping.ifb(port)
    assert lines_run(agent.kernel) == [
        ("ip", f"link add {ifb} up type ifb"),
        ("tc", f"qdisc replace dev {ifb} root tbf rate 8000kbit burst 6400kbit latency 50ms"),
        ("tc", f"qdisc replace dev {tap} ingress"),
        ("tc", f"filter replace dev {tap} parent ffff: protocol all prio 1 handle 800::800 u32 "
               f"match u32 0 0 action mirred egress redirect dev {ifb}"),
    ]  # fmt: skip
    agent.kernel.ran.clear()
    faster = records.QosRule(id="r", type="bandwidth_limit", max_kbps=9000, max_burst_kbps=900)
    cloud.change("gold", rules=[faster])
    assert agent.follow() == []
    assert lines_run(agent.kernel) == [
        ("tc", f"qdisc replace dev {ifb} root tbf rate 9000kbit burst 900kbit latency 50ms")
    ]


def test_a_port_whose_shaping_fails_reports_why() -> None:
    cloud, agent, port = qos_world()
    agent.kernel.fail[f"port:{port}"] = "RTNETLINK answers: No such device"
    cloud.change(port, qos_policy_id="gold")
    failures = agent.follow()
    assert [(f.kind, f.id, f.message) for f in failures] == [
        ("port", port, "RTNETLINK answers: No such device")
    ]
