"""`warta run` as a real process against a Telegram Bot API that answers 502.

Real: the ``warta run`` process (console + Telegram adapters under the supervisor, the
scheduler, the heartbeat), python-telegram-bot, the third-party ``telegram-test-api`` emulator
behind the fix-up proxy. INJECTED by the proxy (the emulator never fails): 502 answers with an
HTML error page that echoes the request path, bot token included (as is, upper-cased and
URL-encoded), first while the adapter starts (getMe, deleteWebhook), then while it polls
(getUpdates). The process must keep running, come up or recover by itself, answer /help, and
never print the token anywhere: stdout, stderr (the log), the heartbeat file.
Needs ``npm ci --prefix tests/peers``: skipped locally without node, a failure in CI.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.adapters.supervisor import RestartBackoff, State, Supervisor
from bot.adapters.telegram import create
from bot.app import App
from bot.config import Settings
from bot.runner import build_core, make_summarizer
from tests.peers.telegram_emulator import FixupProxy, NodeEmulator

pytestmark = pytest.mark.telegram_emulator

ROOT = Path(__file__).resolve().parents[1]
USER = 4242


@pytest.fixture
async def peer(node: NodeEmulator) -> AsyncIterator[FixupProxy]:
    # A fresh token: isolated emulator state.
    async with FixupProxy(node.url, long_poll_s=1.0) as proxy:
        yield proxy


class WartaRun:
    """``python -m bot run`` with its stdout and stderr going to files."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.out = tmp / "stdout.txt"
        self.err = tmp / "stderr.txt"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                "--no-poll",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
                cwd=ROOT,
            )

    def alive(self) -> bool:
        assert self.proc is not None
        return self.proc.returncode is None

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        assert self.proc.returncode is not None
        return self.proc.returncode


def run_env(tmp: Path, peer: FixupProxy) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN")
    }
    return env | {
        "TELEGRAM_BOT_TOKEN": peer.token,
        "WARTA_TELEGRAM_BASE_URL": peer.base_url,
        "WARTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'run.db'}",
        "WARTA_FEEDS_FILE": str(tmp / "none.toml"),
        "WARTA_HEARTBEAT_FILE": str(tmp / "beat.json"),
        "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
    }


