from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_feeds_file, load_settings, parse_duration
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_file(tmp_path: Path) -> None:
    settings = load_settings(
        None, environ={"WARTA_CONFIG": str(ROOT / "config/settings.example.toml")}
    )
    assert settings.timezone == "Asia/Jakarta"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


def test_env_overrides_file_and_coerces(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[warta]\npoll_interval_s = 600\ndefault_lang = "en"\n', encoding="utf-8")
    settings = load_settings(
        cfg,
        environ={
            "WARTA_POLL_INTERVAL_S": "120",
            "WARTA_ALLOW_LOOPBACK": "yes",
            "WARTA_FETCH_TIMEOUT_S": "7.5",
            "WARTA_DISCORD_GUILD_ID": "1234",
        },
    )
    assert settings.poll_interval_s == 120
    assert settings.default_lang == "en"
    assert settings.allow_loopback is True
    assert settings.fetch_timeout_s == 7.5
    assert settings.discord_guild_id == 1234


def test_secrets_only_from_env_and_never_in_repr(tmp_path: Path) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text('[warta]\ntelegram_token = "123:abc"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings(cfg, environ={})
    settings = load_settings(
        None,
        environ={
            "TELEGRAM_BOT_TOKEN": "123456:SECRET-value",
            "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
        },
    )
    assert settings.telegram_token == "123456:SECRET-value"
    assert "SECRET" not in repr(settings)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[warta]\nnope = 1\n", "unknown setting"),
        ('[warta]\ntimezone = "Mars/Olympus"\n', "unknown timezone"),
        ('[warta]\ndefault_lang = "fr"\n', "default_lang"),
        ("[warta\n", "cannot read"),
    ],
)
def test_bad_settings_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "s.toml"
    cfg.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, environ={})


def test_bad_env_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="poll_interval_s"):
        load_settings(
            None,
            environ={
                "WARTA_POLL_INTERVAL_S": "often",
                "WARTA_CONFIG": str(ROOT / "config/settings.example.toml"),
            },
        )


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_bundled_feeds_file_is_valid_and_bilingual() -> None:
    specs = load_feeds_file(ROOT / "config/feeds.toml")
    langs = {s.lang for s in specs}
    assert {"id", "en"} <= langs
    assert all(s.url.startswith("https://") for s in specs)
    assert len({s.url for s in specs}) == len(specs)


def test_feeds_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "f.toml"
    bad.write_text('[[feed]]\nurl = "ftp://x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="http"):
        load_feeds_file(bad)
    bad.write_text('[[feed]]\nurl = "https://x"\nlang = "de"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="lang"):
        load_feeds_file(bad)


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


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ConfigError):
        parse_duration("soon")
