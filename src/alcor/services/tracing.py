"""``alcor trace``: why can port A not reach B, answered from the controller, as ovn-trace
answers it for OVN. Pure: ``trace`` takes the records a trace reads (``Facts``, gathered by
``services.port_traces``) and the status view, and returns a ``traces.Trace``.

**Who must hold what of a port** (as ``goalstate.engine`` places it, recomputed here from the
records; docs/goalstate.md, "Topics"):

- ``neighbor:<port>``: every host with an endpoint on the port's network, or on a network of a
  router with an interface there, and every host holding such a router (the hosts the status
  board says hold its interfaces: the gateway host too);
- ``member:<group>/<port>``, for each of its groups G: every host with a port-security endpoint
  in a group whose rule names G as remote group;
- ``router:<id>``: its own host, for every router with an interface on its network, and the host
  serving that router's gateway (as the hosts report the router's ports: ``held_status``).

An entry carries the store revision at which it last changed; a host has acknowledged it when
the revision it acknowledged is at least that. The revision is read from the port's change-log
rows (the last at which what the entry holds changed: for a neighbor the network, MAC,
addresses and host; for a membership the group and the addresses), so a change that leaves an
entry as it was (a name) is not waited for. Approximations: a host that joined the network
after that revision was sent the entry at its join, and counts as having it from that revision
on (its own ports' status shows whether it acknowledged its join); below the change log's
compaction floor the port's last row stands for its history.

**The path to a destination** (a port, or an address): one network (``l2``), two joined by a
router with an interface on each (``routed``), or an address outside every subnet of the
networks reached, through a router's gateway or the port's floating IP (``external``). It
breaks where a port is down or disabled, no router joins the networks, no gateway leads out,
an address is held by no port, a host has not acknowledged the other end's neighbor entry or
the router, or the security groups refuse: the source's egress rules must admit the
destination's address (or group), the destination's ingress rules the source's (replies pass
by connection tracking). Without ``protocol`` any rule that admits the address counts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Hashable, Iterable, Sequence

import msgspec

from alcor.model import records
from alcor.services import ports as port_service
from alcor.services import status, traces
from alcor.services.status import StatusView

History = Sequence[tuple[int, records.Port | None]]  # (revision, the port after it; None: gone)
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132}
_PORTED = {"6", "17", "132"}  # protocols whose rules may name ports


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    """The records a trace reads: the traced ports, every port of their networks and of the
    networks their routers join, the members of the groups that name theirs as remote group;
    those networks' subnets and routers; the groups, rules and address groups in play."""

    ports: dict[str, records.Port]
    histories: dict[str, list[tuple[int, records.Port | None]]]
    networks: dict[str, records.Network]
    subnets: dict[str, records.Subnet]
    routers: dict[str, records.Router]
    groups: dict[str, records.SecurityGroup]
    rules: list[records.SecurityGroupRule]
    address_groups: dict[str, records.AddressGroup]
    group_ports: dict[str, list[str]]  # group -> its ports
    floating_ips: list[records.FloatingIp]


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """Where ``--to`` points: a port (by id or by one of its addresses) or a bare address."""

    to: str
    port_id: str = ""
    address: str = ""


def trace(
    facts: Facts,
    view: StatusView,
    *,
    port_id: str,
    target: Target | None = None,
    protocol: str | None = None,
    port_number: int | None = None,
) -> traces.Trace:
    port = facts.ports[port_id]
    holders = holders_of(facts, view, port)
    path = None
    if target is not None:
        path = _path(facts, view, port, target, protocol=protocol, port_number=port_number)
    return traces.Trace(
        port=endpoint(facts, view, port),
        revision=view.revision,
        holders=holders,
        unacknowledged=[h.host for h in holders if not h.acknowledged],
        path=path,
    )


def endpoint(facts: Facts, view: StatusView, port: records.Port) -> traces.Endpoint:
    history = facts.histories.get(port.id, [])
    return traces.Endpoint(
        id=port.id,
        name=port.name,
        network_id=port.network_id,
        addresses=[ip.ip_address for ip in port.fixed_ips],
        host=port.binding_host_id,
        status=port_service.status_of(port, view),
        admin_state_up=port.admin_state_up,
        port_security_enabled=port.port_security_enabled,
        security_groups=list(port.security_groups),
        revision=history[-1][0] if history else 0,
    )


# --- who holds what ------------------------------------------------------------------------


def changed_at(history: History, projection: Callable[[records.Port], Hashable]) -> int:
    """The revision at which ``projection`` of the port last changed (0: never held)."""
    found, last = 0, None
    for revision, port in history:
        value = projection(port) if port is not None else None
        if value != last:
            found, last = revision, value
    return found if last is not None else 0


