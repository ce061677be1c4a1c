"""The `warta` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def warta(
    *args: str,
    tmp: Path,
    stdin: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "WARTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'cli.db'}",
        "WARTA_FEEDS_FILE": str(tmp / "feeds.toml"),
        "WARTA_HEARTBEAT_FILE": str(tmp / "beat"),
        "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
        "WARTA_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_demo_prints_an_indonesian_and_an_english_digest(tmp_path: Path) -> None:
    result = warta("demo", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Ringkasan AI & Seniman — " in out
    assert "AI & Artists Digest — " in out
    id_part, en_part = out.split("AI & Artists Digest — ", 1)
    # The Sora leak was reported by four sample outlets: one entry per digest, the rest folded.
    assert id_part.count("Sora") >= 1
    assert "Juga diberitakan:" in id_part
    assert "Also reported by:" in en_part
    # Off-topic sample stories (floods of false friends) are filtered out.
    for off_topic in ("Pencak Silat", "Bercerai", "Art of the Deal", "Booker", "Export Rules"):
        assert off_topic not in out
    assert "•" in out


def test_analyze_contract_keeps_order_and_reports_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": "a",
                "title": "Artists sue Midjourney over AI training on their art",
                "text": (
                    "Illustrators filed a copyright lawsuit against Midjourney and Stability AI,"
                    " saying the image generators were trained on their artworks without"
                    " consent. The case seeks damages."
                ),
            }
        ),
        "{not json",
        json.dumps(
            {
                "id": "c",
                "title": "Banjir rendam Jakarta",
                "text": "Banjir merendam permukiman warga di Jakarta Timur sejak pagi.",
                "lang": "id",
            }
        ),
        json.dumps({"id": "d"}),
    ]
    result = warta("analyze", tmp=tmp_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "line 2", "c", "d"]
    a, bad, c, d = out
    assert set(a) == {"id", "lang", "relevance", "relevant", "matched", "bullets"}
    assert a["lang"] == "en"
    assert a["relevant"] is True
    assert a["matched"]
    assert 1 <= len(a["bullets"]) <= 4
    assert "error" in bad
    assert c["relevant"] is False
    assert c["lang"] == "id"
    assert c["bullets"]  # every story gets its quick facts (the quality contract)
    assert "error" in d
    lazy = warta("analyze", "--lazy-bullets", tmp=tmp_path, stdin=lines[2] + "\n")
    assert json.loads(lazy.stdout)["bullets"] == []  # off the topic: a poll would not summarize


def test_analyze_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = warta("analyze", str(tmp_path / "nope.jsonl"), tmp=tmp_path)
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_inspect_files_prints_stories_and_errors_and_goes_on(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Musisi protes lagu buatan AI</title>"
        "<link>https://x.example/1?utm_source=a</link><description>"
        "Musisi memprotes lagu buatan AI yang meniru suara mereka tanpa izin.</description>"
        "</item></channel></rss>",
        encoding="utf-8",
    )
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<rss><channel><title>&b;</title></channel></rss>",
        encoding="utf-8",
    )
    result = warta(
        "inspect",
        "--file",
        str(bomb),
        "--file",
        str(tmp_path / "missing.xml"),
        "--file",
        str(good),
        tmp=tmp_path,
    )
    # Every input is reported and the good one still read; the exit status says some failed.
    assert result.returncode == 1, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["file"] == str(bomb)
    assert "error" in out[0]
    assert out[1]["file"] == str(tmp_path / "missing.xml")
    assert "error" in out[1]
    assert out[2]["title"] == "Musisi protes lagu buatan AI"
    assert out[2]["url"] == "https://x.example/1"
    assert out[2]["lang"] == "id"


def test_inspect_without_input_is_a_usage_error(tmp_path: Path) -> None:
    assert warta("inspect", tmp=tmp_path).returncode == 2


def test_feeds_add_list_export_import_remove(tmp_path: Path) -> None:
    (tmp_path / "feeds.toml").write_text("", encoding="utf-8")
    assert (
        warta("feeds", "add", "https://a.example/rss", "--lang", "id", tmp=tmp_path).returncode == 0
    )
    bad = warta("feeds", "add", "file:///etc/passwd", tmp=tmp_path)
    assert bad.returncode == 2
    assert "http" in bad.stderr
    listed = warta("feeds", "list", tmp=tmp_path)
    assert "https://a.example/rss\tid" in listed.stdout
    opml = tmp_path / "out.opml"
    assert warta("feeds", "export", str(opml), tmp=tmp_path).returncode == 0
    assert b"https://a.example/rss" in opml.read_bytes()
    other = tmp_path / "in.opml"
    other.write_text(
        '<opml version="2.0"><body><outline text="B" xmlUrl="https://b.example/feed"/></body></opml>',
        encoding="utf-8",
    )
    imported = warta("feeds", "import", str(other), tmp=tmp_path)
    assert "imported 1" in imported.stdout
    assert warta("feeds", "remove", "https://a.example/rss", tmp=tmp_path).returncode == 0
    assert warta("feeds", "remove", "https://a.example/rss", tmp=tmp_path).returncode == 1
    listed = warta("feeds", "list", tmp=tmp_path).stdout
    assert "https://b.example/feed" in listed
    assert "https://a.example/rss" not in listed


@pytest.mark.parametrize(
    "args", [["digest", "--lang", "fr"], ["digest", "--since", "soon"], ["nope"]]
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    assert warta(*args, tmp=tmp_path).returncode == 2


EVERY_COMMAND = [
    ["run"],
    ["poll", "--once"],
    ["digest"],
    ["stories"],
    ["feeds", "list"],
    ["health"],
    ["demo"],
    ["inspect", "--file", "x.xml"],
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=[" ".join(c) for c in EVERY_COMMAND])
def test_bad_settings_file_stops_every_command_with_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[warta]\n\ntimezone = 7\n", encoding="utf-8")
    result = warta("--config", str(cfg), *command, tmp=tmp_path, stdin="")
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"warta: {cfg}:3: timezone = 7: "
        'must be an IANA time zone name in quotes, e.g. "Asia/Jakarta"\n'
    )
    assert result.stdout == ""


def test_analyze_reads_no_settings(tmp_path: Path) -> None:
    # Its answers depend on the input alone, so a broken settings file does not stop it.
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[warta]\n\ntimezone = 7\n", encoding="utf-8")
    line = json.dumps({"id": "a", "title": "Harga beras naik", "text": "Harga beras naik."})
    result = warta("--config", str(cfg), "analyze", "-", tmp=tmp_path, stdin=line + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout)["id"] == "a"


BAD_ENV = [
    ("WARTA_FETCH_CONCURRENCY", "0", "WARTA_FETCH_CONCURRENCY=0: must be a whole number, at least"),
    ("WARTA_LOG_LEVEL", "LOUD", "WARTA_LOG_LEVEL=LOUD: must be one of DEBUG, INFO, WARNING"),
    ("WARTA_POLL_INTERVAL_S", "-5", "WARTA_POLL_INTERVAL_S=-5: must be a whole number of seconds"),
]


@pytest.mark.parametrize(("var", "value", "message"), BAD_ENV)
@pytest.mark.parametrize("command", [["run"], ["stories"]], ids=["run", "stories"])
def test_bad_env_value_stops_with_one_line(
    tmp_path: Path, command: list[str], var: str, value: str, message: str
) -> None:
    result = warta(*command, tmp=tmp_path, env={var: value})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"warta: {message}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["run"], ["poll", "--once"], ["feeds", "list"]])
def test_bad_feeds_file_stops_before_anything_opens(tmp_path: Path, command: list[str]) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[[feed]]\nurl = "https://a.example/rss"\ninterval = 1.5\n', "utf-8")
    result = warta(*command, tmp=tmp_path, stdin="")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"warta: {feeds}:3: feed #1: interval = 1.5: must be a whole")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "cli.db").exists()  # nothing was opened: no half-started instance


async def test_poll_then_stories_and_digest(tmp_path: Path) -> None:
    """`warta poll --once` against feeds on a real loopback server, then the stored stories."""
    import asyncio
    from datetime import UTC, datetime

    from bot.demo import render_sample, sample_feeds
    from tests.feedserver import FeedServer

    now = datetime.now(UTC)
    async with FeedServer() as server:
        urls = [
            server.url(server.add_bytes(f"/{name}", render_sample(raw, now)))
            for name, raw in sorted(sample_feeds().items())
        ]
        (tmp_path / "feeds.toml").write_text(
            "".join(f'[[feed]]\nurl = "{u}"\n\n' for u in urls), encoding="utf-8"
        )

        async def run(*args: str) -> tuple[int, str, str]:
            env = {
                **os.environ,
                "WARTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
                "WARTA_FEEDS_FILE": str(tmp_path / "feeds.toml"),
                "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
                "WARTA_ALLOW_LOOPBACK": "true",  # the test's feeds are on 127.0.0.1
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
            assert proc.returncode is not None
            return proc.returncode, out.decode(), err.decode()

        code, _, err = await run("poll", "--once")
        assert code == 0, err
        assert f"added {len(urls)} feeds" in err
        assert "0 failed" in err
        assert "19 baseline" in err

        code, out, err = await run("stories", "--since", "48h", "--json")
        assert code == 0, err
        stories = [json.loads(line) for line in out.splitlines()]
        titles = {s["title"] for s in stories}
        assert "Seniman Bocorkan Akses Sora sebagai Protes terhadap OpenAI" in titles
        assert "Festival Seni Bela Diri Pencak Silat Digelar di Bandung" not in titles
        assert all(s["bullets"] for s in stories)

        code, out, err = await run("digest", "--lang", "id", "--since", "48h", "--max", "3")
        assert code == 0, err
        assert out.startswith("Ringkasan AI & Seniman — ")
        assert out.count("\n1. ") == 1
        assert "\n4. " not in out

        # A second poll is not due yet: nothing is fetched again.
        server.reset_stats()
        code, _, err = await run("poll", "--once")
        assert code == 0, err
        assert sum(server.stats(f"/{n}").requests for n in sample_feeds()) == 0
