"""port extra DHCP options and network zone hints (issue 12)

``ports.extra_dhcp_opts`` (``extra_dhcp_opt``): a port's extra DHCP options (name, value, IP
version) as one JSON document on the port, as its fixed IPs and address pairs are: they are
read and written with the port, never alone. ``networks.availability_zone_hints``
(``network_availability_zone``): the zones a network was asked to be in, likewise. Every
existing port and network has none.

Revision ID: 0021
Revises: 0020

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("ports") as table:
        table.add_column(
            sa.Column("extra_dhcp_opts", sa.Text(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("networks") as table:
        table.add_column(
            sa.Column("availability_zone_hints", sa.Text(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("networks") as table:
        table.drop_column("availability_zone_hints")
    with op.batch_alter_table("ports") as table:
        table.drop_column("extra_dhcp_opts")
