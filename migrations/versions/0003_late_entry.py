"""late entries (补报) awaiting a leader's confirmation

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "late_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("requested_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", models.base.AwareDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.Column("decision_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"], ["activity.id"], name=op.f("fk_late_entry_activity_id_activity")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_late_entry_member_id_member")),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["member.id"], name=op.f("fk_late_entry_requested_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["member.id"], name=op.f("fk_late_entry_decided_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["checkin_id"], ["checkin.id"], name=op.f("fk_late_entry_checkin_id_checkin")
        ),
        sa.ForeignKeyConstraint(
            ["source_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_late_entry_source_message_id_inbound_message"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_message_id"],
            ["inbound_message.id"],
            name=op.f("fk_late_entry_decision_message_id_inbound_message"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_late_entry")),
    )
    with op.batch_alter_table("late_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_late_entry_activity_id"), ["activity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_late_entry_member_id"), ["member_id"], unique=False)
    # Audit rows are read per record ("what happened to #12"): index the record they describe.
    with op.batch_alter_table("record_change", schema=None) as batch_op:
        batch_op.create_index("ix_record_change_table_row", ["table_name", "row_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("record_change", schema=None) as batch_op:
        batch_op.drop_index("ix_record_change_table_row")
    with op.batch_alter_table("late_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_late_entry_member_id"))
        batch_op.drop_index(batch_op.f("ix_late_entry_activity_id"))
    op.drop_table("late_entry")
