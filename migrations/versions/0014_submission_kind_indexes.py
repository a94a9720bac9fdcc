"""submission: indexes by (group, kind, time) and (member, kind, time), which each note's count so far
and its same-note check read (issue 17)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_submission_group_kind_at", "submission", ["group_id", "kind", "submitted_at"])
    op.create_index("ix_submission_member_kind_at", "submission", ["member_id", "kind", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_submission_member_kind_at", table_name="submission")
    op.drop_index("ix_submission_group_kind_at", table_name="submission")
