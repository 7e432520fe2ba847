"""southbound replicas: each southbound process's lease, for sharing the hosts among them

One row per running southbound process (``southbound/leases.py``), renewed every third of its
lease; the hosts are shared among the live ones by rendezvous hashing (``southbound/owners.py``).
Not intent, so never in the change log.

Revision ID: 0012
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "southbound_replicas",
        sa.Column("replica_id", sa.String(36), primary_key=True),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("lease_ms", sa.Integer(), nullable=False),
        sa.Column("renewals", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("southbound_replicas")
