"""trunks: a parent port carrying its own network untagged and subports' networks by VLAN

``trunks`` holds one row per trunk (the parent port unique, the subports as a document);
``trunk_subports`` indexes the subports so that the database guards that a port is a subport
of one trunk at most and a segmentation is used once per trunk.

Revision ID: 0018
Revises: 0015

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "trunks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("sub_ports", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("port_id", name="uq_trunk_port"),
    )
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trunks_project_id"), ["project_id"], unique=False)
    op.create_table(
        "trunk_subports",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("trunk_id", sa.String(length=36), nullable=False),
        sa.Column("segmentation_type", sa.String(length=32), nullable=False),
        sa.Column("segmentation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["port_id"], ["ports.id"]),
        sa.ForeignKeyConstraint(["trunk_id"], ["trunks.id"]),
        sa.PrimaryKeyConstraint("port_id"),
        sa.UniqueConstraint(
            "trunk_id", "segmentation_type", "segmentation_id", name="uq_trunk_segmentation"
        ),
    )
    with op.batch_alter_table("trunk_subports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trunk_subports_trunk_id"), ["trunk_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("trunk_subports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trunk_subports_trunk_id"))
    op.drop_table("trunk_subports")
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trunks_project_id"))
    op.drop_table("trunks")
