"""The trunk manager (``trunk``, ``trunk-details``): a parent port carrying its own network
untagged and, per subport, the subport's network tagged with the subport's VLAN.

Rules, as Neutron's trunk plugin (``neutron/services/trunk/rules.py``), checked in its order: the
subports as sent (``model/trunks.py``: 400); the parent must be a port the caller sees (404
``PortNotFound``) that is neither a subport (409 ``TrunkPortInUse``) nor another trunk's parent
(409 ``ParentPortInUse``); each subport is not the parent (409 ``ParentPortInUse``), its network's
MTU is not above the parent's (409 ``SubPortMtuGreaterThanTrunkPortMtu``), it is in no trunk
(409 ``TrunkPortInUse``/``ParentPortInUse``), the caller sees it (404: a member cannot take
another project's port) and it has no ``device_id`` (409 ``PortInUse``); a segmentation is used
once per trunk (409 ``DuplicateSubPort``). A disabled trunk (``admin_state_up`` false) takes no
subport change and cannot be deleted (409 ``TrunkDisabled``); its name, description and state
can change. A port in a trunk cannot be deleted (``check_port_deletable``: 409
``PortInUseAsTrunkParent``/``PortInUseAsSubPort``). The store's unique keys (``trunks.port_id``,
``trunk_subports``) stay the last line.

**Subports ride on the parent**, as Neutron's trunk drivers bind them: a subport's port is bound
to the parent's host (and follows it when the parent's binding changes: ``follow_parent``),
owned by ``trunk:subport``, and its ``binding:profile`` names the parent and the VLAN
(``parent_name``, ``tag``, as Neutron's OVN driver writes them), which the goal state carries to
the host (``goalstate/entries``); the host splices the VLAN onto the parent's device
(docs/agent.md, "Trunks"). A port taken out of a trunk is unbound again.

**Status** is observed, never stored, as Neutron's state machine names it: ``DOWN`` while the
parent is unbound or its host has not programmed it, ``ERROR`` while the host reports the parent
failed; once the host acknowledged the parent, ``BUILD`` while a subport is not yet programmed,
``DEGRADED`` while one failed, else ``ACTIVE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from alcor.model import errors, trunks
from alcor.model.queries import Query
from alcor.model.records import Network, Port, SubPort, Trunk
from alcor.model.requests import UNSET, SubPortsRequest, TrunkCreate, TrunkUpdate
from alcor.services import resources, status
from alcor.services.callers import Caller
from alcor.services.tagging import check_tags
from alcor.store.interface import Reader, Writer

BUILD = "BUILD"  # the parent is programmed, a subport not yet
DEGRADED = "DEGRADED"  # the parent is programmed, a subport failed


class ShownTrunk(msgspec.Struct, frozen=True):
    record: Trunk
    tags: list[str]
    status: str


class Details(msgspec.Struct, frozen=True):
    """``trunk_details`` of a parent port: the trunk and its subports with their MACs."""

    trunk_id: str
    sub_ports: list[tuple[SubPort, str]]


class Trunks:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    # --- create, read ------------------------------------------------------------------

    async def create(self, caller: Caller, requests: Sequence[TrunkCreate]) -> list[ShownTrunk]:
        resources.check_bulk(len(requests), self.context.settings)

        def work(writer: Writer) -> list[ShownTrunk]:
            made = [self._new(writer, caller, request) for request in requests]
            writer.insert(made)
            for record in made:
                _ride(writer, record, record.sub_ports, self.context.now())
            for record, request in zip(made, requests, strict=True):
                if request.tags is not UNSET and request.tags:
                    writer.set_tags(record.id, check_tags(request.tags))
            return self._shown(writer, made)

        return await self.context.store.write(work)

    def _new(self, writer: Writer, caller: Caller, request: TrunkCreate) -> Trunk:
        sent = [] if request.sub_ports in (UNSET, None) else request.sub_ports
        wanted = trunks.parse(sent, on_create=True)
        project = caller.project_for(resources.requested_project(request))
        parent = resources.find(writer, caller, Port, request.port_id)
        _check_not_in_trunk(writer, parent.id)
        now = self.context.now()
        record = Trunk(
            id=self.context.new_id(),
            project_id=project,
            name=resources.value_or(request.name, ""),
            description=resources.value_or(request.description, ""),
            created_at=now,
            updated_at=now,
            revision_number=0,  # as Neutron's trunks
            admin_state_up=resources.value_or(request.admin_state_up, True),
            port_id=parent.id,
        )
        return msgspec.structs.replace(
            record, sub_ports=_added(writer, caller, record, parent, wanted)
        )

    async def show(self, caller: Caller, trunk_id: str) -> ShownTrunk:
        def work(reader: Reader) -> ShownTrunk:
            return self._shown(reader, [resources.find(reader, caller, Trunk, trunk_id)])[0]

        return await self.context.store.read(work)

    async def query(self, caller: Caller, query: Query) -> list[ShownTrunk]:
        scoped = resources.scoped(caller, query)
        wanted = scoped.filters.get("status")
        if wanted is None:
            return await self.context.store.read(lambda r: self._shown(r, r.select(Trunk, scoped)))
        # status is observed, not stored: the other filters select, status filters what they
        # select, and the page is cut after it (as ports' status)
        filters = {k: v for k, v in scoped.filters.items() if k != "status"}
        every = msgspec.structs.replace(scoped, filters=filters, limit=None)

        def work(reader: Reader) -> list[ShownTrunk]:
            found = [
                s for s in self._shown(reader, reader.select(Trunk, every)) if s.status in wanted
            ]
            if scoped.limit is not None:
                found = found[-scoped.limit :] if scoped.page_reverse else found[: scoped.limit]
            return found

        return await self.context.store.read(work)

    async def get_subports(self, caller: Caller, trunk_id: str, _request: object) -> ShownTrunk:
        return await self.show(caller, trunk_id)

    # --- update, delete, subports --------------------------------------------------------

    async def update(
        self, caller: Caller, trunk_id: str, request: TrunkUpdate, *, if_match: int | None
    ) -> ShownTrunk:
        def work(writer: Writer) -> ShownTrunk:
            record = resources.owned(writer, caller, Trunk, trunk_id)
            resources.check_revision(record, if_match)
            changes = {
                field: value
                for field in ("name", "description", "admin_state_up")
                if (value := getattr(request, field)) is not UNSET
            }
            updated = resources.revised(record, self.context.now(), **changes)
            writer.update([updated])
            return self._shown(writer, [updated])[0]

        return await self.context.store.write(work)

    async def delete(self, caller: Caller, trunk_id: str, *, if_match: int | None) -> None:
        def work(writer: Writer) -> None:
            record = resources.owned(writer, caller, Trunk, trunk_id)
            resources.check_revision(record, if_match)
            _check_enabled(record)
            writer.delete([record])
            _alight(writer, {s.port_id for s in record.sub_ports}, self.context.now())

        await self.context.store.write(work)

    async def add_subports(
        self, caller: Caller, trunk_id: str, request: SubPortsRequest
    ) -> ShownTrunk:
        def work(writer: Writer) -> ShownTrunk:
            record = resources.owned(writer, caller, Trunk, trunk_id)
            wanted = trunks.parse(request.sub_ports, on_create=False)
            _check_enabled(record)
            parent = writer.get(Port, record.port_id)
            assert parent is not None  # a parent port is never deleted while its trunk lives
            added = _added(writer, caller, record, parent, wanted)
            shown = self._changed(writer, record, [*record.sub_ports, *added])
            _ride(writer, record, added, self.context.now())
            return shown

        return await self.context.store.write(work)

    async def remove_subports(
        self, caller: Caller, trunk_id: str, request: SubPortsRequest
    ) -> ShownTrunk:
        def work(writer: Writer) -> ShownTrunk:
            record = resources.owned(writer, caller, Trunk, trunk_id)
            _check_enabled(record)
            wanted = trunks.parse(request.sub_ports, on_create=False, need_segmentation=False)
            held = {subport.port_id for subport in record.sub_ports}
            for one in wanted:
                if one.port_id not in held:
                    raise errors.NotFound(
                        f"SubPort {one.port_id} on trunk {record.id} could not be found.",
                        type="SubPortNotFound",
                    )
            going = {one.port_id for one in wanted}
            kept = [s for s in record.sub_ports if s.port_id not in going]
            shown = self._changed(writer, record, kept)
            _alight(writer, going, self.context.now())
            return shown

        return await self.context.store.write(work)

    def _changed(self, writer: Writer, record: Trunk, sub_ports: list[SubPort]) -> ShownTrunk:
        if sub_ports == record.sub_ports:
            updated = msgspec.structs.replace(record, updated_at=self.context.now())
        else:
            updated = resources.revised(record, self.context.now(), sub_ports=sub_ports)
        writer.update([updated])
        return self._shown(writer, [updated])[0]

    # --- reading ----------------------------------------------------------------------------

    def _shown(self, reader: Reader, records: list[Trunk]) -> list[ShownTrunk]:
        tags = reader.tags_of([r.id for r in records])
        wanted = [r.port_id for r in records] + [s.port_id for r in records for s in r.sub_ports]
        ports = reader.get_many(Port, wanted) if records else {}
        board = self.context.status
        return [
            ShownTrunk(
                r,
                tags.get(r.id, []),
                status_of(
                    ports.get(r.port_id),
                    [p for s in r.sub_ports if (p := ports.get(s.port_id)) is not None],
                    board,
                ),
            )
            for r in records
        ]


def status_of(parent: Port | None, subports: list[Port], board: status.StatusView) -> str:
    """The trunk's status from its ports' (the module docstring)."""
    if parent is None or not parent.binding_host_id:
        return status.DOWN
    observed = board.port_status(parent.id, parent.binding_host_id)
    if observed != status.ACTIVE:
        return status.ERROR if observed == status.ERROR else status.DOWN
    riding = {board.port_status(p.id, p.binding_host_id) for p in subports}
    if status.ERROR in riding:
        return DEGRADED
    return BUILD if riding - {status.ACTIVE} else status.ACTIVE


# --- the ports' side -------------------------------------------------------------------------


def check_port_deletable(reader: Reader, port: Port) -> None:
    """A port in a trunk cannot be deleted (Neutron's ``enforce_port_deletion_rules``)."""
    trunk_id = reader.subport_trunks([port.id]).get(port.id)
    if trunk_id is not None:
        raise errors.InUse(
            f"Port {port.id} is currently a subport for trunk {trunk_id}.",
            type="PortInUseAsSubPort",
        )
    for trunk in reader.select(Trunk, Query(filters={"port_id": (port.id,)})):
        raise errors.InUse(
            f"Port {port.id} is currently a parent port for trunk {trunk.id}.",
            type="PortInUseAsTrunkParent",
        )


def details_of(reader: Reader, ports: Iterable[Port]) -> dict[str, Details]:
    """``trunk_details`` of those of ``ports`` that are parents of trunks, by port id."""
    port_ids = [port.id for port in ports]
    if not port_ids or reader.count(Trunk, Query()) == 0:
        return {}
    found: list[Trunk] = []
    for first in range(0, len(port_ids), 500):
        chunk = tuple(port_ids[first : first + 500])
        found += reader.select(Trunk, Query(filters={"port_id": chunk}))
    subports = reader.get_many(Port, [s.port_id for t in found for s in t.sub_ports])
    return {
        trunk.port_id: Details(
            trunk.id,
            [
                (s, subports[s.port_id].mac_address if s.port_id in subports else "")
                for s in trunk.sub_ports
            ],
        )
        for trunk in found
    }


# --- the subports' ports --------------------------------------------------------------------


def _ride(writer: Writer, trunk: Trunk, sub_ports: list[SubPort], now: str) -> None:
    """The subports' ports ride on the parent: bound to its host, their ``binding:profile``
    naming it and their VLAN (the goal state carries both to the host), owned by
    ``trunk:subport``, as Neutron's trunk drivers bind them."""
    parent = writer.get(Port, trunk.port_id)
    ports = writer.get_many(Port, [s.port_id for s in sub_ports])
    changed = []
    for subport in sub_ports:
        port = ports[subport.port_id]
        profile = {
            **port.binding_profile,
            trunks.PARENT_KEY: trunk.port_id,
            trunks.TAG_KEY: subport.segmentation_id,
        }
        changed.append(
            resources.revised(
                port,
                now,
                binding_host_id=parent.binding_host_id if parent else "",
                binding_vif_type=parent.binding_vif_type if parent else "unbound",
                device_owner=trunks.SUBPORT_OWNER,
                binding_profile=profile,
            )
        )
    writer.update(changed)


def _alight(writer: Writer, port_ids: set[str], now: str) -> None:
    """Ports that are subports no more: unbound, their profile without the parent."""
    changed = []
    for port in writer.get_many(Port, sorted(port_ids)).values():
        profile = {
            key: value
            for key, value in port.binding_profile.items()
            if key not in (trunks.PARENT_KEY, trunks.TAG_KEY)
        }
        owner = "" if port.device_owner == trunks.SUBPORT_OWNER else port.device_owner
        changed.append(
            resources.revised(
                port,
                now,
                binding_host_id="",
                binding_vif_type="unbound",
                device_owner=owner,
                binding_profile=profile,
            )
        )
    writer.update(changed)


def follow_parent(writer: Writer, parent: Port, now: str) -> None:
    """The parent port's binding changed: its trunk's subports follow it to its host."""
    for trunk in writer.select(Trunk, Query(filters={"port_id": (parent.id,)})):
        _ride(writer, trunk, trunk.sub_ports, now)


# --- the rules ---------------------------------------------------------------------------------


def _check_enabled(record: Trunk) -> None:
    if not record.admin_state_up:
        raise errors.Conflict(f"Trunk {record.id} is currently disabled.", type="TrunkDisabled")


def _check_not_in_trunk(reader: Reader, port_id: str) -> None:
    """Neutron's ``TrunkPortValidator``: the port is neither a subport nor a trunk's parent."""
    if reader.subport_trunks([port_id]):
        raise errors.InUse(f"Port {port_id} is in use by another trunk.", type="TrunkPortInUse")
    if reader.count(Trunk, Query(filters={"port_id": (port_id,)})):
        raise _parent_in_use(port_id)


def _parent_in_use(port_id: str) -> errors.InUse:
    return errors.InUse(
        f"Port {port_id} is currently in use and is not eligible for use as a parent port.",
        type="ParentPortInUse",
    )


def _added(
    writer: Writer, caller: Caller, trunk: Trunk, parent: Port, wanted: list[trunks.Wanted]
) -> list[SubPort]:
    """The subports ``wanted`` on ``trunk``, each checked (the module docstring)."""
    parent_mtu = _mtu(writer, parent.network_id)
    taken = {(s.segmentation_type, s.segmentation_id) for s in trunk.sub_ports}
    added: list[SubPort] = []
    for one in wanted:
        if one.port_id == parent.id:
            raise _parent_in_use(one.port_id)
        port = writer.get(Port, one.port_id)
        if port is not None and caller.owns(port) and _mtu(writer, port.network_id) > parent_mtu:
            raise errors.Conflict(
                f"MTU {_mtu(writer, port.network_id)} of subport {port.id} cannot be greater "
                f"than MTU {parent_mtu} of trunk {parent.id}.",
                type="SubPortMtuGreaterThanTrunkPortMtu",
            )
        _check_not_in_trunk(writer, one.port_id)
        port = resources.find(writer, caller, Port, one.port_id)
        if port.device_id:
            raise errors.InUse(
                f"Unable to complete operation on port {port.id} for network "
                f"{port.network_id}. Port already has an attached device {port.device_id}.",
                type="PortInUse",
            )
        subport = one.subport()
        segmentation = (subport.segmentation_type, subport.segmentation_id)
        if segmentation in taken:
            raise errors.InUse(
                f"segmentation_type {segmentation[0]} and segmentation_id {segmentation[1]} "
                f"already in use on trunk {trunk.id}.",
                type="DuplicateSubPort",
            )
        taken.add(segmentation)
        added.append(subport)
    return added


def _mtu(reader: Reader, network_id: str) -> int:
    network = reader.get(Network, network_id)
    return network.mtu if network is not None else 0
