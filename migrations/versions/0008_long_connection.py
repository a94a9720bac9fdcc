"""the WeCom smart bot's own member id, and the outbox's process-bound route

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("wecom_bot_userid", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_member_wecom_bot_userid"), ["wecom_bot_userid"])
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("via", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("via")
    with op.batch_alter_table("member") as batch:
        batch.drop_constraint(op.f("uq_member_wecom_bot_userid"), type_="unique")
        batch.drop_column("wecom_bot_userid")
