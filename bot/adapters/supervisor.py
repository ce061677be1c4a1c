"""Keeping chat adapters running: start each one, restart it with backoff when it fails.

``warta run`` must never exit because a platform misbehaves (a 502 from the Bot API, a dropped
gateway, a DNS failure). Each adapter gets its own task here that starts it, waits until its
polling or gateway dies (:class:`Watched`), and then stops and restarts it after an exponential,
jittered, capped delay; the other adapters, the poller and the sender go on meanwhile.

State per adapter (``starting`` / ``up`` / ``down``, since when, last error, masked) is what the
heartbeat file carries and ``warta health`` judges. An adapter that is up but whose library is
reconnecting by itself (:class:`LinkProbe`: Telegram's polling failing, Discord's gateway
disconnected) is reported ``down`` too, so an outage that the library never recovers from still
turns the health check red.

:attr:`Supervisor.running` is a live view of the adapters that are up: the sender reads it, so a
down adapter's deliveries wait (retry later) instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.logsafe import mask_secrets

if TYPE_CHECKING:
    from bot.adapters.base import ChatAdapter
    from bot.commands import CommandCore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@runtime_checkable
class Watched(Protocol):
    """Optional adapter capability: tell when the connection died for good."""

    async def wait_closed(self) -> None:
        """Return (or raise the AdapterError that ended it) once the adapter's polling or gateway
        stopped on its own; never returns while it runs. Cancelled when the adapter is stopped."""


@runtime_checkable
class LinkProbe(Protocol):
    """Optional adapter capability: is the platform answering right now?"""

    def link_problem(self) -> tuple[datetime, str] | None:
        """None while the platform answers; else (since when, masked error) while the library
        retries by itself (no restart needed, but the adapter counts as down)."""


class State(StrEnum):
    STARTING = "starting"
    UP = "up"
    DOWN = "down"


@dataclass(slots=True)
class Status:
    state: State
    since: datetime
    error: str | None = None
    restarts: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "since": self.since.isoformat(),
            "error": self.error,
            "restarts": self.restarts,
        }


@dataclass(frozen=True, slots=True)
class RestartBackoff:
    """Delay before restart number ``attempt``: ``base * 2**(attempt-1)`` capped at ``cap``, then
    a random fraction of it ("equal jitter": between half and all of it), so adapters or
    processes that failed together do not retry in lockstep.

    Hand-written rather than tenacity: a restart follows a *success* that later died, and the
    attempt count resets once an adapter stayed up ``reset_after_s``; tenacity's retry state
    lives inside one call."""

    base_s: float = 1.0
    cap_s: float = 120.0
    reset_after_s: float = 60.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        full = min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return full / 2 + full / 2 * rand()


def describe(error: BaseException) -> str:
    """One masked line for logs and the heartbeat file."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return mask_secrets(f"{name}: {text}" if text else name)[:300]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Running(Mapping[str, "ChatAdapter"]):
    """The adapters that are up, looked up at each access."""

    def __init__(self, supervisor: Supervisor) -> None:
        self._sup = supervisor

    def __getitem__(self, name: str) -> ChatAdapter:
        if self._sup.status(name).state is not State.UP:
            raise KeyError(name)
        return self._sup.adapters[name]

    def __iter__(self) -> Iterator[str]:
        return (n for n in self._sup.adapters if self._sup.status(n).state is State.UP)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Supervisor:
    """Starts and restarts ``adapters`` (name -> adapter) for ``core``.

    ``on_change`` is called after every state change (``warta run`` rewrites the heartbeat).
    ``sleep`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        adapters: Mapping[str, ChatAdapter],
        core: CommandCore,
        *,
        backoff: RestartBackoff | None = None,
        clock: Clock = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_change: Callable[[], None] | None = None,
        stop_timeout_s: float = 15.0,
    ) -> None:
        self.adapters = dict(adapters)
        self.core = core
        self.backoff = backoff or RestartBackoff()
        self.clock = clock
        self._sleep = sleep
        self._on_change = on_change
        self.stop_timeout_s = stop_timeout_s
        now = clock()
        self._status = {name: Status(State.STARTING, now) for name in self.adapters}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._changed = asyncio.Condition()
        self.running: Mapping[str, ChatAdapter] = _Running(self)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for name in self.adapters:
            if name not in self._tasks:
                self._tasks[name] = asyncio.create_task(self._keep(name), name=f"adapter-{name}")

    async def stop(self) -> None:
        """Stop supervising and stop every adapter (each one's stop is bounded in time)."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for name, adapter in self.adapters.items():
            await self._stop_adapter(name, adapter)

    # ------------------------------------------------------------------ state

    def status(self, name: str) -> Status:
        """The adapter's reported status, a stalled link (:class:`LinkProbe`) counting as down."""
        status = self._status[name]
        adapter = self.adapters[name]
        if status.state is State.UP and isinstance(adapter, LinkProbe):
            problem = adapter.link_problem()
            if problem is not None:
                since, error = problem
                return Status(State.DOWN, max(since, status.since), error, status.restarts)
        return status

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {name: self.status(name).as_json() for name in self.adapters}

    def configured(self) -> list[str]:
        return sorted(self.adapters)

    async def wait_for(self, name: str, state: State, *, within_s: float) -> Status:
        """Wait until ``name`` is in ``state`` (tests; a start-up message). TimeoutError else."""
        async with asyncio.timeout(within_s), self._changed:
            await self._changed.wait_for(lambda: self._status[name].state is state)
        return self._status[name]

    async def _set(self, name: str, state: State, error: str | None = None) -> None:
        old = self._status[name]
        if old.state is not state:
            self._status[name] = Status(state, self.clock(), error, old.restarts)
        else:
            old.error = error if error is not None else old.error
        if self._on_change is not None:
            try:
                self._on_change()
            except Exception:  # a heartbeat write must not kill supervision
                log.exception("supervisor: on_change failed")
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ the loop

    async def _keep(self, name: str) -> None:
        adapter = self.adapters[name]
        attempt = 0
        while True:
            try:
                await adapter.start(self.core)
            except Exception as e:
                error = describe(e)
                attempt += 1
                await self._set(name, State.DOWN, error)
                await self._stop_adapter(name, adapter)
                delay = self.backoff.delay(attempt)
                log.warning("%s adapter did not start (%s); retrying in %.1f s", name, error, delay)
                await self._sleep(delay)
                self._status[name].restarts += 1
                continue
            up_at = time.monotonic()
            await self._set(name, State.UP, None)
            log.info("%s adapter is up", name)
            try:
                if isinstance(adapter, Watched):
                    await adapter.wait_closed()
                    error = "the connection ended"
                else:
                    await asyncio.Event().wait()  # nothing to watch: up until stopped
                    error = "stopped"
            except Exception as e:
                error = describe(e)
            if time.monotonic() - up_at >= self.backoff.reset_after_s:
                attempt = 0
            attempt += 1
            await self._set(name, State.DOWN, error)
            await self._stop_adapter(name, adapter)
            delay = self.backoff.delay(attempt)
            log.warning("%s adapter went down (%s); restarting in %.1f s", name, error, delay)
            await self._sleep(delay)
            self._status[name].restarts += 1

    async def _stop_adapter(self, name: str, adapter: ChatAdapter) -> None:
        try:
            async with asyncio.timeout(self.stop_timeout_s):
                await adapter.stop()
        except Exception as e:
            log.warning("stopping the %s adapter: %s", name, describe(e))
