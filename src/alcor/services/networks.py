"""The network (VPC segment) manager: create, show, list, update, delete.

A tenant network is a VXLAN segment whose VNI is allocated from the configured range; an admin
may choose the VNI (``provider:segmentation_id``) or make a ``flat`` external network.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import dns, errors, mtus
from alcor.model.queries import Query
from alcor.model.records import (
    ACCESS_AS_EXTERNAL,
    ACCESS_AS_SHARED,
    FloatingIp,
    Network,
    Port,
    RbacPolicy,
    Subnet,
)
from alcor.model.requests import UNSET, NetworkCreate, NetworkUpdate
from alcor.services import (
    availability_zones,
    network_access,
    qos_bindings,
    resources,
    sharing,
    subnet_pools,
)
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer

NETWORK_TYPES = ("vxlan", "flat")
PROVIDER_FIELDS = ("network_type", "physical_network", "segmentation_id")
UPDATE_ADMIN_ONLY = (
    ("router_external", "router:external"),
    ("shared", "shared"),
    ("is_default", "is_default"),
    *((field, f"provider:{field}") for field in PROVIDER_FIELDS),
)


class ShownNetwork(msgspec.Struct, frozen=True):
    record: Network
    tags: list[str]
    subnet_ids: list[str]
    shared: bool  # as the caller sees it: shared with its project or with every project
    # IP version -> the address scope of the network's subnets of that version
    address_scopes: dict[int, str] = msgspec.field(default_factory=dict)
    zones: list[str] = msgspec.field(default_factory=list)  # availability_zones


class Networks:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(
        self, caller: Caller, requests: Sequence[NetworkCreate], *, quota_free: bool = False
    ) -> list[ShownNetwork]:
        """``quota_free``: made for the project by the controller itself (an auto-allocated
        topology), which Neutron's quotas do not count against."""
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownNetwork]:
            if not quota_free:
                quota_projects = resources.projects_of(caller, requests)
                self.context.quotas.check(writer, Network.kind, quota_projects)
            records = []
            for request in requests:  # one by one: a flat network must see the earlier ones
                records.append(self._new(writer, caller, request))
                writer.insert(records[-1:])
            writer.insert(
                [
                    policy
                    for r in records
                    for policy in self._every_project(r, _flagged(r.shared, r.router_external))
                ]
            )
            for record, request in zip(records, requests, strict=True):
                if request.tags:
                    writer.set_tags(record.id, check_tags(request.tags))
            served = availability_zones.serving(writer)
            return [
                ShownNetwork(r, sorted(set(q.tags or [])), [], r.shared, zones=served)
                for r, q in zip(records, requests, strict=True)
            ]

        return await self.context.store.write(work)

    def _new(self, writer: Writer, caller: Caller, request: NetworkCreate) -> Network:
        domain = dns.dns_domain(request.dns_domain) if request.dns_domain is not UNSET else ""
        project = caller.project_for(resources.requested_project(request))
        # Admin-only as in Neutron's policy: provider attributes when sent at all, the flags
        # only when set to other than their default (False).
        for attribute, value in (
            ("provider:network_type", request.network_type),
            ("provider:segmentation_id", request.segmentation_id),
            ("provider:physical_network", request.physical_network),
            ("router:external", request.router_external or UNSET),
            ("shared", request.shared or UNSET),
            ("is_default", request.is_default or UNSET),
        ):
            if value is not UNSET:
                caller.require_admin(attribute, action="create_network")
        network_type = request.network_type if request.network_type is not UNSET else "vxlan"
        if network_type not in NETWORK_TYPES:
            raise errors.InvalidInput(
                f"Invalid input for provider:network_type. Reason: '{network_type}' is not in "
                f"{list(NETWORK_TYPES)}."
            )
        physical_network = resources.value_or(request.physical_network, None)
        segment = self._segment(writer, network_type, request.segmentation_id, physical_network)
        most = mtus.maximum(network_type, physical_mtu=self.context.settings.physical_mtu)
        external = resources.value_or(request.router_external, False)
        is_default = external and resources.value_or(request.is_default, False)
        if is_default:
            _check_no_other_default(writer, None)
        now = self.context.now()
        return Network(
            id=self.context.new_id(),
            project_id=project,
            name=request.name or "",
            description=request.description or "",
            created_at=now,
            updated_at=now,
            admin_state_up=resources.value_or(request.admin_state_up, True),
            shared=resources.value_or(request.shared, False),
            mtu=mtus.check_requested(resources.value_or(request.mtu, most), most=most),
            router_external=external,
            is_default=is_default,
            network_type=network_type,
            segmentation_id=segment,
            physical_network=physical_network,
            port_security_enabled=resources.value_or(request.port_security_enabled, True),
            availability_zone_hints=availability_zones.check_hints(
                writer, resources.value_or(request.availability_zone_hints, [])
            ),
            dns_domain=domain,
            qos_policy_id=qos_bindings.for_new_network(
                writer, caller, request.qos_policy_id, project_id=project
            ),
        )

    def _segment(
        self,
        writer: Writer,
        network_type: str,
        requested: int | object | None,
        physical_network: str | None,
    ) -> int | None:
        """The segment as Neutron's ML2 type drivers check it: a flat network needs a physical
        network of its own and no VNI; a VXLAN network a free VNI and no physical network."""
        allocations = self.context.allocations
        if network_type == "flat":
            if requested not in (UNSET, None):
                raise errors.InvalidInput("A flat network takes no segmentation id.")
            if not physical_network:
                raise errors.InvalidInput("physical_network required for flat provider network")
            same = {"network_type": ("flat",), "physical_network": (physical_network,)}
            if writer.count(Network, Query(filters=same)):
                raise errors.InUse(
                    f"Unable to create the flat network. Physical network {physical_network} "
                    "is in use.",
                    type="FlatNetworkInUse",
                )
            return None
        if physical_network:
            raise errors.InvalidInput(
                f"provider:physical_network prohibited for {network_type} provider network"
            )
        if requested is UNSET or requested is None:
            return allocations.allocate_segment(writer)
        assert isinstance(requested, int)
        if not 1 <= requested <= 16_777_215:
            raise errors.InvalidInput(
                f"Invalid input for provider:segmentation_id. Reason: {requested} is not "
                "a VXLAN VNI (1 to 16777215)."
            )
        allocations.claim_segment(writer, requested)
        return requested

    async def show(self, caller: Caller, network_id: str) -> ShownNetwork:
        def work(reader: Reader) -> ShownNetwork:
            network = resources.find(reader, caller, Network, network_id)
            return self._shown(reader, caller, [network])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownNetwork]:
        scoped = resources.scoped(caller, query, shared=True)
        return await self.context.store.read(
            lambda r: self._shown(r, caller, r.select(Network, scoped))
        )

    def _shown(self, reader: Reader, caller: Caller, records: list[Network]) -> list[ShownNetwork]:
        ids = [record.id for record in records]
        tags = reader.tags_of(ids)
        subnets: dict[str, list[str]] = {}
        found = reader.select(Subnet, Query(filters={"network_id": tuple(ids)})) if ids else []
        for subnet in found:
            subnets.setdefault(subnet.network_id, []).append(subnet.id)
        scopes = subnet_pools.network_scopes(reader, found)
        targeted = [r.id for r in records if not r.shared]  # shared with every project: known
        shared = sharing.shared_among(reader, "network", targeted, caller.project_id)
        served = availability_zones.serving(reader) if records else []
        return [
            ShownNetwork(
                r,
                tags.get(r.id, []),
                subnets.get(r.id, []),
                r.shared or r.id in shared,
                address_scopes={v: scopes[(r.id, v)] for v in (4, 6) if (r.id, v) in scopes},
                zones=served,
            )
            for r in records
        ]

    async def update(
        self, caller: Caller, network_id: str, request: NetworkUpdate, *, if_match: int | None
    ) -> ShownNetwork:
        def work(writer: Writer) -> ShownNetwork:
            network = resources.owned(writer, caller, Network, network_id)
            resources.check_revision(network, if_match)
            sent = msgspec.structs.asdict(request)
            changes = {field: value for field, value in sent.items() if value is not UNSET}
            if "dns_domain" in changes:
                changes["dns_domain"] = dns.dns_domain(changes["dns_domain"])
            if "qos_policy_id" in changes:
                policy = changes["qos_policy_id"]
                changes["qos_policy_id"] = qos_bindings.requested(writer, caller, policy)
            for field, attribute in UPDATE_ADMIN_ONLY:
                if field in changes:
                    caller.require_admin(attribute, action="update_network")
            _check_segment_kept(network, changes)
            if "mtu" in changes:
                changes["mtu"] = self._new_mtu(writer, network, changes["mtu"])
            self._share(writer, network, changes)
            _default(writer, network, changes)
            updated = resources.revised(network, self.context.now(), **changes)
            writer.update([updated])
            if updated.qos_policy_id != network.qos_policy_id:
                qos_bindings.follow_network(writer, updated)
            return self._shown(writer, caller, [updated])[0]

        return await self.context.store.write(work)

    def _share(self, writer: Writer, network: Network, changes: dict[str, object]) -> None:
        """``shared`` and ``router:external`` as Neutron sets them: through the ``*`` policy
        each stands for (``network_access``). Becoming external when a policy already made the
        network external changes nothing; ceasing to be removes every external policy."""
        made: list[str] = []
        if changes.get("shared") is True and not network.shared:
            made.append(ACCESS_AS_SHARED)
        elif changes.get("shared") is False and network.shared:
            network_access.check_unshared_network(writer, network)
            writer.delete(
                [
                    p
                    for p in sharing.policies_on(writer, "network", network.id)
                    if p.action == ACCESS_AS_SHARED and p.target_project == "*"
                ]
            )
        if changes.get("router_external") is True and not network.router_external:
            made.append(ACCESS_AS_EXTERNAL)
        elif changes.get("router_external") is False and network.router_external:
            network_access.check_not_external_in_use(writer, network)
            writer.delete(
                sharing.policies_on(writer, "network", network.id, actions=[ACCESS_AS_EXTERNAL])
            )
        writer.insert(self._every_project(network, made))

    def _every_project(self, network: Network, actions: list[str]) -> list[RbacPolicy]:
        """The ``*`` policies of these actions for the network."""
        now = self.context.now()
        return [
            network_access.every_project(network, a, policy_id=self.context.new_id(), now=now)
            for a in actions
        ]

    def _new_mtu(self, writer: Writer, network: Network, requested: object) -> int:
        """``net-mtu-writable``: no more than the segment carries, and enough for the subnets
        the network holds (0 is checked as such, then means the most, as in Neutron)."""
        assert isinstance(requested, int)
        most = mtus.maximum(network.network_type, physical_mtu=self.context.settings.physical_mtu)
        mtus.check_requested(requested, most=most)
        versions = [subnet.ip_version for subnet in writer.subnets_of(network.id)]
        mtus.check_subnets(network.id, requested, versions)
        return requested or most

    async def delete(self, caller: Caller, network_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            network = resources.owned(writer, caller, Network, network_id)
            resources.check_revision(network, if_match)
            if network.router_external:
                _delete_unassociated_floating_ips(writer, network)
            if writer.count(Port, Query(filters={"network_id": (network_id,)})):
                raise errors.InUse(
                    f"Unable to complete operation on network {network_id}. "
                    "There are one or more ports still in use on the network.",
                    type="NetworkInUse",
                )
            subnets = writer.subnets_of(network_id)
            for subnet in subnets:
                self.context.allocations.forget_subnet(writer, subnet.id)
            writer.delete(subnets)
            network_access.remove_all(writer, network_id)
            writer.delete([network])
            self.context.allocations.forget_network(writer, network_id)
            if network.segmentation_id is not None:
                self.context.allocations.release_segment(writer, network.segmentation_id)

        await self.context.store.write(work)


def _delete_unassociated_floating_ips(writer: Writer, network: Network) -> None:
    """As Neutron: deleting an external network deletes its floating IPs that map to no port,
    with their ports (their addresses go with the network's subnets). An associated one needs a
    router's gateway on the network, which keeps the network (``NetworkInUse``), and if any
    port stays the whole delete is undone (Neutron deletes the floating IPs anyway)."""
    floating = writer.select(FloatingIp, Query(filters={"floating_network_id": (network.id,)}))
    unassociated = [fip for fip in floating if fip.port_id is None]
    if not unassociated:
        return
    ports = writer.get_many(Port, [fip.floating_port_id for fip in unassociated])
    writer.delete(unassociated)
    writer.delete(list(ports.values()))


def _default(reader: Reader, network: Network, changes: dict[str, object]) -> None:
    """``is_default`` as Neutron sets it: only an external network is the default one (the
    request is ignored on another), at most one is, and one that stops being external stops
    being the default."""
    external = changes.get("router_external", network.router_external)
    if not external:
        changes.pop("is_default", None)
        if network.is_default:
            changes["is_default"] = False
    elif changes.get("is_default") is True and not network.is_default:
        _check_no_other_default(reader, network.id)


def _check_no_other_default(reader: Reader, network_id: str | None) -> None:
    query = Query(filters={"is_default": (True,)}, limit=1)
    for other in reader.select(Network, query):
        if other.id != network_id:
            raise errors.Conflict(
                f"A default external network already exists: {other.id}.",
                type="DefaultExternalNetworkExists",
            )


def _flagged(shared: bool, external: bool) -> list[str]:
    """The actions of the ``*`` policies a new network's ``shared`` and ``router:external``
    stand for."""
    return [a for a, f in ((ACCESS_AS_SHARED, shared), (ACCESS_AS_EXTERNAL, external)) if f]


def _check_segment_kept(network: Network, changes: dict[str, object]) -> None:
    """As Neutron's ML2 for the types here: an update may repeat a network's provider
    attributes (they are dropped from ``changes``) but not change them."""
    for field in PROVIDER_FIELDS:
        if field in changes and changes.pop(field) != getattr(network, field):
            raise errors.InvalidInput(
                "Invalid input for operation: Only VLAN type networks can be updated..",
                type="InvalidInput",
            )
