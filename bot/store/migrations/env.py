"""Alembic environment for Warta's store.

Migrations run only through :func:`bot.store.sql.open_store`, which hands over an open
connection in ``config.attributes["connection"]``; users never need an alembic.ini. Developers
can still generate a revision with a throwaway ini whose ``script_location`` points here.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from bot.store.schema import metadata

# Search objects that exist only on one backend and so are not in the metadata; autogenerate
# must not propose dropping them.
_BACKEND_ONLY = {"stories_fts", "search_vector", "ix_stories_search"}


def _include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    return not (name or "").startswith(tuple(_BACKEND_ONLY))


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run Warta migrations through bot.store.open_store(url)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables for future migrations.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=_include_object,
)
with context.begin_transaction():
    context.run_migrations()
