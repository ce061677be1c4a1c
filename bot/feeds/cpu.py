"""Where a poll's CPU work runs: inline on the event loop, or in a process pool beside it.

Parsing, HTML->text and analysis of a large feed take seconds of pure Python; on the loop that
is one step during which no command is answered and no message sent. :class:`ProcessWork` runs
them in worker processes (threads would not help: this work holds the GIL) and bounds how many
jobs are in flight, so a poll that fetches faster than it can parse waits for a free slot while
still holding its fetch slot: the fetch side cannot outrun the parse side, and at most
``fetch_concurrency`` bodies are held in memory.

:class:`InlineWork` runs the same functions on the loop. Ingest uses it for small bodies, where
a worker round trip (pickling, a context switch on a 2-core box) costs more than the work and
the step stays far below 100 ms; see ``inline_max_bytes`` in :mod:`bot.feeds.ingest`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from bot.topic import TopicScorer

T = TypeVar("T")


class CpuWork(Protocol):
    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """``fn(*args)``; ``fn`` and ``args`` must be picklable for a process pool."""
        ...

    async def aclose(self) -> None: ...


class InlineWork:
    """Runs the work on the loop (tests, small inputs, ``cpu_workers = -1``)."""

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return fn(*args)

    async def aclose(self) -> None:
        return None


def default_workers() -> int:
    """One worker per core this process may use; the loop itself mostly waits on I/O."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class ProcessWork:
    """A process pool, started on first use, with at most ``max_in_flight`` jobs submitted.

    Each worker imports the parsing and analysis modules once and receives the topic scorer
    once, through the initializer.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        scorer: TopicScorer | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self.workers = workers or default_workers()
        # Two jobs per worker: one running, one pickled and waiting, so a worker never idles
        # between jobs; more would only hold bodies in memory.
        self.max_in_flight = max_in_flight or 2 * self.workers
        self._scorer = scorer
        self._slots = asyncio.Semaphore(self.max_in_flight)
        self._pool: ProcessPoolExecutor | None = None
        self._starting = asyncio.Lock()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.jobs = 0

    async def _ready(self) -> ProcessPoolExecutor:
        """The pool, its workers started. Starting them blocks (each worker is spawned and
        runs its initializer): that happens in a thread, once, so it is never a loop step."""
        if self._pool is not None:
            return self._pool
        async with self._starting:
            if self._pool is None:
                self._pool = await asyncio.to_thread(self._start)
        return self._pool

    def _start(self) -> ProcessPoolExecutor:
        from bot.feeds import worker

        # Spawned, not forked: a fork would copy the loop, the database connections and the
        # adapters' sockets. Not from a fork server either: its workers would be its children,
        # not ours, and their CPU and memory would vanish from this process's accounting
        # (rusage, `time`, a container's view of its main process).
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=worker.start_worker,
            initargs=(pickle.dumps(self._scorer),),
        )
        # Without fork, Python spawns workers on demand: a submit that finds no idle
        # worker spawns one in the submitting thread, which on the loop is a step of 100-450 ms
        # (fork + exec, measured with bench/loop_lag_bench.py). So every worker is spawned
        # here: one submit per worker, back to back, each finding none idle (a worker needs a
        # second to import and run its initializer before it can take a job).
        for job in [pool.submit(int) for _ in range(self.workers)]:
            job.result()
        return pool

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        async with self._slots:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.jobs += 1
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(await self._ready(), fn, *args)
            except BrokenProcessPool:
                # A worker died (OOM killer, a crash in a C extension): this job fails, the
                # next one starts a fresh pool.
                self._pool = None
                raise
            finally:
                self.in_flight -= 1

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            # Joining the workers blocks: do it off the loop.
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def make_cpu_work(workers: int, scorer: TopicScorer | None) -> CpuWork:
    """The ``cpu_workers`` setting: 0 = one worker per core, -1 = inline (no pool)."""
    if workers < 0:
        return InlineWork()
    return ProcessWork(workers or None, scorer=scorer)
