"""member: an index on group_id, which every "the group's members" query joins on (the activity
reminders' roll call scanned all 30,000 members of a province; issue 17)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_member_group_id", "member", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_member_group_id", table_name="member")
