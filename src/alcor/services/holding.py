"""Who must hold what of a port, and whether they acknowledged it (``services.tracing``'s
first half; the rules are in its docstring). Pure: records in ``Facts``, status from the view."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

import msgspec

from alcor.model import records
from alcor.services import ports as port_service
from alcor.services import status, traces
from alcor.services.status import StatusView

History = Sequence[tuple[int, records.Port | None]]  # (revision, the port after it; None: gone)


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


def changed_at(history: History, projection: Callable[[records.Port], Hashable]) -> int:
    """The revision at which ``projection`` of the port last changed (0: never held)."""
    found, last = 0, None
    for revision, port in history:
        value = projection(port) if port is not None else None
        if value != last:
            found, last = revision, value
    return found if last is not None else 0


def is_own(port: records.Port) -> bool:
    return bool(port.binding_host_id) and not port.device_owner.startswith("network:")


def neighbor(port: records.Port) -> Hashable:
    if not is_own(port):
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


def interfaces(facts: Facts, network_id: str) -> list[records.Port]:
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
        p.binding_host_id for p in facts.ports.values() if is_own(p) and p.network_id in networks
    }


def holders_of(facts: Facts, view: StatusView, port: records.Port) -> list[traces.Holder]:
    wanted: dict[str, list[tuple[str, int, str]]] = {}  # host -> (key, revision, status)
    history = facts.histories.get(port.id, [])

    def want(host: str, key: str, revision: int, state: str = "") -> None:
        wanted.setdefault(host, []).append((key, revision, state))

    if is_own(port):
        hosts = _endpoint_hosts(facts, [port.network_id])
        for interface in interfaces(facts, port.network_id):
            legs = _router_ports(facts, interface.router_id)
            hosts |= _endpoint_hosts(facts, {leg.network_id for leg in legs})
            hosts |= {host for leg in legs for host in view.holders(leg.id)}
            _router_leg(view, port.binding_host_id, interface, want)
            for leg in legs:
                if leg.router_port_type == records.ROUTER_GATEWAY:
                    for host in view.holders(leg.id):
                        _router_leg(view, host, leg, want)
        revision = changed_at(history, neighbor)
        for host in sorted(hosts):
            want(host, f"neighbor:{port.id}", revision)
    for group_id in port.security_groups:
        naming = {r.security_group_id for r in facts.rules if r.remote_group_id == group_id}
        members = {m for g in naming for m in facts.group_ports.get(g, [])}
        hosts = {
            p.binding_host_id
            for m in members
            if (p := facts.ports.get(m)) is not None and is_own(p) and p.port_security_enabled
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
