"""What port forwardings hold onto, and what other resources' changes do to them.

A forwarding holds its floating IP (which is then associated with no port, and not deleted) and
its internal port (which then takes no floating IP of its own, and whose deletion deletes it).
Used by the floating IP and port managers as well as the forwardings' own
(``services/port_forwardings.py``), without depending on them.
"""

from __future__ import annotations

from collections.abc import Sequence

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.records import FloatingIp, Port, PortForwarding
from alcor.services import resources
from alcor.store.interface import Reader, Writer


def of_floating_ips(
    reader: Reader, floatingip_ids: Sequence[str]
) -> dict[str, list[PortForwarding]]:
    """The forwardings of these floating IPs, by floating IP, each list ordered by id."""
    if not floatingip_ids:
        return {}
    found: dict[str, list[PortForwarding]] = {}
    query = Query(filters={"floatingip_id": tuple(floatingip_ids)}, sort=(("id", True),))
    for record in reader.select(PortForwarding, query):
        found.setdefault(record.floatingip_id, []).append(record)
    return found


def check_floating_ip_free(reader: Reader, fip: FloatingIp) -> None:
    """A floating IP with forwardings is neither associated with a port nor deleted."""
    if reader.count(PortForwarding, Query(filters={"floatingip_id": (fip.id,)})):
        raise errors.InUse(
            f"Floating IP {fip.id} in use by Port Forwarding resources.",
            type="FipInUseByPortForwarding",
        )


def check_port_free(reader: Reader, port_id: str) -> None:
    """A port that forwardings reach takes no floating IP of its own (every router here is
    distributed: Neutron's ``PortHasPortForwarding``)."""
    if reader.count(PortForwarding, Query(filters={"internal_port_id": (port_id,)})):
        raise errors.InvalidInput(
            f"Cannot associate floating IP to port {port_id} because it already has a Port "
            "Forwarding binding.",
            type="PortHasPortForwarding",
        )


def release_ports(writer: Writer, now: str, ports: Sequence[Port]) -> None:
    """The forwardings to ports that go are deleted with them (Neutron's port callback)."""
    if not ports:
        return
    query = Query(filters={"internal_port_id": tuple(port.id for port in ports)})
    release(writer, writer.select(PortForwarding, query), now, fips={})


def release_addresses(writer: Writer, now: str, port: Port) -> None:
    """The forwardings to addresses a port no longer has are deleted (Neutron's port
    callback on an update of its fixed IPs)."""
    kept = {fixed.ip_address for fixed in port.fixed_ips}
    query = Query(filters={"internal_port_id": (port.id,)})
    gone = [r for r in writer.select(PortForwarding, query) if r.internal_ip_address not in kept]
    release(writer, gone, now, fips={})


def check_interface_free(reader: Reader, router_id: str, subnet_ids: set[str]) -> None:
    """A router's interface stays while a forwarding of one of its floating IPs goes to an
    address on its subnets (Neutron's ``_check_router_interface_not_in_use``)."""
    held = reader.select(PortForwarding, Query(filters={"router_id": (router_id,)}))
    ports = reader.get_many(Port, {record.internal_port_id for record in held})
    for record in held:
        port = ports.get(record.internal_port_id)
        fixed = port.fixed_ips if port is not None else []
        used = {f.subnet_id for f in fixed if f.ip_address == record.internal_ip_address}
        if subnet := next(iter(sorted(used & subnet_ids)), None):
            raise errors.InUse(
                f"Router interface for subnet {subnet} on router {router_id} cannot be "
                "deleted, as it is required by one or more floating IPs.",
                type="RouterInterfaceInUseByFloatingIP",
            )


def release(
    writer: Writer, records: list[PortForwarding], now: str, *, fips: dict[str, FloatingIp]
) -> None:
    """Delete forwardings; a floating IP left with none forgets its router."""
    if not records:
        return
    writer.delete(records)
    for fip_id in sorted({record.floatingip_id for record in records}):
        left = writer.count(PortForwarding, Query(filters={"floatingip_id": (fip_id,)}))
        fip = fips.get(fip_id) or writer.get(FloatingIp, fip_id)
        if not left and fip is not None and fip.router_id and not fip.port_id:
            writer.update([resources.revised(fip, now, router_id=None)])
