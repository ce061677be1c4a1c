"""Settings and the feeds file: typed, range-checked, and errors that say where and what."""

from __future__ import annotations

import re
from dataclasses import fields, replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import (
    Settings,
    env_name,
    key_lines,
    load_feeds_file,
    load_settings,
    parse_duration,
)
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config/settings.example.toml"


def write_settings(tmp_path: Path, body: str) -> Path:
    cfg = tmp_path / "settings.toml"
    cfg.write_text(f"# comment\n[warta]\npoll_batch = 100\n{body}\n", encoding="utf-8")
    return cfg  # the tested line is line 4


def test_defaults_from_the_example_file() -> None:
    settings = load_settings(None, environ={"WARTA_CONFIG": str(EXAMPLE)})
    assert settings.timezone == "Asia/Jakarta"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    # The example's relative paths are relative to config/, so they land where the defaults do.
    assert Path(settings.feeds_file) == ROOT / "config/feeds.toml"
    assert settings.database_url == f"sqlite+aiosqlite:///{ROOT / 'data/warta.db'}"
    assert Path(settings.heartbeat_file) == ROOT / "data/warta.heartbeat"
    defaults = Settings()
    for f in fields(Settings):
        if f.name not in ("feeds_file", "database_url", "heartbeat_file"):
            assert getattr(settings, f.name) == getattr(defaults, f.name), f.name


