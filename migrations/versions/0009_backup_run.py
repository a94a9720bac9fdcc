"""backup ledger: one row per backup made or tried; one daily backup per day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backup_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", models.base.AwareDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", models.base.AwareDateTime(timezone=True), nullable=True),
        sa.Column("archive", sa.String(length=500), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_run")),
    )
    op.create_index(
        "uq_backup_run_one_daily_per_day",
        "backup_run",
        ["day"],
        unique=True,
        sqlite_where=sa.text("kind = 'daily'"),
        postgresql_where=sa.text("kind = 'daily'"),
    )


def downgrade() -> None:
    op.drop_index("uq_backup_run_one_daily_per_day", table_name="backup_run")
    op.drop_table("backup_run")
