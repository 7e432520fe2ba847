"""What an entry sets, and which of two entries for one key wins.

A host's goal state maps keys (``"<kind>:<id>"``; a member's id is ``"<group id>/<port id>"``) to
entries. Both sides name keys the same way with these functions.
"""

from __future__ import annotations

from alcor.v1 import southbound_pb2 as pb

KIND_NAMES: dict[pb.Kind.ValueType, str] = {
    pb.PORT: "port",
    pb.NETWORK: "network",
    pb.SUBNET: "subnet",
    pb.ROUTER: "router",
    pb.SECURITY_GROUP: "security_group",
    pb.NEIGHBOR: "neighbor",
    pb.MEMBER: "member",
    pb.FLOATING_IP: "floating_ip",
    pb.ADDRESS_GROUP: "address_group",
    pb.PORT_FORWARDING: "port_forwarding",
    pb.FIREWALL_GROUP: "firewall_group",
    pb.QOS_POLICY: "qos_policy",
}
KINDS: dict[str, pb.Kind.ValueType] = {name: kind for kind, name in KIND_NAMES.items()}


def key(kind: str, resource_id: str) -> str:
    return f"{kind}:{resource_id}"


def member_id(group_id: str, port_id: str) -> str:
    return f"{group_id}/{port_id}"


def entry_key(entry: pb.Entry) -> str:
    """The key an entry sets or removes."""
    which = entry.WhichOneof("resource")
    if which == "removal":
        return key(KIND_NAMES[entry.removal.kind], entry.removal.id)
    if which == "member":
        return key("member", member_id(entry.member.security_group_id, entry.member.port_id))
    if which == "neighbor":
        return key("neighbor", entry.neighbor.port_id)
    if which is None:
        raise ValueError("an entry without a resource")
    return key(which, getattr(entry, which).id)


def removal(entry_key_: str, revision: int) -> pb.Entry:
    kind, _, resource_id = entry_key_.partition(":")
    return pb.Entry(revision=revision, removal=pb.Removal(kind=KINDS[kind], id=resource_id))


def newer(entry: pb.Entry, held: pb.Entry | None) -> bool:
    """Whether ``entry`` replaces ``held``: last writer wins by revision; at equal revisions the
    later message wins (one goal state never carries two entries for one key)."""
    return held is None or entry.revision >= held.revision


def same(held: pb.Entry, entry: pb.Entry) -> bool:
    """Whether two entries hold the same resource (revisions aside)."""
    which = entry.WhichOneof("resource")
    return which == held.WhichOneof("resource") and bool(
        which and getattr(held, which) == getattr(entry, which)
    )
