"""``services.tracing``, pure: who must hold a port's entries (across a router, the gateway
host included) and at which revision, a change that leaves the neighbor entry as it was, and
the path between endpoints: one network, routed, external, no route, no gateway, groups that
admit by remote group or refuse, port security off, a host that has not acknowledged."""

from __future__ import annotations

from typing import Any

import msgspec

from alcor.model import records
from alcor.services import holding, status, tracing

NOW = "2026-01-01T00:00:00Z"


def record(kind: type[Any], identifier: str, **fields: Any) -> Any:
    return kind(id=identifier, project_id="p", created_at=NOW, updated_at=NOW, **fields)


def port(identifier: str, network: str, ip: str, host: str = "", **fields: Any) -> records.Port:
    return record(
        records.Port,
        identifier,
        network_id=network,
        mac_address="fa:16:3e:00:00:" + identifier[-2:],
        fixed_ips=[records.FixedIp(subnet_id="s-" + network, ip_address=ip)],
        binding_host_id=host,
        **fields,
    )


def interface(identifier: str, network: str, ip: str, router: str) -> records.Port:
    return port(
        identifier,
        network,
        ip,
        device_owner=records.ROUTER_INTERFACE,
        device_id=router,
        router_id=router,
        router_port_type=records.ROUTER_INTERFACE,
        port_security_enabled=False,
    )


def rule(identifier: str, group: str, direction: str, **fields: Any) -> records.SecurityGroupRule:
    return record(
        records.SecurityGroupRule,
        identifier,
        security_group_id=group,
        direction=direction,
        ethertype="IPv4",
        **fields,
    )


def world(*ports: records.Port, **more: Any) -> holding.Facts:
    networks = {p.network_id for p in ports}
    found: dict[str, Any] = {
        "ports": {p.id: p for p in ports},
        "histories": {p.id: [(10, p)] for p in ports},
        "networks": {n: record(records.Network, n) for n in networks},
        "subnets": {
            "s-" + n: record(records.Subnet, "s-" + n, network_id=n, ip_version=4, cidr=CIDRS[n])
            for n in networks
        },
        "routers": {},
        "groups": {},
        "rules": [],
        "address_groups": {},
        "group_ports": {},
        "floating_ips": [],
    }
    found.update(more)
    return holding.Facts(**found)


CIDRS = {"n1": "10.0.1.0/24", "n2": "10.0.2.0/24", "ext": "203.0.113.0/24"}


def board(*hosts: str, acked: int = 100) -> status.StatusBoard:
    shown = status.StatusBoard()
    for host in hosts:
        shown.connected(host, applied_revision=acked)
    return shown


def program(shown: status.StatusBoard, *ports: records.Port) -> None:
    for p in ports:
        shown.program(p.id, p.binding_host_id, 10)


A = port("pa-01", "n1", "10.0.1.5", "h1")
B = port("pb-02", "n1", "10.0.1.6", "h2")
C = port("pc-03", "n2", "10.0.2.7", "h3")
I1 = interface("i1-04", "n1", "10.0.1.1", "r1")
I2 = interface("i2-05", "n2", "10.0.2.1", "r1")


def test_a_ports_neighbor_is_held_by_every_host_of_its_network_and_those_a_router_away() -> None:
    shown = board("h1", "h2", "h3", "gw")
    for host in ("h1", "h2", "h3", "gw"):
        shown.hold_router("r1", host, 10, frozenset({I1.id, I2.id}))
    found = tracing.trace(world(A, B, C, I1, I2), shown, port_id=A.id)
    assert [h.host for h in found.holders] == ["gw", "h1", "h2", "h3"]
    assert found.unacknowledged == []
    neighbors = {
        h.host: [e.key for e in h.entries if e.key.startswith("neighbor:")] for h in found.holders
    }
    assert all(keys == [f"neighbor:{A.id}"] for keys in neighbors.values())


def test_a_host_that_acknowledged_less_than_the_entrys_revision_is_named() -> None:
    shown = board("h1", "h2")
    shown.connected("h3", applied_revision=9)
    c = port("pc-03", "n1", "10.0.1.7", "h3")
    program(shown, A, B, c)
    found = tracing.trace(world(A, B, c), shown, port_id=A.id)
    assert found.unacknowledged == ["h3"]
    behind = next(h for h in found.holders if h.host == "h3")
    assert (behind.acknowledged_revision, behind.entries[0].revision) == (9, 10)


def test_a_change_that_leaves_the_neighbor_entry_as_it_was_is_not_waited_for() -> None:
    renamed = msgspec.structs.replace(A, name="web")
    moved = msgspec.structs.replace(renamed, binding_host_id="h2")
    history = [(5, A), (8, renamed)]
    assert holding.changed_at(history, holding.neighbor) == 5
    assert holding.changed_at([*history, (9, moved)], holding.neighbor) == 9
    assert holding.changed_at([*history, (9, None)], holding.neighbor) == 0


def test_a_group_member_is_held_by_the_hosts_of_groups_naming_its_group() -> None:
    a = msgspec.structs.replace(A, security_groups=["web"])
    b = msgspec.structs.replace(B, security_groups=["db"])
    facts = world(
        a,
        b,
        rules=[rule("r-db-in", "db", "ingress", remote_group_id="web")],
        group_ports={"web": [a.id], "db": [b.id]},
    )
    found = tracing.trace(facts, board("h1", "h2"), port_id=a.id)
    keys = {h.host: [e.key for e in h.entries] for h in found.holders}
    assert keys["h2"] == [f"neighbor:{a.id}", f"member:web/{a.id}"]
    assert keys["h1"] == [f"neighbor:{a.id}"]


