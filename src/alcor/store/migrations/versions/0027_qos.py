"""QoS policies (``qos``, ``qos-default``, ``dscp-marking``, issue 15)

``qos_policies``: a policy with its rules (one document); ``networks.qos_policy_id`` and
``ports.qos_policy_id``: the policy each was given; ``ports.qos_network_policy_id``: its
network's, kept in step by the network manager. No network or port has one yet.

Revision ID: 0027
Revises: 0025 (issue 15's other branches take 0026 and 0028: on merge, this one follows 0026)

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "qos_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_qos_policies_project_id", "qos_policies", ["project_id"])
    with op.batch_alter_table("networks") as table:
        table.add_column(sa.Column("qos_policy_id", sa.String(length=36), nullable=True))
        table.create_index("ix_networks_qos_policy_id", ["qos_policy_id"])
    with op.batch_alter_table("ports") as table:
        table.add_column(sa.Column("qos_policy_id", sa.String(length=36), nullable=True))
        table.add_column(sa.Column("qos_network_policy_id", sa.String(length=36), nullable=True))
        table.create_index("ix_ports_qos_policy_id", ["qos_policy_id"])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("ports") as table:
        table.drop_index("ix_ports_qos_policy_id")
        table.drop_column("qos_network_policy_id")
        table.drop_column("qos_policy_id")
    with op.batch_alter_table("networks") as table:
        table.drop_index("ix_networks_qos_policy_id")
        table.drop_column("qos_policy_id")
    op.drop_table("qos_policies")
