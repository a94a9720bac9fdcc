"""card: the cards with buttons the bot sent, by task id, and what their tap decided; outbox_message
.actions: a notice's one-tap answers (DingTalk's dtmd links) (issue 19)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0013"
down_revision: str | None = "0012"  # re-chained onto 0012 when merged
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("decision", sa.String(length=12), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", models.base.AwareDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["member.id"], name=op.f("fk_card_decided_by_id_member")),
        sa.ForeignKeyConstraint(
            ["source_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_card_source_message_id_inbound_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card")),
        sa.UniqueConstraint("task_id", name=op.f("uq_card_task_id")),
    )

    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("actions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("actions")
    op.drop_table("card")
