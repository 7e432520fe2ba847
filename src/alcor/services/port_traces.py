"""The trace of a port (``GET /v2.0/goalstate/trace/{port}``, admin only): reads what
``services.tracing`` needs from the store in one read transaction, then computes it there.

A destination (``to``) is a port id, or an address: the port holding it on one of the networks
the traced port reaches (its own first, then those its routers join, then any), else an
address outside them (``external``)."""

from __future__ import annotations

import ipaddress

from alcor.model import errors, records
from alcor.model.queries import Query
from alcor.services import holding, rule_matching, traces, tracing
from alcor.services.callers import Caller
from alcor.services.resources import Context
from alcor.store.interface import Reader


class PortTraces:
    def __init__(self, context: Context) -> None:
        self.context = context

    async def trace(
        self,
        caller: Caller,
        port_id: str,
        *,
        to: str | None = None,
        protocol: str | None = None,
        port_number: int | None = None,
    ) -> traces.Trace:
        if not caller.is_admin:
            raise errors.NotAuthorized("Traces are shown to admins only.")
        if (
            protocol is not None
            and protocol not in rule_matching.PROTOCOLS
            and not protocol.isdigit()
        ):
            raise errors.InvalidInput(f"Unknown protocol {protocol!r}.")

        def work(reader: Reader) -> tuple[holding.Facts, tracing.Target | None]:
            return _gather(reader, port_id, to)

        facts, target = await self.context.store.read(work)
        return tracing.trace(
            facts,
            self.context.status,
            port_id=port_id,
            target=target,
            protocol=protocol,
            port_number=port_number,
        )


def _ports_on(reader: Reader, network_ids: set[str]) -> list[records.Port]:
    if not network_ids:
        return []
    return reader.select(records.Port, Query(filters={"network_id": tuple(sorted(network_ids))}))


def _reach(reader: Reader, network_ids: set[str], found: dict[str, records.Port]) -> set[str]:
    """Every port of the networks, and the networks their routers join (one hop)."""
    for port in _ports_on(reader, network_ids):
        found[port.id] = port
    routers = {p.router_id for p in found.values() if p.router_id and p.network_id in network_ids}
    if not routers:
        return set()
    legs = reader.select(records.Port, Query(filters={"router_id": tuple(sorted(routers))}))
    more = {leg.network_id for leg in legs} - network_ids
    for port in _ports_on(reader, more):
        found[port.id] = port
    return more


def _target(
    reader: Reader, to: str, source: records.Port, found: dict[str, records.Port]
) -> tracing.Target:
    try:
        ipaddress.ip_address(to)
    except ValueError:
        port = reader.get(records.Port, to)
        if port is None:
            raise errors.NotFound.resource("port", to) from None
        found[port.id] = port
        return tracing.Target(to=to, port_id=port.id)
    holders = reader.select(records.Port, Query(fixed_ips={"ip_address": (to,)}))
    near = {p.network_id for p in found.values()}
    holders.sort(key=lambda p: (p.network_id != source.network_id, p.network_id not in near))
    if holders:
        found[holders[0].id] = holders[0]
        return tracing.Target(to=to, port_id=holders[0].id, address=to)
    return tracing.Target(to=to, address=to)


def _gather(
    reader: Reader, port_id: str, to: str | None
) -> tuple[holding.Facts, tracing.Target | None]:
    port = reader.get(records.Port, port_id)
    if port is None:
        raise errors.NotFound.resource("port", port_id)
    found: dict[str, records.Port] = {port.id: port}
    networks = {port.network_id}
    networks |= _reach(reader, {port.network_id}, found)
    target = _target(reader, to, port, found) if to is not None else None
    traced = [port.id] + ([target.port_id] if target is not None and target.port_id else [])
    if target is not None and target.port_id:
        far = found[target.port_id].network_id
        if far not in networks:
            networks |= {far} | _reach(reader, {far}, found)
    group_ids = {g for p in traced for g in found[p].security_groups}
    naming = reader.select(
        records.SecurityGroupRule, Query(filters={"remote_group_id": tuple(sorted(group_ids))})
    )
    group_ids |= {rule.security_group_id for rule in naming}
    group_ports = {g: reader.security_group_ports(g) for g in sorted(group_ids)}
    members = {m for ids in group_ports.values() for m in ids} - set(found)
    found.update(reader.get_many(records.Port, members))
    rules = reader.select(
        records.SecurityGroupRule,
        Query(filters={"security_group_id": tuple(sorted(group_ids))}),
    )
    address_group_ids = {r.remote_address_group_id for r in rules if r.remote_address_group_id}
    subnets = reader.select(records.Subnet, Query(filters={"network_id": tuple(sorted(networks))}))
    router_ids = {p.router_id for p in found.values() if p.router_id}
    facts = holding.Facts(
        ports=found,
        histories={p: _history(reader, p) for p in traced},
        networks=reader.get_many(records.Network, networks),
        subnets={s.id: s for s in subnets},
        routers=reader.get_many(records.Router, router_ids),
        groups=reader.get_many(records.SecurityGroup, group_ids),
        rules=list({r.id: r for r in [*rules, *naming]}.values()),
        address_groups=reader.get_many(records.AddressGroup, address_group_ids),
        group_ports=group_ports,
        floating_ips=reader.select(records.FloatingIp, Query(filters={"port_id": (port.id,)})),
    )
    return facts, target


def _history(reader: Reader, port_id: str) -> list[tuple[int, records.Port | None]]:
    rows = reader.history(records.Port.kind, port_id)
    return [
        (row.revision, None if row.operation == "delete" else row.record)
        for row in rows
        if isinstance(row.record, records.Port)
    ]
