"""auto-allocated networks (``auto-allocated-topology``, issue 12)

``networks.auto_allocated_router_id``: set on the network made for a project by
``GET /v2.0/auto-allocated-topology/{project_id}``, the router made with it (Neutron's
``auto_allocated_topologies`` row: project, network, router). No network is one yet.

Revision ID: 0023
Revises: 0022

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("networks") as table:
        table.add_column(sa.Column("auto_allocated_router_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("networks") as table:
        table.drop_column("auto_allocated_router_id")
