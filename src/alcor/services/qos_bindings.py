"""Which QoS policy networks and ports name (``qos``, ``qos-default``,
``qos-port-network-policy``), checked and kept in step in the transaction that changes them.

A network or port names a policy its caller sees (else 404 ``QosPolicyNotFound``), or none
(null). A new network without one gets its project's default policy, if there is one. A port
shows its network's policy as ``qos_network_policy_id``, a copy on the port's record that the
network's change rewrites here (its revision unchanged, as Neutron's port is), so that a port's
own change-log row says what its host enforces (``qos.effective``) and the goal-state engine
needs no network to know it.
"""

from __future__ import annotations

import msgspec

from alcor.model.queries import Query
from alcor.model.records import Network, Port
from alcor.model.requests import UNSET, Unset
from alcor.services import qos_policies, resources
from alcor.services.callers import Caller
from alcor.store.interface import Reader, Writer


def requested(reader: Reader, caller: Caller, value: str | None) -> str | None:
    """The policy named (one the caller sees), or None for null."""
    if value is None:
        return None
    resources.check_uuid(value, "qos_policy_id")
    return qos_policies.find(reader, caller, value).id


def for_new_network(
    reader: Reader, caller: Caller, value: str | Unset | None, *, project_id: str
) -> str | None:
    """A new network's policy: the one asked for, else the project's default."""
    if value is not UNSET:
        return requested(reader, caller, value)
    default = qos_policies.default_of(reader, project_id)
    return default.id if default is not None else None


def follow_network(writer: Writer, network: Network) -> None:
    """The network's ports show (and their hosts enforce) its policy as it now is."""
    ports = writer.select(Port, Query(filters={"network_id": (network.id,)}))
    changed = [
        msgspec.structs.replace(port, qos_network_policy_id=network.qos_policy_id)
        for port in ports
        if port.qos_network_policy_id != network.qos_policy_id
    ]
    if changed:
        writer.update(changed)
