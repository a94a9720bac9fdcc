"""pending questions: one open question per member and chat, resumed by the next message

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("chat_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("resume", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("asked_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.Column("answer_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_pending_question_member_id_member")),
        sa.ForeignKeyConstraint(
            ["source_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_pending_question_source_message_id_inbound_message"),
        ),
        sa.ForeignKeyConstraint(
            ["answer_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_pending_question_answer_message_id_inbound_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_question")),
    )
    op.create_index(op.f("ix_pending_question_member_id"), "pending_question", ["member_id"])
    op.create_index(
        "uq_pending_question_open_per_member_chat",
        "pending_question",
        ["member_id", "chat_key"],
        unique=True,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("uq_pending_question_open_per_member_chat", table_name="pending_question")
    op.drop_index(op.f("ix_pending_question_member_id"), table_name="pending_question")
    op.drop_table("pending_question")