def test_one_network_with_groups_that_admit_is_reachable_and_names_the_rules() -> None:
    a = msgspec.structs.replace(A, security_groups=["web"])
    b = msgspec.structs.replace(B, security_groups=["db"])
    facts = world(
        a,
        b,
        rules=[
            rule("r-web-out", "web", "egress"),
            rule("r-db-in", "db", "ingress", remote_group_id="web"),
            rule("r-db-ssh", "db", "ingress", protocol="tcp", port_range_min=22, port_range_max=22),
        ],
    )
    shown = board("h1", "h2")
    program(shown, a, b)
    target = tracing.Target(to=b.id, port_id=b.id)
    path = tracing.trace(facts, shown, port_id=a.id, target=target).path
    assert path is not None
    assert (path.kind, path.reachable, path.breaks) == ("l2", True, [])
    assert path.egress is not None
    assert path.egress.rules == ["r-web-out"]
    assert path.ingress is not None
    assert path.ingress.rules == ["r-db-in", "r-db-ssh"]
    udp = tracing.trace(facts, shown, port_id=a.id, target=target, protocol="udp", port_number=22)
    assert udp.path is not None
    assert udp.path.ingress is not None
    assert udp.path.ingress.rules == ["r-db-in"]


def test_a_group_that_refuses_is_named_and_port_security_off_is_not_filtered() -> None:
    a = msgspec.structs.replace(A, security_groups=["web"])
    b = msgspec.structs.replace(B, security_groups=["closed"])
    groups = {"closed": record(records.SecurityGroup, "closed", name="locked")}
    facts = world(a, b, rules=[rule("r-web-out", "web", "egress")], groups=groups)
    shown = board("h1", "h2")
    program(shown, a, b)
    target = tracing.Target(to=b.id, port_id=b.id)
    path = tracing.trace(facts, shown, port_id=a.id, target=target).path
    assert path is not None
    assert not path.reachable
    assert [(x.kind, x.subject) for x in path.breaks] == [("ingress_refused", "closed")]
    assert "locked (closed)" in path.breaks[0].reason
    open_b = msgspec.structs.replace(b, port_security_enabled=False)
    facts = msgspec.structs.replace(facts, ports={**facts.ports, b.id: open_b})
    path = tracing.trace(facts, shown, port_id=a.id, target=target).path
    assert path is not None
    assert path.reachable
    assert path.ingress is not None
    assert not path.ingress.port_security


def test_two_networks_are_routed_through_the_router_joining_them_or_not_at_all() -> None:
    a = msgspec.structs.replace(A, port_security_enabled=False)
    c = msgspec.structs.replace(C, port_security_enabled=False)
    shown = board("h1", "h3")
    program(shown, a, c)
    shown.hold_router("r1", "h1", 10, frozenset({I1.id, I2.id}))
    shown.hold_router("r1", "h3", 10, frozenset({I1.id, I2.id}))
    target = tracing.Target(to=c.id, port_id=c.id)
    path = tracing.trace(world(a, c, I1, I2), shown, port_id=a.id, target=target).path
    assert path is not None
    assert (path.kind, path.router_id, path.reachable) == ("routed", "r1", True)
    assert [i.address for i in path.interfaces] == ["10.0.1.1", "10.0.2.1"]

    path = tracing.trace(world(a, c), shown, port_id=a.id, target=target).path
    assert path is not None
    assert [b.kind for b in path.breaks] == ["no_route"]

    shown.connected("h3", applied_revision=5)  # h3 has not acknowledged the router
    path = tracing.trace(world(a, c, I1, I2), shown, port_id=a.id, target=target).path
    assert path is not None
    assert ("unacknowledged", "h3") in [(b.kind, b.subject) for b in path.breaks]


def test_an_address_outside_every_subnet_leaves_by_a_gateway_or_nowhere() -> None:
    a = msgspec.structs.replace(A, port_security_enabled=False)
    shown = board("h1")
    program(shown, a)
    target = tracing.Target(to="198.51.100.9", address="198.51.100.9")
    path = tracing.trace(world(a, I1), shown, port_id=a.id, target=target).path
    assert path is not None
    assert [b.kind for b in path.breaks] == ["no_gateway"]
    router = record(records.Router, "r1", gateway_network_id="ext")
    shown.hold_router("r1", "h1", 10, frozenset({I1.id}))
    path = tracing.trace(world(a, I1, routers={"r1": router}), shown, port_id=a.id, target=target)
    assert path.path is not None
    assert (path.path.kind, path.path.router_id, path.path.reachable) == ("external", "r1", True)
    unknown = tracing.Target(to="10.0.1.77", address="10.0.1.77")
    path = tracing.trace(world(a, I1), shown, port_id=a.id, target=unknown)
    assert path.path is not None
    assert [b.kind for b in path.path.breaks] == ["unknown_address"]


def test_a_port_down_or_disabled_breaks_the_path() -> None:
    a = msgspec.structs.replace(A, port_security_enabled=False)
    b = msgspec.structs.replace(B, port_security_enabled=False, admin_state_up=False)
    shown = board("h1", "h2")
    program(shown, a)
    target = tracing.Target(to=b.id, port_id=b.id)
    path = tracing.trace(world(a, b), shown, port_id=a.id, target=target).path
    assert path is not None
    assert [(x.kind, x.subject) for x in path.breaks] == [("port_disabled", b.id)]
    b = msgspec.structs.replace(b, admin_state_up=True)
    path = tracing.trace(world(a, b), shown, port_id=a.id, target=target).path
    assert path is not None
    assert [(x.kind, x.subject) for x in path.breaks] == [("port_down", b.id)]
