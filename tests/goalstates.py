"""A cloud's intent fed to the real goal-state engine, for tests of the agent's drivers.

``Cloud`` makes networks, subnets, routers (with interfaces), security groups (with rules) and
ports as the store would log them, hands every change to ``alcor.goalstate.engine.Engine`` and
keeps, per host, the goal states the engine produced (``sent``), as a controller would stream
them. Ids are fresh uuids, MACs and VNIs are counted, so clouds of different tests never meet.
"""

from __future__ import annotations

import ipaddress
import itertools
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import msgspec

from alcor.goalstate.engine import Engine
from alcor.model import records
from alcor.store.interface import Change, Reader, Store
from alcor.v1 import southbound_pb2 as pb

NOW = "2026-11-30T00:00:00Z"
STORE = "test-store"

Listener = Callable[[str, pb.GoalState], None]


def numbered_network(number: int, name: str = "") -> records.Network:
    """A network record with an id and a VNI of its number, for tests of the store's log."""
    return records.Network(
        id=f"00000000-0000-0000-0000-{number:012d}",
        project_id="p",
        name=name,
        created_at="t",
        updated_at="t",
        segmentation_id=1000 + number,
    )


async def catch_up(store: Store, engine: Engine) -> None:
    """Feed the engine what the store's change log holds after its revision."""

    def after(reader: Reader) -> list[Change]:
        return reader.changes_since(engine.revision, 100_000)

    for change in await store.read(after):
        engine.apply(change.revision, change.operation, change.record)


