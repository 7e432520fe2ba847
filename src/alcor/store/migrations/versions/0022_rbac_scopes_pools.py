"""rbac scopes and pools: shared address scopes and subnet pools get their ``*`` policy

An address scope or subnet pool shared with every project gets the ``access_as_shared``
policy to ``*``, owned by its project, as Neutron makes it; from now on the policies say who
sees and uses a scope or pool (and an address group), and ``shared`` is the ``*`` policy.

Revision ID: 0022
Revises: 0021
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OBJECT_TYPES = {"address_scopes": "address_scope", "subnetpools": "subnetpool"}


def upgrade() -> None:
    """Upgrade schema."""
    policies = sa.table(
        "rbac_policies",
        sa.column("id", sa.String),
        sa.column("project_id", sa.String),
        sa.column("created_at", sa.String),
        sa.column("updated_at", sa.String),
        sa.column("revision_number", sa.BigInteger),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.String),
        sa.column("action", sa.String),
        sa.column("target_project", sa.String),
    )
    rows = []
    for table_name, object_type in OBJECT_TYPES.items():
        table = sa.table(
            table_name,
            sa.column("id", sa.String),
            sa.column("project_id", sa.String),
            sa.column("updated_at", sa.String),
            sa.column("shared", sa.Boolean),
        )
        for row in op.get_bind().execute(sa.select(table).where(table.c.shared.is_(True))):
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "project_id": row.project_id,
                    "created_at": row.updated_at,
                    "updated_at": row.updated_at,
                    "revision_number": 1,
                    "object_type": object_type,
                    "object_id": row.id,
                    "action": "access_as_shared",
                    "target_project": "*",
                }
            )
    if rows:
        op.bulk_insert(policies, rows)


def downgrade() -> None:
    """Downgrade schema: the policies on scopes, pools and address groups go (a scope or pool
    keeps its ``shared`` flag)."""
    policies = sa.table("rbac_policies", sa.column("object_type", sa.String))
    op.execute(
        policies.delete().where(
            policies.c.object_type.in_(["address_scope", "subnetpool", "address_group"])
        )
    )
