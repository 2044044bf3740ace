"""set-aside inbox messages, outbox claims per instance, photos uploaded per target

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inboxmessage") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    with op.batch_alter_table("outboxitem") as batch:
        batch.add_column(
            sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    op.create_table(
        "published_media",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("remote_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("target", "sha256"),
    )


def downgrade() -> None:
    op.drop_table("published_media")
    with op.batch_alter_table("outboxitem") as batch:
        batch.drop_column("claimed_by")
    with op.batch_alter_table("inboxmessage") as batch:
        batch.drop_column("last_error")
        batch.drop_column("attempts")
