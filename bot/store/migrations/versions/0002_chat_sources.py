"""Every chat owns its sources: default feeds and per-chat additions / switched-off defaults.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Every feed stored before this revision was instance-wide (the operator's), so existing
    # rows become defaults; true on both backends through the server default.
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(
            sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.true())
        )
    op.create_table(
        "chat_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.Text, nullable=False),
        sa.Column("feed_id", sa.Integer, nullable=False),
        # "add": the chat added this feed; "off": the chat switched this default off.
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("added_by", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_sources"),
        sa.UniqueConstraint(
            "platform", "channel_id", "feed_id", name="uq_chat_sources_platform_channel_id_feed_id"
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name="fk_chat_sources_feed_id_feeds",
            ondelete="CASCADE",
        ),
    )
    # The poll claim asks "does any chat add this feed?" per due feed.
    op.create_index("ix_chat_sources_feed_id_mode", "chat_sources", ["feed_id", "mode"])


def downgrade() -> None:
    op.drop_index("ix_chat_sources_feed_id_mode", table_name="chat_sources")
    op.drop_table("chat_sources")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("is_default")