def _is_own(port: records.Port) -> bool:
    return bool(port.binding_host_id) and not port.device_owner.startswith("network:")


def _neighbor(port: records.Port) -> Hashable:
    if not _is_own(port):
        return None
    ips = tuple(ip.ip_address for ip in port.fixed_ips)
    return (port.network_id, port.mac_address, ips, port.binding_host_id)


def _membership(group_id: str) -> Callable[[records.Port], Hashable]:
    def member(port: records.Port) -> Hashable:
        if group_id not in port.security_groups:
            return None
        pairs = tuple(pair.ip_address for pair in port.allowed_address_pairs)
        return (tuple(ip.ip_address for ip in port.fixed_ips), pairs)

    return member


def _interfaces(facts: Facts, network_id: str) -> list[records.Port]:
    """The router interfaces on a network."""
    return [
        p
        for p in facts.ports.values()
        if p.network_id == network_id
        and p.router_id
        and p.router_port_type == records.ROUTER_INTERFACE
    ]


def _router_ports(facts: Facts, router_id: str) -> list[records.Port]:
    return [p for p in facts.ports.values() if p.router_id == router_id]


def _endpoint_hosts(facts: Facts, network_ids: Iterable[str]) -> set[str]:
    networks = set(network_ids)
    return {
        p.binding_host_id for p in facts.ports.values() if _is_own(p) and p.network_id in networks
    }


def holders_of(facts: Facts, view: StatusView, port: records.Port) -> list[traces.Holder]:
    wanted: dict[str, list[tuple[str, int, str]]] = {}  # host -> (key, revision, status)
    history = facts.histories.get(port.id, [])

    def want(host: str, key: str, revision: int, state: str = "") -> None:
        wanted.setdefault(host, []).append((key, revision, state))

    if _is_own(port):
        hosts = _endpoint_hosts(facts, [port.network_id])
        for interface in _interfaces(facts, port.network_id):
            legs = _router_ports(facts, interface.router_id)
            hosts |= _endpoint_hosts(facts, {leg.network_id for leg in legs})
            hosts |= {host for leg in legs for host in view.holders(leg.id)}
            _router_leg(view, port.binding_host_id, interface, want)
            for leg in legs:
                if leg.router_port_type == records.ROUTER_GATEWAY:
                    for host in view.holders(leg.id):
                        _router_leg(view, host, leg, want)
        revision = changed_at(history, _neighbor)
        for host in sorted(hosts):
            want(host, f"neighbor:{port.id}", revision)
    for group_id in port.security_groups:
        naming = {r.security_group_id for r in facts.rules if r.remote_group_id == group_id}
        members = {m for g in naming for m in facts.group_ports.get(g, [])}
        hosts = {
            p.binding_host_id
            for m in members
            if (p := facts.ports.get(m)) is not None and _is_own(p) and p.port_security_enabled
        }
        revision = changed_at(history, _membership(group_id))
        for host in sorted(hosts):
            want(host, f"member:{group_id}/{port.id}", revision)
    return [_holder(view, host, entries, port.id) for host, entries in sorted(wanted.items())]


def _router_leg(
    view: StatusView,
    host: str,
    leg: records.Port,
    want: Callable[[str, str, int, str], None],
) -> None:
    """The router of ``leg`` on ``host``, as that host reports the leg."""
    if not host:
        return
    found = view.held_status(leg.id, host, leg.router_id)
    if found is None:
        found = "unreachable" if host in view.holders(leg.id) else "not held"
    want(host, f"router:{leg.router_id}", 0, found)


def _holder(
    view: StatusView, host: str, entries: list[tuple[str, int, str]], port_id: str
) -> traces.Holder:
    report = view.report(host)
    acked = report.acknowledged_revision if report is not None else 0
    held = [
        traces.Held(
            key=key,
            revision=revision,
            acknowledged=state == status.ACTIVE if state else acked >= revision,
            status=state,
        )
        for key, revision, state in entries
    ]
    routers = {key.partition(":")[2] for key, _revision, _state in entries if key[:7] == "router:"}
    failures = [
        f"{f.kind}:{f.id}: {f.message}"
        for f in (report.failures if report is not None else [])
        if port_id in f.id or f.id in routers
    ]
    return traces.Holder(
        host=host,
        connected=report is not None and report.connected,
        acknowledged_revision=acked,
        acknowledged=all(h.acknowledged for h in held),
        entries=held,
        failures=failures,
    )


# --- the path ------------------------------------------------------------------------------


