"""one open assignment per reporter and item, one open clock per assignment

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_ASSIGNMENT = sa.text("status IN ('offered', 'accepted')")
OPEN_CLOCK = sa.text("outcome = 'open'")


def upgrade() -> None:
    # Two editors assigning the same reporter at once, or two instances, cannot make two.
    op.create_index(
        "uq_assignment_open",
        "assignment",
        ["item_id", "reporter_id"],
        unique=True,
        sqlite_where=OPEN_ASSIGNMENT,
        postgresql_where=OPEN_ASSIGNMENT,
    )
    op.create_index(
        "uq_sla_clock_open_assignment",
        "sla_clock",
        ["assignment_id"],
        unique=True,
        sqlite_where=OPEN_CLOCK,
        postgresql_where=OPEN_CLOCK,
    )


def downgrade() -> None:
    op.drop_index("uq_sla_clock_open_assignment", table_name="sla_clock")
    op.drop_index("uq_assignment_open", table_name="assignment")
