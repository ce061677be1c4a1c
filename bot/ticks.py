"""A few periodic ticks on APScheduler 3.x; the due work itself is read from the store.

There is deliberately no job per feed or per subscription: feed rows carry ``next_check_at`` and
subscription rows ``next_run_at``, and each tick claims what is due. That keeps the schedule in
the database (shared by every worker process, surviving restarts) and APScheduler's job table
tiny. Every tick runs with ``max_instances=1`` and ``coalesce=True``: a slow poll never overlaps
itself, and missed ticks collapse into one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

RETENTION_FIRST_AFTER_S = 60.0

Work = Callable[[datetime], Awaitable[object]]
"""A tick's work: called with the clock's current time; its result is logged at debug level."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Tick:
    name: str
    work: Work
    every_s: float
    first_after_s: float = 0.0  # the first run, counted from start()


class Scheduler:
    """Runs the poll, compose and send ticks on the running event loop.

    The work callables are injected so ``warta run`` wires the real pipeline, e.g.::

        Scheduler(
            poll=lambda now: poll_due(store, fetcher, ...),
            compose=lambda now: compose_due(store, now),
            send=lambda now: sender.drain_once(),
        )

    ``start()`` needs a running loop; ``await shutdown()`` stops the ticks and waits (up to
    ``grace_s``) for running work to finish, then cancels it.
    """

    def __init__(
        self,
        *,
        poll: Work | None = None,
        compose: Work | None = None,
        send: Work | None = None,
        retention: Work | None = None,
        poll_every_s: float = 30.0,
        compose_every_s: float = 30.0,
        send_every_s: float = 2.0,
        retention_every_s: float = 3600.0,
        retention_first_after_s: float = RETENTION_FIRST_AFTER_S,
        clock: Callable[[], datetime] = _utcnow,
        # Ctrl-C must stop `warta run` within 2 s; work cut short is redone on the next start.
        grace_s: float = 1.5,
    ) -> None:
        self.ticks = [
            Tick(name, work, every, first)
            for name, work, every, first in (
                ("poll", poll, poll_every_s, 0.0),
                ("compose", compose, compose_every_s, 0.0),
                ("send", send, send_every_s, 0.0),
                # Housekeeping waits until start-up (migrations, adapters, first poll) is over.
                ("retention", retention, retention_every_s, retention_first_after_s),
            )
            if work is not None
        ]
        self.clock = clock
        self.grace_s = grace_s
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[object]] = set()
        self.runs: dict[str, int] = {tick.name: 0 for tick in self.ticks}
        self.failures: dict[str, int] = {tick.name: 0 for tick in self.ticks}

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        """Begin ticking; each tick first runs right away. Idempotent."""
        if self._scheduler is not None:
            return
        scheduler = AsyncIOScheduler(timezone=UTC)
        for tick in self.ticks:
            scheduler.add_job(
                self._run,
                trigger=IntervalTrigger(seconds=tick.every_s, timezone=UTC),
                args=(tick,),
                id=tick.name,
                name=tick.name,
                max_instances=1,
                coalesce=True,
                # A tick is due work, never a backlog: a late one just runs at the next chance.
                misfire_grace_time=None,
                # APScheduler times ticks by the wall clock; the injected clock only dates the
                # work. A first run dated by a clock far from now would make APScheduler step
                # through every missed interval before the first tick (millions at 50 ms).
                next_run_time=_utcnow() + timedelta(seconds=tick.first_after_s),
            )
        scheduler.start()
        self._scheduler = scheduler

    async def run_once(self, name: str) -> object:
        """Run one tick's work now, outside the schedule (tests, ``warta`` one-shot commands)."""
        for tick in self.ticks:
            if tick.name == name:
                return await tick.work(self.clock())
        raise KeyError(name)

    async def _run(self, tick: Tick) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            result = await tick.work(self.clock())
            self.runs[tick.name] += 1
            log.debug("tick %s: %r", tick.name, result)
        except asyncio.CancelledError:
            if self._scheduler is None:
                # Cut short by shutdown: expected, and every tick's work is transactional, so
                # the next run picks it up again. Not an error, not a traceback.
                log.info("tick %s: stopped while running", tick.name)
                return
            raise
        except Exception:
            # A failing tick must not stop the next one; the work itself maps its errors.
            self.failures[tick.name] += 1
            log.exception("tick %s failed", tick.name)
        finally:
            if task is not None:
                self._running.discard(task)

    async def shutdown(self) -> None:
        """Stop ticking and let running work finish (cancelled after ``grace_s``). Idempotent."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        # APScheduler's asyncio executor cancels running jobs when it shuts down and logs each
        # CancelledError as a failed job with a traceback. So: pause (no new tick starts), give
        # the running ones grace_s, cut the late ones short quietly (see _run), and only then
        # shut the scheduler down.
        scheduler.pause()
        pending = set(self._running)
        if pending:
            _, late = await asyncio.wait(pending, timeout=self.grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        scheduler.shutdown(wait=False)
        # AsyncIOScheduler.shutdown is scheduled on the loop; let it run.
        await asyncio.sleep(0)
