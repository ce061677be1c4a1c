"""SQLite full-text index: merge segments sixteen at a time instead of four.

Every poll transaction that stores stories adds a small segment to ``stories_fts``; with FTS5's
default (``automerge`` 4) those are merged almost at once, again and again, and the merging
cost more than the stories' own rows: ~0.15 ms of CPU per stored story in 27-story
transactions on a 170,000-story database, against ~0.09 ms with 16 (a merge of sixteen
segments happens a quarter as often). A search then looks in up to 15 segments per level
instead of 3, still a few milliseconds. The setting is stored in the index itself
(``stories_fts_config``). PostgreSQL's index is a column of its own: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTOMERGE = 16
FTS5_DEFAULT = 4


def _set(value: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"INSERT INTO stories_fts(stories_fts, rank) VALUES ('automerge', {value})")


def upgrade() -> None:
    _set(AUTOMERGE)


def downgrade() -> None:
    _set(FTS5_DEFAULT)
