"""Get me a network (``auto-allocated-topology``): a project's network, subnets and router to
the default external network, made on the first ask and the same ever after.

As Neutron's ``services/auto_allocate/db.py``: the network (``auto_allocated_network``, down
until the topology is whole), a subnet from each default subnet pool the project sees
(``auto_allocated_subnet_v4``/``_v6``), and a router (``auto_allocated_router``) with its gateway
on the default external network and an interface on each subnet, made through the managers of
each resource, so every rule of theirs holds but the project's quotas (Neutron makes them
inside the plugin, where no quota is counted). A step that fails removes what the steps before
made, and the ask is Neutron's 409 ``AutoAllocationFailure`` (an unmet requirement: no room in
a pool, a router that cannot be made) or the error itself. The last step marks the
network as the project's (``Network.auto_allocated_router_id``) and brings it up; if another
ask made the project's topology meanwhile, this one's goes and that one is the answer.

A project asks for itself (``None`` in the path: the caller's project), an admin for any; the
dry run (``fields=dry-run``) only checks the deployment has what a topology needs.
"""

from __future__ import annotations

import contextlib

import msgspec

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.records import Network, SubnetPool
from alcor.model.requests import (
    GatewayRequest,
    NetworkCreate,
    RouterCreate,
    RouterInterfaceRequest,
    SubnetCreate,
)
from alcor.services import resources, subnet_pools
from alcor.services.callers import Caller
from alcor.services.networks import Networks
from alcor.services.routers import Routers
from alcor.services.subnets import Subnets
from alcor.store.interface import Reader, Writer

DRY_RUN = "dry-run"
NETWORK_NAME = "auto_allocated_network"
ROUTER_NAME = "auto_allocated_router"


class Topology(msgspec.Struct, frozen=True):
    id: str  # the network's, or ``dry-run=pass``
    project_id: str


