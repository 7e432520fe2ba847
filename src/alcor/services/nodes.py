"""The node manager (Alcor's): the hosts of the region, admin only.

A node's ``name`` is its host id: what ports name in ``binding:host_id`` and what its agent
sends in its Hello. Rules: names are unique (409 ``NodeNameInUse``); ``underlay_ip`` is an IP
address and ``mac_address`` (optional) a unicast MAC; a node with ports bound to it is neither
deleted nor renamed (409 ``NodeInUse``, as Neutron refuses to drop what is still in use: unbind
or delete the ports first). A port may name a host that is no node (yet), as in Neutron: its
``binding:vif_type`` is ``binding_failed`` until a node of that name is made (by the API or its
agent's Hello), and then it binds (``tap``).

Nodes come from the API (one, or a bulk of up to ``--max-bulk``), from ``alcor nodes load``
(the same bulk API), or from their agents: the southbound registers an unknown host that
authenticated on its first Hello (``register``), up to ``--register-hosts-limit`` such nodes,
unless the controller runs with ``--no-register-hosts``. A node's underlay address and
physical networks are the operator's (or, for a registered host, its certificate's): a Hello
never changes them. Underlay addresses other hosts cannot reach (loopback, unspecified,
multicast, link-local) are refused.

Health is observed, not intended: heartbeats stay in memory (``services.status``); the
southbound's watch writes only the up/down transitions (``set_states``), which change neither
``revision_number`` nor ``updated_at``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import msgspec

from alcor.model import addressing, errors
from alcor.model.identifiers import normalize_mac
from alcor.model.queries import Query
from alcor.model.records import Node, Port
from alcor.model.requests import UNSET, NodeCreate, NodeUpdate
from alcor.services import resources, status
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer

UP = "up"
DOWN = "down"
UNBOUND_VIF_TYPE = "unbound"
FAILED_VIF_TYPE = "binding_failed"
BOUND_VIF_TYPE = "tap"
REGISTERED = "registered by its agent"
_NAME = re.compile(r"^[^\s/?#%]{1,255}$")  # a host id; it appears in URLs, so no separators
_PHYSICAL_NETWORK = re.compile(r"^[^\s:,]{1,64}$")
_CHUNK = 500


class ShownNode(msgspec.Struct, frozen=True):
    """A node with what its agent said lately (in memory: None when nothing since start)."""

    record: Node
    health: status.Health | None
    link: status.Link | None


def _require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise errors.NotAuthorized("Nodes are shown to and changed by admins only.")


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise addressing.invalid(
            "name",
            f"'{name}' is not a valid host id (1 to 255 characters, no spaces, '/', '?', '#' "
            "or '%').",
        )
    return name


def check_underlay_ip(text: str) -> str:
    """An address other hosts can send VXLAN to: not loopback, unspecified, multicast or
    link-local (each would send a host's overlay traffic to itself, nowhere or everywhere)."""
    address = addressing.parse_address(text, "underlay_ip")
    for unusable, what in (
        (address.is_loopback, "a loopback"),
        (address.is_unspecified, "the unspecified"),
        (address.is_multicast, "a multicast"),
        (address.is_link_local, "a link-local"),
    ):
        if unusable:
            raise addressing.invalid(
                "underlay_ip", f"'{text}' is {what} address; other hosts cannot reach it."
            )
    return str(address)


def check_physical_networks(names: list[str]) -> list[str]:
    for name in names:
        if not _PHYSICAL_NETWORK.match(name):
            raise addressing.invalid(
                "physical_networks",
                f"'{name}' is not a valid physical network name (1 to 64 characters, no spaces, "
                "':' or ',').",
            )
    return sorted(set(names))


def check_mac(text: str) -> str:
    return normalize_mac(text) if text else ""


def by_names(reader: Reader, names: Iterable[str]) -> dict[str, Node]:
    """The nodes of these names that exist, by name."""
    wanted = list(dict.fromkeys(names))
    found: dict[str, Node] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = tuple(wanted[start : start + _CHUNK])
        for node in reader.select(Node, Query(filters={"name": chunk})):
            found[node.name] = node
    return found


def known_hosts(writer: Writer, context: resources.Context, hosts: Iterable[str]) -> set[str]:
    """Which of these hosts (``binding:host_id``) are known nodes. A name found once is
    remembered until its node is deleted or renamed (the lookup was a query on every port
    create)."""
    wanted = {host for host in hosts if host}
    known = {host for host in wanted if context.node_names.get(host) is not None}
    if known == wanted:
        return known
    found = by_names(writer, wanted - known)
    for name, node in found.items():
        context.node_names.remember(writer, name, node.id)
    return known | found.keys()


def vif_type(host: str, known: set[str]) -> str:
    """``binding:vif_type`` as Neutron's ML2 shows it: ``unbound`` without a host,
    ``binding_failed`` for a host that is no node (yet), bound (``tap``) on a node."""
    if not host:
        return UNBOUND_VIF_TYPE
    return BOUND_VIF_TYPE if host in known else FAILED_VIF_TYPE


def bind_waiting(writer: Writer, context: resources.Context, names: Iterable[str]) -> None:
    """The ports named for these hosts before they were nodes (``binding_failed``) bind now
    that they are: a change of the ports in the store, so their goal state follows the log."""
    wanted = list(dict.fromkeys(names))
    now = context.now()
    for start in range(0, len(wanted), _CHUNK):
        waiting = Query(
            filters={
                "binding_host_id": tuple(wanted[start : start + _CHUNK]),
                "binding_vif_type": (FAILED_VIF_TYPE,),
            }
        )
        ports = writer.select(Port, waiting)
        if ports:
            writer.update(
                [resources.revised(p, now, binding_vif_type=BOUND_VIF_TYPE) for p in ports]
            )


def _duplicate(name: str) -> errors.Conflict:
    return errors.Conflict(f"A node named '{name}' already exists.", type="NodeNameInUse")


def _bound_ports(reader: Reader, name: str) -> bool:
    return bool(reader.select(Port, Query(filters={"binding_host_id": (name,)}, limit=1)))


def _found(reader: Reader, node_id: str, if_match: int | None) -> Node:
    node = reader.get(Node, node_id)
    if node is None:
        raise errors.NotFound.resource(Node.kind, node_id)
    resources.check_revision(node, if_match)
    return node


def _in_use(node: Node) -> errors.InUse:
    return errors.InUse(
        f"Node {node.id} ({node.name}) has ports bound to it: unbind or delete them first.",
        type="NodeInUse",
    )


class Nodes:
    def __init__(self, context: resources.Context) -> None:
        self.context = context

    def shown(self, nodes: Sequence[Node]) -> list[ShownNode]:
        board = self.context.status
        return [ShownNode(n, board.health_of(n.name), board.link_of(n.name)) for n in nodes]

    # --- the API -------------------------------------------------------------------------

    async def create(self, caller: Caller, requests: Sequence[NodeCreate]) -> list[ShownNode]:
        _require_admin(caller)
        resources.check_bulk(len(requests), self.context.settings)
        nodes = [self._new(request) for request in requests]
        seen: set[str] = set()
        for node in nodes:
            if node.name in seen:
                raise _duplicate(node.name)
            seen.add(node.name)

        def work(writer: Writer) -> list[Node]:
            existing = by_names(writer, seen)
            if existing:
                raise _duplicate(min(existing))
            writer.insert(nodes)
            bind_waiting(writer, self.context, seen)
            return nodes

        return self.shown(await self.context.store.write(work))

    def _new(self, request: NodeCreate, *, state: str = DOWN) -> Node:
        now = self.context.now()
        return Node(
            id=self.context.new_id(),
            project_id="",
            name=check_name(request.name),
            description=resources.value_or(request.description, ""),
            created_at=now,
            updated_at=now,
            underlay_ip=check_underlay_ip(request.underlay_ip),
            mac_address=check_mac(resources.value_or(request.mac_address, "")),
            admin_state_up=resources.value_or(request.admin_state_up, True),
            physical_networks=check_physical_networks(
                resources.value_or(request.physical_networks, [])
            ),
            state=state,
            state_changed_at=now if state == UP else None,
        )

    async def show(self, caller: Caller, node_id: str) -> ShownNode:
        _require_admin(caller)
        node = await self.context.store.read(lambda reader: _found(reader, node_id, None))
        return self.shown([node])[0]

    async def query(self, caller: Caller, query: Query) -> list[ShownNode]:
        _require_admin(caller)
        return self.shown(await self.context.store.read(lambda r: r.select(Node, query)))

    async def update(
        self, caller: Caller, node_id: str, request: NodeUpdate, *, if_match: int | None
    ) -> ShownNode:
        _require_admin(caller)

        def work(writer: Writer) -> Node:
            node = _found(writer, node_id, if_match)
            changes: dict[str, object] = {}
            if request.name is not UNSET and request.name != node.name:
                changes["name"] = check_name(request.name)
                if by_names(writer, [request.name]):
                    raise _duplicate(request.name)
                if _bound_ports(writer, node.name):
                    raise _in_use(node)
                self.context.node_names.forget(writer, node.name)
            if request.underlay_ip is not UNSET:
                changes["underlay_ip"] = check_underlay_ip(request.underlay_ip)
            if request.mac_address is not UNSET:
                changes["mac_address"] = check_mac(request.mac_address)
            if request.physical_networks is not UNSET:
                changes["physical_networks"] = check_physical_networks(request.physical_networks)
            for field in ("description", "admin_state_up"):
                if (value := getattr(request, field)) is not UNSET:
                    changes[field] = value
            updated = resources.revised(node, self.context.now(), **changes)
            writer.update([updated])
            if "name" in changes:
                bind_waiting(writer, self.context, [updated.name])
            return updated

        return self.shown([await self.context.store.write(work)])[0]

    async def delete(self, caller: Caller, node_id: str, *, if_match: int | None) -> None:
        _require_admin(caller)

        def work(writer: Writer) -> None:
            node = _found(writer, node_id, if_match)
            if _bound_ports(writer, node.name):
                raise _in_use(node)
            writer.delete([node])
            self.context.node_names.forget(writer, node.name)

        await self.context.store.write(work)

    # --- the southbound ------------------------------------------------------------------

    async def named(self, host: str) -> Node | None:
        """The node of ``host`` as the store has it now (a southbound that has not yet read a
        node another process made asks here before it refuses or registers the host)."""
        return (await self.context.store.read(lambda reader: by_names(reader, [host]))).get(host)

    async def register(
        self,
        host: str,
        *,
        underlay_ip: str,
        physical_networks: Sequence[str],
        limit: int,
    ) -> Node:
        """The node of an authenticated host whose agent said Hello and is not a node yet: made
        (``up``) with the Hello's underlay address and the physical networks its certificate
        names, unless ``limit`` nodes were registered so already (409 ``NodeLimitExceeded``).
        Idempotent: a node made meanwhile is simply found, as it is."""
        if not underlay_ip:
            raise errors.InvalidInput(
                f"Host {host} is not a known node and its Hello has no underlay_ip to register "
                "it with (start its agent with --underlay-ip, or create the node)."
            )
        node = self._new(
            NodeCreate(
                name=host,
                underlay_ip=underlay_ip,
                description=REGISTERED,
                physical_networks=list(physical_networks),
            ),
            state=UP,
        )

        def work(writer: Writer) -> Node:
            existing = by_names(writer, [host])
            if host in existing:
                return existing[host]
            registered = writer.count(Node, Query(filters={"description": (REGISTERED,)}))
            if registered >= limit:
                raise errors.Conflict(
                    f"Host {host} is not a known node and {registered} hosts were registered "
                    f"by their agents already (the limit, --register-hosts-limit): create its "
                    "node (POST /v2.0/nodes, alcor nodes load).",
                    type="NodeLimitExceeded",
                )
            writer.insert([node])
            bind_waiting(writer, self.context, [host])
            return node

        return await self.context.store.write(work)

    async def set_states(self, states: Mapping[str, str]) -> list[Node]:
        """Write up/down transitions (one write for all of them): only nodes whose stored
        state differs change; nodes gone meanwhile are skipped. Returns the changed nodes."""

        def work(writer: Writer) -> list[Node]:
            now = self.context.now()
            changed = [
                msgspec.structs.replace(node, state=states[name], state_changed_at=now)
                for name, node in by_names(writer, states).items()
                if node.state != states[name]
            ]
            writer.update(changed)
            return changed

        return await self.context.store.write(work)
