"""What RBAC policies grant a project: whether it may see or use an object of another project.

A policy lets ``target_project`` (or ``*``: every project) use an object as its ``action`` says.
A network is visible to a project that owns it or that any policy on it targets (Neutron's
``access_as_shared`` and ``access_as_external`` alike); it is *shared* with a project when an
``access_as_shared`` policy targets that project or ``*``, which is what its ``shared``
attribute shows to that project and what lets it make ports there. A security group, address
scope, subnet pool or address group shared (``access_as_shared``) with a project is visible to
it and usable by it (its ports, pools, subnets and rules), and its ``shared`` says so to that
project. A scope's or pool's ``shared: true`` is its ``access_as_shared`` policy to ``*``
(``every_project``), made with it or when the flag is set. Lists apply
the same rules in SQL (``store/sql.py``), so a page is one query whatever the policies.
"""

from __future__ import annotations

from collections.abc import Sequence

from alcor.model.queries import Query
from alcor.model.records import ACCESS_AS_SHARED, EVERY_PROJECT, RBAC_SEEING, RbacPolicy, Record
from alcor.store.interface import Reader, Writer


def every_project(
    object_type: str, shared: Record, *, policy_id: str, now: str, action: str = ACCESS_AS_SHARED
) -> RbacPolicy:
    """The ``*`` policy an object's flag stands for, owned by the object's project."""
    return RbacPolicy(
        id=policy_id,
        project_id=shared.project_id,
        created_at=now,
        updated_at=now,
        object_type=object_type,
        object_id=shared.id,
        action=action,
        target_project=EVERY_PROJECT,
    )


def remove_all(writer: Writer, object_type: str, object_id: str) -> None:
    """An object's policies go with it (Neutron: ON DELETE CASCADE)."""
    writer.delete(policies_on(writer, object_type, object_id))


def policies_on(
    reader: Reader, object_type: str, object_id: str, *, actions: Sequence[str] = ()
) -> list[RbacPolicy]:
    """Every policy on the object (of one of ``actions``, if given)."""
    filters: dict[str, tuple[str, ...]] = {
        "object_type": (object_type,),
        "object_id": (object_id,),
    }
    if actions:
        filters["action"] = tuple(actions)
    return reader.select(RbacPolicy, Query(filters=filters))


def granted(
    reader: Reader, object_type: str, object_id: str, project_id: str, actions: Sequence[str]
) -> bool:
    """Whether a policy of one of ``actions`` on the object targets the project or ``*``."""
    query = Query(
        filters={
            "object_type": (object_type,),
            "object_id": (object_id,),
            "action": tuple(actions),
            "target_project": (project_id, EVERY_PROJECT),
        }
    )
    return reader.count(RbacPolicy, query) > 0


def visible(reader: Reader, object_type: str, object_id: str, project_id: str) -> bool:
    return granted(reader, object_type, object_id, project_id, RBAC_SEEING[object_type])


def shared_with(reader: Reader, object_type: str, object_id: str, project_id: str) -> bool:
    return granted(reader, object_type, object_id, project_id, (ACCESS_AS_SHARED,))


def shared_ids(
    reader: Reader, object_type: str, records: Sequence[Record], viewer: str
) -> set[str]:
    """Which of the objects (scopes or pools, whose ``shared`` flag is the ``*`` policy) are
    shared with ``viewer``: its ``shared`` as that project sees it."""
    flagged = {r.id for r in records if getattr(r, "shared", False)}
    others = [r.id for r in records if r.id not in flagged]
    return flagged | shared_among(reader, object_type, others, viewer)


def shared_among(
    reader: Reader, object_type: str, object_ids: Sequence[str], project_id: str
) -> set[str]:
    """Which of the objects are shared with the project (one query per 500 objects)."""
    found: set[str] = set()
    for first in range(0, len(object_ids), 500):
        query = Query(
            filters={
                "object_type": (object_type,),
                "object_id": tuple(object_ids[first : first + 500]),
                "action": (ACCESS_AS_SHARED,),
                "target_project": (project_id, EVERY_PROJECT),
            }
        )
        found.update(policy.object_id for policy in reader.select(RbacPolicy, query))
    return found
