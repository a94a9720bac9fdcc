"""submission_event: each step of a note's journey (退回, 编报, 报送, 采用, 批示, 反馈), dated and attributed

Existing records keep their meaning: every adopted note gets its 采用 event (level, date) and every
note with a 批示 its 批示 event, from the columns that held them until now.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"], ["submission.id"], name=op.f("fk_submission_event_submission_id_submission")
        ),
        sa.ForeignKeyConstraint(["by_id"], ["member.id"], name=op.f("fk_submission_event_by_id_member")),
        sa.ForeignKeyConstraint(
            ["source_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_submission_event_source_message_id_inbound_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_event")),
    )
    op.create_index(
        op.f("ix_submission_event_submission_id"), "submission_event", ["submission_id"], unique=False
    )
    op.create_index(op.f("ix_submission_event_at"), "submission_event", ["at"], unique=False)
    # The journey so far, from the columns that held it: 采用 (its level and date) and 批示.
    op.execute(
        "INSERT INTO submission_event (submission_id, kind, level, at) "
        "SELECT id, 'adopted', adopted_level, COALESCE(adopted_at, submitted_at) FROM submission "
        "WHERE status = 'adopted'"
    )
    op.execute(
        "INSERT INTO submission_event (submission_id, kind, detail, at) "
        "SELECT id, 'instructed', instruction, COALESCE(instructed_at, submitted_at) FROM submission "
        "WHERE instruction IS NOT NULL"
    )


def downgrade() -> None:
    # The states the journey added fold back into the three the schema knew.
    op.execute(
        "UPDATE submission SET status = 'submitted' WHERE status IN ('returned', 'in_bulletin', 'reported')"
    )
    op.drop_index(op.f("ix_submission_event_at"), table_name="submission_event")
    op.drop_index(op.f("ix_submission_event_submission_id"), table_name="submission_event")
    op.drop_table("submission_event")
