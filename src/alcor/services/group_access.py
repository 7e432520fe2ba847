"""The rule of RBAC policies on objects shared only (``access_as_shared``): security groups,
address scopes, subnet pools and address groups. A project losing an object shared with it
may hold nothing that uses it: a port in the group, a pool in the scope, a subnet from the
pool, a rule naming the address group.

As Neutron's ``validate_rbac_policy_delete``: a policy to the object's own project takes
nothing away; one to a project (with no ``*`` policy left) may not go while that project uses
the object; the ``*`` policy may not go while a project with no policy of its own uses it. One
difference: Neutron counts the owner's own users against the ``*`` policy too, so an owner
using its object could never stop sharing it; here they hold nothing.
"""

from __future__ import annotations

from alcor.model.queries import Query
from alcor.model.records import (
    ACCESS_AS_SHARED,
    EVERY_PROJECT,
    AddressGroup,
    AddressScope,
    Network,
    Port,
    QosPolicy,
    RbacPolicy,
    Record,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetPool,
)
from alcor.services import network_access, sharing
from alcor.store.interface import Reader


def check_unshared(reader: Reader, shared: Record, policy: RbacPolicy) -> None:
    target = policy.target_project
    if target == shared.project_id:
        return
    targets = {
        p.target_project
        for p in sharing.policies_on(
            reader, policy.object_type, shared.id, actions=[ACCESS_AS_SHARED]
        )
        if p.id != policy.id
    }
    if EVERY_PROJECT in targets:
        return
    users = _users(reader, shared)
    stranded = (
        {target} & users if target != EVERY_PROJECT else users - targets - {shared.project_id}
    )
    if stranded:
        raise network_access.in_use(policy, f"project_id={target}")


def _users(reader: Reader, shared: Record) -> set[str]:
    """The projects of what uses the object (Neutron's ``get_bound_project_ids``)."""
    if isinstance(shared, SecurityGroup):
        ports = reader.get_many(Port, reader.security_group_ports(shared.id))
        return {port.project_id for port in ports.values()}
    if isinstance(shared, AddressScope):
        pools = reader.select(SubnetPool, Query(filters={"address_scope_id": (shared.id,)}))
        return {pool.project_id for pool in pools}
    if isinstance(shared, AddressGroup):
        naming = Query(filters={"remote_address_group_id": (shared.id,)})
        return {rule.project_id for rule in reader.select(SecurityGroupRule, naming)}
    if isinstance(shared, QosPolicy):
        naming = Query(filters={"qos_policy_id": (shared.id,)})
        users = [*reader.select(Port, naming), *reader.select(Network, naming)]
        return {user.project_id for user in users}
    assert isinstance(shared, SubnetPool), f"no users known of a {shared.kind}"
    subnets = reader.select(Subnet, Query(filters={"subnetpool_id": (shared.id,)}))
    return {subnet.project_id for subnet in subnets}
