"""WhatsApp: each member's 24-hour window and burst, and each sent message's delivery state

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_contact",
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("last_inbound_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("nudged_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("holding", sa.Boolean(), nullable=False),
        sa.Column("burst_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("burst_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("burst_text", sa.Boolean(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "whatsapp_message",
        sa.Column("sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("sent_as", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("batch", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("requeued", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sid"),
    )
    op.create_index(op.f("ix_whatsapp_message_batch"), "whatsapp_message", ["batch"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_whatsapp_message_batch"), table_name="whatsapp_message")
    op.drop_table("whatsapp_message")
    op.drop_table("whatsapp_contact")
