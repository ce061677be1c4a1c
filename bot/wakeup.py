"""Waking senders as soon as work is stored, instead of on their next tick.

Two sources of the same hint, "a delivery or an announcement was committed":

* in this process, the store's ``on_work`` listener (SQLite, or PostgreSQL in one process);
* from any other process, PostgreSQL ``NOTIFY`` on the store's work channel, received on a
  dedicated asyncpg connection (``add_listener``). A dropped connection is reopened with
  backoff; while it is down the sender's slow fallback tick still finds the work.

A wake-up is only a hint: the sender always reads the store, so a lost or duplicated hint
costs latency or one empty claim, never a post.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Names the LISTEN connection in pg_stat_activity (operators, and tests that cut it).
APPLICATION_NAME = "warta-listen"


class Signal(Protocol):
    """What a NOTIFY sets: a :class:`Wakeup`, or anything with ``set()`` (a pacer's poke)."""

    def set(self) -> None: ...


class Poke:
    """A :class:`Signal` that calls ``fn``."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self._fn = fn

    def set(self) -> None:
        self._fn()


class Wakeup:
    """A level-triggered signal: ``set()`` from anywhere on the loop, ``wait()`` consumes it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, at_most_s: float) -> bool:
        """Wait until set or ``at_most_s`` seconds passed; True when woken. Clears the signal."""
        try:
            await asyncio.wait_for(self._event.wait(), at_most_s)
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True


def asyncpg_dsn(sqlalchemy_url: str) -> str | None:
    """The plain ``postgresql://`` DSN asyncpg takes, or None for a non-PostgreSQL URL."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """LISTEN on ``channel`` over its own connection and ``set()`` the wakeup on each NOTIFY.

    ``start()`` returns at once; the connection is (re)opened in the background. A loss of the
    connection (server restart, network) is noticed through asyncpg's termination listener
    and a periodic liveness check, then reconnected with capped backoff.
    """

    def __init__(
        self,
        dsn: str,
        channel: str,
        wakeup: Signal,
        *,
        check_every_s: float = 10.0,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._wakeup = wakeup
        self._check_every_s = check_every_s
        self._max_backoff_s = max_backoff_s
        self._task: asyncio.Task[None] | None = None
        self.connects = 0  # how many times a LISTEN connection was opened (tests, logs)
        self.listening = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"listen:{self._channel}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        import asyncpg  # type: ignore[import-untyped]  # ships no type information

        backoff = 0.5
        while True:
            lost = asyncio.Event()
            conn: Any = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
                )
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(self._channel, self._on_notify)
                self.connects += 1
                self.listening.set()
                # Work may have been stored while no connection listened.
                self._wakeup.set()
                backoff = 0.5
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self._check_every_s)
                    if not lost.is_set():
                        await conn.execute("SELECT 1")  # raises when the link is dead
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("LISTEN %s: connection lost (%s); reconnecting", self._channel, e)
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(backoff)
            backoff = min(self._max_backoff_s, backoff * 2)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        self._wakeup.set()
