"""address groups, rules naming them, and the templates of new groups' rules

``address_groups`` (``address-group``), ``security_group_rules.remote_address_group_id``
(``security-groups-remote-address-group``), the rules' ``normalized_cidr`` and
``belongs_to_default_sg`` as columns (so they filter and sort), and ``default_security_group_rules``
(``security-groups-default-rules``), seeded with the four templates Neutron's own migration
seeds (its c33da356b165): egress to anywhere over IPv4 and IPv6 for every group, and ingress from
the group's own members for a project's default group. They are the rules every group was given
before, so stores made before this migration keep their behaviour.

Revision ID: 0020
Revises: 0019

"""

import datetime
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INGRESS = "Legacy default SG rule for ingress traffic"
EGRESS = "Legacy default SG rule for egress traffic"


def _common() -> list[Any]:
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.String(length=32), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table("address_groups", *_common(), sa.Column("addresses", sa.Text(), nullable=False))
    op.create_index("ix_address_groups_project_id", "address_groups", ["project_id"])
    with op.batch_alter_table("security_group_rules") as table:
        table.add_column(sa.Column("remote_address_group_id", sa.String(36), nullable=True))
        table.create_index(
            "ix_security_group_rules_remote_address_group_id", ["remote_address_group_id"]
        )
        table.add_column(sa.Column("normalized_cidr", sa.String(64), nullable=True))
        table.add_column(
            sa.Column(
                "belongs_to_default_sg", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    # Rules made before kept their prefix as its network already; the default groups are the
    # groups named so (no other group may take the name, nor the default group another).
    op.execute("UPDATE security_group_rules SET normalized_cidr = remote_ip_prefix")
    op.execute(
        "UPDATE security_group_rules SET belongs_to_default_sg = TRUE WHERE security_group_id IN "
        "(SELECT id FROM security_groups WHERE name = 'default')"
    )
    templates = op.create_table(
        "default_security_group_rules",
        *_common(),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("ethertype", sa.String(length=16), nullable=False),
        sa.Column("protocol", sa.String(length=40), nullable=True),
        sa.Column("port_range_min", sa.Integer(), nullable=True),
        sa.Column("port_range_max", sa.Integer(), nullable=True),
        sa.Column("remote_ip_prefix", sa.String(length=64), nullable=True),
        sa.Column("remote_group_id", sa.String(length=36), nullable=True),
        sa.Column("remote_address_group_id", sa.String(length=36), nullable=True),
        sa.Column("used_in_default_sg", sa.Boolean(), nullable=False),
        sa.Column("used_in_non_default_sg", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "ix_default_security_group_rules_project_id", "default_security_group_rules", ["project_id"]
    )
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    seeds = [
        ("egress", "IPv4", None, True, True, EGRESS),
        ("egress", "IPv6", None, True, True, EGRESS),
        ("ingress", "IPv4", "PARENT", True, False, INGRESS),
        ("ingress", "IPv6", "PARENT", True, False, INGRESS),
    ]
    op.bulk_insert(
        templates,
        [
            {
                "id": str(uuid.uuid4()),
                "project_id": "",
                "name": "",
                "description": description,
                "created_at": now,
                "updated_at": now,
                "revision_number": 1,
                "direction": direction,
                "ethertype": ethertype,
                "remote_group_id": remote_group,
                "used_in_default_sg": in_default,
                "used_in_non_default_sg": in_others,
            }
            for direction, ethertype, remote_group, in_default, in_others, description in seeds
        ],
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("default_security_group_rules")
    with op.batch_alter_table("security_group_rules") as table:
        table.drop_column("belongs_to_default_sg")
        table.drop_column("normalized_cidr")
        table.drop_index("ix_security_group_rules_remote_address_group_id")
        table.drop_column("remote_address_group_id")
    op.drop_table("address_groups")
