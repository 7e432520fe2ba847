"""engine checkpoints: the goal-state engine's state as of one revision, in pieces

A southbound that starts restores its engine from the newest usable checkpoint and replays only
the change log after it (``southbound/checkpointing.py``). ``engine_checkpoints`` has one row
per complete checkpoint (its revision, the store it was taken of, the format of its pieces,
how many pieces); ``engine_checkpoint_pieces`` holds the pieces, each a few MB at most, so that
no row nears a database's limits and no write of one holds a transaction for long. A
checkpoint's row is written after its pieces: no row, not complete.

Revision ID: 0013
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "engine_checkpoints",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("store_id", sa.String(length=36), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("pieces", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("taken_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("revision"),
    )
    op.create_table(
        "engine_checkpoint_pieces",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("piece", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("revision", "piece"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("engine_checkpoint_pieces")
    op.drop_table("engine_checkpoints")
