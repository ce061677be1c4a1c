"""A Warta worker process that ``tests/test_crash.py`` starts and SIGKILLs.

It is the production wiring of ``warta run`` without the APScheduler ticks: the real store
(``App.open`` on the test's SQLite file), the real Telegram adapter started against the test's
Bot API peer, the real command core, ``compose_due`` and the real :class:`Sender`. Only the
clock is injected (``WARTA_CRASH_AT``), so a test decides when a subscription is due and when a
lease has expired. There are no crash hooks: the test times its kill by watching the database
and by making the Telegram peer hold a request.

Environment:

* ``WARTA_CRASH_DB``        SQLAlchemy URL of the database
* ``WARTA_CRASH_BASE_URL``  Bot API root (the test's fix-up proxy)
* ``WARTA_CRASH_TOKEN``     bot token the proxy accepts
* ``WARTA_CRASH_AT``        comma-separated ISO times; at each: compose due digests, drain once
* ``WARTA_CRASH_MODE``      ``run`` (default) or ``compose``: compose, then block until killed

Every step is reported on stdout as one JSON line (``{"event": "composed", ...}``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.adapters.telegram import create
from bot.app import App
from bot.config import Settings
from bot.delivery import Sender, compose_due
from bot.runner import build_core
from bot.summarize.base import get_summarizer


@dataclass
class FakeClock:
    """An injected clock; ``sleep`` moves it instead of waiting (the Sender's pacing)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


async def main() -> int:
    db = os.environ["WARTA_CRASH_DB"]
    mode = os.environ.get("WARTA_CRASH_MODE", "run")
    times = [datetime.fromisoformat(t) for t in os.environ["WARTA_CRASH_AT"].split(",")]
    clock = FakeClock(times[0])
    app = await App.open(Settings(database_url=db), database_url=db)
    adapter = create(
        token=os.environ["WARTA_CRASH_TOKEN"],
        base_url=os.environ["WARTA_CRASH_BASE_URL"],
        poll_interval=0.05,
        poll_timeout=0,
    )
    try:
        core = build_core(app, {"telegram": adapter}, get_summarizer("extractive"), now=clock)
        await adapter.start(core)
        emit(event="started", pid=os.getpid())
        sender = Sender(app.store, {"telegram": adapter}, clock=clock, sleep=clock.sleep)
        for at in times:
            clock.now = at
            queued = await compose_due(app.store, at)
            emit(event="composed", at=at.isoformat(), queued=queued)
            if mode == "compose":
                await asyncio.Event().wait()  # the test SIGKILLs us here, before any send
            done = await sender.drain_once()
            emit(event="drained", at=at.isoformat(), done=done)
    finally:
        await adapter.stop()
        await app.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
