"""Typed settings, loaded once at the edge.

Sources, later ones winning: built-in defaults < ``config/settings.toml`` (or ``--config PATH``)
< ``WARTA_*`` environment variables. Secrets (bot tokens, LLM keys) come ONLY from the
environment and are kept out of ``repr`` so they never reach logs.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

DEFAULT_CONFIG = Path("config/settings.toml")
DEFAULT_FEEDS = Path("config/feeds.toml")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///data/warta.db"
    feeds_file: str = str(DEFAULT_FEEDS)
    topics_file: str | None = None  # None: config/topics.toml, else the packaged copy
    timezone: str = "Asia/Jakarta"
    default_lang: str = "id"
    poll_interval_s: int = 900
    poll_batch: int = 200
    fetch_timeout_s: float = 20.0
    fetch_max_bytes: int = 8 * 2**20
    fetch_concurrency: int = 50
    fetch_per_host: int = 4
    allow_loopback: bool = False  # let every fetch reach 127.0.0.0/8 and ::1: tests and demo only
    # Feeds come from chat admins too (/feeds add), and DNS can later point a public name at a
    # private address: polled feeds are held to public addresses unless this is set.
    feeds_allow_private: bool = False
    digest_max_stories: int = 10
    digest_other_languages: bool = True  # False: only stories in the subscriber's language
    summarizer: str = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    telegram_base_url: str | None = None
    discord_base_url: str | None = None  # REST base (a rate-limit proxy such as nirn-proxy; tests)
    discord_guild_id: int | None = None
    log_level: str = "INFO"
    # Operators: platform user ids allowed to change the instance's default sources from chat,
    # see every chat's usage and full feed URLs. Everyone else is a tenant of their own chat.
    operators_telegram: tuple[int, ...] = ()
    operators_discord: tuple[int, ...] = ()
    chat_sources_max: int = 50  # sources a chat may add on top of the defaults
    # Command rate limits (token buckets): sustained commands per minute and burst size.
    rate_user_per_min: float = 12.0
    rate_user_burst: int = 6
    rate_chat_per_min: float = 30.0
    rate_chat_burst: int = 15
    # /summary <url>: pages fetched at once across all chats, and the bytes they may hold together.
    summary_fetch_concurrency: int = 4
    summary_fetch_total_bytes: int = 24 * 2**20
    llm_max_calls_per_day: int = 500  # shared fairly across chats
    heartbeat_file: str = "data/warta.heartbeat"
    adapter_down_unhealthy_s: int = 300  # `warta health` fails once an adapter is down this long
    # Secrets: environment only, never printed.
    telegram_token: str | None = field(default=None, repr=False)
    discord_token: str | None = field(default=None, repr=False)
    llm_api_key: str | None = field(default=None, repr=False)


_SECRETS = {
    "telegram_token": "TELEGRAM_BOT_TOKEN",
    "discord_token": "DISCORD_BOT_TOKEN",
    "llm_api_key": "WARTA_LLM_API_KEY",
}


def _coerce(name: str, raw: Any, default: Any) -> Any:
    kind = type(default) if default is not None else None
    # Optional fields whose default is None: infer from the annotation text.
    annotation = str(Settings.__dataclass_fields__[name].type)
    try:
        if annotation.startswith("tuple"):
            items = raw.replace(",", " ").split() if isinstance(raw, str) else raw
            if not isinstance(items, list | tuple):
                raise ValueError(raw)
            return tuple(int(x) for x in items)
        if isinstance(raw, str):
            if "bool" in annotation or kind is bool:
                low = raw.strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                return low in ("1", "true", "yes", "on")
            if kind is int or annotation.startswith("int"):
                return int(raw) if raw.strip() else None
            if kind is float or annotation.startswith("float"):
                return float(raw)
            return raw
        if kind is float and isinstance(raw, int):
            return float(raw)
        return raw
    except (ValueError, TypeError) as e:
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} as {annotation}") from e


def load_settings(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read settings from ``path`` (default ``config/settings.toml`` if present) and the env."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    explicit = path is not None or "WARTA_CONFIG" in env
    cfg = Path(path or env.get("WARTA_CONFIG") or DEFAULT_CONFIG)
    if cfg.exists():
        try:
            data = tomllib.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read settings file {cfg}: {e}") from e
        section = data.get("warta", data)
        known = {f.name for f in fields(Settings)}
        for key, raw in section.items():
            if key in _SECRETS:
                raise ConfigError(
                    f"{cfg}: {key!r} is a secret; set it in the environment as {_SECRETS[key]}"
                )
            if key not in known:
                raise ConfigError(f"{cfg}: unknown setting {key!r}")
            values[key] = raw
    elif explicit:
        raise ConfigError(f"settings file not found: {cfg}")

    defaults = Settings()
    for f in fields(Settings):
        env_name = _SECRETS.get(f.name, f"WARTA_{f.name.upper()}")
        if env_name in env:
            values[f.name] = env[env_name]
    coerced = {k: _coerce(k, v, getattr(defaults, k)) for k, v in values.items()}
    settings = Settings(**coerced)
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(f"unknown timezone {settings.timezone!r}") from e
    if settings.default_lang not in ("id", "en"):
        raise ConfigError(f"default_lang must be 'id' or 'en', not {settings.default_lang!r}")
    return settings


@dataclass(frozen=True, slots=True)
class FeedSpec:
    url: str
    lang: str | None = None
    title: str | None = None
    interval_s: int | None = None


def load_feeds_file(path: str | Path) -> list[FeedSpec]:
    """``[[feed]]`` tables with url, lang, title, interval (seconds or "15m"/"1h")."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read feeds file {p}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"feeds file {p} is not valid TOML: {e}") from e
    specs: list[FeedSpec] = []
    for i, item in enumerate(data.get("feed", [])):
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{p}: feed #{i + 1} needs an http(s) url")
        lang = item.get("lang")
        if lang is not None and lang not in ("id", "en"):
            raise ConfigError(f"{p}: feed {url}: lang must be 'id' or 'en'")
        interval = item.get("interval")
        specs.append(
            FeedSpec(
                url=url, lang=lang, title=item.get("title"), interval_s=parse_duration(interval)
            )
        )
    return specs


def parse_duration(value: str | int | None) -> int | None:
    """'90s', '15m', '6h', '2d' or a number of seconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = value.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "j": 3600}  # "j" = jam (hour) in Indonesian
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError as e:
        raise ConfigError(f"not a duration: {value!r} (try 30m, 6h, 1d)") from e
