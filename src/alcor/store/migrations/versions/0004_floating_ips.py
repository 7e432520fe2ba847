"""floating ips

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "floatingips",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.Column("floating_network_id", sa.String(length=36), nullable=False),
        sa.Column("floating_ip_address", sa.String(length=64), nullable=False),
        sa.Column("floating_port_id", sa.String(length=36), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=True),
        sa.Column("fixed_ip_address", sa.String(length=64), nullable=True),
        sa.Column("router_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["floating_network_id"], ["networks.id"]),
        sa.ForeignKeyConstraint(["floating_port_id"], ["ports.id"]),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"]),
        sa.ForeignKeyConstraint(["router_id"], ["routers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("floating_port_id", name="uq_floatingip_port"),
        sa.UniqueConstraint(
            "floating_network_id", "port_id", "fixed_ip_address", name="uq_floatingip_fixed_ip"
        ),
    )
    with op.batch_alter_table("floatingips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_floatingips_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_floatingips_floating_network_id"), ["floating_network_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_floatingips_port_id"), ["port_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_floatingips_router_id"), ["router_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("floatingips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_floatingips_router_id"))
        batch_op.drop_index(batch_op.f("ix_floatingips_port_id"))
        batch_op.drop_index(batch_op.f("ix_floatingips_floating_network_id"))
        batch_op.drop_index(batch_op.f("ix_floatingips_project_id"))
    op.drop_table("floatingips")
