"""SQLStore: the Store on SQLAlchemy 2 async, for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite is the embedded default: WAL journal, a busy timeout, foreign keys on, and writes
serialized (an asyncio lock in-process, ``BEGIN IMMEDIATE`` across processes) because SQLite has
one writer. PostgreSQL is for scale-out: claims use ``FOR UPDATE SKIP LOCKED`` so several worker
processes share feeds and deliveries without taking the same row twice.

Every batch goes to the database as one statement or one executemany; nothing loops with a
round trip per item.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import sqlite3
import time
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar, cast

from sqlalchemy import (
    Connection,
    Row,
    Text,
    and_,
    any_,
    bindparam,
    column,
    delete,
    event,
    func,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.elements import ColumnElement

from bot.errors import ConfigError, StoreError
from bot.models import (
    ChannelRef,
    ChatSource,
    Delivery,
    DeliveryState,
    Feed,
    ScheduleKind,
    Story,
    Subscription,
)
from bot.store.held import Held
from bot.store.schema import (
    announcements,
    chat_sources,
    deliveries,
    digest_payloads,
    feeds,
    meta,
    stories,
    subscriptions,
)

__all__ = ["SQLStore", "open_store"]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# PostgreSQL only: a stored generated tsvector column (see migrations/versions/0001_initial.py),
# so ranking reads the vector instead of re-parsing every matching text.
_PG_SEARCH_VECTOR: Final = "stories.search_vector"
# Column weights for SQLite's bm25 (title, text): a title hit counts more.
_SQLITE_BM25: Final = "bm25(stories_fts, 4.0, 1.0)"
_MAX_TERMS: Final = 16
_PREFIX_MIN: Final = 4
log = logging.getLogger(__name__)

_CHUNK: Final = 500  # keys per IN list; far below SQLite's and asyncpg's parameter limits
_MAX_ERROR: Final = 2000
# PostgreSQL NOTIFY channel raised when work for a sender is committed (bot.wakeup listens).
WORK_CHANNEL: Final = "warta_work"
# ... and when a feed may have become due at once (added, made a default, polled with --all):
# a sleeping poller claims it now instead of at its next scheduled look.
FEEDS_CHANNEL: Final = "warta_feeds"
_ADVISORY_LOCK: Final = 0x5741525441  # "WARTA": one migrator at a time on PostgreSQL
_COMPOSE_LOCK: Final = 0x57415254414344  # "WARTACD": one composer of due digests at a time
KEEP_PER_FEED: Final = 500  # newest stories kept per feed by retention: beyond any feed's window
_ADD: Final = "add"  # chat_sources.mode: the chat added this feed
_OFF: Final = "off"  # chat_sources.mode: the chat switched this default off

_WORD = re.compile(r"[^\W_]+")
_OPERATORS: Final = frozenset({"AND", "OR", "NOT", "NEAR"})
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


# Rows written per statement by upsert_stories (see there), and characters of title + text:
# on PostgreSQL each row's text is folded for search and bound on the loop, ~140 ns a
# character, so 200 stories near the 20,000-character text cap would be one step of ~500 ms;
# 200,000 characters are a step of ~30 ms (500 stories of 4 KB: longest step 68 -> 28 ms).
_ROWS_PER_STEP: Final = 200
_CHARS_PER_STEP: Final = 200_000


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _story_slices(items: Sequence[Story]) -> Iterator[Sequence[Story]]:
    """Consecutive slices of at most _ROWS_PER_STEP stories and _CHARS_PER_STEP characters
    (a longer story is a slice of its own)."""
    start, chars = 0, 0
    for i, story in enumerate(items):
        size = len(story.title) + len(story.text)
        if i > start and (i - start >= _ROWS_PER_STEP or chars + size > _CHARS_PER_STEP):
            yield items[start:i]
            start, chars = i, 0
        chars += size
    if start < len(items):
        yield items[start:]


def fold(text_: str) -> str:
    """Lowercase and strip diacritics the way FTS5's ``unicode61 remove_diacritics 2`` does,
    so PostgreSQL search behaves like SQLite's (NFD, not NFKD: unicode61 keeps ligatures)."""
    decomposed = unicodedata.normalize("NFD", text_)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def search_terms(query: str) -> list[str]:
    """Words of a user query, folded. Only letters and digits survive, so no search syntax
    (quotes, operators, parentheses, column filters, ``*``) reaches the engine. Upper-case
    AND/OR/NOT are dropped: whoever typed them meant an operator, not a word to require."""
    words = (w for w in _WORD.findall(query) if w not in _OPERATORS)
    return [fold(w) for w in words][:_MAX_TERMS]


def _fts5_query(terms: Sequence[str]) -> str:
    # Each term is double-quoted (a string, never an operator: "and" is a word here) and
    # only [^\W_] characters reach this point, so no quote needs escaping.
    return " ".join(f'"{t}"*' if len(t) >= _PREFIX_MIN else f'"{t}"' for t in terms)


def _tsquery(terms: Sequence[str]) -> str:
    return " & ".join(f"'{t}':*" if len(t) >= _PREFIX_MIN else f"'{t}'" for t in terms)


# --------------------------------------------------------------------------- row mapping


def _feed(row: Row[Any]) -> Feed:
    m = row._mapping
    return Feed(
        url=m["url"],
        id=m["id"],
        title=m["title"],
        lang=m["lang"],
        interval_s=m["interval_s"],
        etag=m["etag"],
        last_modified=m["last_modified"],
        body_hash=m["body_hash"],
        next_check_at=m["next_check_at"],
        last_checked_at=m["last_checked_at"],
        last_ok_at=m["last_ok_at"],
        failures=m["failures"],
        last_error=m["last_error"],
        disabled_reason=m["disabled_reason"],
        baseline_done=bool(m["baseline_done"]),
        is_default=bool(m["is_default"]),
    )


def _feed_state(feed: Feed) -> dict[str, Any]:
    return {
        "title": feed.title,
        "etag": feed.etag,
        "last_modified": feed.last_modified,
        "body_hash": feed.body_hash,
        "next_check_at": feed.next_check_at,
        "last_checked_at": feed.last_checked_at,
        "last_ok_at": feed.last_ok_at,
        "failures": feed.failures,
        "last_error": _cap(feed.last_error),
        "disabled_reason": _cap(feed.disabled_reason),
        "baseline_done": feed.baseline_done,
    }


def _story(row: Row[Any]) -> Story:
    m = row._mapping
    return Story(
        feed_url=m["feed_url"],
        key=m["key"],
        url=m["url"],
        title=m["title"],
        text=m["text"],
        source=m["source"],
        lang=m["lang"],
        published=m["published"],
        content_hash=m["content_hash"],
        id=m["id"],
        fetched_at=m["fetched_at"],
        relevance=m["relevance"],
        matched=tuple(m["matched"] or ()),
        bullets=tuple(m["bullets"] or ()),
    )


def _subscription(row: Row[Any]) -> Subscription:
    m = row._mapping
    return Subscription(
        channel=ChannelRef(m["platform"], m["channel_id"]),
        lang=m["lang"],
        schedule=m["schedule"],
        tz=m["tz"],
        keywords=tuple(m["keywords"] or ()),
        max_stories=m["max_stories"],
        paused=bool(m["paused"]),
        paused_reason=m["paused_reason"],
        next_run_at=m["next_run_at"],
        last_window_end=m["last_window_end"],
        id=m["id"],
        created_by=m["created_by"],
    )


def _delivery(row: Row[Any]) -> Delivery:
    m = row._mapping
    return Delivery(
        subscription_id=m["subscription_id"],
        channel=ChannelRef(m["platform"], m["channel_id"]),
        key=m["key"],
        payload=m["payload"],
        state=DeliveryState(m["state"]),
        attempts=m["attempts"],
        not_before=m["not_before"],
        sent_parts=[str(p) for p in m["sent_parts"] or ()],
        last_error=m["last_error"],
        id=m["id"],
        created_at=m["created_at"],
    )


