"""Typed settings, loaded and checked once at the edge.

Sources, later ones winning: built-in defaults < ``config/settings.toml`` (or ``--config PATH``,
or ``WARTA_CONFIG``) < ``WARTA_*`` environment variables. Secrets (bot tokens, LLM keys) come ONLY
from the environment and are kept out of ``repr`` and of every error message.

Every value is checked when it is loaded, against the field's annotation (pydantic does the
typing and the ranges): a file value must already have the right TOML type (``timezone = 7`` or
``allow_loopback = 1`` is refused, not coerced); an environment value is text and is parsed. The
first bad value ends loading with one ``ConfigError`` naming the file and line, or the variable,
the value given and what is allowed, so nothing starts half-configured.

Relative paths written in a settings file (``database_url``'s SQLite path, ``feeds_file``,
``topics_file``, ``heartbeat_file``) are relative to that file's folder, so a settings file means
the same wherever ``warta`` is started from. Defaults and environment values stay relative to the
working directory.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass as checked_dataclass

from bot.errors import ConfigError
from bot.summarize.base import available as summarizers

DEFAULT_CONFIG = Path("config/settings.toml")
DEFAULT_FEEDS = Path("config/feeds.toml")

MIN_INTERVAL_S = 60  # polling a feed more often than once a minute only burdens its publisher
MAX_INTERVAL_S = 30 * 86400


@dataclass(frozen=True, slots=True)
class Allowed:
    """What a setting accepts, in words, for error messages and the settings reference.
    Without one, the words are built from the type and its bounds."""

    text: str


@dataclass(frozen=True, slots=True)
class RelativeToFile:
    """Marks a path setting that, written in a settings file, is relative to that file."""


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError("unknown time zone") from e
    return name


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    return url


# SQLAlchemy's URL form "backend[+driver]://...". Read here without SQLAlchemy: every command
# loads settings, and `warta health` or `analyze` must not pay for importing it (the store checks
# the rest of the URL when it opens).
_DB_URL = re.compile(r"^(?P<backend>[A-Za-z][\w]*)(?:\+\w+)?://")


def _database_url(url: str) -> str:
    m = _DB_URL.match(url)
    if m is None:
        raise ValueError("not a database URL")
    if m["backend"] not in ("sqlite", "postgresql", "postgres"):
        raise ValueError("unsupported database")
    return url


def _log_level(name: str) -> str:
    level = name.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError("unknown log level")
    return level


def _summarizer(name: str) -> str:
    if name not in summarizers():  # the registry is the one list of backends
        raise ValueError("unknown summarizer")
    return name


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# The vocabulary of setting types. A new setting is one annotated line in Settings below, using
# one of these or ``Annotated[<type>, Field(<bounds>)]``.
Count = Annotated[int, Field(ge=1)]
Port = Annotated[int, Field(ge=1, le=65535)]
Bytes = Annotated[int, Field(ge=1024)]
Seconds = Annotated[float, Field(gt=0)]
PerMinute = Annotated[float, Field(gt=0)]
Interval = Annotated[
    int,
    Field(ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S),
    Allowed(f"a whole number of seconds from {MIN_INTERVAL_S} to {MAX_INTERVAL_S} (30 days)"),
]
Lang = Literal["id", "en"]
UserIds = Annotated[
    tuple[Annotated[int, Field(ge=1)], ...],
    Allowed("a list of numeric user ids, e.g. [123456789] (in the environment: 123,456)"),
]
Snowflake = Annotated[int, Field(ge=1), Allowed("a numeric id (a positive whole number)")]
ShardIds = Annotated[
    tuple[Annotated[int, Field(ge=0)], ...],
    Allowed("a list of shard numbers, e.g. [0, 1] (in the environment: 0,1)"),
]
Days = Annotated[int, Field(ge=0), Allowed("a whole number of days (0: keep forever)")]
Text = Annotated[str, Field(min_length=1)]
FilePath = Annotated[str, Field(min_length=1), RelativeToFile(), Allowed("a non-empty file path")]
HttpUrl = Annotated[str, AfterValidator(_http_url), Allowed('an http(s) URL, e.g. "http://host/"')]
DatabaseUrl = Annotated[
    str,
    AfterValidator(_database_url),
    RelativeToFile(),
    Allowed('a database URL "sqlite+aiosqlite:///path.db" or "postgresql+asyncpg://user@host/db"'),
]
Zone = Annotated[
    str, AfterValidator(_zone), Allowed('an IANA time zone name in quotes, e.g. "Asia/Jakarta"')
]
LogLevel = Annotated[
    str, AfterValidator(_log_level), Allowed(f"one of {', '.join(LOG_LEVELS)} (any case)")
]
SummarizerName = Annotated[
    str,
    AfterValidator(_summarizer),
    Allowed("one of " + ", ".join(f'"{n}"' for n in summarizers())),
]


@checked_dataclass(frozen=True, slots=True, config=ConfigDict(hide_input_in_errors=True))
class Settings:
    """Every setting, typed and bounded. ``Settings(**kwargs)`` checks its arguments too.

    To add one: one line ``name: <type from the vocabulary above> = default`` plus a row in
    ``config/settings.example.toml`` and the README's settings table (a test compares them).
    """

    database_url: DatabaseUrl = "sqlite+aiosqlite:///data/warta.db"
    feeds_file: FilePath = str(DEFAULT_FEEDS)
    topics_file: FilePath | None = None  # None: config/topics.toml, else the packaged copy
    timezone: Zone = "Asia/Jakarta"
    default_lang: Lang = "id"
    poll_interval_s: Interval = 900
    poll_batch: Count = 200
    fetch_timeout_s: Seconds = 20.0
    fetch_max_bytes: Bytes = 8 * 2**20
    fetch_concurrency: Count = 50
    fetch_per_host: Count = 4
    # Processes that parse and analyze large feed bodies off the event loop: 0 = one per core,
    # -1 = none (everything on the loop; tests and tiny instances).
    cpu_workers: Annotated[int, Field(ge=-1, le=64)] = 0
    allow_loopback: bool = False  # let every fetch reach 127.0.0.0/8 and ::1: tests and demo only
    # Feeds come from chat admins too (/feeds add), and DNS can later point a public name at a
    # private address: polled feeds are held to public addresses unless this is set.
    feeds_allow_private: bool = False
    digest_max_stories: Count = 10
    digest_other_languages: bool = True  # False: only stories in the subscriber's language
    summarizer: SummarizerName = "extractive"
    llm_base_url: HttpUrl | None = None
    llm_model: Text | None = None
    telegram_base_url: HttpUrl | None = None
    discord_base_url: HttpUrl | None = (
        None  # REST base (a rate-limit proxy such as nirn-proxy; tests)
    )
    discord_guild_id: Snowflake | None = None
    # Discord sharding for a bot in many guilds: 1 is one gateway connection, 0 lets Discord
    # recommend the count, N > 1 splits the guilds over N shards. discord_shard_ids picks the
    # shards this process runs (empty: all), so gateways on several machines share them.
    discord_shard_count: Annotated[int, Field(ge=0)] = 1
    discord_shard_ids: ShardIds = ()
    log_level: LogLevel = "INFO"
    # Operators: platform user ids allowed to change the instance's default sources from chat,
    # see every chat's usage and full feed URLs. Everyone else is a tenant of their own chat.
    operators_telegram: UserIds = ()
    operators_discord: UserIds = ()
    # Sources a chat may add on top of the defaults (0: chats use the defaults only).
    chat_sources_max: Annotated[int, Field(ge=0)] = 50
    # Command rate limits (token buckets): sustained commands per minute and burst size.
    rate_user_per_min: PerMinute = 12.0
    rate_user_burst: Count = 6
    rate_chat_per_min: PerMinute = 30.0
    rate_chat_burst: Count = 15
    # /summary <url>: pages fetched at once across all chats, and the bytes they may hold together.
    summary_fetch_concurrency: Count = 4
    summary_fetch_total_bytes: Bytes = 24 * 2**20
    llm_max_calls_per_day: Annotated[int, Field(ge=0)] = 500  # shared fairly across chats
    heartbeat_file: FilePath = "data/warta.heartbeat"
    # SIGTERM/Ctrl-C: running work gets this long to finish; what is still held after it
    # (claimed feeds, deliveries being sent) is released for another copy at once.
    shutdown_grace_s: Seconds = 10.0
    # Claims on a feed being polled and a delivery being sent: renewed every third of this
    # while held, so a copy killed outright leaves its work to others within this long.
    feed_lease_s: Annotated[float, Field(ge=1)] = 15.0
    delivery_lease_s: Annotated[float, Field(ge=1)] = 15.0
    # Retention, pruned hourly in batches by `warta worker`/`warta run` (0: keep forever).
    retention_days: Days = 90  # stories, by when they were published (or fetched)
    retention_deliveries_days: Days = 30  # sent and failed deliveries; queued ones are kept
    retention_batch: Count = 1000  # rows deleted per statement, so no prune holds long locks
    # Due digests are composed at this interval: a digest goes out at most this late.
    compose_every_s: Seconds = 30.0
    retention_every_s: Seconds = 3600.0
    # The first prune waits until start-up (migrations, adapters, first poll) is over.
    retention_first_after_s: Annotated[float, Field(ge=0)] = 60.0
    # `warta health` fails once an adapter is down this long.
    adapter_down_unhealthy_s: Count = 300
    web_enabled: bool = False  # `warta run` also serves the public web pages, feeds and /metrics
    web_host: Text = "127.0.0.1"  # loopback unless told otherwise: expose through a reverse proxy
    web_port: Annotated[int, Field(ge=0, le=65535)] = 8080  # 0: any free port (tests)
    web_base_url: HttpUrl | None = None  # public URL of the site, for permalinks in feeds and chats
    # Secrets: environment only, never printed.
    telegram_token: str | None = field(default=None, repr=False)
    discord_token: str | None = field(default=None, repr=False)
    llm_api_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # Written out (the generated repr would show database_url as given): a PostgreSQL URL
        # carries its password ("postgresql+asyncpg://warta:pw@db/warta"), and settings get
        # printed in logs and tracebacks. URLs lose their userinfo password and query values.
        shown = (f"{f.name}={_masked(getattr(self, f.name))!r}" for f in fields(self) if f.repr)
        return f"{type(self).__name__}({', '.join(shown)})"


_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^/@:?#]*):[^/?#]*@", re.IGNORECASE)
_URL_QUERY_VALUE = re.compile(r"=[^&#]*")


def _masked(value: object) -> object:
    """A URL-looking setting with its password and query values replaced by ``***``."""
    if not isinstance(value, str) or "://" not in value:
        return value
    masked = _URL_PASSWORD.sub(r"\1:***@", value)
    base, sep, query = masked.partition("?")
    return base + sep + _URL_QUERY_VALUE.sub("=***", query) if sep else masked


_SECRETS = {
    "telegram_token": "TELEGRAM_BOT_TOKEN",
    "discord_token": "DISCORD_BOT_TOKEN",
    "llm_api_key": "WARTA_LLM_API_KEY",
}


def env_name(key: str) -> str:
    """The environment variable that sets ``key``."""
    return _SECRETS.get(key, f"WARTA_{key.upper()}")


# --- checking one value ---------------------------------------------------------------------


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls, include_extras=True)


@cache
def _adapter(cls: type, key: str) -> TypeAdapter[Any]:
    return TypeAdapter(_hints(cls)[key], config=ConfigDict(hide_input_in_errors=True))


def _parts(annotation: Any) -> tuple[Any, list[Any], bool]:
    """(base type, Annotated metadata, optional?) of a field annotation."""
    optional = False
    if get_origin(annotation) in (Union, type(int | None)):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        if len(args) == 1:
            annotation = args[0]
    meta: list[Any] = []
    if get_origin(annotation) is Annotated:
        annotation, *meta = get_args(annotation)
    flat: list[Any] = []
    for m in meta:  # Field(ge=1) arrives as a FieldInfo whose .metadata holds Ge(1)
        flat.extend([m, *getattr(m, "metadata", ())])
    return annotation, flat, optional


def _bounds(meta: list[Any]) -> str:
    low = next((f"at least {v}" for m in meta if (v := getattr(m, "ge", None)) is not None), "")
    low = low or next(
        (f"greater than {v}" for m in meta if (v := getattr(m, "gt", None)) is not None), ""
    )
    high = next((f"at most {v}" for m in meta if (v := getattr(m, "le", None)) is not None), "")
    if low.startswith("at least") and high:
        return f"from {low.removeprefix('at least ')} to {high.removeprefix('at most ')}"
    return " and ".join(b for b in (low, high) if b)


def allowed(annotation: Any) -> str:
    """What ``annotation`` accepts, in words ("a whole number from 1 to 65535")."""
    base, meta, _ = _parts(annotation)
    words = next((m.text for m in meta if isinstance(m, Allowed)), None)
    if words is None:
        if get_origin(base) is Literal:
            words = "one of " + ", ".join(f'"{v}"' for v in get_args(base))
        else:
            kind = {int: "a whole number", float: "a number", bool: "true or false"}
            words = kind.get(base, "text in quotes")
            bounds = _bounds(meta)
            words = f"{words}, {bounds}" if bounds else words
    if base is str and any(getattr(m, "min_length", None) for m in meta) and "quotes" in words:
        words = "non-empty " + words
    return words


def _shown(key: str, value: Any, *, toml: bool) -> str:
    """The given value as the user wrote it, with passwords in URLs hidden, cut if long."""
    if isinstance(value, str) and "://" in value and "@" in value:
        parts = urlsplit(value)
        if parts.password:
            value = value.replace(f":{parts.password}@", ":***@", 1)
    if not toml:
        text = str(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from: a file (and line) or an environment variable."""

    file: Path | None = None
    line: int | None = None
    env: str | None = None
    prefix: str = ""  # e.g. "feed #3: " inside a feeds file

    def where(self, key: str, value: Any) -> str:
        if self.env is not None:
            return f"{self.env}={_shown(key, value, toml=False)}"
        at = f"{self.file}:{self.line}" if self.line else f"{self.file}"
        return f"{at}: {self.prefix}{key} = {_shown(key, value, toml=True)}"

    def at(self) -> str:
        if self.env is not None:
            return self.env
        return f"{self.file}:{self.line}" if self.line else f"{self.file}"


