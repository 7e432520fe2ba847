"""The linux driver: a host's goal state programmed into the kernel it runs on.

Per goal-state message, the driver

1. works out which entries' kernel objects may have changed (the entries changed, and those
   that depend on a network or subnet that changed: a port, a neighbor, a router's legs; or
   on a router that changed: its floating IPs, port forwardings and firewall groups),
   and lays them out again (``layouts``: entry -> kernel objects);
2. compares what those entries wanted before with what they want now, and plans the
   difference (``planning``): only what differs is touched;
3. programs the security groups first, as one nftables transaction (``nft``; a new port is
   filtered before it is plugged), then the planned netlink work as a few batches
   (``executing``);
4. makes the daemons run as wanted (``dhcp``: a DHCP server per network with a DHCP subnet and
   a port here, a DHCP client per endpoint with ``--endpoint-addressing dhcp``; for IPv6 a
   router advertisement daemon per router with an IPv6 interface, ``advertisements``, and a
   DHCPv6 client per endpoint that needs one, ``dhcpv6``) through the
   ``supervising.Supervisor``: new or changed ones are started or told to reread their files,
   those no longer wanted are stopped;
5. returns the resources whose commands failed (``Failure``: the port that could not be plugged
   and why); the stream client reports them in its acks until they change or go.

**Reconcile.** Its first message after the agent starts (and the next one after anything
failed) it reads what the kernel holds of its own (``Executor.observe``: devices and namespaces
its names mark, the entries on its VXLAN devices), lays out everything the host holds and
plans from the kernel's state instead of its memory: what is already right is left alone (an
endpoint whose namespace, devices, addresses and routes are as wanted is not touched, so its
traffic goes on, and a daemon running as wanted is kept), what is missing is made, what is left
over is removed (daemons too: those with a folder in the state directory). The nftables tables
are replaced in one transaction (conntrack state survives it, and each network keeps its
conntrack zone, read back from the kernel), then kept up to date by deltas.

An object wanted by two entries (which goal states should not produce) is programmed as the
first of them (by key) wants it and stays while either wants it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Coroutine, Iterator
from typing import Any

from alcor.agent import drivers, state
from alcor.agent.drivers.linux import (
    advertisements,
    dhcp,
    executing,
    firewalls,
    layouts,
    names,
    nft,
    planning,
    shaping,
    supervising,
    vips,
    vlans,
)
from alcor.agent.drivers.linux import kernel as k
from alcor.v1 import keys
from alcor.v1 import southbound_pb2 as pb

log = logging.getLogger("alcor.agent.linux")

LAID_OUT = (
    "network",
    "neighbor",
    "port",
    "router",
    "floating_ip",
    "port_forwarding",
    "firewall_group",
)
SECURING = ("port", "security_group", "member", "network", "address_group", "firewall_group")
CAPABILITIES = (
    "linux",
    "vxlan",
    "distributed-routing",
    "security-groups",
    "dhcp",
    "external-gateways",
    "floating-ips",
    "port-forwardings",
    "firewall-groups",
    "qos",
)
# what the DHCP servers and clients follow (neighbors: the names their DNS answers)
DHCP_INPUTS = ("port", "subnet", "network", "neighbor")
DHCP = "dhcp"  # a DHCP server's key (``dhcp:<network>``), reported as its network's
VIP = "vip"  # a network's virtual IPs' ARP path (``vip:<network>``: ``vips``), reported as its


class _Lookup:
    """``layouts.Lookup`` over the applied goal state."""

    def __init__(self, held: state.HostState) -> None:
        self._held = held
        self._networks: dict[str, pb.Network | None] = {}  # asked once per goal state each

    def network(self, network_id: str) -> pb.Network | None:
        if network_id not in self._networks:
            entry = self._held.get("network", network_id)
            self._networks[network_id] = entry.network if entry is not None else None
        return self._networks[network_id]

    def router(self, router_id: str) -> pb.Router | None:
        entry = self._held.get("router", router_id)
        return entry.router if entry is not None else None

    def subnet(self, subnet_id: str) -> pb.Subnet | None:
        entry = self._held.get("subnet", subnet_id)
        return entry.subnet if entry is not None else None


class LinuxDriver:
    def __init__(
        self,
        host: layouts.HostSettings,
        executor: executing.Executor,
        supervisor: supervising.Supervisor,
    ) -> None:
        if host.endpoint_mode not in layouts.ENDPOINT_MODES:
            raise ValueError(f"unknown endpoint mode {host.endpoint_mode!r}")
        if host.endpoint_addressing not in layouts.ENDPOINT_ADDRESSING:
            raise ValueError(f"unknown endpoint addressing {host.endpoint_addressing!r}")
        self.host = host
        self._executor = executor
        self._supervisor = supervisor
        # the DHCP servers (network -> service) and clients (port -> daemon) wanted, and the
        # daemons made to run as they are (name -> daemon)
        self._services: dict[str, dhcp.Service] = {}
        self._clients: dict[str, supervising.Daemon] = {}
        self._daemons: dict[str, supervising.Daemon] = {}
        self._leases: dict[str, str] = {}  # port -> the address its client obtained
        self._advertisers: dict[str, supervising.Daemon] = {}  # router -> its radvd
        self._clients6: dict[str, supervising.Daemon] = {}  # port -> its DHCPv6 client
        self._resync = True
        # what each entry wants of the kernel, and who wants each object
        self._layouts: dict[str, layouts.Layout] = {}
        self._idents: dict[str, list[k.Identity]] = {}  # of each layout's objects, in order
        self._laid_out: defaultdict[str, set[str]] = defaultdict(set)  # kind -> ids laid out
        self._wanted: dict[k.Identity, dict[str, k.Object]] = {}
        self._dependents: defaultdict[str, set[str]] = defaultdict(set)  # network -> keys
        self._subnet_networks: dict[str, str] = {}
        # the security groups' inputs (ids; messages are looked up in the goal state)
        self._ports: set[str] = set()
        self._plugged: set[str] = set()  # ports whose endpoint it makes (layouts.plugs)
        self._members: defaultdict[str, set[str]] = defaultdict(set)  # group -> ports
        self._marks: dict[str, int] = {}
        self._zones: dict[str, int] = {}  # bridge -> conntrack zone
        self._rules: nft.Ruleset | None = None
        self._failed: dict[str, str] = {}  # key -> why, as last reported
        self._splices: dict[tuple[str, str], vlans.Splice] = {}  # trunks' VLANs, as programmed
        self._riding: dict[str, str] = {}  # subport -> the parent port whose device it rides
        self._shapes: dict[str, shaping.Shape] = {}  # ports' QoS on their devices, as programmed
        self._names = dhcp.Names()  # the neighbor entries' names, which the DHCP servers answer
        # neighbors by network (their pairs' ARP path is the network's: ``vips``)
        self._neighbors: defaultdict[str, set[str]] = defaultdict(set)
        self._neighbor_networks: dict[str, str] = {}
        self._paired: set[str] = set()  # neighbors with allowed address pairs
        self.timings: dict[str, float] = {}  # the last message's phases, in seconds
        self._operations: Counter[tuple[str, str]] = Counter()  # (action, object) -> asked

    # --- the Driver protocol ---------------------------------------------------------------

    @property
    def capabilities(self) -> tuple[str, ...]:
        return (*CAPABILITIES, f"endpoint-mode:{self.host.endpoint_mode}")

    async def apply(self, changes: state.Changes, held: state.HostState) -> list[drivers.Failure]:
        if self._resync:
            return await self.retry(held)
        return await self._timed(self._update(changes, held), held)

    async def retry(self, held: state.HostState) -> list[drivers.Failure]:
        """A reconcile: what failed (or was left half done) is read back from the kernel and
        programmed again, with everything else that differs."""
        return await self._timed(self._reconcile(held), held)

    async def _timed(
        self, work: Coroutine[Any, Any, list[executing.Failed]], held: state.HostState
    ) -> list[drivers.Failure]:
        started = time.perf_counter()
        self.timings = {}
        try:
            failed = await work
        except BaseException:
            self._resync = True
            raise
        self._resync = bool(failed)
        self.timings["total"] = time.perf_counter() - started
        return self._report(failed, held)

    def operations(self) -> dict[tuple[str, str], int]:
        return dict(self._operations)

    def counts(self) -> dict[str, int]:
        counted = {kind + "s": len(ids) for kind, ids in self._laid_out.items()}
        counted["kernel_objects"] = len(self._wanted)
        counted["failed"] = len(self._failed)
        return dict(counted)

    def bindings(self) -> dict[str, dict[str, str]]:
        """In netns mode, each plugged port's namespace (``{"netns": NAME}``, and the address
        its DHCP client obtained, ``dhcp_address``, once it has); nothing in tap mode, where the
        device is Nova's, nor for a pod's port (``alcor-cni``'s)."""
        prefix = self.host.prefix
        return {
            port_id: {"netns": names.endpoint_netns(prefix, self._riding.get(port_id, port_id))}
            | ({"dhcp_address": self._leases[port_id]} if port_id in self._leases else {})
            for port_id in self._plugged
            if self._layouts.get(keys.key("port", port_id), _EMPTY).objects
            and keys.key("port", port_id) not in self._failed
        }

    def model(self) -> dict[str, Any]:
        """What the driver programmed, for status files: segments, endpoints (with the
        namespace made for each in netns mode), router namespaces, failures, timings."""
        prefix = self.host.prefix
        segments = {}
        for network_id in self._laid_out["network"]:
            objects = self._layouts[keys.key("network", network_id)].objects
            if objects:
                assert isinstance(objects[0], k.Link)
                segments[network_id] = objects[0].name
        return {
            "segments": segments,
            "endpoints": {
                port_id: {
                    "device": names.tap(port_id),
                    "netns": (
                        names.endpoint_netns(prefix, self._riding.get(port_id, port_id))
                        if port_id in self._plugged
                        else ""
                    ),
                }
                for port_id in sorted(self._ports)
                if self._layouts.get(keys.key("port", port_id), _EMPTY).objects
            },
            "routers": {
                router_id: names.router_netns(prefix, router_id)
                for router_id in self._laid_out["router"]
                if self._layouts[keys.key("router", router_id)].objects
            },
            "dhcp": {network_id: s.daemon.netns for network_id, s in self._services.items()},
            "neighbors": len(self._laid_out["neighbor"]),
            "failed": dict(self._failed),
            "timings": dict(self.timings),
        }

    # --- reconciling with the kernel -------------------------------------------------------

    async def _reconcile(self, held: state.HostState) -> list[executing.Failed]:
        started = time.perf_counter()
        observed = await self._executor.observe(self.host)
        self.timings["observe"] = time.perf_counter() - started
        live = held.live()
        self._layouts.clear()
        self._idents.clear()
        self._laid_out.clear()
        self._wanted.clear()
        self._dependents.clear()
        self._subnet_networks.clear()
        self._ports.clear()
        self._plugged.clear()
        self._riding.clear()
        self._members.clear()
        self._names.clear()
        self._neighbors.clear()
        self._neighbor_networks.clear()
        self._paired.clear()
        lookup = _Lookup(held)
        for key, entry in live.items():
            self._index(key, entry)
        for key, entry in live.items():
            if key.partition(":")[0] in LAID_OUT:
                self._lay_out(key, entry, lookup)
        self._services, self._clients = self._dhcp(held)
        self._advertisers = self._advertising(held)
        self._clients6 = dhcp.clients6(ports=self._held_ports(held), lookup=lookup, host=self.host)
        for network_id, service in self._services.items():
            self._place(keys.key(DHCP, network_id), service.layout)
        for network_id in list(self._neighbors):
            self._place(keys.key(VIP, network_id), self._vip_path(network_id, held, lookup))
        wanted: dict[k.Identity, k.Object] = {}
        owners: dict[k.Identity, str] = {}
        for ident in self._wanted:
            owners[ident], wanted[ident] = self._effective(ident)
        ops = planning.diff(k.objects(observed.objects), wanted, owners)
        self._marks.clear()
        self._zones = dict(observed.zones)
        self._rules = None
        failed = await self._program(ops, held, changed_ports=set(self._ports))
        failed += await self._splice(held, failed, changed=None)
        failed += await self._shape(held, failed, made=None)
        return failed + await self._supervise(ops, failed, everything=True)

    # --- following the goal state ----------------------------------------------------------

    async def _update(
        self, changes: state.Changes, held: state.HostState
    ) -> list[executing.Failed]:
        started = time.perf_counter()
        lookup = _Lookup(held)
        touched: set[str] = set()
        paths = set()  # networks whose pairs' ARP path may have changed
        for key, entry in changes.set.items():
            paths |= self._vip_networks(key, entry, lookup)
            self._index(key, entry)
            touched |= self._affected(key, entry)
        for key in changes.removed:
            paths |= self._vip_networks(key, None, lookup)
            touched |= self._affected(key, None)
            self._unindex(key)
        touched |= {keys.key(VIP, network_id) for network_id in paths}
        if any(key.partition(":")[0] in DHCP_INPUTS for key in [*changes.set, *changes.removed]):
            services, self._clients = self._dhcp(held)
            touched |= {
                keys.key(DHCP, network_id)
                for network_id in services.keys() | self._services.keys()
                if services.get(network_id) != self._services.get(network_id)
            }
            self._services = services
        before: dict[k.Identity, k.Object] = {}
        owners: dict[k.Identity, str] = {}
        for key in touched:
            for ident in self._idents.get(key, ()):
                if ident not in before:
                    owners[ident], before[ident] = self._effective(ident)
        paths_last = [key for key in touched if not key.startswith(VIP + ":")]
        paths_last += [key for key in touched if key.startswith(VIP + ":")]  # routers laid out
        for key in paths_last:
            kind, _, resource_id = key.partition(":")
            if kind == DHCP:
                service = self._services.get(resource_id)
                self._place(key, service.layout if service is not None else None)
            elif kind == VIP:
                self._place(key, self._vip_path(resource_id, held, lookup))
            else:
                found = changes.set.get(key)  # as held now, without looking it up again
                self._lay_out(
                    key, found if found is not None else held.get(kind, resource_id), lookup
                )
        kinds = {key.partition(":")[0] for key in [*changes.set, *changes.removed]}
        if kinds & {"subnet", "network", "router"}:  # once the routers are laid out
            self._advertisers = self._advertising(held)
        if kinds & {"port", "subnet", "network"}:
            self._clients6 = dhcp.clients6(
                ports=self._held_ports(held), lookup=lookup, host=self.host
            )
        idents = set(before)
        for key in touched:
            idents.update(self._idents.get(key, ()))
        after: dict[k.Identity, k.Object] = {}
        for ident in idents:
            if ident in self._wanted:  # still wanted, maybe by an entry that did not change
                owners[ident], after[ident] = self._effective(ident)
        ops = planning.diff(before, after, owners)
        self.timings["plan"] = time.perf_counter() - started
        changed_ports = {
            entry.port.id
            for entry in changes.set.values()
            if entry.WhichOneof("resource") == "port"
        }
        secure = any(key.partition(":")[0] in SECURING for key in [*changes.set, *changes.removed])
        failed = await self._program(ops, held, changed_ports=changed_ports, secure=secure)
        ported = {key for key in [*changes.set, *changes.removed] if key.startswith("port:")}
        made = {
            (op.obj.ns, op.obj.name)
            for op in ops
            if op.action == planning.ADD and isinstance(op.obj, k.Link)
        }
        if ported or (made and self._splices):
            failed += await self._splice(held, failed, changed=ported, made=made)
        if ported or any(key.startswith("qos_policy:") for key in changes.set) or made:
            failed += await self._shape(held, failed, made=made)
        return failed + await self._supervise(ops, failed, everything=False)

    def _affected(self, key: str, entry: pb.Entry | None) -> set[str]:
        """The keys whose kernel objects a change of ``key`` may change."""
        kind, _, resource_id = key.partition(":")
        found = {key} if kind in LAID_OUT else set()
        if kind in ("network", "router"):
            found |= self._dependents.get(resource_id, set())
        elif kind == "subnet":
            network_id = entry.subnet.network_id if entry is not None else ""
            network_id = network_id or self._subnet_networks.get(resource_id, "")
            found |= self._dependents.get(network_id, set())
        return found

    def _index(self, key: str, entry: pb.Entry) -> None:
        kind, _, resource_id = key.partition(":")
        if kind == "subnet":
            self._subnet_networks[resource_id] = entry.subnet.network_id
        elif kind == "port":
            self._ports.add(resource_id)
            if layouts.plugs(entry.port, self.host):
                self._plugged.add(resource_id)
            else:
                self._plugged.discard(resource_id)
            if entry.port.trunk_parent_id:
                self._riding[resource_id] = entry.port.trunk_parent_id
            else:
                self._riding.pop(resource_id, None)
        elif kind == "member":
            self._members[entry.member.security_group_id].add(entry.member.port_id)
        elif kind == "neighbor":
            self._names.put(resource_id, entry.neighbor)
            network_id = entry.neighbor.network_id
            moved = self._neighbor_networks.get(resource_id)
            if moved is not None and moved != network_id:
                self._neighbors[moved].discard(resource_id)
            self._neighbor_networks[resource_id] = network_id
            self._neighbors[network_id].add(resource_id)
            if entry.neighbor.allowed_address_pairs:
                self._paired.add(resource_id)
            else:
                self._paired.discard(resource_id)

    def _unindex(self, key: str) -> None:
        kind, _, resource_id = key.partition(":")
        if kind == "subnet":
            self._subnet_networks.pop(resource_id, None)
        elif kind == "port":
            self._ports.discard(resource_id)
            self._plugged.discard(resource_id)
            self._marks.pop(resource_id, None)
            self._riding.pop(resource_id, None)
        elif kind == "member":
            group_id, _, port_id = resource_id.partition("/")
            self._members[group_id].discard(port_id)
            if not self._members[group_id]:
                del self._members[group_id]
        elif kind == "neighbor":
            self._names.drop(resource_id)
            network_id = self._neighbor_networks.pop(resource_id, "")
            self._paired.discard(resource_id)
            self._neighbors[network_id].discard(resource_id)
            if not self._neighbors[network_id]:
                del self._neighbors[network_id]

    def _lay_out(self, key: str, entry: pb.Entry | None, lookup: _Lookup) -> None:
        """Replace what ``key`` wants of the kernel with what ``entry`` wants (None: nothing)."""
        self._place(key, layouts.of_entry(entry, lookup, self.host) if entry is not None else None)

    def _place(self, key: str, layout: layouts.Layout | None) -> None:
        """Replace what ``key`` wants of the kernel with ``layout`` (None: nothing)."""
        old = self._layouts.pop(key, _EMPTY)
        for ident in self._idents.pop(key, ()):
            versions = self._wanted.get(ident)
            if versions is not None:
                versions.pop(key, None)
                if not versions:
                    del self._wanted[ident]
        for network_id in old.networks:
            self._dependents[network_id].discard(key)
        kind, _, resource_id = key.partition(":")
        if layout is None:
            self._laid_out[kind].discard(resource_id)
            return
        self._laid_out[kind].add(resource_id)
        self._layouts[key] = layout
        idents = self._idents[key] = [k.identity(obj) for obj in layout.objects]
        wanted = self._wanted
        for ident, obj in zip(idents, layout.objects, strict=True):
            versions = wanted.get(ident)
            if versions is None:
                wanted[ident] = {key: obj}
            else:
                versions[key] = obj
        for network_id in layout.networks:
            self._dependents[network_id].add(key)

    def _effective(self, ident: k.Identity) -> tuple[str, k.Object]:
        """Who an object is programmed for, and as what: the first of its wanters (by key)."""
        versions = self._wanted[ident]
        owner = min(versions) if len(versions) > 1 else next(iter(versions))
        return owner, versions[owner]

    # --- virtual IPs: their ARP between hosts ---------------------------------------------

    def _vip_networks(self, key: str, entry: pb.Entry | None, lookup: _Lookup) -> set[str]:
        """The networks whose pairs' ARP path a change of ``key`` may change: a network's; a
        neighbor's (before and after it changed: a neighbor brings its host and its pairs),
        and those with pairs one router hop away (their replication reaches its host); for a
        router (its interfaces' MACs, its gateway's host), every network with pairs (which
        are few)."""
        kind, _, resource_id = key.partition(":")
        if kind == "network":
            return {resource_id}
        paired = {self._neighbor_networks[port_id] for port_id in self._paired}
        if kind == "router":
            return paired
        if kind != "neighbor":
            return set()
        found = {self._neighbor_networks.get(resource_id, "")}
        if entry is not None:
            found.add(entry.neighbor.network_id)
        found -= {""}
        if paired - found:
            found |= {n for n in paired if self._routed(n, lookup) & found}
        return found

    def _routers_on(self, network_id: str, lookup: _Lookup) -> list[pb.Router]:
        """The routers this host holds with an interface on the network."""
        return [
            router
            for router_id in self._laid_out["router"]
            if (router := lookup.router(router_id)) is not None
            and any(i.network_id == network_id for i in router.interfaces)
        ]

    def _routed(self, network_id: str, lookup: _Lookup) -> set[str]:
        """The networks one router hop from a network (itself included, if it has a router)."""
        return {i.network_id for r in self._routers_on(network_id, lookup) for i in r.interfaces}

    def _vip_path(
        self, network_id: str, held: state.HostState, lookup: _Lookup
    ) -> layouts.Layout | None:
        """What a network's pairs want of this host (``vips.path``; None: nothing)."""
        ports = self._neighbors.get(network_id, set())
        if self._paired.isdisjoint(ports):  # most networks: nothing to look at
            return None

        def neighbors(network: str) -> list[pb.Neighbor]:
            return [
                found.neighbor
                for port_id in self._neighbors.get(network, ())
                if (found := held.get("neighbor", port_id)) is not None
            ]

        routers = self._routers_on(network_id, lookup)
        macs = [i.mac_address for r in routers for i in r.interfaces if i.network_id == network_id]
        beyond = {i.network_id for r in routers for i in r.interfaces} - {network_id}
        gateways = [r.gateway_host_ip for r in routers]  # they route floating IPs' traffic in
        return vips.path(
            lookup.network(network_id),
            neighbors(network_id),
            self.host,
            router_macs=macs,
            routed_hosts=[n.host_ip for m in sorted(beyond) for n in neighbors(m)] + gateways,
        )

    # --- trunks: VLANs spliced onto the parents' devices ------------------------------------

    async def _splice(
        self,
        held: state.HostState,
        failed: list[executing.Failed],
        *,
        changed: set[str] | None,
        made: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
    ) -> list[executing.Failed]:
        """Program the splices the host's ports want (``vlans``): all of them after a
        reconcile (``changed`` None), else those of a parent or subport that changed or whose
        devices were ``made`` (again: a device made anew has no filters); clear the devices
        spliced no more. A splice whose ports failed to program waits for them."""
        ports = [
            entry.port
            for port_id in sorted(self._ports)
            if (entry := held.get("port", port_id)) is not None
        ]
        netns = self.host.endpoint_mode == "netns"
        wanted = {
            (s.ns, s.trunk): s for s in vlans.splices(ports, netns=netns, prefix=self.host.prefix)
        }
        broken = {failure.owner for failure in failed}
        todo = [
            splice
            for key, splice in wanted.items()
            if (
                changed is None
                or self._splices.get(key) != splice
                or _touches(splice, changed)
                or _devices(splice) & made
            )
            and not broken & {*splice.owners, f"port:{splice.parent}"}
        ]
        gone = [key for key in self._splices if key not in wanted]
        if not todo and not gone:
            return []
        found = await self._executor.splice(todo, gone)
        refused = {failure.owner for failure in found}
        for key in gone:
            del self._splices[key]
        for splice in todo:
            if not refused & set(splice.owners):
                self._splices[(splice.ns, splice.trunk)] = splice
        return found

    # --- QoS: the ports' devices shaped and their traffic marked ---------------------------

    def _shapes_wanted(self, held: state.HostState) -> dict[str, shaping.Shape]:
        """Each port's shape under the policy it enforces (``shaping``); a trunk's subport,
        riding on its parent's device, is not shaped apart from it."""
        wanted = {}
        for port_id in sorted(self._ports):
            entry = held.get("port", port_id)
            if entry is None or not entry.port.qos_policy_id or entry.port.trunk_parent_id:
                continue
            policy = held.get("qos_policy", entry.port.qos_policy_id)
            shape = shaping.shape_of(
                entry.port,
                policy.qos_policy if policy is not None else None,
                device=shaping.device_of(entry.port),
            )
            if shape is not None:
                wanted[port_id] = shape
        return wanted

    async def _shape(
        self,
        held: state.HostState,
        failed: list[executing.Failed],
        *,
        made: set[tuple[str, str]] | None,
    ) -> list[executing.Failed]:
        """Program the QoS the ports want on their devices: after a reconcile (``made`` None),
        from what the kernel holds; else the ports whose shape changed or whose devices were
        ``made`` (a device made anew holds nothing). A port that failed to program waits."""
        wanted = self._shapes_wanted(held)
        broken = {failure.owner for failure in failed}
        strays: list[planning.Line] = []
        if made is None:
            seen = await self._executor.shaped()
            old, strays = shaping.observed(
                {port_id: names.tap(port_id) for port_id in self._ports},
                rooted=seen.rooted,
                ingress=seen.ingress,
                ifbs=seen.ifbs,
            )
            todo = set(old) | set(wanted)
        else:
            old = {
                port_id: shape
                for port_id, shape in self._shapes.items()
                if (k.HOST, shape.device) not in made
            }
            todo = {p for p in set(old) | set(wanted) if old.get(p) != wanted.get(p)}
        todo = {p for p in todo if keys.key("port", p) not in broken}
        batches = shaping.batches(
            old, wanted, todo, present=self._ports, fresh=made is None, strays=strays
        )
        if not batches:
            return []
        found = await self._executor.run(batches)
        refused = {failure.owner for failure in found}
        for port_id in todo:
            if keys.key("port", port_id) in refused:
                continue
            if port_id in wanted:
                self._shapes[port_id] = wanted[port_id]
            else:
                self._shapes.pop(port_id, None)
        return found

    # --- DHCP: servers and clients ---------------------------------------------------------

    def _dhcp(
        self, held: state.HostState
    ) -> tuple[dict[str, dhcp.Service], dict[str, supervising.Daemon]]:
        """The DHCP servers and clients the goal state wants (worked out again per message:
        they depend on every port, subnet and network of the host)."""
        lookup = _Lookup(held)
        ports = list(self._held_ports(held))
        subnets = [
            subnet
            for subnet_id in sorted(self._subnet_networks)
            if (subnet := lookup.subnet(subnet_id)) is not None
        ]
        return (
            dhcp.services(
                ports=ports, subnets=subnets, dns_names=self._names, lookup=lookup, host=self.host
            ),
            dhcp.clients(ports=ports, lookup=lookup, host=self.host),
        )

    def _advertising(self, held: state.HostState) -> dict[str, supervising.Daemon]:
        """The router advertisement daemons the goal state wants (router -> radvd)."""
        lookup = _Lookup(held)
        routers = (
            router
            for router_id in sorted(self._laid_out["router"])
            if (router := lookup.router(router_id)) is not None
        )
        return advertisements.daemons(routers=routers, lookup=lookup, host=self.host)

    def _held_ports(self, held: state.HostState) -> Iterator[pb.Port]:
        """The ports bound here, by id."""
        for port_id in sorted(self._ports):
            if (entry := held.get("port", port_id)) is not None:
                yield entry.port

    async def _supervise(
        self, ops: list[planning.Op], failed: list[executing.Failed], *, everything: bool
    ) -> list[executing.Failed]:
        """Stop the daemons no longer wanted, then make the servers run as wanted, then the
        clients (they need their host's server): after a reconcile all of them, else those that
        changed or whose namespace was made again; none whose kernel objects failed."""
        servers = {
            service.daemon.name: (keys.key(DHCP, network_id), service.daemon)
            for network_id, service in self._services.items()
        } | {
            daemon.name: (keys.key("router", router_id), daemon)
            for router_id, daemon in self._advertisers.items()
        }
        clients = {
            daemon.name: (keys.key("port", port_id), daemon)
            for clients in (self._clients, self._clients6)
            for port_id, daemon in clients.items()
        }
        known = set(self._daemons) | (set(self._supervisor.names()) if everything else set())
        gone = sorted(known - servers.keys() - clients.keys())
        await asyncio.gather(*(self._supervisor.stop(name) for name in gone))
        for name in gone:
            self._daemons.pop(name, None)
        broken = {failure.owner for failure in failed}
        remade = {
            op.obj.name for op in ops if op.action == planning.ADD and isinstance(op.obj, k.Netns)
        }
        found: list[executing.Failed] = []
        for stage in (servers, clients):
            todo = [
                (owner, daemon)
                for owner, daemon in stage.values()
                if owner not in broken
                and (
                    everything or daemon.netns in remade or self._daemons.get(daemon.name) != daemon
                )
            ]
            errors = await asyncio.gather(*(self._supervisor.ensure(d) for _, d in todo))
            for (owner, daemon), error in zip(todo, errors, strict=True):
                if error:
                    self._daemons.pop(daemon.name, None)
                    what = "IPv6 RA" if daemon.argv[0] == "radvd" else "DHCP"
                    found.append(executing.Failed(owner, f"{what}: {error}"))
                else:
                    self._daemons[daemon.name] = daemon
        self._leases = {
            port_id: address
            for port_id, daemon in self._clients.items()
            if daemon.name in self._daemons
            and (address := self._leases.get(port_id) or self._lease(daemon))
        }
        return found

    def _lease(self, daemon: supervising.Daemon) -> str:
        return dhcp.lease(self._supervisor.read(daemon.name, "lease")).get("ip", "")

    # --- programming -----------------------------------------------------------------------

    async def _program(
        self,
        ops: list[planning.Op],
        held: state.HostState,
        *,
        changed_ports: set[str],
        secure: bool = True,
    ) -> list[executing.Failed]:
        failed: list[executing.Failed] = []
        if secure:
            started = time.perf_counter()
            failed = await self._secure(held, changed_ports)
            self.timings["nft"] = time.perf_counter() - started
            unsafe = {f.owner for f in failed}  # not plugged without their rules
            ops = [op for op in ops if op.action == planning.REMOVE or op.owner not in unsafe]
        started = time.perf_counter()
        self._operations.update((op.action, type(op.obj).__name__.lower()) for op in ops)
        failed += await self._executor.execute(ops)
        self.timings["netlink"] = time.perf_counter() - started
        self.timings["operations"] = len(ops)
        return failed

    async def _secure(self, held: state.HostState, changed: set[str]) -> list[executing.Failed]:
        """The security groups as the goal state has them now, in one transaction."""
        new = self._ruleset(held)
        self._operations["transact", "nftables"] += 1
        error = await self._executor.transact(self._rules, new)
        if not error:
            self._rules = new
            return []
        reason = "security groups: " + error.splitlines()[-1]
        ports = changed | _ports_changed(self._rules, new, self._ports)
        log.warning("nftables transaction failed: %s", error)
        return [executing.Failed(keys.key("port", port_id), reason) for port_id in sorted(ports)]

    def _ruleset(self, held: state.HostState) -> nft.Ruleset:
        policies = []
        groups: dict[str, pb.SecurityGroup] = {}
        for port_id in sorted(self._ports):
            entry = held.get("port", port_id)
            if entry is None or not entry.port.port_security_enabled:
                self._marks.pop(port_id, None)
                continue
            policies.append(nft.PortPolicy(entry.port, self._mark(port_id)))
            for group_id in entry.port.security_group_ids:
                group = held.get("security_group", group_id)
                if group is not None:
                    groups[group_id] = group.security_group
        members = {
            group_id: [
                ip
                for port_id in sorted(ports)
                if (member := held.get("member", keys.member_id(group_id, port_id))) is not None
                for ip in member.member.ip_addresses
            ]
            for group_id, ports in self._members.items()
        }
        address_groups = {
            rule.remote_address_group_id: list(found.address_group.addresses)
            for group in groups.values()
            for rule in group.rules
            if rule.remote_address_group_id
            and (found := held.get("address_group", rule.remote_address_group_id)) is not None
        }
        firewalled = {
            entry.firewall_group.port_id: firewalls.port_chains(entry.firewall_group)
            for entry in held.of_kind("firewall_group")
            if entry.firewall_group.port_id
        }
        return nft.ruleset(
            ports=policies,
            groups=groups,
            members=members,
            address_groups=address_groups,
            zones=self._zone_map(),
            firewalls=firewalled,
        )

    def _mark(self, port_id: str) -> int:
        """The port's number in packet marks, kept while the port is filtered."""
        if port_id not in self._marks:
            used = set(self._marks.values())
            self._marks[port_id] = next(m for m in range(1, nft.MAX_MARK + 1) if m not in used)
        return self._marks[port_id]

    def _zone_map(self) -> dict[str, int]:
        """A conntrack zone per segment bridge, kept for as long as the bridge is (zones are
        16 bits, VNIs 24: the VNI's low bits when free, else the first free zone)."""
        bridges = {
            obj.name
            for key, layout in self._layouts.items()
            if key.startswith("network:")
            for obj in layout.objects
            if isinstance(obj, k.Link) and obj.kind == "bridge"
        }
        self._zones = {name: zone for name, zone in self._zones.items() if name in bridges}
        used = set(self._zones.values())
        for name in sorted(bridges - self._zones.keys()):
            vni = names.segment_vni(name) or 0
            zone = vni & nft.MAX_MARK
            if not zone or zone in used:
                zone = next(z for z in range(1, nft.MAX_MARK + 1) if z not in used)
            self._zones[name] = zone
            used.add(zone)
        return dict(self._zones)

    def _report(
        self, failed: list[executing.Failed], held: state.HostState
    ) -> list[drivers.Failure]:
        """Failures of resources the host still holds, one per resource."""
        by_key: dict[str, list[str]] = defaultdict(list)
        for failure in failed:
            kind, _, resource_id = failure.owner.partition(":")
            if kind in (DHCP, VIP):  # a DHCP server, a VIP path, is its network's
                kind = "network"
                failure = executing.Failed(keys.key(kind, resource_id), failure.message)
            if not failure.owner or held.get(kind, resource_id) is None:
                continue  # left over, or removed: logged, nothing to report
            if failure.message not in by_key[failure.owner]:
                by_key[failure.owner].append(failure.message)
        self._failed = {key: "; ".join(messages) for key, messages in by_key.items()}
        return [
            drivers.Failure(kind=key.partition(":")[0], id=key.partition(":")[2], message=why)
            for key, why in self._failed.items()
        ]


def _devices(splice: vlans.Splice) -> set[tuple[str, str]]:
    """The devices a splice's programs hang on: (namespace, name)."""
    return {(splice.ns, splice.trunk), *((splice.ns, child) for _, child in splice.children)}


def _touches(splice: vlans.Splice, ports: set[str]) -> bool:
    """Whether a splice's parent or one of its subports is among the changed port keys."""
    return f"port:{splice.parent}" in ports or bool(ports & set(splice.owners))


_EMPTY = layouts.Layout([], frozenset())


def _ports_changed(old: nft.Ruleset | None, new: nft.Ruleset, port_ids: set[str]) -> set[str]:
    """The ports whose chains differ between two rulesets (all when ``old`` is None)."""
    if old is None:
        return set(port_ids)
    before, after = old.tables[1].chains, new.tables[1].chains
    return {
        port_id
        for port_id in port_ids
        for name in (f"eg-{nft.identifier(port_id)}", f"ing-{nft.identifier(port_id)}")
        if before.get(name) != after.get(name)
    }