class AutoAllocation:
    def __init__(
        self, context: resources.Context, *, networks: Networks, subnets: Subnets, routers: Routers
    ) -> None:
        self.context = context
        self.networks = networks
        self.subnets = subnets
        self.routers = routers

    async def get(self, caller: Caller, project_id: str, *, fields: list[str]) -> Topology:
        project = _project(caller, project_id)
        if DRY_RUN in fields:
            await self.context.store.read(lambda r: _check_requirements(r, caller))
            return Topology(f"{DRY_RUN}=pass", project)
        if fields:
            raise errors.InvalidInput(
                "Bad auto_allocate request: Unrecognized field.", type="BadRequest"
            )
        existing = await self.context.store.read(lambda r: _allocated(r, project))
        if existing is not None:
            return Topology(existing.id, project)
        external = await self.context.store.read(_default_external_network)
        return Topology(await self._build(caller, project, external), project)

    async def delete(self, caller: Caller, project_id: str) -> None:
        """As Neutron, whose DELETE first GETs the topology: one is made if there is none,
        then it goes."""
        topology = await self.get(caller, project_id, fields=[])
        network = await self.context.store.read(lambda r: r.get(Network, topology.id))
        if network is not None and network.auto_allocated_router_id is not None:
            await self._clean_up(caller, network.id, network.auto_allocated_router_id)

    # --- building ---------------------------------------------------------------------

    async def _build(self, caller: Caller, project: str, external: str) -> str:
        network_id = await self._private_network(caller, project)
        router_id = await self._uplink(caller, project, network_id=network_id, external=external)
        try:
            saved = await self.context.store.write(
                lambda w: self._save(w, project, network_id=network_id, router_id=router_id)
            )
        except BaseException:
            await self._clean_up(caller, network_id, router_id)
            raise
        if saved != network_id:  # another ask's topology is the project's: this one goes
            await self._clean_up(caller, network_id, router_id)
        return saved

    async def _private_network(self, caller: Caller, project: str) -> str:
        request = NetworkCreate(
            name=NETWORK_NAME, admin_state_up=False, project_id=project, shared=False
        )
        network_id = (await self.networks.create(caller, [request], quota_free=True))[0].record.id
        try:
            pools = await self.context.store.read(lambda r: _default_pools(r, caller))
            for pool in pools:
                subnet = SubnetCreate(
                    name=f"auto_allocated_subnet_v{pool.ip_version}",
                    network_id=network_id,
                    project_id=project,
                    ip_version=pool.ip_version,
                    subnetpool_id=pool.id,
                )
                await self.subnets.create(caller, [subnet], quota_free=True)
        except errors.AlcorError as error:
            await self._clean_up(caller, network_id, None)
            if _unmet(error):
                raise _failure("Unable to provide project private network") from error
            raise
        except BaseException:
            await self._clean_up(caller, network_id, None)
            raise
        return network_id

    async def _uplink(self, caller: Caller, project: str, *, network_id: str, external: str) -> str:
        request = RouterCreate(
            name=ROUTER_NAME,
            admin_state_up=True,
            project_id=project,
            external_gateway_info=GatewayRequest(network_id=external),
        )
        router_id = None
        try:
            router_id = (await self.routers.create(caller, [request], quota_free=True))[0].record.id
            subnets = await self.context.store.read(lambda r: r.subnets_of(network_id))
            for subnet in subnets:
                interface = RouterInterfaceRequest(subnet_id=subnet.id)
                await self.routers.add_interface(caller, router_id, interface)
        except errors.InvalidInput as error:
            await self._clean_up(caller, network_id, router_id)
            raise _failure("Unable to provide external connectivity") from error
        except BaseException:
            await self._clean_up(caller, network_id, router_id)
            raise
        return router_id

    def _save(self, writer: Writer, project: str, *, network_id: str, router_id: str) -> str:
        """Mark the network as the project's and bring it up; if the project got a topology
        meanwhile, that one's network (this one is then removed by the caller)."""
        other = _allocated(writer, project)
        if other is not None:
            return other.id
        network = writer.get(Network, network_id)
        if network is None:
            raise _failure("Unable to provide project private network")
        marked = resources.revised(
            network, self.context.now(), admin_state_up=True, auto_allocated_router_id=router_id
        )
        writer.update([marked])
        return network_id

    # --- removing ---------------------------------------------------------------------

    async def _clean_up(self, caller: Caller, network_id: str, router_id: str | None) -> None:
        """Remove a topology or what was made of one; what is gone already is no matter."""
        if router_id is not None:
            subnets = await self.context.store.read(lambda r: r.subnets_of(network_id))
            for subnet in subnets:
                interface = RouterInterfaceRequest(subnet_id=subnet.id)
                with contextlib.suppress(errors.NotFound):
                    await self.routers.remove_interface(caller, router_id, interface)
            with contextlib.suppress(errors.NotFound):
                await self.routers.delete(caller, router_id, if_match=None)
        with contextlib.suppress(errors.NotFound):
            await self.networks.delete(caller, network_id, if_match=None)


def _project(caller: Caller, project_id: str) -> str:
    """The project the topology is for: ``None`` (what a client sends for none) is the
    caller's; another project's only for an admin (Neutron's 403 ``NotAuthorized``)."""
    project = caller.project_id if project_id == "None" else project_id
    if not caller.is_admin and project != caller.project_id:
        raise errors.NotAuthorized("Not authorized.", type="NotAuthorized")
    return project


def _allocated(reader: Reader, project: str) -> Network | None:
    networks = reader.select(Network, Query(filters={"project_id": (project,)}))
    marked = [n for n in networks if n.auto_allocated_router_id is not None]
    return marked[0] if marked else None


def _default_external_network(reader: Reader) -> str:
    found = reader.select(Network, Query(filters={"is_default": (True,)}, limit=1))
    if not found or not found[0].router_external:
        raise _failure("No default router:external network")
    return found[0].id


def _default_pools(reader: Reader, caller: Caller) -> list[SubnetPool]:
    pools = [subnet_pools.default_pool(reader, caller, version) for version in (4, 6)]
    return [pool for pool in pools if pool is not None]


def _check_requirements(reader: Reader, caller: Caller) -> None:
    _default_external_network(reader)
    if not _default_pools(reader, caller):
        raise _failure("No default subnetpools defined")


def _unmet(error: errors.AlcorError) -> bool:
    """What Neutron takes for a requirement of the private network unmet (a pool with no
    room, a bad request, something not found): its ``AutoAllocationFailure``. Anything else
    is answered as itself, once what was made is gone."""
    return isinstance(error, errors.InvalidInput | errors.NotFound) or (
        error.type == "SubnetAllocationError"
    )


def _failure(reason: str) -> errors.Conflict:
    return errors.Conflict(f"Deployment error: {reason}.", type="AutoAllocationFailure")
