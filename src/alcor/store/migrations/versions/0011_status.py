"""status: what the hosts report, for the processes that do not serve them

Observed state, never intent: these tables are outside the change log (no revision is bumped,
nothing is logged). The southbound process serving a host writes its rows on transitions only;
API processes follow them by ``status_revision``, the counter every such write bumps
(docs/architecture.md, "Roles").

- ``status_ports``: one row per port and host that programs it: the revision of the goal-state
  entry that programs it there (0: no longer programmed there) and what the host reported of
  it (``vif_details``, JSON).
- ``status_hosts``: one row per host, its report (JSON), and the process that wrote it.
- ``status_revision``: one row, the counter.

Revision ID: 0011
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "status_ports",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("writer", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("vif_details", sa.Text(), nullable=False),
        sa.Column("status_revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("port_id", "host"),
    )
    op.create_index(
        "ix_status_ports_status_revision", "status_ports", ["status_revision"], unique=False
    )
    op.create_table(
        "status_hosts",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("writer", sa.String(length=32), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("status_revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )
    op.create_index(
        "ix_status_hosts_status_revision", "status_hosts", ["status_revision"], unique=False
    )
    counter = op.create_table(
        "status_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(counter, [{"id": 1, "revision": 0}])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("status_revision")
    op.drop_index("ix_status_hosts_status_revision", table_name="status_hosts")
    op.drop_table("status_hosts")
    op.drop_index("ix_status_ports_status_revision", table_name="status_ports")
    op.drop_table("status_ports")
