"""router membership: a port is a router's by the router's records only

Before this revision a router's interfaces and gateway were the ports whose device_owner and
device_id named it, and any project could write those on its own port (issue 10: a member put
its subnet on another project's router). Now ``ports.router_id`` / ``ports.router_port_type``
(Neutron's ``routerports``) say it, set only by the router manager.

The repair: a router's gateway is its ``gateway_port_id``; its interfaces are the ports of its
own project that name it with device_owner ``network:router_interface`` (what
``add_router_interface`` made). Every other port naming a router keeps its device fields and
gets no router meaning. The change log's older rows carry no membership, so every port that
names a router gets a new row (a new revision) saying what it is now, and the log is folded
through the last of them, which becomes the floor: every agent, which may hold what a spoofing
port gave it, is sent a snapshot.

Revision ID: 0010
Revises: 0009

"""

import json
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INTERFACE = "network:router_interface"
GATEWAY = "network:router_gateway"
DOCUMENTS = (
    "fixed_ips",
    "security_groups",
    "allowed_address_pairs",
    "binding_profile",
    "binding_vif_details",
)


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("ports") as table:
        table.add_column(
            sa.Column("router_id", sa.String(length=36), nullable=False, server_default="")
        )
        table.add_column(
            sa.Column("router_port_type", sa.String(length=32), nullable=False, server_default="")
        )
        table.create_index("ix_ports_router_id", ["router_id"], unique=False)
    _repair(op.get_bind())


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("ports") as table:
        table.drop_index("ix_ports_router_id")
        table.drop_column("router_port_type")
        table.drop_column("router_id")


def _repair(bind: sa.Connection) -> None:
    metadata = sa.MetaData()
    ports = sa.Table("ports", metadata, autoload_with=bind)
    routers = sa.Table("routers", metadata, autoload_with=bind)
    named = bind.execute(
        sa.select(ports).where(ports.c.device_owner.in_((INTERFACE, GATEWAY)))
    ).mappings()
    candidates = {row["id"]: dict(row) for row in named}
    if not candidates:
        return  # nothing ever named a router: no host can hold anything to undo
    owners: dict[str, tuple[str, str | None]] = {
        router_id: (project_id, gateway_port_id)
        for router_id, project_id, gateway_port_id in bind.execute(
            sa.select(routers.c.id, routers.c.project_id, routers.c.gateway_port_id)
        )
    }
    members = _members(candidates, owners)
    for port_id, (router_id, port_type) in sorted(members.items()):
        candidates[port_id].update(router_id=router_id, router_port_type=port_type)
    if members:
        bind.execute(
            sa.update(ports)
            .where(ports.c.id == sa.bindparam("port_id"))
            .values(router_id=sa.bindparam("rid"), router_port_type=sa.bindparam("kind")),
            [
                {"port_id": port_id, "rid": router_id, "kind": port_type}
                for port_id, (router_id, port_type) in members.items()
            ],
        )
    _log_and_fold(bind, [candidates[port_id] for port_id in sorted(candidates)])


def _members(
    candidates: dict[str, dict[str, Any]], owners: dict[str, tuple[str, str | None]]
) -> dict[str, tuple[str, str]]:
    """Port id -> (router id, port type) for the ports that really are their router's."""
    members: dict[str, tuple[str, str]] = {}
    for router_id, (_project, gateway_port_id) in owners.items():
        if gateway_port_id and gateway_port_id in candidates:
            members[gateway_port_id] = (router_id, GATEWAY)
    for port in candidates.values():
        owner = owners.get(port["device_id"])
        if (
            port["device_owner"] == INTERFACE
            and owner is not None
            and port["project_id"] == owner[0]
            and port["id"] not in members
        ):
            members[port["id"]] = (port["device_id"], INTERFACE)
    return members


def _log_and_fold(bind: sa.Connection, ports: list[dict[str, Any]]) -> None:
    """A change-log row per port (its record as it is now), then the log folded through the
    last one (each live resource's last row kept), which becomes the floor."""
    log = sa.table(
        "change_log",
        sa.column("revision", sa.BigInteger),
        sa.column("resource_type", sa.String),
        sa.column("resource_id", sa.String),
        sa.column("operation", sa.String),
        sa.column("project_id", sa.String),
        sa.column("data", sa.Text),
        sa.column("committed_at", sa.String),
    )
    store_revision = sa.table(
        "store_revision",
        sa.column("revision", sa.BigInteger),
        sa.column("compacted_through", sa.BigInteger),
    )
    top = int(bind.execute(sa.select(store_revision.c.revision)).scalar_one())
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    rows = [
        {
            "revision": top + offset,
            "resource_type": "port",
            "resource_id": port["id"],
            "operation": "update",
            "project_id": port["project_id"],
            "data": json.dumps(_record(port), separators=(",", ":")),
            "committed_at": now,
        }
        for offset, port in enumerate(ports, start=1)
    ]
    bind.execute(sa.insert(log), rows)
    top += len(rows)
    latest = sa.select(sa.func.max(log.c.revision)).group_by(log.c.resource_type, log.c.resource_id)
    bind.execute(sa.delete(log).where(log.c.revision.not_in(latest)))
    bind.execute(sa.delete(log).where(log.c.operation == "delete"))
    bind.execute(sa.update(store_revision).values(revision=top, compacted_through=top))


def _record(port: dict[str, Any]) -> dict[str, Any]:
    """A port's row as the store logs its record: nested attributes decoded, flags as bools."""
    record = dict(port)
    for name in DOCUMENTS:
        record[name] = json.loads(record[name])
    for name in ("admin_state_up", "port_security_enabled"):
        record[name] = bool(record[name])
    return record
