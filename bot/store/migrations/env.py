"""Alembic environment for Warta's store.

Migrations run only through :func:`bot.store.sql.open_store`, which hands over an open
connection in ``config.attributes["connection"]``; users never need an alembic.ini. Developers
can still generate a revision with a throwaway ini whose ``script_location`` points here.
"""

from __future__ import annotations

from alembic import context

from bot.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run Warta migrations through bot.store.open_store(url)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables for future migrations.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