def _path(
    facts: Facts,
    view: StatusView,
    source: records.Port,
    target: Target,
    *,
    protocol: str | None,
    port_number: int | None,
) -> traces.Path:
    breaks: list[traces.Break] = []
    destination = facts.ports.get(target.port_id) if target.port_id else None
    address = target.address or (destination.fixed_ips[0].ip_address if destination else "")
    if destination is not None:
        address = _same_version(destination, address or _first(source)) or address
    source_address = _same_version(source, address) or _first(source)
    for port in (source, destination):
        if port is not None:
            breaks += _port_breaks(facts, view, port)
    router_id, floating_ip = "", ""
    interfaces: list[traces.Interface] = []
    network_of_address = destination.network_id if destination else _network_of(facts, address)
    if network_of_address == source.network_id:
        kind = "l2"
    elif network_of_address:
        kind, router_id, interfaces = _routed(facts, source.network_id, network_of_address)
    else:
        kind, router_id, floating_ip = _external(facts, source)
    if kind == "none":
        breaks.append(_no_way(facts, source, network_of_address, address))
    if destination is None and network_of_address:
        breaks.append(
            traces.Break(
                kind="unknown_address",
                subject=address,
                reason=f"no port has the address {address} on network {network_of_address}",
            )
        )
    if destination is not None:
        breaks += _unacknowledged(facts, view, source, destination, router_id)
    elif router_id and kind != "none":
        breaks += _leg_unacknowledged(facts, view, source, router_id)
    rule = _RuleMatch(facts=facts, protocol=protocol, port_number=port_number)
    peer_groups = set(destination.security_groups) if destination else set()
    egress = rule.allowance(source, "egress", address, peer_groups)
    ingress = None
    if destination is not None:
        ingress = rule.allowance(
            destination, "ingress", source_address, set(source.security_groups)
        )
    for allowance, peer in ((egress, address), (ingress, source_address)):
        if allowance is not None and not allowance.allowed:
            breaks.append(_refused(facts, allowance, peer, protocol, port_number))
    return traces.Path(
        to=target.to,
        destination=endpoint(facts, view, destination) if destination else None,
        address=address,
        kind=kind,
        router_id=router_id,
        interfaces=interfaces,
        floating_ip=floating_ip,
        egress=egress,
        ingress=ingress,
        breaks=breaks,
        reachable=not breaks,
    )


def _first(port: records.Port) -> str:
    return port.fixed_ips[0].ip_address if port.fixed_ips else ""


def _version(address: str) -> int:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return 0


def _same_version(port: records.Port, address: str) -> str:
    """The port's first address of ``address``'s IP version ('' when it has none)."""
    wanted = _version(address)
    return next((ip.ip_address for ip in port.fixed_ips if _version(ip.ip_address) == wanted), "")


def _network_of(facts: Facts, address: str) -> str:
    """The network of the known subnets whose CIDR holds ``address`` ('' when none does)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    for subnet in facts.subnets.values():
        if ip in ipaddress.ip_network(subnet.cidr, strict=False):
            network = facts.networks.get(subnet.network_id)
            if network is not None and not network.router_external:
                return subnet.network_id
    return ""


def _port_breaks(facts: Facts, view: StatusView, port: records.Port) -> list[traces.Break]:
    if not port.admin_state_up:
        return [
            traces.Break(
                kind="port_disabled", subject=port.id, reason=f"port {port.id} is disabled"
            )
        ]
    shown = port_service.status_of(port, view)
    if shown == status.ACTIVE:
        return []
    reason = f"port {port.id} is {shown}"
    if not port.binding_host_id:
        reason += " (bound to no host)"
    return [traces.Break(kind="port_down", subject=port.id, reason=reason)]


def _routed(facts: Facts, here: str, there: str) -> tuple[str, str, list[traces.Interface]]:
    for near in _interfaces(facts, here):
        for far in _interfaces(facts, there):
            if far.router_id == near.router_id:
                legs = [
                    traces.Interface(port_id=p.id, network_id=p.network_id, address=_first(p))
                    for p in (near, far)
                ]
                return "routed", near.router_id, legs
    return "none", "", []


def _external(facts: Facts, source: records.Port) -> tuple[str, str, str]:
    for floating in facts.floating_ips:
        if floating.port_id == source.id and floating.router_id:
            return "external", floating.router_id, floating.floating_ip_address
    for interface in _interfaces(facts, source.network_id):
        router = facts.routers.get(interface.router_id)
        if router is not None and router.gateway_network_id and router.enable_snat:
            return "external", router.id, ""
    return "none", "", ""


def _no_way(facts: Facts, source: records.Port, network: str, address: str) -> traces.Break:
    if network:
        return traces.Break(
            kind="no_route",
            subject=network,
            reason=f"no router has an interface on both network {source.network_id} "
            f"and network {network}",
        )
    return traces.Break(
        kind="no_gateway",
        subject=source.network_id,
        reason=f"{address} is outside every subnet and no router on network "
        f"{source.network_id} has an external gateway with SNAT (nor has the port a floating IP)",
    )


def _unacknowledged(
    facts: Facts,
    view: StatusView,
    source: records.Port,
    destination: records.Port,
    router_id: str,
) -> list[traces.Break]:
    """The hosts of both ends must hold the other end's neighbor entry, and the router."""
    found = []
    for port, peer in ((source, destination), (destination, source)):
        host = port.binding_host_id
        for holder in holders_of(facts, view, peer):
            if holder.host != host:
                continue
            for held in holder.entries:
                if held.key == f"neighbor:{peer.id}" and not held.acknowledged:
                    found.append(_not_acked(host, held.key, holder.acknowledged_revision, held))
        if router_id:
            found += _leg_unacknowledged(facts, view, port, router_id)
    return found


