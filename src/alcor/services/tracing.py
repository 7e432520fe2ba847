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

import msgspec

from alcor.model import records
from alcor.services import holding, rule_matching, status, traces
from alcor.services import ports as port_service
from alcor.services.holding import Facts
from alcor.services.status import StatusView


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
    holders = holding.holders_of(facts, view, port)
    path = None
    if target is not None:
        path = _path(facts, view, port, target, protocol=protocol, port_number=port_number)
    return traces.Trace(
        port=holding.endpoint(facts, view, port),
        revision=view.revision,
        holders=holders,
        unacknowledged=[h.host for h in holders if not h.acknowledged],
        path=path,
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
    rule = rule_matching.RuleMatch(facts=facts, protocol=protocol, port_number=port_number)
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
        destination=holding.endpoint(facts, view, destination) if destination else None,
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


def _same_version(port: records.Port, address: str) -> str:
    """The port's first address of ``address``'s IP version ('' when it has none)."""
    wanted = rule_matching.version(address)
    return next(
        (ip.ip_address for ip in port.fixed_ips if rule_matching.version(ip.ip_address) == wanted),
        "",
    )


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
    for near in holding.interfaces(facts, here):
        for far in holding.interfaces(facts, there):
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
    for interface in holding.interfaces(facts, source.network_id):
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
        for holder in holding.holders_of(facts, view, peer):
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
    legs = [p for p in holding.interfaces(facts, port.network_id) if p.router_id == router_id]
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
