"""The Jinja2 environment: templates, autoescaping and the few filters the pages need.

Autoescaping is on for every template (HTML and the Atom XML), so a feed's title, text or link
is always text on a page, whatever markup it carries. Links to outlets pass :func:`href`, which
lets only http(s) through (a ``javascript:`` URL would run in the reader's browser on click).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.lang.strings import format_date
from bot.lang.strings import t as digest_t
from bot.web.strings import t


def href(url: str) -> str:
    """``url`` when it is a plain http(s) link, else a harmless same-page anchor."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "#"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "#"
    return url.strip()


def host(url: str) -> str:
    """The host of ``url`` only: never its path, query string or userinfo."""
    try:
        name = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return name.removeprefix("www.")


def terms(matched: tuple[str, ...] | list[str], limit: int = 6) -> str:
    """Matched lexicon terms without their ``ai:``/``art:`` prefixes (as the chats show them)."""
    shown = [m.split(":", 1)[-1] for m in matched if not m.startswith(("neg:", "kw-:"))]
    return ", ".join(dict.fromkeys(shown[:limit]))


class Pages:
    """Renders the site's templates in one language at a time."""

    def __init__(self, *, tz: str) -> None:
        self.tz = tz
        self.zone = ZoneInfo(tz)
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(["html", "xml"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(href=href, host=host, terms=terms)
        self.env.globals.update(local_date=self.local_date, long_date=self.long_date)

    def local_date(self, when: datetime, lang: str) -> str:
        """'24 Nov 2026, 08:15 WIB': the moment in the site's time zone, labelled."""
        local = when.astimezone(self.zone)
        return f"{format_date(local, lang)}, {local:%H:%M} {local.tzname()}"

    def long_date(self, day: date, lang: str) -> str:
        return format_date(datetime(day.year, day.month, day.day), lang)  # noqa: DTZ001 - a date

    def render(self, template: str, *, lang: str, **context: Any) -> str:
        def s(key: str, **params: Any) -> str:
            return t(key, lang, **params)

        def d(key: str, **params: Any) -> str:
            return digest_t(key, lang, **params)

        return self.env.get_template(template).render(lang=lang, s=s, d=d, tz=self.tz, **context)
