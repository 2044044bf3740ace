"""search: indexes for its filters (a state's and a reporter's stories newest first, creation
time); on PostgreSQL the index's table keeps its tsvector and the filters' columns

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.search import normalise

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TEXTS = sa.text(
    "SELECT story.id, storyversion.title, storyversion.body FROM story_search "
    "JOIN story ON story.id = story_search.story_id "
    "JOIN storyversion ON storyversion.story_id = story.id "
    "AND storyversion.number = story.current_version"
)
FOLLOW_FUNCTION = """
CREATE FUNCTION story_search_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE story_search SET reporter_id = NEW.reporter_id, state = NEW.state,
        created_at = NEW.created_at
    WHERE story_id = NEW.id;
    RETURN NULL;
END
$$
"""
FOLLOW_TRIGGER = """
CREATE TRIGGER story_search_follow AFTER UPDATE OF reporter_id, state, created_at ON story
FOR EACH ROW WHEN (
    OLD.reporter_id IS DISTINCT FROM NEW.reporter_id OR OLD.state IS DISTINCT FROM NEW.state
    OR OLD.created_at IS DISTINCT FROM NEW.created_at
) EXECUTE FUNCTION story_search_follow()
"""
FILL = sa.text("UPDATE story_search SET title = :title, body = :body WHERE story_id = :story_id")


def upgrade() -> None:
    # The two-column indexes answer everything the one-column ones did, and also "newest
    # first" within a state or a reporter's stories.
    op.drop_index("ix_story_state", table_name="story")
    op.drop_index("ix_story_reporter_id", table_name="story")
    op.create_index("ix_story_state_newest", "story", ["state", "id"])
    op.create_index("ix_story_reporter_newest", "story", ["reporter_id", "id"])
    op.create_index("ix_story_created_at", "story", ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        # Nothing reads the normalised texts beside the tsvector (SQLite's FTS5 table is made
        # of them, so there they stay).
        op.drop_column("story_search", "title")
        op.drop_column("story_search", "body")
        # The filters' columns beside it, so that PostgreSQL ANDs the GIN index's lists with
        # the filters' indexes before it reads a row; a trigger keeps them in step with story.
        op.add_column("story_search", sa.Column("reporter_id", sa.Integer(), nullable=True))
        op.add_column("story_search", sa.Column("state", sa.Text(), nullable=True))
        op.add_column(
            "story_search", sa.Column("created_at", sa.DateTime(timezone=True), nullable=True)
        )
        op.execute(
            "UPDATE story_search SET reporter_id = story.reporter_id, state = story.state, "
            "created_at = story.created_at FROM story WHERE story.id = story_search.story_id"
        )
        for column in ("reporter_id", "state", "created_at"):
            op.alter_column("story_search", column, nullable=False)
            op.create_index(f"ix_story_search_{column}", "story_search", [column])
        op.execute(FOLLOW_FUNCTION)
        op.execute(FOLLOW_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER story_search_follow ON story")
        op.execute("DROP FUNCTION story_search_follow()")
        for column in ("reporter_id", "state", "created_at"):
            op.drop_index(f"ix_story_search_{column}", table_name="story_search")
            op.drop_column("story_search", column)
        # Filled again as 0012 filled them: the current versions' normalised texts.
        op.add_column(
            "story_search", sa.Column("title", sa.Text(), nullable=False, server_default="")
        )
        op.add_column(
            "story_search", sa.Column("body", sa.Text(), nullable=False, server_default="")
        )
        connection = op.get_bind()
        for story_id, title, body in connection.execute(CURRENT_TEXTS):
            connection.execute(
                FILL, {"story_id": story_id, "title": normalise(title), "body": normalise(body)}
            )
        op.alter_column("story_search", "title", server_default=None)
        op.alter_column("story_search", "body", server_default=None)
    op.drop_index("ix_story_created_at", table_name="story")
    op.drop_index("ix_story_reporter_newest", table_name="story")
    op.drop_index("ix_story_state_newest", table_name="story")
    op.create_index("ix_story_reporter_id", "story", ["reporter_id"])
    op.create_index("ix_story_state", "story", ["state"])
