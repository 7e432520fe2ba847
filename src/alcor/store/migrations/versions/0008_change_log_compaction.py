"""change-log compaction: the floor, and an index to find a resource's rows

Compacting the change log through revision C keeps, of the rows up to C, only each live
resource's last one; ``store_revision.compacted_through`` says which C. A host that applied less
than the floor is sent a snapshot.

Revision ID: 0008
Revises: 0007

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("store_revision") as table:
        table.add_column(
            sa.Column("compacted_through", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_change_log_resource",
        "change_log",
        ["resource_type", "resource_id", "revision"],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_change_log_resource", table_name="change_log")
    with op.batch_alter_table("store_revision") as table:
        table.drop_column("compacted_through")
