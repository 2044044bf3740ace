"""story cards remember the state they show

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A channel that cannot edit a message in place gets a new card only on a state change.
    with op.batch_alter_table("storycard") as batch:
        batch.add_column(sa.Column("state", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("storycard") as batch:
        batch.drop_column("state")
