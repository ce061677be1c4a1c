"""The CLI imports only what a command needs: `warta health` runs in a container probe every
few seconds and `warta --help` should answer at once, so neither may pull in the database,
HTTP or chat libraries. Checked in a fresh interpreter, where sys.modules tells the truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEAVY = (
    "sqlalchemy",
    "alembic",
    "aiohttp",
    "feedparser",
    "feedparser_rs",
    "telegram",
    "discord",
    "apscheduler",
    "trafilatura",
    "py3langid",
)

# argv: -c, the heavy names, then the command. Runs `warta <args>` in-process, then prints
# which heavy top-level packages got imported.
_PROBE = """
import json, sys
from bot.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
heavy = sys.argv[1].split(",")
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
sys.__stderr__.write("\\nLOADED=" + json.dumps(loaded) + "\\n")
"""


def _loaded(*args: str, tmp: Path, heavy: tuple[str, ...] = HEAVY) -> tuple[list[str], str]:
    """(packages of ``heavy`` imported, stdout) of ``warta <args>``."""
    env = {
        **os.environ,
        "WARTA_HEARTBEAT_FILE": str(tmp / "heartbeat"),
        "WARTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'cli.db'}",
        "WARTA_LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(heavy), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
        check=False,
    )
    marker = result.stderr.rsplit("LOADED=", 1)
    assert len(marker) == 2, result.stderr
    loaded: list[str] = json.loads(marker[1])
    return loaded, result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("health",), "healthy: last heartbeat"),
        (("--help",), "usage: warta"),
        (("feeds", "--help"), "usage: warta feeds"),
        (("analyze", "/dev/null"), ""),
    ],
    ids=["health", "help", "feeds-help", "analyze"],
)
def test_light_commands_import_no_heavy_library(
    args: tuple[str, ...], says: str, tmp_path: Path
) -> None:
    (tmp_path / "heartbeat").write_text("")
    loaded, out = _loaded(*args, tmp=tmp_path)
    assert says in out  # the command really ran
    assert loaded == []


def test_the_probe_sees_heavy_imports(tmp_path: Path) -> None:
    """The check above can fail: a command that opens the store does import SQLAlchemy, and
    on a new database alembic to create the schema."""
    loaded, _ = _loaded("feeds", "list", tmp=tmp_path)
    assert "sqlalchemy" in loaded
    assert "alembic" in loaded


def test_a_database_at_the_newest_revision_is_opened_without_alembic(tmp_path: Path) -> None:
    _loaded("feeds", "add", "https://a.example/rss", "--lang", "id", tmp=tmp_path)
    loaded, out = _loaded("feeds", "list", tmp=tmp_path)
    assert "https://a.example/rss" in out
    assert "sqlalchemy" in loaded
    assert "alembic" not in loaded


def test_analyze_does_not_load_the_settings(tmp_path: Path) -> None:
    """`analyze` reads no settings, runs no event loop and parses no feed: neither the
    settings' validation library, asyncio nor feedparser is even imported (a third of its
    start-up); `health`, which reads the settings and sets up logging, shows the probe sees
    the first two."""
    light = ("asyncio", "pydantic", "feedparser")
    story = tmp_path / "story.jsonl"
    text = "Harga beras naik lagi di pasar. Pedagang mengeluh pembeli sepi sejak pekan lalu."
    short = "Harga beras naik lagi di pasar tradisional"  # one line: its own capped bullet
    story.write_text(
        json.dumps({"id": "a", "title": "Harga beras", "text": text})
        + "\n"
        + json.dumps({"id": "b", "title": "Beras", "text": short})
        + "\n"
    )
    loaded, out = _loaded("analyze", str(story), tmp=tmp_path, heavy=light)
    # Both summarized: the summarizer's module was loaded, and the one-line bullet's cap.
    assert [len(json.loads(line)["bullets"]) for line in out.splitlines()] == [2, 1]
    assert loaded == []
    (tmp_path / "heartbeat").write_text("")
    loaded, _ = _loaded("health", tmp=tmp_path, heavy=light)
    assert loaded == ["asyncio", "pydantic"]
