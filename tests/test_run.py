"""`warta run` as a real process, and the console adapter driving the real command core."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.adapters.console import LOCAL, ConsoleAdapter
from bot.app import App
from bot.config import load_settings
from bot.runner import build_adapters, build_core, make_summarizer

ROOT = Path(__file__).resolve().parents[1]


def test_run_without_tokens_explains_and_runs_console(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN")
    }
    env |= {
        "WARTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "WARTA_FEEDS_FILE": str(tmp_path / "none.toml"),
        "WARTA_HEARTBEAT_FILE": str(tmp_path / "beat"),
        "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--no-poll"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "beat").exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no heartbeat within 60 s"
            time.sleep(0.2)
        health = subprocess.run(
            [sys.executable, "-m", "bot", "health"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert health.returncode == 0, health.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "starting adapters: console" in err
    assert "TELEGRAM_BOT_TOKEN" in err
    assert "DISCORD_BOT_TOKEN" in err


def test_health_fails_without_heartbeat(tmp_path: Path) -> None:
    env = {**os.environ, "WARTA_HEARTBEAT_FILE": str(tmp_path / "missing")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "health"], env=env, cwd=ROOT, capture_output=True, check=False
    )
    assert result.returncode == 1


@pytest_asyncio.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    settings = load_settings(
        None, environ={"WARTA_CONFIG": str(ROOT / "config/settings.example.toml")}
    )
    opened = await App.open(settings, database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    yield opened
    await opened.close()


async def test_console_commands_reach_the_core(app: App) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(stream=out)
    adapters = {"console": console}
    core = build_core(app, adapters, make_summarizer(app.settings))
    await console.handle_line(core, "/help")
    assert "/langganan" in out.getvalue()
    await console.handle_line(core, "/subscribe en daily 07:30")
    sub = await app.store.get_subscription(LOCAL)
    assert sub is not None
    assert sub.lang == "en"
    assert "07:30" in sub.schedule
    await console.handle_line(core, "/latest abc")
    assert "latest" in out.getvalue().lower()
    # /stats draws the chart; a terminal is told what it is rather than shown PNG bytes.
    await console.handle_line(core, "/stats")
    assert re.search(r"\[stats\.png: image/png, \d{4,} bytes\]", out.getvalue())
    assert "PNG" not in out.getvalue()


def test_only_configured_adapters_are_built() -> None:
    settings = load_settings(
        None, environ={"WARTA_CONFIG": str(ROOT / "config/settings.example.toml")}
    )
    assert set(build_adapters(settings)) == {"console"}