_PAYLOAD_REF = "@digest:"


async def _with_payloads(conn: AsyncConnection, rows: Sequence[Row[Any]]) -> list[Delivery]:
    """Delivery rows with shared payloads (``@digest:<sha256>``) read back in one query."""
    out = [_delivery(r) for r in rows]
    refs = {d.payload[len(_PAYLOAD_REF) :] for d in out if d.payload.startswith(_PAYLOAD_REF)}
    if not refs:
        return out
    bodies: dict[str, str] = {}
    ordered = sorted(refs)
    for i in range(0, len(ordered), 500):
        stmt = select(digest_payloads.c.hash, digest_payloads.c.body).where(
            digest_payloads.c.hash.in_(ordered[i : i + 500])
        )
        bodies.update((h, b) for h, b in (await conn.execute(stmt)).all())
    return [
        replace(d, payload=bodies[d.payload[len(_PAYLOAD_REF) :]])
        if d.payload.startswith(_PAYLOAD_REF)
        else d
        for d in out
    ]


def _cap(value: str | None) -> str | None:
    return None if value is None else value[:_MAX_ERROR]


# --------------------------------------------------------------------------- engine setup


def _normalize_url(url: str) -> URL:
    try:
        sa_url = make_url(url)
    except ArgumentError as e:
        raise ConfigError(f"not a database URL: {url!r}") from e
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        return sa_url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return sa_url.set(drivername="postgresql+asyncpg")
    raise ConfigError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _setup_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    # The sqlite3 module's legacy transaction control never BEGINs before a SELECT and cannot
    # BEGIN IMMEDIATE; SQLAlchemy's documented recipe hands BEGIN to us instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            _enable_wal(cursor, busy_timeout_ms)
            cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front, so it never fails half-way
        # with SQLITE_BUSY on lock upgrade; reads stay deferred and run beside it (WAL).
        immediate = conn.get_execution_options().get("warta_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enable_wal(cursor: Any, busy_timeout_ms: int) -> None:
    """Switch to WAL once per database file. Changing the journal mode needs an exclusive lock
    and SQLite does not run the busy handler for it, so several processes opening a new
    database at the same moment get "database is locked": retry for up to the busy timeout."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            # The aiosqlite adapter's execute() returns no cursor: read from ours.
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def head_revision() -> str:
    """The newest migration's revision, read from the file names (``0005_fts_automerge.py``:
    "0005"), so a database already at head is known without importing alembic (~0.4 s of
    every CLI command's start-up). A test checks it against alembic's own head."""
    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))
    return names[-1].split("_", 1)[0]


def _run_migrations(sync_conn: Connection) -> None:
    # Asked, not tried: a failed SELECT would abort PostgreSQL's transaction and with it the
    # advisory lock that keeps concurrent starters from migrating twice.
    if inspect(sync_conn).has_table("alembic_version"):
        current = sync_conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current == head_revision():
            return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "head")


async def open_store(
    url: str,
    *,
    connect_args: Mapping[str, Any] | None = None,
    migrate: bool = True,
    busy_timeout_ms: int = 10_000,
) -> SQLStore:
    """Connect to ``url`` and bring its schema to the latest revision.

    ``url`` is a SQLAlchemy URL: ``sqlite+aiosqlite:///path/warta.db`` or
    ``postgresql+asyncpg://user@host:5432/db`` (plain ``sqlite://`` / ``postgresql://`` get the
    async driver). ``connect_args`` go to the driver (e.g. asyncpg ``server_settings``).
    Concurrent starters are safe: on PostgreSQL migrations run under an advisory lock.

    Raises ConfigError for a malformed or unsupported URL, StoreError when the database cannot
    be reached or migrated.
    """
    sa_url = _normalize_url(url)
    is_sqlite = sa_url.get_backend_name() == "sqlite"
    if is_sqlite and sa_url.database not in (None, "", ":memory:"):
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        sa_url,
        connect_args=dict(connect_args or {}),
        pool_pre_ping=not is_sqlite,
    )
    if is_sqlite:
        _setup_sqlite(engine, busy_timeout_ms)
    store = SQLStore(engine)
    if migrate:
        try:
            async with store._write() as conn:
                if store._pg:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK}
                    )
                await conn.run_sync(_run_migrations)
        except BaseException:
            await store.close()
            raise
    return store


def _tell(listeners: Sequence[Callable[[], None]]) -> None:
    for listener in listeners:
        try:
            listener()
        except Exception:  # a wake-up hint must never fail the write it follows
            log.exception("store listener failed")


# --------------------------------------------------------------------------- the store


class SQLStore:
    """The :class:`bot.store.base.Store` on SQLAlchemy. Create it with :func:`open_store`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._write_engine = engine.execution_options(warta_write=True)
        self._pg = engine.dialect.name == "postgresql"
        # SQLite has one writer: queue writers here instead of in SQLite's busy handler.
        self._lock: asyncio.Lock | None = None if self._pg else asyncio.Lock()
        self._compose_lock = asyncio.Lock()
        self._closed = False
        self._work_listeners: list[Callable[[], None]] = []
        self._feed_listeners: list[Callable[[], None]] = []
        # Claims this process has not settled yet, released on a graceful stop.
        self.held = Held()

    # ------------------------------------------------------------------ work signal

    def on_work(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (synchronously, on the loop) after this store committed work for
        a sender: a delivery queued or a story to announce. Other processes learn of it
        through PostgreSQL ``NOTIFY`` on :data:`WORK_CHANNEL` (see :mod:`bot.wakeup`)."""
        self._work_listeners.append(listener)

    async def _announce_work(self, conn: AsyncConnection) -> None:
        # NOTIFY is transactional: listeners hear it only once the work is committed.
        if self._pg:
            await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": WORK_CHANNEL})

    def _work_committed(self) -> None:
        _tell(self._work_listeners)

    def on_feeds_due(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (synchronously, on the loop) after this store committed a change
        that may make a feed due now: a feed added, a chat adding one, a feed made a default,
        every feed made due. Other processes hear it through ``NOTIFY`` on
        :data:`FEEDS_CHANNEL`. Only a hint: a poller always claims from the store."""
        self._feed_listeners.append(listener)

    async def _announce_feeds(self, conn: AsyncConnection) -> None:
        if self._pg:
            await conn.execute(text("SELECT pg_notify(:c, '')"), {"c": FEEDS_CHANNEL})

    @property
    def url(self) -> str:
        """The database URL this store is connected to (with its password: keep it out of
        logs); a LISTEN connection opens a second link to the same database with it."""
        return self._engine.url.render_as_string(hide_password=False)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def __aenter__(self) -> SQLStore:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                await self._engine.dispose()

    # ------------------------------------------------------------------ plumbing

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        with _mapped_errors():
            async with self._engine.connect() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        with _mapped_errors():
            async with contextlib.AsyncExitStack() as stack:
                if self._lock is not None:
                    await stack.enter_async_context(self._lock)
                conn = await stack.enter_async_context(self._write_engine.begin())
                yield conn

    @contextlib.asynccontextmanager
    async def compose_turn(self) -> AsyncIterator[bool]:
        """Whether this process may compose due digests now: True for one holder at a time,
        False (at once, never waiting) while another holds the turn. On PostgreSQL the turn is
        a session advisory lock on a connection held for the block, so workers on any machine
        never compose the same subscriptions twice, and a killed holder's turn ends with its
        connection. On SQLite (one machine) it is this process's; another process composing
        the same run is still harmless: the delivery key keeps one row."""
        if not self._pg:
            if self._compose_lock.locked():
                yield False
                return
            async with self._compose_lock:
                yield True
            return
        with _mapped_errors():
            conn = await self._engine.connect()
            try:
                lock = text("SELECT pg_try_advisory_lock(:k)")
                got = bool((await conn.execute(lock, {"k": _COMPOSE_LOCK})).scalar())
                await conn.commit()
            except BaseException:
                await conn.close()
                raise
        try:
            yield got
        finally:
            try:
                if got:
                    unlock = text("SELECT pg_advisory_unlock(:k)")
                    await conn.execute(unlock, {"k": _COMPOSE_LOCK})
                    await conn.commit()
            except Exception:
                # A connection that may still hold the lock must never go back to the pool.
                log.warning("could not release the compose turn; dropping its connection")
                await conn.invalidate()
            finally:
                await conn.close()

    def _insert(self, tbl: Any) -> sqlite.Insert | postgresql.Insert:
        return postgresql.insert(tbl) if self._pg else sqlite.insert(tbl)

    # ------------------------------------------------------------------ feeds

    def _add_feed_stmt(self) -> Any:
        ins = self._insert(feeds)
        return ins.on_conflict_do_update(
            index_elements=[feeds.c.url],
            set_={
                "interval_s": ins.excluded.interval_s,
                "lang": ins.excluded.lang,
                "title": func.coalesce(feeds.c.title, ins.excluded.title),
                # A chat adding an operator's default must not demote it; the operator adding
                # a chat's feed makes it a default.
                "is_default": or_(feeds.c.is_default, ins.excluded.is_default),
            },
        )

    @staticmethod
    def _new_feed_row(feed: Feed, now: datetime) -> dict[str, Any]:
        values: dict[str, Any] = {
            "url": feed.url,
            "lang": feed.lang,
            "interval_s": feed.interval_s,
            "is_default": feed.is_default,
        }
        values |= _feed_state(feed)
        if values["next_check_at"] is None:
            values["next_check_at"] = now
        return values

    async def add_feed(self, feed: Feed) -> Feed:
        stmt = self._add_feed_stmt().values(self._new_feed_row(feed, _now())).returning(*feeds.c)
        async with self._write() as conn:
            row = (await conn.execute(stmt)).one()
            await self._announce_feeds(conn)
        _tell(self._feed_listeners)
        return _feed(row)

    async def add_feeds(self, feeds_: Sequence[Feed]) -> None:
        """``add_feed`` for many feeds in one transaction and one batch (OPML import of
        thousands of feeds); for a url given twice the last wins."""
        now = _now()
        rows = {f.url: self._new_feed_row(f, now) for f in feeds_}
        if not rows:
            return
        async with self._write() as conn:
            for chunk in _chunks(list(rows.values())):
                await conn.execute(self._add_feed_stmt(), list(chunk))
            await self._announce_feeds(conn)
        _tell(self._feed_listeners)

    async def remove_feed(self, url: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(
                delete(feeds).where(feeds.c.url == url).returning(feeds.c.id)
            )
            return result.first() is not None

    async def get_feed(self, url: str) -> Feed | None:
        async with self._read() as conn:
            row = (await conn.execute(select(feeds).where(feeds.c.url == url))).first()
        return None if row is None else _feed(row)

    async def list_feeds(self) -> list[Feed]:
        async with self._read() as conn:
            rows = (await conn.execute(select(feeds).order_by(feeds.c.id))).all()
        return [_feed(r) for r in rows]

    async def feed_defaults(self) -> dict[str, bool]:
        async with self._read() as conn:
            rows = await conn.execute(select(feeds.c.url, feeds.c.is_default))
            return {url: bool(default) for url, default in rows}

    async def make_feeds_due(self, now: datetime) -> int:
        stmt = (
            update(feeds)
            .where(feeds.c.disabled_reason.is_(None))
            .values(next_check_at=now)
            .returning(feeds.c.id)
        )
        async with self._write() as conn:
            made_due = len((await conn.execute(stmt)).all())
            await self._announce_feeds(conn)
        _tell(self._feed_listeners)
        return made_due

    async def claim_due_feeds(
        self,
        now: datetime,
        *,
        limit: int,
        lease_s: float = 300,
        save: Sequence[Feed] = (),
    ) -> list[Feed]:
        if limit <= 0:
            await self.save_feeds(save)
            return []
        # A feed that is no default and that no chat adds has no reader: it is not polled
        # (the row stays, with its state, so a chat adding it again resumes where it was).
        used = or_(
            feeds.c.is_default.is_(True),
            select(chat_sources.c.id)
            .where(chat_sources.c.feed_id == feeds.c.id, chat_sources.c.mode == _ADD)
            .exists(),
        )
        due = and_(feeds.c.disabled_reason.is_(None), feeds.c.next_check_at <= now, used)
        pick = select(feeds.c.id).where(due).order_by(feeds.c.next_check_at, feeds.c.id)
        pick = pick.limit(limit)
        if self._pg:
            pick = pick.with_for_update(skip_locked=True)
        async with self._write() as conn:
            # The finished feeds' state goes in the claim's transaction: a poller saves and
            # claims at the same moments, and every write transaction costs a turn of the
            # writer and about nine round trips to the driver's thread.
            if save:
                await self._save_feeds(conn, save)
            ids = list((await conn.execute(pick)).scalars())
            rows: Sequence[Row[Any]] = []
            if ids:
                # Re-checking `due` makes the claim safe even where row locks don't exist
                # (another process's SQLite connection): a row claimed meanwhile is skipped.
                claim = (
                    update(feeds)
                    .where(feeds.c.id.in_(ids), due)
                    .values(next_check_at=now + timedelta(seconds=lease_s))
                    .returning(*feeds.c)
                )
                rows = (await conn.execute(claim)).all()
        if save:
            self.held.settled_feeds(f.url for f in save)
        order = {id_: i for i, id_ in enumerate(ids)}
        claimed = sorted((_feed(r) for r in rows), key=lambda f: order[f.id or 0])
        for f in claimed:
            if f.id is not None and f.next_check_at is not None:
                self.held.took_feed(f.id, f.url, f.next_check_at)
        return claimed

    async def next_due_at(self) -> datetime | None:
        """When the next polled feed falls due (claim_due_feeds' rule without the time), or
        None when no feed is polled at all. A pacer sleeps until then."""
        used = or_(
            feeds.c.is_default.is_(True),
            select(chat_sources.c.id)
            .where(chat_sources.c.feed_id == feeds.c.id, chat_sources.c.mode == _ADD)
            .exists(),
        )
        # ORDER BY + LIMIT rather than MIN(): the column's type (aware UTC) is kept.
        stmt = (
            select(feeds.c.next_check_at)
            .where(feeds.c.disabled_reason.is_(None), used)
            .order_by(feeds.c.next_check_at)
            .limit(1)
        )
        async with self._read() as conn:
            value: datetime | None = (await conn.execute(stmt)).scalar()
        if value is None:
            return None
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    async def save_feeds(self, feeds_: Sequence[Feed]) -> None:
        if not feeds_:
            return
        async with self._write() as conn:
            await self._save_feeds(conn, feeds_)
        self.held.settled_feeds(f.url for f in feeds_)

    async def _save_feeds(self, conn: AsyncConnection, feeds_: Sequence[Feed]) -> None:
        params = [{"b_url": f.url, **_feed_state(f)} for f in feeds_]
        stmt = update(feeds).where(feeds.c.url == bindparam("b_url"))
        await conn.execute(stmt, params)

    async def set_feed_default(self, url: str, is_default: bool) -> bool:
        stmt = (
            update(feeds)
            .where(feeds.c.url == url)
            .values(is_default=is_default)
            .returning(feeds.c.id)
        )
        async with self._write() as conn:
            known = (await conn.execute(stmt)).first() is not None
            if known and is_default:
                await self._announce_feeds(conn)
        if known and is_default:
            _tell(self._feed_listeners)
        return known

    # ------------------------------------------------------------------ chat sources

    @staticmethod
    def _source_of(channel: ChannelRef) -> ColumnElement[bool]:
        return and_(
            chat_sources.c.platform == channel.platform,
            chat_sources.c.channel_id == channel.id,
        )

    def _in_chat_set(self, channel: ChannelRef) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """(is in the chat's set, was added by the chat) as conditions on a ``feeds`` row."""
        mine = select(chat_sources.c.id).where(
            self._source_of(channel), chat_sources.c.feed_id == feeds.c.id
        )
        added = mine.where(chat_sources.c.mode == _ADD).exists()
        off = mine.where(chat_sources.c.mode == _OFF).exists()
        return or_(added, and_(feeds.c.is_default.is_(True), ~off)), added

    async def chat_sources(self, channel: ChannelRef) -> list[ChatSource]:
        in_set, added = self._in_chat_set(channel)
        stmt = select(feeds, added.label("chat_added")).where(in_set).order_by(feeds.c.id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [ChatSource(feed=_feed(r), added=bool(r._mapping["chat_added"])) for r in rows]

    async def chat_source_urls(self, channel: ChannelRef) -> frozenset[str]:
        in_set, _ = self._in_chat_set(channel)
        async with self._read() as conn:
            urls = (await conn.execute(select(feeds.c.url).where(in_set))).scalars()
            return frozenset(urls)

    async def chat_source_sets(
        self, channels: Collection[ChannelRef]
    ) -> dict[ChannelRef, frozenset[str]]:
        # The default set once, then every listed chat's own choices: two queries per chunk
        # instead of one per chat. Same rule as _in_chat_set: added, or default and not off.
        wanted = set(channels)
        async with self._read() as conn:
            defaults = frozenset(
                (await conn.execute(select(feeds.c.url).where(feeds.c.is_default.is_(True))))
                .scalars()
                .all()
            )
            added: dict[ChannelRef, set[str]] = {}
            off: dict[ChannelRef, set[str]] = {}
            ids = sorted({c.id for c in wanted})
            for i in range(0, len(ids), 500):
                stmt = (
                    select(
                        chat_sources.c.platform,
                        chat_sources.c.channel_id,
                        chat_sources.c.mode,
                        feeds.c.url,
                    )
                    .join(feeds, feeds.c.id == chat_sources.c.feed_id)
                    .where(chat_sources.c.channel_id.in_(ids[i : i + 500]))
                )
                for platform, channel_id, mode, url in (await conn.execute(stmt)).all():
                    ref = ChannelRef(platform, channel_id)
                    if ref in wanted:
                        (added if mode == _ADD else off).setdefault(ref, set()).add(url)
        return {
            c: (defaults - off.get(c, set())) | added.get(c, set())
            if c in added or c in off
            else defaults
            for c in wanted
        }

    async def add_chat_source(
        self, channel: ChannelRef, url: str, *, by: str | None = None, max_added: int | None = None
    ) -> str:
        async with self._write() as conn:
            feed = (
                await conn.execute(select(feeds.c.id, feeds.c.is_default).where(feeds.c.url == url))
            ).first()
            if feed is None:
                raise KeyError(url)
            feed_id, is_default = feed
            row_is = and_(self._source_of(channel), chat_sources.c.feed_id == feed_id)
            mode = (
                await conn.execute(select(chat_sources.c.mode).where(row_is))
            ).scalar_one_or_none()
            if mode == _ADD or (mode is None and is_default):
                return "exists"
            if mode == _OFF:
                await conn.execute(delete(chat_sources).where(row_is))
                return "restored"
            if max_added is not None:
                count = (
                    await conn.execute(
                        select(func.count())
                        .select_from(chat_sources)
                        .where(self._source_of(channel), chat_sources.c.mode == _ADD)
                    )
                ).scalar_one()
                if count >= max_added:
                    return "full"
            await self._put_chat_source(conn, channel, feed_id, _ADD, by)
            await self._announce_feeds(conn)
        _tell(self._feed_listeners)
        return "added"

    async def _put_chat_source(
        self, conn: AsyncConnection, channel: ChannelRef, feed_id: int, mode: str, by: str | None
    ) -> None:
        """One chat's choice about one feed (added, or a default switched off); a row already
        there stays as it is."""
        await conn.execute(
            self._insert(chat_sources)
            .values(
                platform=channel.platform,
                channel_id=channel.id,
                feed_id=feed_id,
                mode=mode,
                added_by=by,
                created_at=_now(),
            )
            .on_conflict_do_nothing()
        )

    async def remove_chat_source(
        self, channel: ChannelRef, url: str, *, by: str | None = None
    ) -> str:
        async with self._write() as conn:
            feed = (
                await conn.execute(select(feeds.c.id, feeds.c.is_default).where(feeds.c.url == url))
            ).first()
            if feed is None:
                return "absent"
            feed_id, is_default = feed
            row_is = and_(self._source_of(channel), chat_sources.c.feed_id == feed_id)
            mode = (
                await conn.execute(select(chat_sources.c.mode).where(row_is))
            ).scalar_one_or_none()
            if mode == _ADD:
                await conn.execute(delete(chat_sources).where(row_is))
                return "removed"
            if mode is None and is_default:
                await self._put_chat_source(conn, channel, feed_id, _OFF, by)
                return "switched_off"
            return "absent"

    async def source_usage(self) -> dict[str, int]:
        stmt = (
            select(feeds.c.url, func.count(chat_sources.c.id))
            .select_from(feeds.join(chat_sources, chat_sources.c.feed_id == feeds.c.id))
            .where(chat_sources.c.mode == _ADD)
            .group_by(feeds.c.url)
        )
        async with self._read() as conn:
            return {url: int(n) for url, n in await conn.execute(stmt)}

    # ------------------------------------------------------------------ stories

    async def known_keys(self, feed_url: str, keys: Sequence[str]) -> dict[str, str]:
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        async with self._read() as conn:
            return await self._known(conn, feed_url, unique)

    async def known_keys_many(
        self, keys_by_feed: Mapping[str, Sequence[str]]
    ) -> dict[tuple[str, str], str]:
        """Map each already-stored (feed_url, key) among ``keys_by_feed`` to its content hash:
        ``known_keys`` for many feeds in one query (a poll asks for a batch of feeds at once).
        """
        pairs = list(dict.fromkeys((url, k) for url, keys in keys_by_feed.items() for k in keys))
        if not pairs:
            return {}
        async with self._read() as conn:
            return await self._known_pairs(conn, pairs)

    async def _known_pairs(
        self, conn: AsyncConnection, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        found: dict[tuple[str, str], str] = {}
        if self._pg:
            # Two array parameters unnested side by side: one statement shape whatever the
            # batch size, so asyncpg's prepared-statement cache hits, and no chunking.
            pg_stmt = text(
                "SELECT s.feed_url, s.key, s.content_hash FROM stories AS s"
                " JOIN unnest(CAST(:feeds AS text[]), CAST(:keys AS text[])) AS w(feed_url, key)"
                " ON s.feed_url = w.feed_url AND s.key = w.key"
            )
            params = {"feeds": [f for f, _ in pairs], "keys": [k for _, k in pairs]}
            found.update(((f, k), h) for f, k, h in await conn.execute(pg_stmt, params))
            return found
        # The wanted pairs as a VALUES table joined to stories: SQLite looks each one up in
        # the (feed_url, key) index. A row-value IN list, `(feed_url, key) IN (...)`, is
        # planned as a scan of the whole table instead (SQLite 3.40): ~35 ms per batch at
        # 60,000 stories, and linear in the table, against ~1 ms this way.
        for chunk in _chunks(pairs, _CHUNK // 2):
            sql = (
                "WITH w(feed_url, key) AS (VALUES "
                + ",".join(["(?,?)"] * len(chunk))
                + ") SELECT s.feed_url, s.key, s.content_hash FROM w"
                " JOIN stories AS s ON s.feed_url = w.feed_url AND s.key = w.key"
            )
            flat = tuple(v for pair in chunk for v in pair)
            result = await conn.exec_driver_sql(sql, flat)
            rows = cast(Sequence[tuple[str, str, str]], result.all())
            found.update(((f, k), h) for f, k, h in rows)
        return found

    async def _known(
        self, conn: AsyncConnection, feed_url: str, keys: Sequence[str]
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        cols = select(stories.c.key, stories.c.content_hash)
        if self._pg:
            # One array parameter: one statement shape, so asyncpg's prepared-statement cache
            # hits, and no chunking (an expanded IN is a new statement per list length).
            param = bindparam("keys", list(keys), type_=postgresql.ARRAY(Text))
            stmt = cols.where(stories.c.feed_url == feed_url, stories.c.key == any_(param))
            found.update((k, h) for k, h in await conn.execute(stmt))
            return found
        for chunk in _chunks(keys):
            stmt = cols.where(stories.c.feed_url == feed_url, stories.c.key.in_(chunk))
            found.update((k, h) for k, h in await conn.execute(stmt))
        return found

    def _story_row(self, story: Story, now: datetime) -> dict[str, Any]:
        fetched = story.fetched_at or now
        return {
            "feed_url": story.feed_url,
            "key": story.key,
            "url": story.url,
            "title": story.title,
            "text": story.text,
            "source": story.source,
            "lang": story.lang,
            "published": story.published,
            "fetched_at": fetched,
            "sort_at": story.published or fetched,
            "content_hash": story.content_hash,
            "relevance": story.relevance,
            "matched": list(story.matched),
            "bullets": list(story.bullets),
            "search_title": fold(story.title) if self._pg else None,
            "search_text": fold(story.text) if self._pg else None,
        }

    async def upsert_stories(
        self,
        stories_: Sequence[Story],
        *,
        known: Mapping[tuple[str, str], str] | None = None,
    ) -> list[Story]:
        """See Store.upsert_stories. ``known``: what ``known_keys_many`` answered for these
        stories' keys just before (ingest asks it anyway, to skip unchanged entries); then
        the keys are not read again here. A story another process stored meanwhile is left
        to it: the insert does nothing on a conflict either way."""
        if not stories_:
            return []
        now = _now()
        latest: dict[tuple[str, str], Story] = {}
        for s in stories_:
            latest.pop((s.feed_url, s.key), None)  # last duplicate wins, at its position
            latest[(s.feed_url, s.key)] = s

        async with self._write() as conn:
            if known is not None:
                existing = {ident: known[ident] for ident in latest if ident in known}
            else:
                existing = await self._known_pairs(conn, list(latest))
            fresh = [s for ident, s in latest.items() if ident not in existing]
            edited = [
                s
                for ident, s in latest.items()
                if ident in existing and existing[ident] != s.content_hash
            ]
            inserted: dict[tuple[str, str], tuple[int, datetime]] = {}
            if fresh:
                # DO NOTHING: a concurrent worker that inserted the same entry first owns
                # it as "new"; we must not announce it twice.
                stmt = (
                    self._insert(stories)
                    .on_conflict_do_nothing(index_elements=[stories.c.feed_url, stories.c.key])
                    .returning(
                        stories.c.id, stories.c.feed_url, stories.c.key, stories.c.fetched_at
                    )
                )
                # In slices, still one transaction: building and binding a few thousand rows
                # is one step of the event loop, which must stay short (no step > 100 ms).
                for part in _story_slices(fresh):
                    rows = await conn.execute(stmt, [self._story_row(s, now) for s in part])
                    for id_, feed_url, key, fetched in rows:
                        inserted[(feed_url, key)] = (id_, fetched)
                # Queued with the stories themselves: no crash window between "stored"
                # and "will be posted".
                announce = [
                    {"story_id": inserted[ident][0], "created_at": now}
                    for ident, s in latest.items()
                    if ident in inserted and s.announce
                ]
                if announce:
                    await conn.execute(self._insert(announcements), announce)
                    await self._announce_work(conn)
            if edited:
                edit = update(stories).where(
                    stories.c.feed_url == bindparam("b_feed"),
                    stories.c.key == bindparam("b_key"),
                )
                for part in _story_slices(edited):
                    await conn.execute(edit, [self._edit_params(s) for s in part])
        if any(s.announce for ident, s in latest.items() if ident in inserted):
            self._work_committed()
        return [
            replace(s, id=inserted[ident][0], fetched_at=inserted[ident][1])
            for ident, s in latest.items()
            if ident in inserted
        ]

    def _edit_params(self, s: Story) -> dict[str, Any]:
        params: dict[str, Any] = {
            "b_feed": s.feed_url,
            "b_key": s.key,
            "title": s.title,
            "text": s.text,
            "content_hash": s.content_hash,
            "relevance": s.relevance,
            "matched": list(s.matched),
            "bullets": list(s.bullets),
        }
        if self._pg:
            params["search_title"] = fold(s.title)
            params["search_text"] = fold(s.text)
        return params

    async def get_story(self, id: int) -> Story | None:
        async with self._read() as conn:
            row = (await conn.execute(select(stories).where(stories.c.id == id))).first()
        return None if row is None else _story(row)

    async def stories_between(
        self,
        start: datetime,
        end: datetime,
        *,
        lang: str | None = None,
        min_relevance: float | None = None,
        limit: int = 200,
        feeds: Collection[str] | None = None,
    ) -> list[Story]:
        conds: list[ColumnElement[bool]] = [stories.c.sort_at >= start, stories.c.sort_at < end]
        if feeds is not None:
            conds.append(self._from_feeds(feeds))
        if lang is not None:
            conds.append(stories.c.lang == lang)
        if min_relevance is not None:
            conds.append(stories.c.relevance >= min_relevance)
        stmt = (
            select(stories)
            .where(*conds)
            .order_by(stories.c.sort_at.desc(), stories.c.id.desc())
            .limit(limit)
        )
        return await self._stories(stmt)

    async def latest(
        self,
        n: int,
        *,
        relevant_only: bool = True,
        lang: str | None = None,
        min_relevance: float = 0.4,
        feeds: Collection[str] | None = None,
    ) -> list[Story]:
        stmt = select(stories).order_by(stories.c.sort_at.desc(), stories.c.id.desc()).limit(n)
        if feeds is not None:
            stmt = stmt.where(self._from_feeds(feeds))
        if relevant_only:
            stmt = stmt.where(stories.c.relevance >= min_relevance)
        if lang is not None:
            stmt = stmt.where(stories.c.lang == lang)
        return await self._stories(stmt)

    def _from_feeds(self, urls: Collection[str]) -> ColumnElement[bool]:
        """Stories of these feeds only (a chat's source set, a few dozen URLs)."""
        if self._pg:
            # One array parameter keeps one statement shape for asyncpg's statement cache.
            param = bindparam("feed_urls", sorted(urls), type_=postgresql.ARRAY(Text))
            return stories.c.feed_url == any_(param)
        return stories.c.feed_url.in_(sorted(urls))

    async def search(
        self,
        query: str,
        *,
        limit: int = 10,
        lang: str | None = None,
        feeds: Collection[str] | None = None,
    ) -> list[Story]:
        terms = search_terms(query)
        if not terms or limit <= 0:
            return []
        if self._pg:
            tsq = func.to_tsquery(
                literal_column("'simple'"), bindparam("tsq", _tsquery(terms), type_=Text)
            )
            vector: ColumnElement[Any] = literal_column(_PG_SEARCH_VECTOR)
            stmt = (
                select(stories)
                .where(vector.op("@@")(tsq))
                .order_by(func.ts_rank(vector, tsq).desc(), stories.c.sort_at.desc())
            )
        else:
            fts = table("stories_fts", column("rowid"))
            stmt = (
                select(stories)
                .select_from(stories.join(fts, fts.c.rowid == stories.c.id))
                .where(text("stories_fts MATCH :fts_q").bindparams(fts_q=_fts5_query(terms)))
                .order_by(text(_SQLITE_BM25), stories.c.sort_at.desc())
            )
        if lang is not None:
            stmt = stmt.where(stories.c.lang == lang)
        if feeds is not None:
            stmt = stmt.where(self._from_feeds(feeds))
        return await self._stories(stmt.limit(limit))

    async def _stories(self, stmt: Any) -> list[Story]:
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_story(r) for r in rows]

    # ------------------------------------------------------------------ subscriptions

    async def upsert_subscription(self, sub: Subscription) -> Subscription:
        values = {
            "platform": sub.channel.platform,
            "channel_id": sub.channel.id,
            "lang": sub.lang,
            "schedule": sub.schedule,
            "tz": sub.tz,
            "keywords": list(sub.keywords),
            "max_stories": sub.max_stories,
            "paused": sub.paused,
            "paused_reason": _cap(sub.paused_reason),
            "next_run_at": sub.next_run_at,
            "last_window_end": sub.last_window_end,
            "created_by": sub.created_by,
        }
        ins = self._insert(subscriptions).values({**values, "created_at": _now()})
        stmt = ins.on_conflict_do_update(
            index_elements=[subscriptions.c.platform, subscriptions.c.channel_id],
            set_={k: ins.excluded[k] for k in values if k not in ("platform", "channel_id")},
        ).returning(*subscriptions.c)
        async with self._write() as conn:
            row = (await conn.execute(stmt)).one()
        return _subscription(row)

    @staticmethod
    def _channel_is(channel: ChannelRef) -> ColumnElement[bool]:
        return and_(
            subscriptions.c.platform == channel.platform,
            subscriptions.c.channel_id == channel.id,
        )

    async def get_subscription(self, channel: ChannelRef) -> Subscription | None:
        async with self._read() as conn:
            stmt = select(subscriptions).where(self._channel_is(channel))
            row = (await conn.execute(stmt)).first()
        return None if row is None else _subscription(row)

    async def delete_subscription(self, channel: ChannelRef) -> bool:
        stmt = delete(subscriptions).where(self._channel_is(channel))
        async with self._write() as conn:
            result = await conn.execute(stmt.returning(subscriptions.c.id))
            return result.first() is not None

    async def list_subscriptions(self) -> list[Subscription]:
        async with self._read() as conn:
            rows = (await conn.execute(select(subscriptions).order_by(subscriptions.c.id))).all()
        return [_subscription(r) for r in rows]

    async def due_subscriptions(
        self, now: datetime, *, limit: int = 100, offset: int = 0
    ) -> list[Subscription]:
        stmt = (
            select(subscriptions)
            .where(
                subscriptions.c.paused.is_(False),
                func.lower(func.trim(subscriptions.c.schedule)) != ScheduleKind.INSTANT.value,
                subscriptions.c.next_run_at <= now,
            )
            .order_by(subscriptions.c.next_run_at, subscriptions.c.id)
            .limit(limit)
            .offset(offset)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_subscription(r) for r in rows]

    async def pause_subscription(self, id: int, reason: str) -> bool:
        stmt = (
            update(subscriptions)
            .where(subscriptions.c.id == id)
            .values(paused=True, paused_reason=_cap(reason))
            .returning(subscriptions.c.id)
        )
        async with self._write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def move_channel(self, old: ChannelRef, new: ChannelRef) -> bool:
        if old == new:
            return False
        queued = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
        pick = select(subscriptions.c.id).where(self._channel_is(old))
        taken = select(subscriptions.c.id).where(self._channel_is(new))
        if self._pg:
            # Two senders meeting the same migration: the second waits, then finds nothing.
            pick = pick.with_for_update()
        async with self._write() as conn:
            await self._move_sources(conn, old, new)
            old_id = (await conn.execute(pick)).scalar_one_or_none()
            if old_id is None:
                return False
            if (await conn.execute(taken)).first() is not None:
                await conn.execute(delete(subscriptions).where(subscriptions.c.id == old_id))
                return False
            await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.id == old_id)
                .values(platform=new.platform, channel_id=new.id)
            )
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.subscription_id == old_id, deliveries.c.state.in_(queued))
                .values(platform=new.platform, channel_id=new.id)
            )
        return True

    async def _move_sources(self, conn: AsyncConnection, old: ChannelRef, new: ChannelRef) -> None:
        # The chat's source choices follow it; where the new chat already chose for a feed,
        # its own (newer) choice wins.
        taken = select(chat_sources.c.feed_id).where(self._source_of(new))
        await conn.execute(
            update(chat_sources)
            .where(self._source_of(old), chat_sources.c.feed_id.not_in(taken))
            .values(platform=new.platform, channel_id=new.id)
        )
        await conn.execute(delete(chat_sources).where(self._source_of(old)))

    # ------------------------------------------------------------------ outbox

    async def enqueue_delivery(
        self, delivery: Delivery, *, advance: Subscription | None = None
    ) -> Delivery | None:
        values = {
            "subscription_id": delivery.subscription_id,
            "platform": delivery.channel.platform,
            "channel_id": delivery.channel.id,
            "key": delivery.key,
            "payload": delivery.payload,
            "state": DeliveryState(delivery.state).value,
            "attempts": delivery.attempts,
            "not_before": delivery.not_before,
            "sent_parts": list(delivery.sent_parts),
            "last_error": _cap(delivery.last_error),
            "created_at": delivery.created_at or _now(),
        }
        stmt = (
            self._insert(deliveries)
            .values(values)
            .on_conflict_do_nothing(index_elements=[deliveries.c.key])
            .returning(*deliveries.c)
        )
        async with self._write() as conn:
            row = (await conn.execute(stmt)).first()
            if row is not None:
                await self._announce_work(conn)
            if advance is not None:
                if advance.id is None:
                    raise ValueError("advance needs a stored subscription (id is None)")
                await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id == advance.id)
                    .values(
                        next_run_at=advance.next_run_at,
                        last_window_end=advance.last_window_end,
                    )
                )
        if row is None:
            return None
        self._work_committed()
        return _delivery(row)

    async def claim_announcements(
        self, now: datetime, *, limit: int = 200, lease_s: float = 20
    ) -> list[Story]:
        if limit <= 0:
            return []
        ready = or_(announcements.c.lease_until.is_(None), announcements.c.lease_until <= now)
        pick = (
            select(announcements.c.story_id)
            .where(ready)
            .order_by(announcements.c.story_id)
            .limit(limit)
        )
        if self._pg:
            pick = pick.with_for_update(skip_locked=True)
        async with self._write() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            await conn.execute(
                update(announcements)
                .where(announcements.c.story_id.in_(ids))
                .values(lease_until=now + timedelta(seconds=lease_s))
            )
            rows = (
                await conn.execute(
                    select(stories).where(stories.c.id.in_(ids)).order_by(stories.c.id)
                )
            ).all()
        return [_story(r) for r in rows]

    async def finish_announcements(
        self, story_ids: Collection[int], queued: Sequence[Delivery]
    ) -> int:
        if not story_ids and not queued:
            return 0
        added = 0
        async with self._write() as conn:
            sub_ids = list({d.subscription_id for d in queued})
            live: set[int] = set()
            for chunk in _chunks(sub_ids):
                live.update(
                    (
                        await conn.execute(
                            select(subscriptions.c.id).where(subscriptions.c.id.in_(chunk))
                        )
                    ).scalars()
                )
            # A subscription deleted since the claim gets nothing (and breaks no foreign key).
            rows = [self._delivery_values(d) for d in queued if d.subscription_id in live]
            if rows:
                stmt = (
                    self._insert(deliveries)
                    .on_conflict_do_nothing(index_elements=[deliveries.c.key])
                    .returning(deliveries.c.id)
                )
                added = len((await conn.execute(stmt, rows)).all())
            for chunk in _chunks(list(story_ids)):
                await conn.execute(delete(announcements).where(announcements.c.story_id.in_(chunk)))
            if added:
                await self._announce_work(conn)
        if added:
            self._work_committed()
        return added

    def _delivery_values(self, delivery: Delivery) -> dict[str, Any]:
        return {
            "subscription_id": delivery.subscription_id,
            "platform": delivery.channel.platform,
            "channel_id": delivery.channel.id,
            "key": delivery.key,
            "payload": delivery.payload,
            "state": DeliveryState(delivery.state).value,
            "attempts": delivery.attempts,
            "not_before": delivery.not_before,
            "sent_parts": list(delivery.sent_parts),
            "last_error": _cap(delivery.last_error),
            "created_at": delivery.created_at or _now(),
        }

    async def extend_delivery_lease(self, id: int, until: datetime) -> bool:
        stmt = (
            update(deliveries)
            .where(deliveries.c.id == id, deliveries.c.state == DeliveryState.SENDING.value)
            .values(lease_until=until)
            .returning(deliveries.c.id)
        )
        async with self._write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def extend_feed_leases(
        self, urls: Collection[str], held: datetime, until: datetime
    ) -> None:
        moved: list[tuple[int, str]] = []
        async with self._write() as conn:
            for chunk in _chunks(list(urls)):
                result = await conn.execute(
                    update(feeds)
                    .where(feeds.c.url.in_(chunk), feeds.c.next_check_at == held)
                    .values(next_check_at=until)
                    .returning(feeds.c.id, feeds.c.url)
                )
                moved.extend((int(r.id), str(r.url)) for r in result)
        # The renewed lease is the claim's token now: a graceful stop hands back by it.
        for id_, url in moved:
            if url in self.held.urls:
                self.held.took_feed(id_, url, until)

    async def enqueue_deliveries(
        self,
        batch: Sequence[tuple[Delivery, Subscription]],
        *,
        advance_only: Sequence[Subscription] = (),
    ) -> int:
        if not batch and not advance_only:
            return 0
        now = _now()
        # A payload that several rows carry (one compose, many chats) is stored once.
        counts = Counter(d.payload for d, _ in batch)
        shared = {
            body: hashlib.sha256(body.encode("utf-8")).hexdigest()
            for body, n in counts.items()
            if n > 1
        }
        rows = [
            {
                "subscription_id": d.subscription_id,
                "platform": d.channel.platform,
                "channel_id": d.channel.id,
                "key": d.key,
                "payload": _PAYLOAD_REF + shared[d.payload] if d.payload in shared else d.payload,
                "state": DeliveryState(d.state).value,
                "attempts": d.attempts,
                "not_before": d.not_before,
                "sent_parts": list(d.sent_parts),
                "last_error": _cap(d.last_error),
                "created_at": d.created_at or now,
            }
            for d, _ in batch
        ]
        advances = []
        for sub in [s for _, s in batch] + list(advance_only):
            if sub.id is None:
                raise ValueError("advance needs a stored subscription (id is None)")
            advances.append({"sid": sub.id, "nra": sub.next_run_at, "lwe": sub.last_window_end})
        insert = (
            self._insert(deliveries)
            .on_conflict_do_nothing(index_elements=[deliveries.c.key])
            .returning(deliveries.c.id)
        )
        advance = (
            update(subscriptions)
            .where(subscriptions.c.id == bindparam("sid"))
            .values(next_run_at=bindparam("nra"), last_window_end=bindparam("lwe"))
        )
        async with self._write() as conn:
            if shared:
                # On a body already stored, refresh its date: the row lock this takes keeps
                # retention (_prune_payloads) from deleting it before this reference commits.
                ins = self._insert(digest_payloads)
                await conn.execute(
                    ins.on_conflict_do_update(
                        index_elements=[digest_payloads.c.hash],
                        set_={"created_at": ins.excluded.created_at},
                    ),
                    [{"hash": h, "body": b, "created_at": now} for b, h in shared.items()],
                )
            queued = len((await conn.execute(insert, rows)).all()) if rows else 0
            await conn.execute(advance, advances)
            if queued:
                await self._announce_work(conn)
        if queued:
            self._work_committed()
        return queued

    async def claim_deliveries(
        self, now: datetime, *, limit: int = 20, lease_s: float = 120
    ) -> list[Delivery]:
        if limit <= 0:
            return []
        ready = or_(
            and_(
                deliveries.c.state == DeliveryState.PENDING.value,
                or_(deliveries.c.not_before.is_(None), deliveries.c.not_before <= now),
            ),
            and_(
                deliveries.c.state == DeliveryState.SENDING.value,
                deliveries.c.lease_until <= now,
            ),
        )
        active = deliveries.c.subscription_id.in_(
            select(subscriptions.c.id).where(subscriptions.c.paused.is_(False))
        )
        pick = select(deliveries.c.id).where(ready, active).order_by(deliveries.c.id).limit(limit)
        if self._pg:
            pick = pick.with_for_update(skip_locked=True, of=deliveries)
        async with self._write() as conn:
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            claim = (
                update(deliveries)
                .where(deliveries.c.id.in_(ids), ready)
                .values(
                    state=DeliveryState.SENDING.value,
                    lease_until=now + timedelta(seconds=lease_s),
                    attempts=deliveries.c.attempts + 1,
                )
                .returning(*deliveries.c)
            )
            rows = (await conn.execute(claim)).all()
            claimed = await _with_payloads(conn, rows)
        claimed = sorted(claimed, key=lambda d: d.id or 0)
        for d in claimed:
            if d.id is not None:
                self.held.took_delivery(d.id, d.attempts)
        return claimed

    async def record_part_sent(
        self, delivery_id: int, message_id: str, *, lease_until: datetime | None = None
    ) -> None:
        # Appending inside the UPDATE (not read-modify-write in Python) is what makes this
        # safe when a slow sender and a re-claimer record parts at the same time.
        appended: Any
        if self._pg:
            appended = deliveries.c.sent_parts.op("||", return_type=JSONB)(
                func.jsonb_build_array(bindparam("mid", message_id, type_=Text))
            )
        else:
            appended = func.json_insert(
                deliveries.c.sent_parts, "$[#]", bindparam("mid", message_id, type_=Text)
            )
        values: dict[str, Any] = {"sent_parts": appended}
        if lease_until is not None:
            values["lease_until"] = lease_until
        stmt = update(deliveries).where(deliveries.c.id == delivery_id).values(values)
        async with self._write() as conn:
            await conn.execute(stmt)

    async def mark_sent(self, id: int) -> None:
        stmt = (
            update(deliveries)
            .where(deliveries.c.id == id)
            .values(state=DeliveryState.SENT.value, lease_until=None, sent_at=_now())
        )
        async with self._write() as conn:
            await conn.execute(stmt)
        self.held.settled_delivery(id)

    async def retry_delivery(self, id: int, *, not_before: datetime, error: str) -> None:
        stmt = (
            update(deliveries)
            .where(deliveries.c.id == id)
            .values(
                state=DeliveryState.PENDING.value,
                not_before=not_before,
                lease_until=None,
                last_error=_cap(error),
            )
        )
        async with self._write() as conn:
            await conn.execute(stmt)
        self.held.settled_delivery(id)

    async def fail_delivery(self, id: int, error: str) -> None:
        stmt = (
            update(deliveries)
            .where(deliveries.c.id == id)
            .values(state=DeliveryState.FAILED.value, lease_until=None, last_error=_cap(error))
            .returning(deliveries.c.subscription_id)
        )
        async with self._write() as conn:
            sub_id = (await conn.execute(stmt)).scalar_one_or_none()
            if sub_id is not None:
                await conn.execute(
                    update(subscriptions)
                    .where(subscriptions.c.id == sub_id)
                    .values(paused=True, paused_reason=_cap(error))
                )
        self.held.settled_delivery(id)

    async def list_deliveries(self, state: DeliveryState | None = None) -> list[Delivery]:
        stmt = select(deliveries).order_by(deliveries.c.id)
        if state is not None:
            stmt = stmt.where(deliveries.c.state == DeliveryState(state).value)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
            return await _with_payloads(conn, rows)

    # ------------------------------------------------------------------ stopping, retention

    async def release_held(self, now: datetime | None = None) -> tuple[int, int]:
        """Hand back every claim this process still holds (after a graceful stop's grace):
        its feeds become due at ``now``, its deliveries pending again without counting the cut
        attempt. A row another copy claimed since (its lease token changed) is left alone.
        Returns (feeds, deliveries) released."""
        now = now or _now()
        held_feeds = dict(self.held.feeds)
        held_deliveries = dict(self.held.deliveries)
        released_feeds = released_deliveries = 0
        async with self._write() as conn:
            for id_, lease in held_feeds.items():
                result = await conn.execute(
                    update(feeds)
                    .where(feeds.c.id == id_, feeds.c.next_check_at == lease)
                    .values(next_check_at=now)
                    .returning(feeds.c.id)
                )
                released_feeds += result.first() is not None
            for id_, attempts in held_deliveries.items():
                result = await conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.id == id_,
                        deliveries.c.state == DeliveryState.SENDING.value,
                        deliveries.c.attempts == attempts,
                    )
                    .values(
                        state=DeliveryState.PENDING.value,
                        lease_until=None,
                        not_before=None,
                        attempts=deliveries.c.attempts - 1,
                    )
                    .returning(deliveries.c.id)
                )
                released_deliveries += result.first() is not None
        self.held = Held()
        return released_feeds, released_deliveries

    async def prune(
        self,
        *,
        stories_before: datetime | None,
        deliveries_before: datetime | None,
        batch: int = 1000,
        keep_per_feed: int = KEEP_PER_FEED,
    ) -> tuple[int, int]:
        """Delete stories whose date (published, else fetched) and fetch time are both before
        ``stories_before``, except each feed's ``keep_per_feed`` newest, and sent or failed
        deliveries created before ``deliveries_before`` (queued ones are never pruned),
        ``batch`` rows per transaction so no prune holds locks for long. None skips a kind.
        Returns (stories, deliveries) deleted."""
        pruned_stories = pruned_deliveries = 0
        if stories_before is not None:
            # A feed that still lists an old item must keep knowing it, or the next change of
            # that feed would bring the item back as a new story (and an instant post). Feeds
            # list their newest items, so each feed's newest stories are kept whatever their age.
            rank = (
                func.row_number()
                .over(
                    partition_by=stories.c.feed_url,
                    order_by=(stories.c.sort_at.desc(), stories.c.id.desc()),
                )
                .label("rank")
            )
            ranked = select(stories.c.id, rank).subquery()
            beyond = select(ranked.c.id).where(ranked.c.rank > keep_per_feed)
            old = and_(
                stories.c.sort_at < stories_before,
                stories.c.fetched_at < stories_before,
                stories.c.id.in_(beyond),
            )
            pruned_stories = await self._prune(stories, old, batch)
        if deliveries_before is not None:
            finished = (DeliveryState.SENT.value, DeliveryState.FAILED.value)
            old = and_(
                deliveries.c.state.in_(finished), deliveries.c.created_at < deliveries_before
            )
            pruned_deliveries = await self._prune(deliveries, old, batch)
            await self._prune_payloads(deliveries_before, batch)
        return pruned_stories, pruned_deliveries

    async def _prune_payloads(self, before: datetime, batch: int) -> int:
        """Shared digest bodies no delivery refers to any more. A compose that reuses a body
        refreshes its ``created_at`` in the transaction that adds the reference (see
        enqueue_deliveries), so a body is never deleted under a delivery being queued."""
        referenced = select(func.substr(deliveries.c.payload, len(_PAYLOAD_REF) + 1)).where(
            deliveries.c.payload.startswith(_PAYLOAD_REF)
        )
        unused = and_(
            digest_payloads.c.created_at < before, digest_payloads.c.hash.not_in(referenced)
        )
        total = await self._prune(digest_payloads, unused, batch, key=digest_payloads.c.hash)
        if total:
            log.info("retention: pruned %d shared digest bodies", total)
        return total

    async def _prune(
        self, tbl: Any, old: ColumnElement[bool], batch: int, *, key: Any = None
    ) -> int:
        """Delete ``tbl``'s ``old`` rows, ``batch`` per transaction, picked by ``key`` (the id)."""
        key = tbl.c.id if key is None else key
        total = 0
        while True:
            pick = select(key).where(old).order_by(key).limit(batch)
            async with self._write() as conn:
                result = await conn.execute(delete(tbl).where(key.in_(pick)))
            deleted = int(result.rowcount or 0)
            total += deleted
            if deleted < batch:
                return total

    # ------------------------------------------------------------------ meta

    async def widening_keywords(self) -> list[str]:
        """The distinct bare terms of every active subscription's ``+keywords``: a story that
        mentions one may reach that chat although it is off the topic (ingest summarizes it)."""
        from bot.topic import parse_keywords

        stmt = select(subscriptions.c.keywords).where(subscriptions.c.paused.is_(False))
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).scalars().all()
        terms: dict[str, None] = {}
        for keywords in rows:
            terms.update(dict.fromkeys(parse_keywords(keywords or ())[0]))
        return list(terms)

    async def save_bullets(self, bullets: Mapping[int, Sequence[str]]) -> None:
        """Cache quick facts computed on demand for stories stored without them (ingest
        summarizes only stories that can reach a chat), keyed by story id, in one batch.
        A story that has bullets meanwhile keeps its own."""
        if not bullets:
            return
        length = func.jsonb_array_length if self._pg else func.json_array_length
        stmt = (
            update(stories)
            .where(stories.c.id == bindparam("b_id"), length(stories.c.bullets) == 0)
            .values(bullets=bindparam("b_bullets"))
        )
        params = [{"b_id": id_, "b_bullets": list(b)} for id_, b in bullets.items() if b]
        if params:
            async with self._write() as conn:
                await conn.execute(stmt, params)

    async def get_meta(self, key: str) -> str | None:
        async with self._read() as conn:
            stmt = select(meta.c.value).where(meta.c.key == key)
            value: str | None = (await conn.execute(stmt)).scalar_one_or_none()
        return value

    async def set_meta(self, key: str, value: str) -> None:
        ins = self._insert(meta).values(key=key, value=value)
        stmt = ins.on_conflict_do_update(
            index_elements=[meta.c.key], set_={"value": ins.excluded.value}
        )
        async with self._write() as conn:
            await conn.execute(stmt)


@contextlib.contextmanager
def _mapped_errors() -> Iterator[None]:
    """Map SQLAlchemy/driver/network errors to StoreError at the boundary.

    A naive datetime is the caller's bug, not a database problem: SQLAlchemy wraps the
    ValueError from the type's bind processing, and it is unwrapped back to ValueError here.
    """
    try:
        yield
    except StatementError as e:
        if isinstance(e.orig, ValueError) and not isinstance(e.orig, SQLAlchemyError):
            raise ValueError(str(e.orig)) from e
        raise StoreError(f"database error: {e}") from e
    except (SQLAlchemyError, OSError) as e:
        raise StoreError(f"database error: {e}") from e