def _leg_unacknowledged(
    facts: Facts, view: StatusView, port: records.Port, router_id: str
) -> list[traces.Break]:
    host = port.binding_host_id
    legs = [p for p in _interfaces(facts, port.network_id) if p.router_id == router_id]
    if not host or not legs:
        return []
    state = view.held_status(legs[0].id, host, router_id)
    if state == status.ACTIVE:
        return []
    if state is None:
        state = "unreachable" if host in view.holders(legs[0].id) else "not held"
    return [
        traces.Break(
            kind="unacknowledged",
            subject=host,
            reason=f"host {host} has router {router_id}: {state}",
        )
    ]


def _not_acked(host: str, key: str, acked: int, held: traces.Held) -> traces.Break:
    return traces.Break(
        kind="unacknowledged",
        subject=host,
        reason=f"host {host} has not acknowledged {key} (revision {held.revision}; "
        f"it acknowledged {acked})",
    )


def _refused(
    facts: Facts,
    allowance: traces.Allowance,
    peer: str,
    protocol: str | None,
    port_number: int | None,
) -> traces.Break:
    names = ", ".join(
        f"{facts.groups[g].name or g} ({g})" if g in facts.groups else g for g in allowance.groups
    )
    what = protocol or "any protocol"
    if port_number is not None:
        what += f" port {port_number}"
    side = "from" if allowance.direction == "ingress" else "to"
    return traces.Break(
        kind=f"{allowance.direction}_refused",
        subject=",".join(allowance.groups),
        reason=f"{allowance.direction} of port {allowance.port_id} is refused by security "
        f"group {names}: no rule admits {what} {side} {peer}",
    )


class _RuleMatch(msgspec.Struct, frozen=True, kw_only=True):
    facts: Facts
    protocol: str | None
    port_number: int | None

    def allowance(
        self, port: records.Port, direction: str, peer: str, peer_groups: set[str]
    ) -> traces.Allowance:
        if not port.port_security_enabled:
            return traces.Allowance(
                direction=direction,
                port_id=port.id,
                allowed=True,
                port_security=False,
                rules=[],
                groups=[],
            )
        groups = set(port.security_groups)
        rules = sorted(
            rule.id
            for rule in self.facts.rules
            if rule.security_group_id in groups
            and rule.direction == direction
            and self.admits(rule, peer, peer_groups)
        )
        return traces.Allowance(
            direction=direction,
            port_id=port.id,
            allowed=bool(rules),
            port_security=True,
            rules=rules,
            groups=list(port.security_groups),
        )

    def admits(self, rule: records.SecurityGroupRule, peer: str, peer_groups: set[str]) -> bool:
        version = _version(peer)
        if version and rule.ethertype != f"IPv{version}":
            return False
        if not self._protocol_admits(rule):
            return False
        if rule.remote_group_id:
            return rule.remote_group_id in peer_groups
        if rule.remote_address_group_id:
            group = self.facts.address_groups.get(rule.remote_address_group_id)
            return group is not None and any(_within(peer, cidr) for cidr in group.addresses)
        if rule.remote_ip_prefix:
            return _within(peer, rule.remote_ip_prefix)
        return True

    def _protocol_admits(self, rule: records.SecurityGroupRule) -> bool:
        if self.protocol is None or rule.protocol in (None, "", "any"):
            return True
        wanted = _protocol_number(self.protocol)
        if _protocol_number(rule.protocol) != wanted:
            return False
        if self.port_number is None or rule.port_range_min is None or wanted not in _PORTED:
            return True
        top = rule.port_range_max if rule.port_range_max is not None else rule.port_range_min
        return rule.port_range_min <= self.port_number <= top


def _protocol_number(protocol: str | None) -> str:
    """A protocol as its number's text (``tcp`` and ``6`` alike)."""
    text = (protocol or "").lower()
    return str(PROTOCOLS.get(text, text))


def _within(address: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
