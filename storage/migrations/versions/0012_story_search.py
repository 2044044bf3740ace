"""the full-text search index over stories (FTS5 on SQLite, tsvector with GIN on PostgreSQL)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from storage.search import normalise

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
# The SQL below is this revision's own (the table as 0012 makes it); only the normalisation
# comes from storage.search, so that the index holds what queries will look for.
CURRENT_TEXTS = sa.text(
    "SELECT story.id, storyversion.title, storyversion.body FROM story "
    "JOIN storyversion ON storyversion.story_id = story.id "
    "AND storyversion.number = story.current_version "
    "WHERE story.id > :after ORDER BY story.id LIMIT :batch"
)
SQLITE_INSERT = sa.text(
    "INSERT INTO story_search (rowid, story_id, title, body) "
    "VALUES (:story_id, :story_id, :title, :body)"
)
POSTGRESQL_INSERT = sa.text(
    "INSERT INTO story_search (story_id, title, body, document) VALUES (:story_id, :title, :body, "
    "setweight(to_tsvector('simple', :title), 'A') || setweight(to_tsvector('simple', :body), 'B'))"
)


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.create_table(
            "story_search",
            sa.Column("story_id", sa.Integer(), nullable=False),
            sa.Column("title", sa.Text(), nullable=False),
            sa.Column("body", sa.Text(), nullable=False),
            sa.Column("document", postgresql.TSVECTOR(), nullable=False),
            sa.ForeignKeyConstraint(["story_id"], ["story.id"]),
            sa.PrimaryKeyConstraint("story_id"),
        )
        # Keep the tsvector in the row, uncompressed, and the texts beside it out of line: then
        # matching and ranking read it without fetching or inflating it (about 3x faster).
        op.execute(
            "ALTER TABLE story_search ALTER COLUMN title SET STORAGE EXTERNAL, "
            "ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN document SET STORAGE MAIN"
        )
        op.create_index(
            "ix_story_search_document", "story_search", ["document"], postgresql_using="gin"
        )
        insert = POSTGRESQL_INSERT
    else:
        # The story's id is the FTS5 rowid as well, so that one story's entry is found (and
        # replaced) without scanning the index.
        op.execute(
            "CREATE VIRTUAL TABLE story_search USING fts5("
            "story_id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
        insert = SQLITE_INSERT
    after = 0
    while rows := connection.execute(CURRENT_TEXTS, {"after": after, "batch": BATCH}).all():
        connection.execute(
            insert,
            [
                {"story_id": story_id, "title": normalise(title), "body": normalise(body)}
                for story_id, title, body in rows
            ],
        )
        after = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_story_search_document", table_name="story_search")
    op.drop_table("story_search")
