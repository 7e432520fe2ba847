"""Availability zones (``availability_zone``, ``network_availability_zone``,
``availability_zone_filter``), as Neutron shows them from its agents' reports.

Every node is in one zone, ``nova`` (the zone Neutron's agents report by default), and serves
both networks (DHCP for its own ports) and routers (distributed on every host): so the zones
are ``nova`` for ``network`` and for ``router`` once there is a node, ``available`` while one
of the nodes is up and enabled, ``unavailable`` otherwise; without nodes there is no zone, as
a Neutron without agents lists none. A network's ``availability_zone_hints`` must name zones
that exist (404 ``AvailabilityZoneNotFound`` otherwise); its ``availability_zones`` are those
it is served in: ``nova`` while that zone is available.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import addressing, errors
from alcor.model.queries import Query
from alcor.model.records import Node
from alcor.services import resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader

ZONE = "nova"
RESOURCES = ("network", "router")
AVAILABLE, UNAVAILABLE = "available", "unavailable"


class Zone(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    resource: str
    state: str


def zones(reader: Reader) -> list[Zone]:
    """Every zone, for every resource it serves."""
    if not reader.count(Node, Query()):
        return []
    up = Query(filters={"state": ("up",), "admin_state_up": (True,)})
    state = AVAILABLE if reader.count(Node, up) else UNAVAILABLE
    return [Zone(name=ZONE, resource=resource, state=state) for resource in RESOURCES]


def serving(reader: Reader) -> list[str]:
    """The zones a network is served in (``availability_zones``)."""
    return sorted(
        {z.name for z in zones(reader) if z.resource == "network" and z.state == AVAILABLE}
    )


def check_hints(reader: Reader, hints: Sequence[str]) -> list[str]:
    """``availability_zone_hints``, as Neutron's validator and plugin check them."""
    if len(set(hints)) != len(hints):
        duplicate = next(h for h in hints if hints.count(h) > 1)
        raise addressing.invalid(
            "availability_zone_hints", f"Duplicate items in the list: '{duplicate}'"
        )
    if len(",".join(hints)) > 255:
        raise addressing.invalid(
            "availability_zone_hints", "Too many availability_zone_hints specified"
        )
    known = {z.name for z in zones(reader) if z.resource == "network"}
    for hint in hints:
        if hint not in known:
            raise errors.NotFound(
                f"AvailabilityZone {hint} could not be found.", type="AvailabilityZoneNotFound"
            )
    return list(hints)


class AvailabilityZones:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def query(self, _caller: Caller) -> list[Zone]:
        """Listed to anyone, as Neutron's policy lists them."""
        return await self.context.store.read(zones)
