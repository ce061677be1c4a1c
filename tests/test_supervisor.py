"""The adapter supervisor: restarts with backoff, per-adapter state, and the sender's view.

The adapters are fakes at the ChatAdapter seam (tests/test_delivery.py's FakeAdapter plus a
start that fails on demand and a connection the test can kill); the outbox runs on a real
SQLite store. Backoff sleeps are recorded instead of slept. Real platforms under the same
supervisor: tests/test_supervision_telegram.py and tests/test_discord_gateway.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from bot.adapters.supervisor import RestartBackoff, State, Supervisor, describe
from bot.commands import CommandCore
from bot.delivery import Sender
from bot.errors import ConfigError, PlatformUnavailable
from bot.models import DeliveryState
from bot.store import SQLStore
from tests.test_delivery import NOW, Clock, FakeAdapter, queue_digest, store, subscribe

__all__ = ["store"]  # the SQLite store fixture, shared with test_delivery

TOKEN = "555666:Secret-Token-Value-For-Supervisor-Tests"


class FlakyAdapter(FakeAdapter):
    """Fails to start ``failures`` times; once up, its "connection" dies when the test says."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        super().__init__()
        self.failures = list(failures or [])
        self.starts = 0
        self.stops = 0
        self.up = False
        self._die: asyncio.Future[Exception] | None = None
        self.problem: tuple[datetime, str] | None = None

    async def start(self, core: CommandCore) -> None:
        self.starts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.up = True
        self._die = asyncio.get_running_loop().create_future()

    async def stop(self) -> None:
        self.stops += 1
        self.up = False

    async def wait_closed(self) -> None:
        assert self._die is not None
        raise await self._die

    def kill(self, error: Exception) -> None:
        assert self._die is not None
        self._die.set_result(error)

    def link_problem(self) -> tuple[datetime, str] | None:
        return self.problem


class Sleeps:
    """Records backoff delays and yields to the loop instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def supervise(
    adapters: dict[str, FakeAdapter], sleep: Callable[[float], Awaitable[None]]
) -> Supervisor:
    core: CommandCore = None  # type: ignore[assignment]  # the fakes never call the core
    return Supervisor(adapters, core, sleep=sleep)  # type: ignore[arg-type]


def test_backoff_grows_jittered_and_capped() -> None:
    backoff = RestartBackoff(base_s=1.0, cap_s=30.0)
    assert backoff.delay(1, rand=lambda: 0.0) == 0.5
    assert backoff.delay(1, rand=lambda: 1.0) == 1.0
    assert backoff.delay(4, rand=lambda: 1.0) == 8.0
    assert backoff.delay(50, rand=lambda: 1.0) == 30.0
    assert 15.0 <= backoff.delay(50) <= 30.0


async def test_a_failing_start_is_retried_while_the_others_run() -> None:
    flaky = FlakyAdapter([PlatformUnavailable(f"502 for /bot{TOKEN}/getMe", platform="fake")] * 3)
    steady = FakeAdapter()
    sleeps = Sleeps()
    sup = supervise({"flaky": flaky, "steady": steady}, sleeps)
    sup.start()
    try:
        await sup.wait_for("steady", State.UP, within_s=5)
        status = await sup.wait_for("flaky", State.UP, within_s=5)
        assert flaky.starts == 4
        assert status.restarts == 3
        assert len(sleeps.delays) == 3
        assert sleeps.delays[0] <= 1.0 < sleeps.delays[2] <= 4.0  # growing
        assert set(sup.running) == {"flaky", "steady"}
    finally:
        await sup.stop()
    assert flaky.stops >= 4  # after each failed start, and at the end


async def test_a_dead_connection_is_restarted_and_reported_masked() -> None:
    from bot.logsafe import register_secret

    register_secret(TOKEN)
    flaky = FlakyAdapter()
    sleeps = Sleeps()
    gate = asyncio.Event()

    async def held_sleep(delay: float) -> None:
        await sleeps(delay)
        await gate.wait()  # hold the adapter down until the test has looked

    sup = supervise({"flaky": flaky}, held_sleep)
    sup.start()
    try:
        await sup.wait_for("flaky", State.UP, within_s=5)
        flaky.kill(PlatformUnavailable(f"gateway closed for {TOKEN.upper()}", platform="fake"))
        down = await sup.wait_for("flaky", State.DOWN, within_s=5)
        assert down.error is not None
        assert "PlatformUnavailable: gateway closed" in down.error
        assert TOKEN.lower() not in str(sup.snapshot()).lower()
        assert "flaky" not in sup.running  # the sender skips it
        assert sup.snapshot()["flaky"]["state"] == "down"
        gate.set()
        await sup.wait_for("flaky", State.UP, within_s=5)
        assert flaky.starts == 2
        assert sup.status("flaky").restarts == 1
    finally:
        gate.set()
        await sup.stop()


async def test_a_stalled_link_counts_as_down_without_a_restart() -> None:
    flaky = FlakyAdapter()
    sup = supervise({"flaky": flaky}, Sleeps())
    sup.start()
    try:
        await sup.wait_for("flaky", State.UP, within_s=5)
        since = datetime.now(UTC)
        flaky.problem = (since, "getUpdates answered HTTP 502")
        status = sup.status("flaky")
        assert (status.state, status.error) == (State.DOWN, "getUpdates answered HTTP 502")
        assert status.since == since
        assert "flaky" not in sup.running
        flaky.problem = None
        assert sup.status("flaky").state is State.UP
        assert flaky.starts == 1
    finally:
        await sup.stop()


async def test_a_refused_token_is_retried_too_never_raised() -> None:
    flaky = FlakyAdapter([ConfigError("the Telegram bot token was rejected")] * 2)
    sup = supervise({"flaky": flaky}, Sleeps())
    sup.start()
    try:
        await sup.wait_for("flaky", State.UP, within_s=5)
    finally:
        await sup.stop()
    assert flaky.starts == 3


async def test_deliveries_for_a_down_adapter_wait_and_go_out_once_it_is_up(
    store: SQLStore,
) -> None:
    sub = await subscribe(store)
    await queue_digest(store, sub, n_entries=1)
    fake = FlakyAdapter([PlatformUnavailable("502", platform="fake")])
    gate = asyncio.Event()

    async def held_sleep(delay: float) -> None:
        await gate.wait()

    sup = supervise({"fake": fake}, held_sleep)
    clock = Clock(NOW)
    sender = Sender(store, sup.running, clock=clock, pacing_s={}, lease_s=60)
    sup.start()
    try:
        await sup.wait_for("fake", State.DOWN, within_s=5)
        assert await sender.drain_once() == 0
        (row,) = await store.list_deliveries()
        assert row.state is DeliveryState.PENDING  # parked: retry later, not failed
        assert row.last_error == "no running 'fake' adapter"
        gate.set()
        await sup.wait_for("fake", State.UP, within_s=5)
        clock.advance(61)
        assert await sender.drain_once() == 1
        assert len(fake.sent) == 2
    finally:
        gate.set()
        await sup.stop()


def test_describe_is_one_masked_line() -> None:
    from bot.logsafe import register_secret

    register_secret(TOKEN)
    text = describe(RuntimeError(f"first line {TOKEN}\nsecond line"))
    assert text == "RuntimeError: first line <secret>"


@pytest.mark.parametrize("state", list(State))
def test_status_json_shape(state: State) -> None:
    from bot.adapters.supervisor import Status

    status = Status(state, NOW, "x", 2).as_json()
    assert status == {"state": str(state), "since": NOW.isoformat(), "error": "x", "restarts": 2}
