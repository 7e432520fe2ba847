"""store identity: one row naming this store, made once

A revision means something only together with the store it counts in: an agent that applied
revision 500 of another store (a rebuilt or restored database) must be sent a snapshot, not the
delta since 500. The id is made here, once, when the store's schema reaches this revision.

Revision ID: 0006
Revises: 0005

"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    identity = op.create_table(
        "store_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(identity, [{"id": 1, "store_id": str(uuid.uuid4())}])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("store_identity")
