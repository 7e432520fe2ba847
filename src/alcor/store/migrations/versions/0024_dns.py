"""internal DNS (``dns-integration``, ``dns-domain-ports``, issue 15)

``ports.dns_name``: the name a port asked for (empty: none, its addresses are named
``host-<address>``); ``ports.dns_domain`` and ``networks.dns_domain``: the domains a port and a
network were given (``dns-domain-ports``, ``dns-integration``; empty: none). Every existing port
and network has none of them.

Revision ID: 0024
Revises: 0023

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("ports") as table:
        table.add_column(
            sa.Column("dns_name", sa.String(length=255), nullable=False, server_default="")
        )
        table.add_column(
            sa.Column("dns_domain", sa.String(length=255), nullable=False, server_default="")
        )
    with op.batch_alter_table("networks") as table:
        table.add_column(
            sa.Column("dns_domain", sa.String(length=255), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("networks") as table:
        table.drop_column("dns_domain")
    with op.batch_alter_table("ports") as table:
        table.drop_column("dns_domain")
        table.drop_column("dns_name")
