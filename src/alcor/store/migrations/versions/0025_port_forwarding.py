"""floating IP port forwardings (``floating-ip-port-forwarding``, issue 15)

``port_forwardings``: a floating IP's external port range and protocol forwarded to an internal
port's fixed IP and port range. No floating IP has one yet.

Revision ID: 0025
Revises: 0024

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "port_forwardings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.Column("floatingip_id", sa.String(length=36), nullable=False),
        sa.Column("floating_ip_address", sa.String(length=64), nullable=False),
        sa.Column("router_id", sa.String(length=36), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=False),
        sa.Column("internal_port_id", sa.String(length=36), nullable=False),
        sa.Column("internal_ip_address", sa.String(length=64), nullable=False),
        sa.Column("external_port_start", sa.Integer(), nullable=False),
        sa.Column("external_port_end", sa.Integer(), nullable=False),
        sa.Column("internal_port_start", sa.Integer(), nullable=False),
        sa.Column("internal_port_end", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["floatingip_id"], ["floatingips.id"]),
        sa.ForeignKeyConstraint(["internal_port_id"], ["ports.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_port_forwardings_project_id", "port_forwardings", ["project_id"])
    op.create_index("ix_port_forwardings_floatingip_id", "port_forwardings", ["floatingip_id"])
    op.create_index(
        "ix_port_forwardings_internal_port_id", "port_forwardings", ["internal_port_id"]
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("port_forwardings")