def test_env_overrides_file_and_parses_text(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[warta]\npoll_interval_s = 600\ndefault_lang = "en"\n', encoding="utf-8")
    settings = load_settings(
        cfg,
        environ={
            "WARTA_POLL_INTERVAL_S": "120",
            "WARTA_ALLOW_LOOPBACK": "yes",
            "WARTA_FETCH_TIMEOUT_S": "7.5",
            "WARTA_DISCORD_GUILD_ID": "1234",
            "WARTA_OPERATORS_TELEGRAM": "11, 22 33",
            "WARTA_LOG_LEVEL": "debug",
            "WARTA_LLM_MODEL": "",
        },
    )
    assert settings.poll_interval_s == 120
    assert settings.default_lang == "en"
    assert settings.allow_loopback is True
    assert settings.fetch_timeout_s == 7.5
    assert settings.discord_guild_id == 1234
    assert settings.operators_telegram == (11, 22, 33)
    assert settings.log_level == "DEBUG"
    assert settings.llm_model is None  # empty unsets an optional setting


def test_file_values_keep_their_types(tmp_path: Path) -> None:
    cfg = write_settings(
        tmp_path,
        'fetch_timeout_s = 3\noperators_discord = [1, 2]\nlog_level = "warning"\n'
        'llm_base_url = "http://127.0.0.1:11434/v1"\nllm_model = "m"\nsummarizer = "llm"',
    )
    settings = load_settings(cfg, environ={})
    assert settings.fetch_timeout_s == 3.0
    assert isinstance(settings.fetch_timeout_s, float)
    assert settings.operators_discord == (1, 2)
    assert settings.log_level == "WARNING"
    assert settings.summarizer == "llm"


def test_secrets_only_from_env_and_never_in_repr_or_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[warta]\ntelegram_token = "123:abc"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN") as err:
        load_settings(cfg, environ={})
    assert "123:abc" not in str(err.value)
    assert f"{cfg}:2" in str(err.value)
    settings = load_settings(
        None, environ={"TELEGRAM_BOT_TOKEN": "123456:SECRET-value", "WARTA_CONFIG": str(EXAMPLE)}
    )
    assert settings.telegram_token == "123456:SECRET-value"
    assert "SECRET" not in repr(settings)
    assert "SECRET" not in str(settings)
    with pytest.raises(ConfigError) as err:
        load_settings(
            None,
            environ={
                "TELEGRAM_BOT_TOKEN": "123456:SECRET-value",
                "WARTA_LLM_API_KEY": "sk-SECRET",
                "WARTA_CONFIG": str(EXAMPLE),
                "WARTA_FETCH_CONCURRENCY": "0",
            },
        )
    assert "SECRET" not in str(err.value)
    assert "SECRET" not in repr(err.value.__cause__)
    assert load_settings(None, environ={"DISCORD_BOT_TOKEN": ""}).discord_token is None


def test_database_password_is_not_echoed(tmp_path: Path) -> None:
    cfg = write_settings(tmp_path, 'database_url = "mysql://warta:hunter2@db/warta"')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert "hunter2" not in str(err.value)
    assert "warta:***@db" in str(err.value)


@pytest.mark.parametrize(
    ("url", "secrets", "shown"),
    [
        ("postgresql+asyncpg://warta:hunter2@db.example:5432/warta", ["hunter2"], "warta:***@db"),
        # An unencoded "@" in the password: everything up to the host's "@" is the password.
        ("postgresql+asyncpg://warta:hun@ter2@db/warta", ["hun@", "ter2"], "warta:***@db/"),
        ("postgresql+asyncpg://warta@db/warta?password=hunter2", ["hunter2"], "password=***"),
    ],
)
def test_repr_masks_the_database_password(url: str, secrets: list[str], shown: str) -> None:
    settings = Settings(database_url=url)
    assert settings.database_url == url  # the value itself is intact for the store
    for text in (repr(settings), str(settings), f"{settings!r}"):
        for secret in secrets:
            assert secret not in text
        assert shown in text
    # Everything else is still shown as the generated repr showed it.
    assert "timezone='Asia/Jakarta'" in repr(settings)
    assert "telegram_token" not in repr(settings)


# (line 4 of the file, the message must hold all of these)
BAD_FILE_VALUES = [
    # The issue's cases.
    ("fetch_concurrency = 0", ["fetch_concurrency = 0", "at least 1"]),
    ('log_level = "LOUD"', ['log_level = "LOUD"', "DEBUG, INFO, WARNING, ERROR, CRITICAL"]),
    ("timezone = 7", ["timezone = 7", "IANA time zone", "Asia/Jakarta"]),
    ("poll_interval_s = [1, 2]", ["poll_interval_s = [1, 2]", "from 60 to 2592000"]),
    ("poll_interval_s = -900", ["poll_interval_s = -900", "from 60"]),
    # A table of others.
    ("poll_interval_s = 59", ["poll_interval_s = 59", "from 60"]),
    ("poll_interval_s = 900.5", ["poll_interval_s = 900.5", "whole number"]),
    ('poll_interval_s = "900"', ['poll_interval_s = "900"', "whole number"]),
    ("digest_max_stories = 0", ["digest_max_stories = 0", "at least 1"]),
    ("fetch_timeout_s = 0", ["fetch_timeout_s = 0", "greater than 0"]),
    ("fetch_timeout_s = -1.5", ["fetch_timeout_s = -1.5", "greater than 0"]),
    ("fetch_max_bytes = 10", ["fetch_max_bytes = 10", "at least 1024"]),
    ("summary_fetch_total_bytes = 0", ["summary_fetch_total_bytes", "at least 1024"]),
    ("fetch_per_host = true", ["fetch_per_host = true", "whole number"]),
    ("allow_loopback = 1", ["allow_loopback = 1", "true or false"]),
    ('feeds_allow_private = "yes"', ['feeds_allow_private = "yes"', "true or false"]),
    ('timezone = "Mars/Olympus"', ['timezone = "Mars/Olympus"', "IANA time zone"]),
    ('default_lang = "fr"', ['default_lang = "fr"', '"id", "en"']),
    ('summarizer = "gpt"', ['summarizer = "gpt"', '"extractive", "llm"']),
    ('summarizer = "llm"', ['summarizer = "llm"', "llm_base_url and llm_model"]),
    ('llm_base_url = "ftp://x"', ['llm_base_url = "ftp://x"', "http(s) URL"]),
    ('telegram_base_url = "localhost:8081"', ["telegram_base_url", "http(s) URL"]),
    ('discord_base_url = "https://"', ["discord_base_url", "http(s) URL"]),
    ('llm_model = ""', ['llm_model = ""', "non-empty"]),
    ("discord_guild_id = -5", ["discord_guild_id = -5", "positive whole number"]),
    ('operators_telegram = "123"', ['operators_telegram = "123"', "list of numeric user ids"]),
    ("operators_discord = [0]", ["operators_discord = [0]", "list of numeric user ids"]),
    ("operators_discord = [1.5]", ["operators_discord = [1.5]", "list of numeric user ids"]),
    ("chat_sources_max = -1", ["chat_sources_max = -1", "at least 0"]),
    ("rate_user_per_min = 0", ["rate_user_per_min = 0", "greater than 0"]),
    ("rate_chat_burst = 0", ["rate_chat_burst = 0", "at least 1"]),
    ("llm_max_calls_per_day = -1", ["llm_max_calls_per_day = -1", "at least 0"]),
    ("adapter_down_unhealthy_s = 0", ["adapter_down_unhealthy_s = 0", "at least 1"]),
    ('database_url = "mysql://x/y"', ['database_url = "mysql://x/y"', "sqlite", "postgresql"]),
    ('feeds_file = ""', ['feeds_file = ""', "non-empty file path"]),
    ('topics_file = "missing.toml"', ["topics_file", "no such file"]),
    ("nope = 1", ["unknown setting 'nope'"]),
    ("fetch_concurency = 3", ["unknown setting", "did you mean fetch_concurrency"]),
]


@pytest.mark.parametrize(("line", "expected"), BAD_FILE_VALUES, ids=[c[0] for c in BAD_FILE_VALUES])
def test_bad_file_values_name_file_line_key_and_what_is_allowed(
    tmp_path: Path, line: str, expected: list[str]
) -> None:
    cfg = write_settings(tmp_path, line)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    message = str(err.value)
    assert message.startswith(f"{cfg}:4: "), message
    for part in expected:
        assert part in message, message
    assert "\n" not in message


BAD_ENV_VALUES = [
    ("WARTA_FETCH_CONCURRENCY", "0", "at least 1"),
    ("WARTA_FETCH_CONCURRENCY", "many", "whole number"),
    ("WARTA_POLL_INTERVAL_S", "often", "whole number"),
    ("WARTA_POLL_INTERVAL_S", "1.5", "whole number"),
    ("WARTA_POLL_INTERVAL_S", "-60", "from 60"),
    ("WARTA_FETCH_TIMEOUT_S", "0", "greater than 0"),
    ("WARTA_ALLOW_LOOPBACK", "maybe", "true or false"),
    ("WARTA_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ("WARTA_TIMEZONE", "7", "IANA time zone"),
    ("WARTA_DEFAULT_LANG", "ms", '"id", "en"'),
    ("WARTA_OPERATORS_TELEGRAM", "12,abc", "list of numeric user ids"),
    ("WARTA_DISCORD_GUILD_ID", "guild", "positive whole number"),
    ("WARTA_TELEGRAM_BASE_URL", "file:///etc/passwd", "http(s) URL"),
    ("WARTA_DATABASE_URL", "oracle://x", "postgresql"),
    ("WARTA_SUMMARIZER", "llm", "llm_base_url and llm_model"),
]


@pytest.mark.parametrize(("var", "value", "allowed"), BAD_ENV_VALUES)
def test_bad_env_values_name_the_variable(var: str, value: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={"WARTA_CONFIG": str(EXAMPLE), var: value})
    message = str(err.value)
    expected_start = "WARTA_SUMMARIZER=llm" if var == "WARTA_SUMMARIZER" else f"{var}={value}: "
    assert message.startswith(expected_start), message
    assert allowed in message, message


def test_issue_example_env_message() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, environ={"WARTA_FETCH_CONCURRENCY": "0"})
    assert str(err.value) == "WARTA_FETCH_CONCURRENCY=0: must be a whole number, at least 1"


def test_settings_without_a_warta_table_and_other_file_problems(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text("\nfetch_concurrency = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{cfg}:2: fetch_concurrency = 0")):
        load_settings(cfg, environ={})
    cfg.write_text("[warta]\n[other]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{cfg}:2: unknown table or key 'other'")):
        load_settings(cfg, environ={})
    cfg.write_text("[warta\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 1"):
        load_settings(cfg, environ={})
    cfg.write_bytes(b"[warta]\ntimezone = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(cfg, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_relative_paths_follow_the_settings_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "topics.toml").write_text("", encoding="utf-8")
    cfg = folder / "warta.toml"
    cfg.write_text(
        "[warta]\n"
        'database_url = "sqlite+aiosqlite:///../var/warta.db"\n'
        'feeds_file = "feeds.toml"\n'
        'topics_file = "topics.toml"\n'
        'heartbeat_file = "/run/warta.beat"\n',
        encoding="utf-8",
    )
    settings = load_settings(cfg, environ={})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'var/warta.db'}"
    assert settings.feeds_file == str(folder / "feeds.toml")
    assert settings.topics_file == str(folder / "topics.toml")
    assert settings.heartbeat_file == "/run/warta.beat"  # absolute stays
    # Environment values and defaults stay relative to the working folder.
    settings = load_settings(cfg, environ={"WARTA_FEEDS_FILE": "x/feeds.toml"})
    assert settings.feeds_file == "x/feeds.toml"
    settings = load_settings(None, environ={})
    assert settings.feeds_file == "config/feeds.toml"
    assert settings.database_url == "sqlite+aiosqlite:///data/warta.db"
    # PostgreSQL URLs and in-memory SQLite are not paths.
    cfg.write_text('[warta]\ndatabase_url = "sqlite+aiosqlite://"\n', encoding="utf-8")
    assert load_settings(cfg, environ={}).database_url == "sqlite+aiosqlite://"


