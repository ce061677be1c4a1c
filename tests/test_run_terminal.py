"""`warta run` as a user runs it: in a terminal, stopped with Ctrl-C; and what it logs.

The terminal is a real pseudo-terminal (the ``pty`` module): the child becomes its session
leader with it as controlling terminal, so writing Ctrl-C (0x03) to the master side makes the
kernel's line discipline send SIGINT, exactly as a keypress does. Feeds are served on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[1]

# Makes the pty the child's controlling terminal and its stdin/stdout/stderr, then becomes
# `warta` (same pid), as a shell would start it.
LAUNCH_IN_TTY = (
    "import os, sys; os.login_tty(os.open(sys.argv[1], os.O_RDWR)); "
    "os.execv(sys.executable, [sys.executable, '-m', 'bot', *sys.argv[2:]])"
)


@pytest_asyncio.fixture
async def run_env(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """Environment for `warta run` polling two feeds on a loopback server."""
    from bot.demo import render_sample, sample_feeds

    async with FeedServer() as server:
        now = datetime.now(UTC)
        urls = [
            server.url(server.add_bytes(f"/{name}", render_sample(raw, now)))
            for name, raw in sorted(sample_feeds().items())[:2]
        ]
        feeds = tmp_path / "feeds.toml"
        feeds.write_text("".join(f'[[feed]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8")
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN") and not k.startswith("WARTA_")
        }
        env |= {
            "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
            "WARTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
            "WARTA_FEEDS_FILE": str(feeds),
            "WARTA_HEARTBEAT_FILE": str(tmp_path / "beat"),
            "WARTA_ALLOW_LOOPBACK": "true",
            "WARTA_LOG_LEVEL": "INFO",
        }
        yield env


class Terminal:
    """`warta run` in a pseudo-terminal; ``output`` is everything it printed there."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH_IN_TTY, os.ttyname(slave), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        os.close(slave)
        self.output = ""

    def read(self, wait_s: float) -> bool:
        """Collect output for up to ``wait_s``; False when nothing came or the terminal closed."""
        ready, _, _ = select.select([self.master], [], [], wait_s)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every process holding the terminal has gone
            return False
        self.output += data.decode("utf-8", "replace")
        return bool(data)

    def wait_for(self, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output:
            assert self.proc.poll() is None, f"exited early:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout_s} s:\n{self.output}"
            self.read(0.2)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait_exit(self, timeout_s: float) -> int | None:
        deadline = time.monotonic() + timeout_s
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read(0.05)
        while self.read(0.2):  # what it printed last
            pass
        return self.proc.poll()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def stop_in_terminal(env: dict[str, str], how: str) -> tuple[int | None, float, str]:
    term = Terminal(env, "run")
    try:
        term.wait_for("Type a command")
        term.wait_for("starting adapters: console")
        # The console reads the terminal: a command typed there is answered.
        term.type(b"/help\r")
        term.wait_for("/langganan")  # /help in the chat language (id by default)
        started = time.monotonic()
        if how == "ctrl-c":
            term.type(b"\x03")  # no Enter follows
        else:
            term.proc.send_signal(signal.SIGTERM)
        code = term.wait_exit(timeout_s=10)
        return code, time.monotonic() - started, term.output
    finally:
        term.close()


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
async def test_run_in_a_terminal_stops_promptly(run_env: dict[str, str], how: str) -> None:
    code, took, output = await asyncio.to_thread(stop_in_terminal, run_env, how)
    print(f"warta run stopped {took:.2f} s after {how}")  # the figure; the bound is about hanging
    assert code is not None, f"still running 10 s after {how}:\n{output}"
    assert code in (0, 130), output
    assert "Traceback" not in output, output
    assert f"warta: {'SIGINT' if how == 'ctrl-c' else 'SIGTERM'}: stopping" in output


def run_for_a_few_ticks(env: dict[str, str], beat: Path, log: Path) -> str:
    # Output goes to a file: at DEBUG a pipe nobody reads yet would fill and stall the process.
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 60
            seen: set[int] = set()
            # The send tick (every 2 s) touches the heartbeat: three distinct touches are at
            # least two ticks run by APScheduler after the first.
            while len(seen) < 3:
                assert proc.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, "the scheduler did not tick within 60 s"
                if beat.exists():
                    seen.add(beat.stat().st_mtime_ns)
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    return log.read_text(encoding="utf-8")


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_scheduler_chatter_stays_out_of_info(
    run_env: dict[str, str], level: str, tmp_path: Path
) -> None:
    env = run_env | {"WARTA_LOG_LEVEL": level}
    beat = Path(env["WARTA_HEARTBEAT_FILE"])
    out = await asyncio.to_thread(run_for_a_few_ticks, env, beat, tmp_path / "run.log")
    chatter = [line for line in out.splitlines() if " apscheduler." in line]
    if level == "INFO":
        assert chatter == [], "\n".join(chatter)
        assert "Traceback" not in out
    else:
        # The same capture does see APScheduler's lines when asked for them.
        assert any("Running job" in line for line in chatter), out[-2000:]


async def test_console_lines_from_a_pipe_arrive_whole() -> None:
    """The add_reader path: bytes in pieces (a UTF-8 letter split in two) become whole lines."""
    from bot.adapters.console import read_lines

    r, w = os.pipe()
    with os.fdopen(r, encoding="utf-8") as stdin:
        lines = read_lines(stdin)
        os.write(w, b"/search s\xc3")
        os.write(w, b"\xa9ni\n/help\n/lat")
        assert await anext(lines) == "/search séni\n"
        assert await anext(lines) == "/help\n"
        os.write(w, b"est\n")
        assert await anext(lines) == "/latest\n"
        os.write(w, b"/no-newline")
        os.close(w)
        assert [line async for line in lines] == ["/no-newline"]


async def test_console_lines_from_a_stream_without_a_descriptor() -> None:
    """The daemon-thread path, for streams the loop cannot watch."""
    import io

    from bot.adapters.console import read_lines

    lines = [line async for line in read_lines(io.StringIO("/help\n/status\n"))]
    assert lines == ["/help\n", "/status\n"]
