"""subnet pools and address scopes; a subnet's pool and service types

``subnetpools`` and ``address_scopes`` are resource tables like the others (``subnet_allocation``,
``address-scope``); ``subnets.subnetpool_id`` names the pool a subnet's CIDR came from (indexed:
a pool's allocations are its subnets) and ``subnets.service_types`` the device owners whose
ports take addresses there (``subnet-service-types``; empty for the subnets that exist).

Revision ID: 0015
Revises: 0013

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0013"
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
        "address_scopes",
        *_common(),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "subnetpools",
        *_common(),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("prefixes", sa.Text(), nullable=False),
        sa.Column("min_prefixlen", sa.Integer(), nullable=False),
        sa.Column("max_prefixlen", sa.Integer(), nullable=False),
        sa.Column("default_prefixlen", sa.Integer(), nullable=False),
        sa.Column("default_quota", sa.Integer(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("address_scope_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("address_scopes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_address_scopes_project_id"), ["project_id"], unique=False
        )
    with op.batch_alter_table("subnetpools") as batch_op:
        batch_op.create_index(batch_op.f("ix_subnetpools_project_id"), ["project_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_subnetpools_address_scope_id"), ["address_scope_id"], unique=False
        )
    with op.batch_alter_table("subnets") as batch_op:
        batch_op.add_column(sa.Column("subnetpool_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("service_types", sa.Text(), nullable=False, server_default="[]")
        )
        batch_op.create_index(
            batch_op.f("ix_subnets_subnetpool_id"), ["subnetpool_id"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("subnets") as batch_op:
        batch_op.drop_index(batch_op.f("ix_subnets_subnetpool_id"))
        batch_op.drop_column("service_types")
        batch_op.drop_column("subnetpool_id")
    op.drop_table("subnetpools")
    op.drop_table("address_scopes")
