"""Instant posts flow from the store: new stories to announce, queued with the stories.

A story inserted by a poll that may reach instant subscribers gets a row here in the same
transaction as the story itself, so a crash between storing and queueing cannot lose it, and
any process's poll feeds any sender (which turns rows into deliveries and deletes them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "announcements",
        sa.Column("story_id", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        # A sender turning the row into deliveries holds it until then; a killed one's
        # rows come back when the lease ends.
        sa.Column("lease_until", TS),
        sa.PrimaryKeyConstraint("story_id", name="pk_announcements"),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name="fk_announcements_story_id_stories",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("announcements")
