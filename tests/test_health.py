"""`warta health`: the heartbeat file's verdict, through the real CLI and its settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.health import judge, write_heartbeat

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


def adapter(state: str, since: datetime, error: str | None = None, restarts: int = 0) -> dict:
    return {"state": state, "since": since.isoformat(), "error": error, "restarts": restarts}


def test_all_up_is_healthy_and_lists_each_adapter(tmp_path: Path) -> None:
    beat = tmp_path / "beat.json"
    write_heartbeat(
        beat,
        {"console": adapter("up", NOW), "telegram": adapter("up", NOW - timedelta(hours=1))},
        now=NOW,
    )
    verdict = judge(beat, now=NOW + timedelta(seconds=5), down_limit_s=300)
    assert verdict.healthy
    assert verdict.lines == [
        "healthy: last heartbeat 5s ago",
        "console: up for 5s",
        "telegram: up for 3605s",
    ]


def test_an_adapter_down_too_long_is_unhealthy(tmp_path: Path) -> None:
    beat = tmp_path / "beat.json"
    since = NOW - timedelta(seconds=400)
    write_heartbeat(
        beat,
        {
            "discord": adapter("down", NOW - timedelta(seconds=20), "HTTP 502", 2),
            "telegram": adapter("down", since, "NetworkError: Bad Gateway", 7),
        },
        now=NOW,
    )
    verdict = judge(beat, now=NOW, down_limit_s=300)
    assert not verdict.healthy
    assert verdict.lines == [
        "discord: down for 20s (HTTP 502), 2 restarts",
        "telegram: down for 400s (NetworkError: Bad Gateway), 7 restarts"
        " - unhealthy: not up for over 300s",
    ]
    # Below the limit the same state is still healthy (a restart in progress).
    assert judge(beat, now=NOW, down_limit_s=500).healthy


def test_a_start_that_hangs_counts_as_down(tmp_path: Path) -> None:
    beat = tmp_path / "beat.json"
    write_heartbeat(beat, {"discord": adapter("starting", NOW - timedelta(minutes=10))}, now=NOW)
    assert not judge(beat, now=NOW, down_limit_s=300).healthy


def test_a_stale_or_missing_heartbeat_is_unhealthy(tmp_path: Path) -> None:
    beat = tmp_path / "beat.json"
    assert judge(beat, now=NOW, down_limit_s=300).lines == [f"unhealthy: no heartbeat at {beat}"]
    write_heartbeat(beat, {"console": adapter("up", NOW)}, now=NOW)
    verdict = judge(beat, now=NOW + timedelta(minutes=5), down_limit_s=300)
    assert not verdict.healthy
    assert verdict.lines[0] == "unhealthy: last heartbeat 300s ago"


def test_a_plain_touched_file_still_works(tmp_path: Path) -> None:
    # What an older `warta run` wrote: an empty file whose mtime is the beat.
    beat = tmp_path / "beat"
    beat.touch()
    assert judge(beat, now=datetime.now(UTC), down_limit_s=300).healthy


def _health(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "health"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_reads_path_and_limit_from_the_config_file(tmp_path: Path) -> None:
    beat = tmp_path / "elsewhere" / "warta.beat"
    config = tmp_path / "settings.toml"
    config.write_text(f'heartbeat_file = "{beat.as_posix()}"\nadapter_down_unhealthy_s = 60\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARTA_")}

    missing = _health(config, env)
    assert missing.returncode == 1
    assert str(beat) in missing.stderr

    now = datetime.now(UTC)
    down = {"telegram": adapter("down", now - timedelta(seconds=90), "NetworkError: Bad Gateway")}
    write_heartbeat(beat, {"console": adapter("up", now), **down}, now=now)
    result = _health(config, env)
    assert result.returncode == 1  # down 90 s > the file's 60 s
    assert "telegram: down for 9" in result.stderr
    assert "unhealthy: not up for over 60s" in result.stderr

    config.write_text(f'heartbeat_file = "{beat.as_posix()}"\nadapter_down_unhealthy_s = 600\n')
    result = _health(config, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("healthy: last heartbeat")
    assert "console: up" in result.stdout
    assert json.loads(beat.read_text())["adapters"]["telegram"]["state"] == "down"