def check_value(cls: type, key: str, raw: Any, origin: Origin) -> Any:
    """``raw`` checked against ``cls``'s annotation for ``key``; ConfigError if not allowed."""
    adapter = _adapter(cls, key)
    try:
        if origin.env is None:
            if isinstance(raw, list):
                raw = tuple(raw)  # TOML arrays arrive as lists; tuple fields are strict about it
            return adapter.validate_python(raw, strict=True)
        base, _, optional = _parts(_hints(cls)[key])
        if optional and not raw.strip():
            return None
        if get_origin(base) is tuple:
            return adapter.validate_python(raw.replace(",", " ").split())
        return adapter.validate_strings(raw)
    except ValidationError as e:
        raise ConfigError(f"{origin.where(key, raw)}: must be {allowed(_hints(cls)[key])}") from e


# --- finding lines --------------------------------------------------------------------------

_TABLE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*(["']?)([A-Za-z0-9_-]+)\1\s*=""")


def key_lines(text: str) -> dict[tuple[str, str], int]:
    """``(table, key) -> line number`` for ``key = ...`` lines; array tables are "name#n".

    tomllib gives values without positions, and an error that names the line saves a hunt
    through a long file. A line scan finds the ordinary ``key = value`` layout; keys written
    other ways (dotted, inline tables) are simply reported without a line.
    """
    lines: dict[tuple[str, str], int] = {}
    counts: dict[str, int] = {}
    table = ""
    in_string: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if in_string is not None:
            if line.count(in_string) % 2 == 1:
                in_string = None
            continue
        if m := _TABLE.match(line):
            name = m.group(2).strip().strip("\"'")
            if m.group(1) == "[[":
                counts[name] = counts.get(name, 0) + 1
                name = f"{name}#{counts[name]}"
            table = name
            continue
        if m := _KEY.match(line):
            lines.setdefault((table, m.group(2)), number)
            rest = line[m.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote
    return lines


def _read_toml(path: Path, what: str) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text), text
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e


def _unknown(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# --- settings -------------------------------------------------------------------------------


def _file_values(cfg: Path) -> Iterator[tuple[str, Any, Origin]]:
    data, text = _read_toml(cfg, "settings file")
    lines = key_lines(text)
    table = "warta" if "warta" in data else ""
    section = data.get("warta", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{cfg}:{lines.get(('', 'warta'), '?')}: warta must be a [warta] table")
    if table:
        for extra in (k for k in data if k != "warta"):
            line = lines.get(("", extra)) or _table_line(text, extra)
            at = f"{cfg}:{line}" if line else f"{cfg}"
            raise ConfigError(f"{at}: unknown table or key {extra!r}: settings go in [warta]")
    known = [f.name for f in fields(Settings) if f.name not in _SECRETS]
    for key, raw in section.items():
        origin = Origin(file=cfg, line=lines.get((table, key)))
        if key in _SECRETS:
            raise ConfigError(
                f"{origin.at()}: {key} is a secret: set it in the environment as "
                f"{_SECRETS[key]}, not in a file"
            )
        if key not in known:
            raise ConfigError(f"{origin.at()}: unknown setting {key!r}{_unknown(key, known)}")
        yield key, raw, origin


def _table_line(text: str, name: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if (m := _TABLE.match(line)) and m.group(2).strip().strip("\"'") == name:
            return number
    return None


def _relative_to(folder: Path, key: str, value: str) -> str:
    if key == "database_url":
        # sqlite[+driver]:///relative.db (three slashes) names a path; four slashes an absolute
        # one. Split by hand for the same reason as _DB_URL.
        m = _DB_URL.match(value)
        if m is None or m["backend"] != "sqlite" or not value[m.end() :].startswith("/"):
            return value
        database, sep, query = value[m.end() + 1 :].partition("?")
        if database in ("", ":memory:") or database.startswith("file:"):
            return value
        if Path(database).is_absolute():
            return value
        path = os.path.normpath(folder / database)
        return f"{value[: m.end()]}/{path}{sep}{query}"
    if Path(value).is_absolute():
        return value
    return os.path.normpath(folder / value)


def load_settings(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read settings from ``path`` (default ``config/settings.toml`` if present) and the env.

    Raises ConfigError naming the file and line, or the variable, of the first value that is not
    allowed, and what is allowed there.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    explicit = path is not None or "WARTA_CONFIG" in env
    cfg = Path(path or env.get("WARTA_CONFIG") or DEFAULT_CONFIG)
    if cfg.exists():
        folder = cfg.resolve().parent
        for key, raw, origin in _file_values(cfg):
            value = check_value(Settings, key, raw, origin)
            if isinstance(value, str) and _is_relative_to_file(key):
                value = _relative_to(folder, key, value)
            values[key], origins[key] = value, origin
    elif explicit:
        raise ConfigError(f"settings file not found: {cfg}")

    for f in fields(Settings):
        name = env_name(f.name)
        if name in env:
            origin = Origin(env=name)
            values[f.name] = check_value(Settings, f.name, env[name], origin)
            origins[f.name] = origin
    for secret in _SECRETS:
        if values.get(secret) == "":
            values[secret] = None  # an exported but empty token means "not set"

    settings = Settings(**values)
    _check_together(settings, origins)
    return settings


def _is_relative_to_file(key: str) -> bool:
    return any(isinstance(m, RelativeToFile) for m in _parts(_hints(Settings)[key])[1])


def _check_together(settings: Settings, origins: Mapping[str, Origin]) -> None:
    """Settings that only make sense together."""
    if settings.summarizer == "llm":
        missing = [k for k in ("llm_base_url", "llm_model") if getattr(settings, k) is None]
        if missing:
            origin = origins.get("summarizer", Origin(env=env_name("summarizer")))
            raise ConfigError(
                f"{origin.where('summarizer', 'llm')}: needs {' and '.join(missing)} set too "
                '(e.g. llm_base_url = "http://127.0.0.1:11434/v1", llm_model = "llama3.1")'
            )
    if settings.topics_file is not None and not Path(settings.topics_file).is_file():
        origin = origins.get("topics_file", Origin(env=env_name("topics_file")))
        raise ConfigError(
            f"{origin.where('topics_file', settings.topics_file)}: no such file "
            "(must be a topics lexicon such as config/topics.toml)"
        )


# --- feeds file -----------------------------------------------------------------------------


def _interval(value: int | str) -> int:
    try:
        seconds = parse_duration(value)
    except ConfigError as e:
        raise ValueError("not a duration") from e
    if seconds is None or not MIN_INTERVAL_S <= seconds <= MAX_INTERVAL_S:
        raise ValueError("out of range")
    return seconds


@checked_dataclass(frozen=True, slots=True, config=ConfigDict(hide_input_in_errors=True))
class _FeedEntry:
    """The keys a ``[[feed]]`` table may hold, typed like Settings."""

    url: HttpUrl
    lang: Lang | None = None
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    interval: (
        Annotated[
            int | str,
            AfterValidator(_interval),
            Allowed(
                'a whole number of seconds or a duration such as "15m", "1h", "1d", '
                f"from {MIN_INTERVAL_S} s to {MAX_INTERVAL_S // 86400} days"
            ),
        ]
        | None
    ) = None


@dataclass(frozen=True, slots=True)
class FeedSpec:
    url: str
    lang: str | None = None
    title: str | None = None
    interval_s: int | None = None


def load_feeds_file(path: str | Path) -> list[FeedSpec]:
    """``[[feed]]`` tables with url, lang, title, interval (seconds or "15m"/"1h").

    Raises ConfigError naming the file, the feed's number and line, the key and what is allowed.
    """
    p = Path(path)
    data, text = _read_toml(p, "feeds file")
    lines = key_lines(text)
    for extra in (k for k in data if k != "feed"):
        line = lines.get(("", extra)) or _table_line(text, extra)
        at = f"{p}:{line}" if line else f"{p}"
        raise ConfigError(f"{at}: unknown key {extra!r}: feeds are [[feed]] tables")
    items = data.get("feed", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"{p}: feed must be [[feed]] tables")
    known = [f.name for f in fields(_FeedEntry)]
    specs: list[FeedSpec] = []
    for number, item in enumerate(items, 1):
        table = f"feed#{number}"
        header = _nth_table_line(text, "feed", number)
        checked: dict[str, Any] = {}
        for key, raw in item.items():
            origin = Origin(file=p, line=lines.get((table, key)), prefix=f"feed #{number}: ")
            if key not in known:
                raise ConfigError(
                    f"{origin.at()}: feed #{number}: unknown key {key!r}{_unknown(key, known)} "
                    f"(allowed: {', '.join(known)})"
                )
            checked[key] = check_value(_FeedEntry, key, raw, origin)
        if "url" not in checked:
            at = f"{p}:{header}" if header else f"{p}"
            raise ConfigError(f"{at}: feed #{number} needs url = an http(s) URL")
        specs.append(
            FeedSpec(
                url=checked["url"],
                lang=checked.get("lang"),
                title=checked.get("title"),
                interval_s=checked.get("interval"),
            )
        )
    return specs


def _nth_table_line(text: str, name: str, n: int) -> int | None:
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        m = _TABLE.match(line)
        if m and m.group(1) == "[[" and m.group(2).strip() == name:
            seen += 1
            if seen == n:
                return number
    return None


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
    except (ValueError, OverflowError) as e:
        raise ConfigError(f"not a duration: {value!r} (try 30m, 6h, 1d)") from e
