"""rbac_policies: Neutron's RBAC policies; the shared and external networks get theirs

A network shared with every project gets the ``access_as_shared`` policy to ``*`` and an
external one the ``access_as_external`` policy to ``*``, owned by the network's project, as
Neutron makes them; from now on the policies say who sees and uses a network. Networks get
``is_default`` (the default external network, whose ``*`` policy may not go).

Revision ID: 0019
Revises: 0018

"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("networks") as table:
        table.add_column(
            sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    policies = op.create_table(
        "rbac_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_project", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("object_type", "object_id", "action", "target_project", name="uq_rbac"),
    )
    with op.batch_alter_table("rbac_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rbac_policies_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            "ix_rbac_target",
            ["target_project", "object_type", "action", "object_id"],
            unique=False,
        )
    networks = sa.table(
        "networks",
        sa.column("id", sa.String),
        sa.column("project_id", sa.String),
        sa.column("updated_at", sa.String),
        sa.column("shared", sa.Boolean),
        sa.column("router_external", sa.Boolean),
    )
    rows = []
    for network in op.get_bind().execute(sa.select(networks)):
        for flag, action in (
            (network.shared, "access_as_shared"),
            (network.router_external, "access_as_external"),
        ):
            if flag:
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "project_id": network.project_id,
                        "created_at": network.updated_at,
                        "updated_at": network.updated_at,
                        "revision_number": 1,
                        "object_type": "network",
                        "object_id": network.id,
                        "action": action,
                        "target_project": "*",
                    }
                )
    if rows:
        op.bulk_insert(policies, rows)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("rbac_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_rbac_target")
        batch_op.drop_index(batch_op.f("ix_rbac_policies_project_id"))
    op.drop_table("rbac_policies")
    with op.batch_alter_table("networks") as table:
        table.drop_column("is_default")
