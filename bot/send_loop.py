"""The sender's loop: do the outbox work, then sleep until woken or a slow fallback tick.

Work is read from the store every time, so the loop needs no queue of its own: a wake-up
(:mod:`bot.wakeup`: this process stored work, or another one did and PostgreSQL notified)
only ends the sleep early. The fallback tick finds what no hint announced: a lease that ran
out in a killed process, a retry whose ``not_before`` came, a notification lost with a dropped
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.wakeup import Wakeup

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[int]]
"""One round of outbox work; returns how much it did (0: nothing to do right now)."""


class SendLoop:
    def __init__(self, step: Step, wakeup: Wakeup, *, fallback_s: float = 5.0) -> None:
        self._step = step
        self._wakeup = wakeup
        self._fallback_s = fallback_s
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="send-loop")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                did = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The step's own parts record per-delivery failures; this is a store outage
                # or a bug: log, wait a tick, try again.
                log.exception("send loop step failed")
                did = 0
            self.rounds += 1
            if did == 0:
                await self._wakeup.wait(self._fallback_s)
