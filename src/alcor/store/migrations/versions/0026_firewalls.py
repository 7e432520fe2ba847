"""firewalls (``fwaas_v2``, issue 15)

``firewall_rules``, ``firewall_policies`` (an ordered JSON list of rule ids) and
``firewall_groups`` (a JSON list of ports, an ingress and an egress policy), and
``firewall_group_ports`` indexing the groups' ports (one group a port). No project has one
yet: each project's ``default`` group is made on first use.

Revision ID: 0026
Revises: 0025

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _common() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "firewall_rules",
        *_common(),
        sa.Column("protocol", sa.String(length=40), nullable=True),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("source_ip_address", sa.String(length=64), nullable=True),
        sa.Column("destination_ip_address", sa.String(length=64), nullable=True),
        sa.Column("source_port_min", sa.Integer(), nullable=True),
        sa.Column("source_port_max", sa.Integer(), nullable=True),
        sa.Column("destination_port_min", sa.Integer(), nullable=True),
        sa.Column("destination_port_max", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "firewall_policies",
        *_common(),
        sa.Column("firewall_rules", sa.Text(), nullable=False),
        sa.Column("audited", sa.Boolean(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "firewall_groups",
        *_common(),
        sa.Column("ports", sa.Text(), nullable=False),
        sa.Column("ingress_firewall_policy_id", sa.String(length=36), nullable=True),
        sa.Column("egress_firewall_policy_id", sa.String(length=36), nullable=True),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for table in ("firewall_rules", "firewall_policies", "firewall_groups"):
        op.create_index(f"ix_{table}_project_id", table, ["project_id"])
    op.create_table(
        "firewall_group_ports",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("firewall_group_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["firewall_group_id"], ["firewall_groups.id"]),
        sa.PrimaryKeyConstraint("port_id"),
    )
    op.create_index(
        "ix_firewall_group_ports_firewall_group_id", "firewall_group_ports", ["firewall_group_id"]
    )


def downgrade() -> None:
    """Downgrade schema."""
    for table in ("firewall_group_ports", "firewall_groups", "firewall_policies", "firewall_rules"):
        op.drop_table(table)
