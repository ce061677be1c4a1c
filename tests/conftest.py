"""Shared test fixtures.

Third-party corpora live in ``../shared/`` next to the clone (never committed). On a user's clone
they may be missing: tests that need them skip with a reason. In CI (``CI=true``) a missing
corpus or server is a failure, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

if TYPE_CHECKING:
    from tests.peers.telegram_emulator import NodeEmulator

# python-telegram-bot 22 warns (an error under filterwarnings=error) whenever it builds a 429
# error with integer seconds, unless the timedelta behaviour is opted into.
os.environ.setdefault("PTB_TIMEDELTA", "true")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WARTA_SHARED_DIR", ROOT.parent / "shared"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: bool, reason: str) -> None:
    """Skip when a test's outside requirement is missing; fail instead in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    need(SHARED.is_dir(), f"third-party corpora not found at {SHARED.name}/ beside the clone")
    return SHARED


@pytest.fixture(scope="session")
def pg_url() -> str:
    """An asyncpg SQLAlchemy URL for a disposable PostgreSQL database."""
    url = os.environ.get("WARTA_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    import asyncio

    import asyncpg  # type: ignore[import-untyped]

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    need(asyncio.run(probe()), "PostgreSQL not reachable at WARTA_TEST_PG_URL")
    return url


@pytest.fixture(scope="session")
def node() -> Iterator[NodeEmulator]:
    """The telegram-test-api emulator (node), one for the whole session: each test's proxy
    gets a fresh bot token, and the emulator keeps each token's state apart."""
    from tests.peers.telegram_emulator import NodeEmulator, emulator_problem

    problem = emulator_problem()
    need(problem is None, problem or "")
    with NodeEmulator() as emu:
        yield emu


def daily_after(now: datetime, tz: str, *, hours: int = 3) -> str:
    """A ``daily HH:MM`` schedule whose next run is ``hours`` after ``now`` in ``tz``: a test
    that subscribes with it composes the stories it just served, whatever the time of day
    (a fixed "daily 08:00" leaves them outside the window when the test runs just after 08:00)."""
    local = (now + timedelta(hours=hours)).astimezone(ZoneInfo(tz))
    return f"daily {local:%H:%M}"
