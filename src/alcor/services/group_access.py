"""The rule of RBAC policies on security groups: a project losing a group shared with it may
have no port using it.

As Neutron's ``validate_rbac_policy_delete``: a policy to the group's own project takes
nothing away; one to a project (with no ``*`` policy left) may not go while a port of that
project uses the group; the ``*`` policy may not go while a port of a project with no policy of
its own uses it. One difference: Neutron counts the owner's own ports against the ``*``
policy too, so an owner using its group could never stop sharing it; here they hold nothing.
"""

from __future__ import annotations

from alcor.model.records import ACCESS_AS_SHARED, EVERY_PROJECT, Port, RbacPolicy, SecurityGroup
from alcor.services import network_access, sharing
from alcor.store.interface import Reader


def check_unshared(reader: Reader, group: SecurityGroup, policy: RbacPolicy) -> None:
    target = policy.target_project
    if target == group.project_id:
        return
    targets = {
        p.target_project
        for p in sharing.policies_on(reader, "security_group", group.id, actions=[ACCESS_AS_SHARED])
        if p.id != policy.id
    }
    if EVERY_PROJECT in targets:
        return
    ports = reader.get_many(Port, reader.security_group_ports(group.id))
    users = {port.project_id for port in ports.values()}
    stranded = {target} & users if target != EVERY_PROJECT else users - targets - {group.project_id}
    if stranded:
        raise network_access.in_use(policy, f"project_id={target}")