async def until(what: str, check: Any, run: WartaRun, deadline_s: float = 60.0) -> Any:
    """Poll ``check()`` until it returns something truthy; fail with ``what`` after the
    deadline or if the process died (a deadline for a peer, not a timing assertion)."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        assert run.alive(), f"warta run exited while waiting for {what}:\n{run.output()[-3000:]}"
        assert time.monotonic() < deadline, f"no {what} within {deadline_s} s"
        await asyncio.sleep(0.1)


def heartbeat(tmp: Path) -> dict[str, Any]:
    try:
        data = json.loads((tmp / "beat.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def telegram_state(tmp: Path) -> dict[str, Any]:
    info = heartbeat(tmp).get("adapters", {}).get("telegram")
    return info if isinstance(info, dict) else {}


async def ask_help(peer: FixupProxy, run: WartaRun) -> str:
    before = len(await peer.bot_messages(USER))
    await peer.user_sends("/help", chat_id=USER, user_id=USER, language_code="en")

    async def answered() -> list[dict[str, Any]] | None:
        messages = await peer.bot_messages(USER)
        return messages if len(messages) > before else None

    messages = await until("an answer to /help", answered, run)
    return str(messages[before]["text"])


async def warta_health(run: WartaRun) -> subprocess.CompletedProcess[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "health",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=run.env,
        cwd=ROOT,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return subprocess.CompletedProcess(
        ["warta", "health"], proc.returncode, out.decode(), err.decode()
    )


def assert_no_token(text: str, token: str) -> None:
    forms = {
        "exact": token,
        "upper-cased": token.upper(),
        "lower-cased": token.lower(),
        "URL-encoded": quote(token, safe=""),
        "URL-encoded, upper-cased": quote(token, safe="").upper(),
        "secret part": token.split(":", 1)[1],
    }
    for name, form in forms.items():
        assert form.lower() not in text.lower(), f"the token ({name}) leaked"


async def test_bad_gateway_at_start_and_while_polling(tmp_path: Path, peer: FixupProxy) -> None:
    # The Bot API is down when warta starts: getMe answers 502 once, then deleteWebhook (the
    # start of polling) twice.
    peer.inject_bad_gateway("getMe", times=1)
    peer.inject_bad_gateway("deleteWebhook", times=2)
    run = WartaRun(tmp_path, run_env(tmp_path, peer))
    await run.start()
    try:
        await until(
            "the telegram adapter up", lambda: telegram_state(tmp_path).get("state") == "up", run
        )
        assert peer.injected_left("getMe") == peer.injected_left("deleteWebhook") == 0
        assert len(peer.calls_of("getMe")) >= 2
        assert len(peer.calls_of("deleteWebhook")) == 3
        assert telegram_state(tmp_path)["restarts"] >= 2
        assert "/subscribe" in await ask_help(peer, run)
        health = await warta_health(run)
        assert health.returncode == 0, health.stderr
        assert "telegram: up for" in health.stdout
        assert "restarts" in health.stdout

        # The Bot API fails again while the bot polls: PTB keeps retrying getUpdates; the
        # heartbeat reports the adapter down (with a masked error) until a poll succeeds.
        polls_before = len(peer.calls_of("getUpdates"))
        peer.inject_bad_gateway("getUpdates", times=4)
        down = await until(
            "the telegram adapter reported down",
            lambda: telegram_state(tmp_path).get("state") == "down" and telegram_state(tmp_path),
            run,
        )
        assert "502" in str(down["error"])
        await until(
            "getUpdates to recover",
            lambda: (
                peer.injected_left("getUpdates") == 0
                and len(peer.calls_of("getUpdates")) > polls_before + 4
            ),
            run,
        )
        assert "/subscribe" in await ask_help(peer, run)
        await until(
            "the telegram adapter up again",
            lambda: telegram_state(tmp_path).get("state") == "up",
            run,
        )
        assert run.alive()
    finally:
        code = await run.stop()
    output = run.output()
    assert code == 0, output[-3000:]
    # The failures really happened and were reported, masked.
    assert "telegram adapter did not start" in output
    assert "Bad Gateway" in output or "502" in output
    assert "getUpdates failed" in output
    assert "No chat platform token is set" not in output
    assert_no_token(output, peer.token)
    assert_no_token((tmp_path / "beat.json").read_text(), peer.token)


async def test_polling_that_ends_is_restarted(tmp_path: Path, peer: FixupProxy) -> None:
    """PTB stops polling for good when getUpdates answers 401 (INJECTED: the emulator never
    does); the adapter reports it and the supervisor restarts it, in process."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    settings = Settings(database_url=db)
    async with await App.open(settings) as app:
        tg = create(token=peer.token, base_url=peer.base_url, poll_interval=0.05, poll_timeout=0)
        core = build_core(app, {"telegram": tg}, make_summarizer(settings))
        supervisor = Supervisor(
            {"telegram": tg}, core, backoff=RestartBackoff(base_s=0.2, cap_s=1.0)
        )
        supervisor.start()
        try:
            await supervisor.wait_for("telegram", State.UP, within_s=30)
            peer.inject(
                "getUpdates", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
            down = await supervisor.wait_for("telegram", State.DOWN, within_s=30)
            assert down.error is not None
            assert "refused the token" in down.error
            await supervisor.wait_for("telegram", State.UP, within_s=30)
            assert supervisor.status("telegram").restarts == 1
            assert len(peer.calls_of("getMe")) == 2

            before = len(await peer.bot_messages(USER))
            await peer.user_sends("/help", chat_id=USER, user_id=USER, language_code="en")
            messages = await peer.wait_bot_messages(USER, before + 1, deadline_s=30)
            assert "/subscribe" in messages[before]["text"]
        finally:
            await supervisor.stop()
