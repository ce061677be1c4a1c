"""Warta's tables as SQLAlchemy Core metadata, shared by SQLite and PostgreSQL.

The Alembic migrations in ``migrations/versions`` are the source of truth for the DDL; this
module describes the same tables for building queries (and for ``alembic revision
--autogenerate`` when a developer changes the schema). Backend-specific search objects (the
SQLite FTS5 table and its triggers, the PostgreSQL GIN expression index) live only in the
migrations because Core has no portable way to describe them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

# Stable constraint names so later migrations can refer to them on both backends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend.

    SQLite has no time zone type: values are stored as naive UTC text (which also sorts
    correctly) and UTC is re-attached on read. A naive datetime is refused rather than
    guessed, because a guess silently shifts schedules by the host's offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime given to the store: {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON text on SQLite, JSONB on PostgreSQL (so ``||`` can append in one statement)."""
    return JSON().with_variant(JSONB(), "postgresql")


feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text),
    Column("lang", String(8)),
    Column("interval_s", Integer, nullable=False, default=900),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body_hash", String(128)),
    Column("next_check_at", UTCDateTime),
    Column("last_checked_at", UTCDateTime),
    Column("last_ok_at", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("disabled_reason", Text),
    Column("baseline_done", Boolean, nullable=False, default=False),
    # A default source is in every chat's set unless the chat switched it off; the others are
    # polled only while some chat has added them.
    Column("is_default", Boolean, nullable=False, default=True, server_default=true()),
    Index("ix_feeds_next_check_at", "next_check_at"),
)

chat_sources = Table(
    "chat_sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(32), nullable=False),
    Column("channel_id", Text, nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("mode", String(8), nullable=False),  # "add" | "off" (a default switched off)
    Column("added_by", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "channel_id", "feed_id"),
    Index("ix_chat_sources_feed_id_mode", "feed_id", "mode"),
)

stories = Table(
    "stories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_url", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("published", UTCDateTime),
    Column("fetched_at", UTCDateTime, nullable=False),
    # coalesce(published, fetched_at), kept as a column so windows and recency use an index.
    Column("sort_at", UTCDateTime, nullable=False),
    Column("content_hash", String(128), nullable=False),
    Column("relevance", Float),
    Column("matched", json_type(), nullable=False),
    Column("bullets", json_type(), nullable=False),
    # Accent-folded, lowercased copies for PostgreSQL full-text search ('simple' config has
    # no unaccent and the unaccent extension needs privileges). NULL on SQLite, where FTS5's
    # unicode61 tokenizer folds diacritics itself.
    Column("search_title", Text),
    Column("search_text", Text),
    UniqueConstraint("feed_url", "key"),
    Index("ix_stories_sort_at", "sort_at"),
    Index("ix_stories_lang_sort_at", "lang", "sort_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(32), nullable=False),
    Column("channel_id", Text, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("schedule", Text, nullable=False),
    Column("tz", Text, nullable=False),
    Column("keywords", json_type(), nullable=False),
    Column("max_stories", Integer, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("paused_reason", Text),
    Column("next_run_at", UTCDateTime),
    Column("last_window_end", UTCDateTime),
    Column("created_by", Text),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("platform", "channel_id"),
    Index("ix_subscriptions_next_run_at", "next_run_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "subscription_id",
        Integer,
        ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("platform", String(32), nullable=False),
    Column("channel_id", Text, nullable=False),
    Column("key", Text, nullable=False, unique=True),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Column("sent_parts", json_type(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Index("ix_deliveries_state", "state"),
    Index("ix_deliveries_subscription_id", "subscription_id"),
)

announcements = Table(
    "announcements",
    metadata,
    Column(
        "story_id",
        Integer,
        ForeignKey("stories.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("created_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

# A scheduled digest composed once for many chats: its payload is stored here once, and each
# chat's delivery row holds a reference (``@digest:<sha256>``) instead of a copy.
digest_payloads = Table(
    "digest_payloads",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
