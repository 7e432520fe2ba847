"""The recording driver: an in-memory model of one host's data plane, with no kernel work.

Like faucet's fake switch, it is programmed the way a data plane is (segments, endpoints plugged,
neighbor entries per segment, security groups and their address sets, router interfaces) and
then asked what the host would do: which neighbors it holds per network, which rules apply to a
port with remote groups resolved to addresses (and remote address groups to their CIDRs), which
router interfaces and routes it carries, which ports are plugged. It holds what it was told by
reference, so one process can model thousands of hosts (``alcor sim``).

To test error reporting it fails ports on purpose: those whose id or ``device_id`` matches the
``fail_ports`` pattern (a glob), and those named by ``fail``. A failed port is not plugged.

To test binding reports, ``bind`` gives a port the ``binding:vif_details`` the driver reports
while the port is plugged (by default it reports none).
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from typing import Any

import msgspec

from alcor.agent import drivers, state
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

Message = Any  # one of the protocol's resource messages (pb.Port, pb.Network, ...)

CAPABILITIES = ("recording",)


class Endpoint(msgspec.Struct, frozen=True):
    """A plugged port: the device a VM or container is attached by."""

    port_id: str
    network_id: str
    device: str
    mac_address: str
    ip_addresses: tuple[str, ...]
    admin_state_up: bool
    port_security_enabled: bool
    security_groups: tuple[str, ...]


class Neighbor(msgspec.Struct, frozen=True, order=True):
    """One neighbor (ARP/ND + FDB) entry: an address on a segment and where its MAC lives."""

    ip: str
    mac: str
    vni: int
    host_ip: str


class PortRule(msgspec.Struct, frozen=True):
    """A security-group rule as enforced on one port, its remote group resolved to addresses."""

    rule_id: str
    security_group_id: str
    direction: str
    ethertype: str
    protocol: str
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str
    remote_group_id: str
    remote_addresses: tuple[str, ...]
    remote_address_group_id: str = ""


class Interface(msgspec.Struct, frozen=True, order=True):
    router_id: str
    network_id: str
    subnet_id: str
    ip_address: str
    mac_address: str
    prefix_length: int


class Route(msgspec.Struct, frozen=True, order=True):
    router_id: str
    destination: str
    nexthop: str


def device_name(port_id: str) -> str:
    """The tap device Nova names for a port."""
    return "tap" + port_id[:11]


class RecordingDriver:
    def __init__(self, host_id: str = "", *, fail_ports: str = "") -> None:
        self.host_id = host_id
        self.fail_ports = fail_ports
        # kind -> id -> the message last programmed (a neighbor's id is its port's id)
        self._tables: dict[str, dict[str, Message]] = {kind: {} for kind in keys.KINDS}
        self._failed: dict[str, str] = {}  # port id -> why
        self._to_fail: dict[str, str] = {}  # port id -> the message to fail it with
        self._details: dict[str, dict[str, str]] = {}  # port id -> the details to report
        self._operations: Counter[tuple[str, str]] = Counter()  # (action, kind) -> recorded

    # --- the Driver protocol ---------------------------------------------------------------

    @property
    def capabilities(self) -> tuple[str, ...]:
        return CAPABILITIES

    async def apply(self, changes: state.Changes, held: state.HostState) -> list[drivers.Failure]:
        return self.record(changes)

    def counts(self) -> dict[str, int]:
        counted = {kind + "s": len(table) for kind, table in self._tables.items()}
        counted["failed_ports"] = len(self._failed)
        return counted

    def operations(self) -> dict[tuple[str, str], int]:
        """What its model of the kernel was asked: ``("set", "port")``, ``("remove", ...)``."""
        return dict(self._operations)

    def bindings(self) -> dict[str, dict[str, str]]:
        ports = self._tables["port"]
        return {port_id: dict(d) for port_id, d in self._details.items() if port_id in ports}

    # --- programming -----------------------------------------------------------------------

    def record(self, changes: state.Changes) -> list[drivers.Failure]:
        """Program what changed; the ports that could not be plugged."""
        operations = self._operations
        for key in changes.removed:
            kind, _, resource_id = key.partition(":")
            operations["remove", kind] += 1
            self._tables[kind].pop(resource_id, None)
            if kind == "port":
                self._failed.pop(resource_id, None)
        failures = []
        for key, entry in changes.set.items():
            kind, _, resource_id = key.partition(":")
            operations["set", kind] += 1
            message = getattr(entry, kind)
            if kind == "port":
                why = self._failure_of(message)
                if why:
                    self._tables["port"].pop(resource_id, None)
                    self._failed[resource_id] = why
                    failures.append(drivers.Failure(kind="port", id=resource_id, message=why))
                    continue
                self._failed.pop(resource_id, None)
            self._tables[kind][resource_id] = message
        return failures

    async def retry(self, held: state.HostState) -> list[drivers.Failure]:
        """Plug again the ports that failed (those healed since now succeed)."""
        ports = {
            keys.key("port", port_id): entry
            for port_id in self._failed
            if (entry := held.get("port", port_id)) is not None
        }
        self.record(state.Changes(set=ports, removed=[]))
        return [drivers.Failure(kind="port", id=p, message=why) for p, why in self._failed.items()]

    def fail(self, port_id: str, message: str = "simulated failure") -> None:
        """Fail the port whenever it is programmed from now on."""
        self._to_fail[port_id] = message

    def heal(self, port_id: str) -> None:
        self._to_fail.pop(port_id, None)

    def bind(self, port_id: str, vif_details: dict[str, str] | None) -> None:
        """Report ``vif_details`` for the port whenever it is plugged (None: report nothing);
        the next ack carries it."""
        if vif_details:
            self._details[port_id] = dict(vif_details)
        else:
            self._details.pop(port_id, None)

    def _failure_of(self, port: pb.Port) -> str:
        if port.id in self._to_fail:
            return self._to_fail[port.id]
        pattern = self.fail_ports
        if pattern and (
            fnmatch.fnmatchcase(port.id, pattern) or fnmatch.fnmatchcase(port.device_id, pattern)
        ):
            return f"simulated failure: port matches {pattern!r}"
        return ""

    # --- what the host holds ---------------------------------------------------------------

    def endpoints(self) -> dict[str, Endpoint]:
        """The plugged ports by id."""
        return {port_id: _endpoint(port) for port_id, port in self._tables["port"].items()}

    def failed(self) -> dict[str, str]:
        """Ports that could not be plugged, and why."""
        return dict(self._failed)

    def segments(self) -> dict[str, int]:
        """Network id -> VNI of every segment the host carries."""
        return {
            network_id: network.segmentation_id
            for network_id, network in self._tables["network"].items()
        }

    def neighbors(self, network_id: str, *, remote_only: bool = True) -> set[Neighbor]:
        """The neighbor entries of one network (by default those on other hosts: the ones that
        need a tunnel; this host's own ports are plugged instead)."""
        return {
            Neighbor(ip=ip, mac=n.mac_address, vni=n.segmentation_id, host_ip=n.host_ip)
            for n in self._tables["neighbor"].values()
            if n.network_id == network_id and not (remote_only and n.host_id == self.host_id)
            for ip in n.ip_addresses
        }

    def address_set(self, group_id: str) -> set[str]:
        """The addresses of a security group's members (what a remote_group_id rule matches)."""
        return {
            ip
            for member in self._tables["member"].values()
            if member.security_group_id == group_id
            for ip in member.ip_addresses
        }

    def address_group(self, group_id: str) -> set[str]:
        """An address group's CIDRs (what a remote_address_group_id rule matches)."""
        held = self._tables["address_group"].get(group_id)
        return set(held.addresses) if held is not None else set()

    def rules(self, port_id: str) -> list[PortRule] | None:
        """The rules enforced on a plugged port; None when nothing filters it (not plugged, or
        port security off). An empty list is "default deny ingress, no egress"."""
        port = self._tables["port"].get(port_id)
        if port is None or not port.port_security_enabled:
            return None
        enforced = []
        for group_id in port.security_group_ids:
            group = self._tables["security_group"].get(group_id)
            for rule in group.rules if group is not None else ():
                remote = (
                    sorted(self.address_set(rule.remote_group_id)) if rule.remote_group_id else []
                )
                if rule.remote_address_group_id:
                    remote = sorted(self.address_group(rule.remote_address_group_id))
                enforced.append(_port_rule(group_id, rule, tuple(remote)))
        return enforced

    def router_interfaces(self) -> set[Interface]:
        return {
            Interface(
                router_id=router.id,
                network_id=i.network_id,
                subnet_id=i.subnet_id,
                ip_address=i.ip_address,
                mac_address=i.mac_address,
                prefix_length=i.prefix_length,
            )
            for router in self._tables["router"].values()
            for i in router.interfaces
        }

    def routes(self) -> set[Route]:
        return {
            Route(router_id=router.id, destination=r.destination, nexthop=r.nexthop)
            for router in self._tables["router"].values()
            for r in router.routes
        }

    def floating_ips(self) -> dict[str, tuple[str, str]]:
        """Floating IP id -> (floating address, fixed address it translates to)."""
        return {
            fip_id: (fip.floating_ip_address, fip.fixed_ip_address)
            for fip_id, fip in self._tables["floating_ip"].items()
        }

    def dangling(self) -> list[str]:
        """References the data plane could not follow: a plugged port or a neighbor on a network
        the host does not carry, a port in a security group it does not hold."""
        networks = self._tables["network"]
        problems = [
            f"{kind} {resource_id} on unknown network {message.network_id}"
            for kind in ("port", "neighbor")
            for resource_id, message in self._tables[kind].items()
            if message.network_id not in networks
        ]
        problems += [
            f"port {port.id} in unknown security group {group_id}"
            for port in self._tables["port"].values()
            if port.port_security_enabled
            for group_id in port.security_group_ids
            if group_id not in self._tables["security_group"]
        ]
        return problems

    def model(self) -> dict[str, Any]:
        """Everything above as JSON-ready data (for ``alcor agent --status-file``)."""
        found = {
            "segments": self.segments(),
            "endpoints": self.endpoints(),
            "failed": self.failed(),
            "neighbors": {
                network_id: sorted(self.neighbors(network_id)) for network_id in self.segments()
            },
            "rules": {port_id: self.rules(port_id) for port_id in self._tables["port"]},
            "address_sets": {
                group_id: sorted(self.address_set(group_id))
                for group_id in {m.security_group_id for m in self._tables["member"].values()}
            },
            "router_interfaces": sorted(self.router_interfaces()),
            "routes": sorted(self.routes()),
            "floating_ips": self.floating_ips(),
        }
        built: dict[str, Any] = msgspec.to_builtins(found)
        return built


def _endpoint(port: pb.Port) -> Endpoint:
    return Endpoint(
        port_id=port.id,
        network_id=port.network_id,
        device=device_name(port.id),
        mac_address=port.mac_address,
        ip_addresses=tuple(ip.ip_address for ip in port.fixed_ips),
        admin_state_up=port.admin_state_up,
        port_security_enabled=port.port_security_enabled,
        security_groups=tuple(port.security_group_ids),
    )


def _port_rule(group_id: str, rule: pb.Rule, remote: tuple[str, ...]) -> PortRule:
    return PortRule(
        rule_id=rule.id,
        security_group_id=group_id,
        direction=rule.direction,
        ethertype=rule.ethertype,
        protocol=rule.protocol,
        port_range_min=rule.port_range_min if rule.HasField("port_range_min") else None,
        port_range_max=rule.port_range_max if rule.HasField("port_range_max") else None,
        remote_ip_prefix=rule.remote_ip_prefix,
        remote_group_id=rule.remote_group_id,
        remote_addresses=remote,
        remote_address_group_id=rule.remote_address_group_id,
    )
