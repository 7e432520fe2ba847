"""The network (VPC segment) manager: create, show, list, update, delete.

A tenant network is a VXLAN segment whose VNI is allocated from the configured range; an admin
may choose the VNI (``provider:segmentation_id``) or make a ``flat`` external network.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from alcor.model import errors, mtus
from alcor.model.queries import Query
from alcor.model.records import ROUTER_GATEWAY, FloatingIp, Network, Port, Subnet
from alcor.model.requests import UNSET, NetworkCreate, NetworkUpdate
from alcor.services import availability_zones, resources
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer

NETWORK_TYPES = ("vxlan", "flat")
PROVIDER_FIELDS = ("network_type", "physical_network", "segmentation_id")
UPDATE_ADMIN_ONLY = (
    ("router_external", "router:external"),
    ("shared", "shared"),
    *((field, f"provider:{field}") for field in PROVIDER_FIELDS),
)


class ShownNetwork(msgspec.Struct, frozen=True):
    record: Network
    tags: list[str]
    subnet_ids: list[str]
    zones: list[str] = msgspec.field(default_factory=list)  # availability_zones


class Networks:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    async def create(self, caller: Caller, requests: Sequence[NetworkCreate]) -> list[ShownNetwork]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownNetwork]:
            quota_projects = resources.projects_of(caller, requests)
            self.context.quotas.check(writer, Network.kind, quota_projects)
            records = []
            for request in requests:  # one by one: a flat network must see the earlier ones
                records.append(self._new(writer, caller, request))
                writer.insert(records[-1:])
            for record, request in zip(records, requests, strict=True):
                if request.tags:
                    writer.set_tags(record.id, check_tags(request.tags))
            served = availability_zones.serving(writer)
            return [
                ShownNetwork(r, sorted(set(q.tags or [])), [], served)
                for r, q in zip(records, requests, strict=True)
            ]

        return await self.context.store.write(work)

    def _new(self, writer: Writer, caller: Caller, request: NetworkCreate) -> Network:
        project = caller.project_for(resources.requested_project(request))
        # Admin-only as in Neutron's policy: provider attributes when sent at all, the flags
        # only when set to other than their default (False).
        for attribute, value in (
            ("provider:network_type", request.network_type),
            ("provider:segmentation_id", request.segmentation_id),
            ("provider:physical_network", request.physical_network),
            ("router:external", request.router_external or UNSET),
            ("shared", request.shared or UNSET),
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
            router_external=resources.value_or(request.router_external, False),
            network_type=network_type,
            segmentation_id=segment,
            physical_network=physical_network,
            port_security_enabled=resources.value_or(request.port_security_enabled, True),
            availability_zone_hints=availability_zones.check_hints(
                writer, resources.value_or(request.availability_zone_hints, [])
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
            return self._shown(reader, [resources.find(reader, caller, Network, network_id)])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownNetwork]:
        scoped = resources.scoped(caller, query, shared=True)
        return await self.context.store.read(lambda r: self._shown(r, r.select(Network, scoped)))

    def _shown(self, reader: Reader, records: list[Network]) -> list[ShownNetwork]:
        ids = [record.id for record in records]
        tags = reader.tags_of(ids)
        subnets: dict[str, list[str]] = {}
        if ids:
            for subnet in reader.select(Subnet, Query(filters={"network_id": tuple(ids)})):
                subnets.setdefault(subnet.network_id, []).append(subnet.id)
        served = availability_zones.serving(reader) if records else []
        return [ShownNetwork(r, tags.get(r.id, []), subnets.get(r.id, []), served) for r in records]

    async def update(
        self, caller: Caller, network_id: str, request: NetworkUpdate, *, if_match: int | None
    ) -> ShownNetwork:
        def work(writer: Writer) -> ShownNetwork:
            network = resources.owned(writer, caller, Network, network_id)
            resources.check_revision(network, if_match)
            sent = msgspec.structs.asdict(request)
            changes = {field: value for field, value in sent.items() if value is not UNSET}
            for field, attribute in UPDATE_ADMIN_ONLY:
                if field in changes:
                    caller.require_admin(attribute, action="update_network")
            _check_segment_kept(network, changes)
            if "mtu" in changes:
                changes["mtu"] = self._new_mtu(writer, network, changes["mtu"])
            if network.router_external and changes.get("router_external") is False:
                _check_not_external_in_use(writer, network)
            updated = resources.revised(network, self.context.now(), **changes)
            writer.update([updated])
            return self._shown(writer, [updated])[0]

        return await self.context.store.write(work)

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
            writer.delete([network])
            self.context.allocations.forget_network(writer, network_id)
            if network.segmentation_id is not None:
                self.context.allocations.release_segment(writer, network.segmentation_id)

        await self.context.store.write(work)


def _check_not_external_in_use(reader: Reader, network: Network) -> None:
    """As Neutron: a network stays external while a router's gateway is on it. Neutron lets
    floating IPs alone be stranded on an internal network; here they hold it external too.
    Both by their owners' records (a port's device_owner is free text)."""
    gateways = Query(filters={"network_id": (network.id,), "router_port_type": (ROUTER_GATEWAY,)})
    floating = Query(filters={"floating_network_id": (network.id,)})
    for kind, query, holders in (
        (Port, gateways, "gateway ports"),
        (FloatingIp, floating, "floating IPs"),
    ):
        if reader.count(kind, query):
            raise errors.InUse(
                f"External network {network.id} cannot be updated to be made non-external, "
                f"since it has existing {holders}.",
                type="ExternalNetworkInUse",
            )


def _check_segment_kept(network: Network, changes: dict[str, object]) -> None:
    """As Neutron's ML2 for the types here: an update may repeat a network's provider
    attributes (they are dropped from ``changes``) but not change them."""
    for field in PROVIDER_FIELDS:
        if field in changes and changes.pop(field) != getattr(network, field):
            raise errors.InvalidInput(
                "Invalid input for operation: Only VLAN type networks can be updated..",
                type="InvalidInput",
            )
