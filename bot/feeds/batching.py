"""Coalescing concurrent store calls of a poll into one round trip.

Feeds are polled concurrently, each at its own pace; asking the store about each feed's entry
keys and writing each feed's stories separately cost two round trips (and on SQLite two turns
of its single writer) per feed. A Coalescer gathers the requests that arrive while its previous
call is in flight (and all those made in one loop step) and serves them with one call: under
load the batches grow by themselves, and an idle poll waits for no timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Coalescer"]

Req = TypeVar("Req")
Res = TypeVar("Res")


class Coalescer(Generic[Req, Res]):
    """``await submit(req)`` answers ``req`` through ``run(batch)``, which must return one
    result per request, in order. An exception from ``run`` is raised to every request of that
    batch (only to them: the next batch runs anyway)."""

    def __init__(self, run: Callable[[list[Req]], Awaitable[Sequence[Res]]]) -> None:
        self._run = run
        self._pending: list[tuple[Req, asyncio.Future[Res]]] = []
        self._task: asyncio.Task[None] | None = None
        self.calls = 0  # how many times run was called (benchmarks print it)

    async def submit(self, req: Req) -> Res:
        fut: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._pending.append((req, fut))
        if self._task is None:
            self._task = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        live: list[tuple[Req, asyncio.Future[Res]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                live = [(r, f) for r, f in batch if not f.cancelled()]
                if not live:
                    continue
                self.calls += 1
                try:
                    results = await self._run([r for r, _ in live])
                except Exception as e:
                    for _, f in live:
                        if not f.done():
                            f.set_exception(e)
                    continue
                for (_, f), res in zip(live, results, strict=True):
                    if not f.done():
                        f.set_result(res)
        finally:
            # Cancelled (or a bug in run's result): nobody may wait forever.
            for _, f in live + self._pending:
                if not f.done():
                    f.cancel()
            self._pending = []
            self._task = None
