"""Initial schema: feeds, stories (+ full-text search), subscriptions, deliveries, meta.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A frozen copy of the types this revision creates: migrations must not change when
# bot/store/schema.py evolves.
TS = sa.DateTime(timezone=True)


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


# Title weighs more than body in ranking; setweight labels carry that into ts_rank.
PG_SEARCH_VECTOR = (
    "setweight(to_tsvector('simple', coalesce(search_title, '')), 'A') || "
    "setweight(to_tsvector('simple', coalesce(search_text, '')), 'B')"
)

SQLITE_FTS = [
    # External-content FTS5 index: the text lives once, in stories; triggers keep the index
    # in step with every insert, edit and delete.
    "CREATE VIRTUAL TABLE stories_fts USING fts5(title, text, content='stories', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER stories_fts_ai AFTER INSERT ON stories BEGIN "
    "INSERT INTO stories_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER stories_fts_ad AFTER DELETE ON stories BEGIN "
    "INSERT INTO stories_fts(stories_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER stories_fts_au AFTER UPDATE OF title, text ON stories BEGIN "
    "INSERT INTO stories_fts(stories_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO stories_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("lang", sa.String(8)),
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("body_hash", sa.String(128)),
        sa.Column("next_check_at", TS),
        sa.Column("last_checked_at", TS),
        sa.Column("last_ok_at", TS),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("baseline_done", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feeds"),
        sa.UniqueConstraint("url", name="uq_feeds_url"),
    )
    op.create_index("ix_feeds_next_check_at", "feeds", ["next_check_at"])

    op.create_table(
        "stories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed_url", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("published", TS),
        sa.Column("fetched_at", TS, nullable=False),
        sa.Column("sort_at", TS, nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("relevance", sa.Float),
        sa.Column("matched", _json(), nullable=False),
        sa.Column("bullets", _json(), nullable=False),
        sa.Column("search_title", sa.Text),
        sa.Column("search_text", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
        sa.UniqueConstraint("feed_url", "key", name="uq_stories_feed_url_key"),
    )
    op.create_index("ix_stories_sort_at", "stories", ["sort_at"])
    op.create_index("ix_stories_lang_sort_at", "stories", ["lang", "sort_at"])
    if dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif dialect == "postgresql":
        # Stored, so ts_rank reads it instead of re-parsing the text of every match. The
        # column is PostgreSQL-only and so absent from bot/store/schema.py.
        op.execute(
            "ALTER TABLE stories ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({PG_SEARCH_VECTOR}) STORED"
        )
        op.execute("CREATE INDEX ix_stories_search ON stories USING gin (search_vector)")

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.Text, nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("schedule", sa.Text, nullable=False),
        sa.Column("tz", sa.Text, nullable=False),
        sa.Column("keywords", _json(), nullable=False),
        sa.Column("max_stories", sa.Integer, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("paused_reason", sa.Text),
        sa.Column("next_run_at", TS),
        sa.Column("last_window_end", TS),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint("platform", "channel_id", name="uq_subscriptions_platform_channel_id"),
    )
    op.create_index("ix_subscriptions_next_run_at", "subscriptions", ["next_run_at"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("not_before", TS),
        sa.Column("lease_until", TS),
        sa.Column("sent_parts", _json(), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("key", name="uq_deliveries_key"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name="fk_deliveries_subscription_id_subscriptions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_deliveries_state", "deliveries", ["state"])
    op.create_index("ix_deliveries_subscription_id", "deliveries", ["subscription_id"])

    op.create_table(
        "meta",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_table("meta")
    op.drop_table("deliveries")
    op.drop_table("subscriptions")
    if dialect == "sqlite":
        for name in ("stories_fts_au", "stories_fts_ad", "stories_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS stories_fts")
    op.drop_table("stories")
    op.drop_table("feeds")
