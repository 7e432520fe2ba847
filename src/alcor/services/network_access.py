"""The rules of RBAC policies on networks, as Neutron keeps them.

- A network's ``shared`` is the ``access_as_shared`` policy to ``*``, and ``router:external``
  is "some ``access_as_external`` policy exists": setting either attribute makes or removes the
  ``*`` policy, and a policy made or removed sets the attributes (``refresh``). Any change of a
  network's policies is a change of the network (Neutron bumps its revision).
- Taking access away must leave every project its ports: a project losing ``access_as_shared``
  may hold no port on the network (``check_unshared``: 409 ``RbacPolicyInUse``), and one losing
  ``access_as_external`` no router with its gateway there (``check_unexternal``), unless another
  policy still grants it. A policy targeting the network's own project takes nothing away.
"""

from __future__ import annotations

from collections.abc import Iterable

from alcor.model import errors
from alcor.model.queries import Query
from alcor.model.records import (
    ACCESS_AS_EXTERNAL,
    ACCESS_AS_SHARED,
    EVERY_PROJECT,
    ROUTER_GATEWAY,
    FloatingIp,
    Network,
    Port,
    RbacPolicy,
    Record,
    Router,
)
from alcor.services import resources, sharing
from alcor.store.interface import Reader, Writer

ACTIONS = (ACCESS_AS_SHARED, ACCESS_AS_EXTERNAL)


def every_project(network: Network, action: str, *, policy_id: str, now: str) -> RbacPolicy:
    """The ``*`` policy the network's attribute stands for, owned by the network's project."""
    return sharing.every_project("network", network, policy_id=policy_id, now=now, action=action)


def flags(reader: Reader, network_id: str) -> dict[str, object]:
    """``shared`` and ``router_external`` as the network's policies say."""
    policies = sharing.policies_on(reader, "network", network_id)
    return {
        "shared": any(
            p.action == ACCESS_AS_SHARED and p.target_project == EVERY_PROJECT for p in policies
        ),
        "router_external": any(p.action == ACCESS_AS_EXTERNAL for p in policies),
    }


def in_use(policy: RbacPolicy, details: str) -> errors.InUse:
    return errors.InUse(
        f"RBAC policy on object {policy.object_id} cannot be removed because other objects "
        f"depend on it.\nDetails: {details}",
        type="RbacPolicyInUse",
    )


def check_unshared(reader: Reader, network: Network, target: str) -> bool:
    """Whether ``target`` (a project or ``*``) may lose ``access_as_shared`` to the network:
    no project left without a policy holds a port there (Neutron's
    ``ensure_no_project_ports_on_network``; ports of no project, a router's, are fine)."""
    if target == network.project_id:
        return True
    targets = {
        p.target_project
        for p in sharing.policies_on(reader, "network", network.id, actions=[ACCESS_AS_SHARED])
    }
    if target != EVERY_PROJECT:
        return EVERY_PROJECT in targets or not _count(reader, Port, network.id, [target])
    allowed = (targets - {EVERY_PROJECT}) | {network.project_id, ""}
    return not _count_others(reader, Port, network.id, allowed)


def check_unexternal(
    reader: Reader, network: Network, policy: RbacPolicy, *, new_target: str | None = None
) -> None:
    """Whether ``policy`` (``access_as_external``) may go or move to ``new_target``: no router
    whose gateway is on the network is left without a policy that lets its project use it,
    and the default external network keeps its ``*`` policy (Neutron's
    ``_validate_ext_not_in_use_by_tenant``)."""
    if policy.target_project == EVERY_PROJECT and network.is_default:
        raise in_use(policy, "Default external networks must be shared to everyone.")
    targets = {
        p.target_project
        for p in sharing.policies_on(
            reader, "network", policy.object_id, actions=[ACCESS_AS_EXTERNAL]
        )
    }
    if policy.target_project != EVERY_PROJECT:
        stranded = EVERY_PROJECT not in targets and _count(
            reader, Router, policy.object_id, [policy.target_project], field="gateway_network_id"
        )
    else:
        allowed = targets - {EVERY_PROJECT} | ({new_target} if new_target else set())
        stranded = _count_others(
            reader, Router, policy.object_id, allowed, field="gateway_network_id"
        )
    if stranded:
        raise in_use(
            policy,
            "There are routers attached to this network that depend on this policy for access.",
        )


def check_unshared_policy(reader: Reader, network: Network, policy: RbacPolicy) -> None:
    if not check_unshared(reader, network, policy.target_project):
        raise in_use(
            policy,
            f"Unable to reconfigure sharing settings for network {network.id}. Multiple "
            "projects are using it.",
        )


def check_unshared_network(reader: Reader, network: Network) -> None:
    """``shared: false`` on a shared network, as Neutron's network update words it."""
    if not check_unshared(reader, network, EVERY_PROJECT):
        raise errors.InUse(
            f"Unable to reconfigure sharing settings for network {network.name or network.id}. "
            "Multiple projects are using it.",
            type="InvalidSharedSetting",
        )


def check_not_external_in_use(reader: Reader, network: Network) -> None:
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


def refresh(writer: Writer, network: Network, *, now: str) -> Network:
    """The network's next revision after a change of its policies, its attributes as the
    policies now say; it may stop being external only when nothing external is on it."""
    values = flags(writer, network.id)
    if network.router_external and not values["router_external"]:
        check_not_external_in_use(writer, network)
        values["is_default"] = False
    updated = resources.revised(network, now, **values)
    writer.update([updated])
    return updated


def remove_all(writer: Writer, network_id: str) -> None:
    """A network's policies go with it (Neutron: ON DELETE CASCADE)."""
    sharing.remove_all(writer, "network", network_id)


def _count(
    reader: Reader,
    kind: type[Record],
    network_id: str,
    projects: Iterable[str],
    *,
    field: str = "network_id",
) -> int:
    query = Query(filters={field: (network_id,), "project_id": tuple(projects)})
    return reader.count(kind, query)


def _count_others(
    reader: Reader,
    kind: type[Record],
    network_id: str,
    projects: Iterable[str],
    *,
    field: str = "network_id",
) -> int:
    """How many of the network's ports (or routers) belong to none of ``projects``."""
    every = reader.count(kind, Query(filters={field: (network_id,)}))
    return every - _count(reader, kind, network_id, projects, field=field)
