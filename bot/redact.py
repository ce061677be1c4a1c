"""How a feed URL is shown to people who are not operators: title and host, nothing else.

A feed URL may carry secrets: a paid feed's ``?token=…``, ``user:pass@`` credentials, a key in
the path (``/feeds/<private-key>/rss``). Only operators see full URLs; every reply, error,
autocomplete choice and log line shown to anyone else goes through this module.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Any http(s) URL in free text (error messages, exception strings): up to whitespace, a quote or
# an angle bracket, which is where people and libraries end URLs.
_URL_IN_TEXT = re.compile(r"(?i)\b(https?)://[^\s\"'<>]+")
_MAX_TITLE = 120


def source_host(url: str) -> str:
    """The host of ``url`` (lowercase, no userinfo, no port), or "?" for a malformed one."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        host = None
    return host or "?"


def display_source(url: str, title: str | None = None) -> str:
    """``"Title (host)"`` — or just the host without a title. Never the path, query, fragment
    or userinfo of ``url``."""
    host = source_host(url)
    name = " ".join((title or "").split())[:_MAX_TITLE]
    if not name or name == url:
        return host
    # A feed could name itself after its own secret URL; show the host instead of that.
    if "://" in name:
        name = redact_text(name)
    return f"{name} ({host})"


def _host_only_url(url: str) -> str:
    """``scheme://host/…``: enough to tell sources apart in an error, no secret parts."""
    scheme = urlsplit(url).scheme.lower() if "://" in url else "http"
    return f"{scheme}://{source_host(url)}/…"


def redact_text(text: str) -> str:
    """Every URL in ``text`` reduced to :func:`_host_only_url` (for errors that quote a URL)."""
    return _URL_IN_TEXT.sub(lambda m: _host_only_url(m.group(0)), text)


# Log lines keep the path (an operator debugging a feed needs it) but lose credentials and
# query strings, where paid feeds put their tokens.
_USERINFO = re.compile(r"(?i)\b(https?://)[^/\s@\"'<>]+@")
_QUERY = re.compile(r"(?i)(\bhttps?://[^\s\"'<>?#]*)[?#][^\s\"'<>]*")


def mask_url_secrets(text: str) -> str:
    """Userinfo and query strings of every URL in ``text`` masked, the rest kept."""
    text = _USERINFO.sub(r"\1***@", text)
    return _QUERY.sub(r"\1?…", text)
