"""callback signatures seen: a DingTalk (timestamp, sign) pair signs one message only

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_signature",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("sign", sa.String(length=128), nullable=False),
        sa.Column("msg_id", sa.String(length=128), nullable=False),
        sa.Column("seen_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "sign", name=op.f("pk_callback_signature")),
    )
    op.create_index(op.f("ix_callback_signature_seen_at"), "callback_signature", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_callback_signature_seen_at"), table_name="callback_signature")
    op.drop_table("callback_signature")