def test_settings_built_in_code_are_checked_too() -> None:
    assert Settings(feeds_file="x.toml", allow_loopback=True).allow_loopback is True
    assert replace(Settings(), fetch_concurrency=3).fetch_concurrency == 3
    with pytest.raises(ValidationError):
        Settings(fetch_concurrency=0)
    with pytest.raises(ValidationError):
        Settings(timezone="Nowhere/City")


def test_example_file_and_readme_list_every_setting() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([a-z_]+) = ", text, re.MULTILINE))
    for f in fields(Settings):
        if f.name in ("telegram_token", "discord_token", "llm_api_key"):
            assert f"| `{env_name(f.name)}` |" in readme, f.name
            continue
        assert f.name in listed, f"{f.name} missing from settings.example.toml"
        assert f"| `{f.name}` | `{env_name(f.name)}` |" in readme, f"{f.name} missing from README"


def test_key_lines_find_tables_arrays_and_skip_multiline_strings() -> None:
    text = (
        "top = 1\n"
        "[warta]\n"
        'notes = """\n'
        "fake = 1\n"
        '"""\n'
        '"quoted" = 2\n'
        "[[feed]]\n"
        "url = 'a'\n"
        "[[feed]] # second\n"
        "  url = 'b'\n"
    )
    lines = key_lines(text)
    assert lines[("", "top")] == 1
    assert lines[("warta", "notes")] == 3
    assert ("warta", "fake") not in lines
    assert lines[("warta", "quoted")] == 6
    assert lines[("feed#1", "url")] == 8
    assert lines[("feed#2", "url")] == 10