class Cloud:
    def __init__(self, *, vni_base: int | None = None) -> None:
        self.engine = Engine()
        self.revision = 0
        self.records: dict[str, records.Record] = {}
        self.sent: defaultdict[str, list[pb.GoalState]] = defaultdict(list)
        self.listeners: list[Listener] = []
        self._macs = itertools.count(1)
        self._mac_base = random.randrange(0, 0xFF)
        self._vnis = itertools.count(vni_base or random.randrange(1000, 60_000))

    # --- the change log ----------------------------------------------------------------------

    def _deliver(self, deltas: dict[str, list[pb.Entry]]) -> int:
        for host, entries in deltas.items():
            goal = pb.GoalState(revision=self.revision, store_id=STORE, entries=entries)
            self.sent[host].append(goal)
            for listener in self.listeners:
                listener(host, goal)
        return self.revision

    def _emit(self, record: records.Record, operation: str) -> int:
        self.revision += 1
        return self._deliver(self.engine.apply(self.revision, operation, record))

    def put(self, record: records.Record) -> int:
        operation = "update" if record.id in self.records else "create"
        self.records[record.id] = record
        return self._emit(record, operation)

    def delete(self, record_id: str) -> int:
        """Delete a resource; the revision that did it."""
        return self._emit(self.records.pop(record_id), "delete")

    def change(self, record_id: str, **changes: Any) -> int:
        return self.put(msgspec.structs.replace(self.records[record_id], **changes))

    def host(self, host: str, underlay_ip: str) -> int:
        """A node: the host's underlay address, which its ports' neighbor entries carry."""
        return self.put(
            records.Node(
                id=str(uuid.uuid4()),
                project_id="",
                created_at=NOW,
                updated_at=NOW,
                name=host,
                underlay_ip=underlay_ip,
            )
        )

    def snapshot(self, host: str) -> pb.GoalState:
        return pb.GoalState(
            revision=self.revision,
            store_id=STORE,
            snapshot=True,
            entries=self.engine.snapshot(host),
        )

    # --- resources -----------------------------------------------------------------------------

    def network(self, *, project: str = "p", mtu: int = 1450) -> str:
        network_id = str(uuid.uuid4())
        self.put(
            records.Network(
                id=network_id,
                project_id=project,
                created_at=NOW,
                updated_at=NOW,
                segmentation_id=next(self._vnis),
                mtu=mtu,
            )
        )
        return network_id

    def subnet(
        self,
        network_id: str,
        cidr: str,
        *,
        routes: tuple[tuple[str, str], ...] = (),
        dhcp: bool = False,
        dns: tuple[str, ...] = (),
    ) -> str:
        subnet_id = str(uuid.uuid4())
        network = ipaddress.ip_network(cidr)
        self.put(
            records.Subnet(
                id=subnet_id,
                project_id=self.records[network_id].project_id,
                created_at=NOW,
                updated_at=NOW,
                network_id=network_id,
                ip_version=network.version,
                cidr=cidr,
                gateway_ip=str(network.network_address + 1),
                enable_dhcp=dhcp,
                dns_nameservers=list(dns),
                host_routes=[records.HostRoute(destination=d, nexthop=n) for d, n in routes],
            )
        )
        return subnet_id

    def mac(self) -> str:
        n = next(self._macs)
        return f"fa:16:3e:{self._mac_base:02x}:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"

    def _port(self, subnet_id: str, ip: str, **fields: Any) -> str:
        """A port with ``ip`` in the subnet, a fresh MAC and ``fields``."""
        subnet = self.records[subnet_id]
        assert isinstance(subnet, records.Subnet)
        port_id = str(uuid.uuid4())
        self.put(
            records.Port(
                id=port_id,
                project_id=subnet.project_id,
                created_at=NOW,
                updated_at=NOW,
                network_id=subnet.network_id,
                mac_address=self.mac(),
                fixed_ips=[records.FixedIp(subnet_id=subnet_id, ip_address=ip)],
                **fields,
            )
        )
        return port_id

    def port(
        self,
        subnet_id: str,
        ip: str,
        *,
        host: str,
        groups: tuple[str, ...] = (),
        security: bool = True,
        pairs: tuple[tuple[str, str], ...] = (),
        owner: str = "compute:nova",
    ) -> str:
        """An endpoint port bound to ``host`` with ``ip`` in the subnet (a VM's, unless
        ``owner`` says: ``compute:kubernetes`` is a pod's)."""
        return self._port(
            subnet_id,
            ip,
            security_groups=list(groups),
            port_security_enabled=security,
            allowed_address_pairs=[
                records.AddressPair(ip_address=a, mac_address=m) for a, m in pairs
            ],
            binding_host_id=host,
            device_owner=owner,
            device_id=str(uuid.uuid4()),
        )

    def router(self, *, project: str = "p") -> str:
        router_id = str(uuid.uuid4())
        self.put(records.Router(id=router_id, project_id=project, created_at=NOW, updated_at=NOW))
        return router_id

    def interface(self, router_id: str, subnet_id: str) -> str:
        """The router's interface on the subnet, at its gateway address."""
        subnet = self.records[subnet_id]
        assert isinstance(subnet, records.Subnet)
        assert subnet.gateway_ip
        return self._port(
            subnet_id,
            subnet.gateway_ip,
            device_owner=records.ROUTER_INTERFACE,
            device_id=router_id,
            router_id=router_id,
            router_port_type=records.ROUTER_INTERFACE,
            port_security_enabled=False,
        )

    def group(self, *, project: str = "p") -> str:
        group_id = str(uuid.uuid4())
        self.put(
            records.SecurityGroup(id=group_id, project_id=project, created_at=NOW, updated_at=NOW)
        )
        return group_id

    def rule(
        self,
        group_id: str,
        direction: str,
        *,
        protocol: str | None = None,
        ports: tuple[int, int] | None = None,
        prefix: str | None = None,
        remote_group: str | None = None,
        ethertype: str = "IPv4",
    ) -> str:
        rule_id = str(uuid.uuid4())
        self.put(
            records.SecurityGroupRule(
                id=rule_id,
                project_id=self.records[group_id].project_id,
                created_at=NOW,
                updated_at=NOW,
                security_group_id=group_id,
                direction=direction,
                ethertype=ethertype,
                protocol=protocol,
                port_range_min=ports[0] if ports else None,
                port_range_max=ports[1] if ports else None,
                remote_ip_prefix=prefix,
                remote_group_id=remote_group,
            )
        )
        return rule_id

    def open_group(self, *, project: str = "p") -> str:
        """A group that lets everything in and out (IPv4)."""
        group_id = self.group(project=project)
        self.rule(group_id, "ingress")
        self.rule(group_id, "egress")
        return group_id