# --- feeds file


def test_bundled_feeds_file_is_valid_and_bilingual() -> None:
    specs = load_feeds_file(ROOT / "config/feeds.toml")
    langs = {s.lang for s in specs}
    assert {"id", "en"} <= langs
    assert all(s.url.startswith("https://") for s in specs)
    assert len({s.url for s in specs}) == len(specs)


FEEDS_HEAD = '[[feed]]\nurl = "https://a.example/rss"\nlang = "id"\n\n[[feed]]\nurl = "https://b.example/rss"\n'

BAD_FEEDS = [
    ("interval = 1.5", ["feed #2: interval = 1.5", "whole number of seconds", "from 60 s"]),
    ("interval = -900", ["feed #2: interval = -900", "from 60 s to 30 days"]),
    ("interval = 0", ["feed #2: interval = 0", "from 60 s"]),
    ("interval = 30", ["feed #2: interval = 30", "from 60 s"]),
    ('interval = "10s"', ['feed #2: interval = "10s"', "from 60 s"]),
    ('interval = "-1h"', ['feed #2: interval = "-1h"', "from 60 s"]),
    ('interval = "soon"', ['feed #2: interval = "soon"', '"15m"']),
    ('interval = "40d"', ['feed #2: interval = "40d"', "30 days"]),
    ("interval = true", ["feed #2: interval = true", "whole number of seconds"]),
    ('lang = "de"', ['feed #2: lang = "de"', '"id", "en"']),
    ("title = 5", ["feed #2: title = 5", "text"]),
    ('titel = "x"', ["feed #2: unknown key 'titel'", "did you mean title", "url, lang, title"]),
]


@pytest.mark.parametrize(("line", "expected"), BAD_FEEDS, ids=[c[0] for c in BAD_FEEDS])
def test_bad_feeds_name_file_feed_line_key_and_what_is_allowed(
    tmp_path: Path, line: str, expected: list[str]
) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(FEEDS_HEAD + line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_feeds_file(feeds)
    message = str(err.value)
    assert message.startswith(f"{feeds}:7: "), message
    for part in expected:
        assert part in message, message


def test_feeds_file_structure_errors(tmp_path: Path) -> None:
    bad = tmp_path / "f.toml"
    bad.write_text('[[feed]]\nurl = "ftp://x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f'{bad}:2: feed #1: url = "ftp://x"')):
        load_feeds_file(bad)
    bad.write_text('[[feed]]\nurl = "https://a.example/"\n[[feed]]\nlang = "en"\n', "utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{bad}:3: feed #2 needs url")):
        load_feeds_file(bad)
    bad.write_text('[feeds]\nurl = "https://a.example/"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{bad}:1: unknown key 'feeds'")):
        load_feeds_file(bad)
    bad.write_text('[[feed]]\nurl = "https://a.example/"\ninterval = "1h"\n', "utf-8")
    assert load_feeds_file(bad)[0].interval_s == 3600


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("6h", 21600),
        ("2d", 172800),
        ("6j", 21600),
        ("300", 300),
        (45, 45),
    ],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "infs", "", "h"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)
