"""Feed bytes -> ParsedFeed: plain-text, capped, with dates in UTC.

Two parsers sit behind one function. ``feedparser_rs`` (Rust) is the fast path; feedparser 6
is the reference and takes over whenever the fast one is unsure: it flagged the document as
malformed (bozo), found no entries, produced U+FFFD (a decoding guess went wrong) or raised.
feedparser's loose parser recovers far more broken feeds, at a fraction of the speed.

Hostile input is refused before either parser sees it: feedparser's loose parser expands
internal entities without any limit (a 55 KB document grew to 100 MB), so any document whose
DOCTYPE declares entities is a ParseError. Only bytes are accepted: ``feedparser.parse(str)``
opens local files and ``feedparser_rs.parse(str)`` fetches URLs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import feedparser
import feedparser_rs

from bot.errors import ParseError
from bot.feeds.dates import parse_date
from bot.feeds.html import clean_text, html_to_text, one_line
from bot.models import ParsedEntry, ParsedFeed

__all__ = [
    "MAX_AUTHOR",
    "MAX_ENTRIES",
    "MAX_LINK",
    "MAX_TEXT",
    "MAX_TITLE",
    "cap_text",
    "declares_entities",
    "normalize_lang",
    "parse_feed",
    "parse_feed_with",
]

MAX_TITLE: Final = 300
MAX_TEXT: Final = 20_000
MAX_LINK: Final = 2_000
MAX_GUID: Final = 2_000
MAX_AUTHOR: Final = 200
MAX_ENTRIES: Final = 500
# HTML longer than this is cut before parsing: the text is capped at MAX_TEXT anyway and the
# HTML parser's work should stay bounded per entry.
MAX_HTML_IN: Final = 20 * MAX_TEXT

_DOCTYPE = re.compile(rb"<!\s*doctype", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!\s*entity", re.IGNORECASE)
_DOCTYPE_STR = re.compile(r"<!\s*doctype", re.IGNORECASE)
_ENTITY_DECL_STR = re.compile(r"<!\s*entity", re.IGNORECASE)

# Atom content carried base64-encoded, which the fast parser leaves encoded.
_BASE64_MODE = re.compile(rb"""(?:mode|type)\s*=\s*["'](?:base64|application/octet-stream)""")

_DATE_KEYS: Final = ("published", "updated", "created")


def parse_feed(
    body: bytes,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse a feed document given as bytes.

    ``url`` is where the document came from (relative links resolve against it); ``headers``
    are the HTTP response headers (charset, Content-Location, Content-Language).

    Raises ParseError for an empty or non-feed document and for documents declaring entities.
    Raises TypeError when ``body`` is not bytes (a str would be read as a path or URL).
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError(f"parse_feed takes bytes, not {type(body).__name__}")
    data = bytes(body)
    if not data.strip():
        raise ParseError("empty document: no feed to parse", url=url)
    if declares_entities(data):
        raise ParseError(
            "refused: the document's DOCTYPE declares entities (entity-expansion attack risk)",
            url=url,
        )
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}

    fast: Any = None
    try:
        fast = _fast_parse(data)
    except Exception:  # any failure of the fast path means "ask feedparser"
        fast = None
    if fast is not None and _fast_is_trustworthy(fast, data):
        return _convert(fast, parser="fast", url=url, headers=hdrs)

    try:
        slow = feedparser.parse(
            data,
            response_headers=_feedparser_headers(hdrs, url),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as e:
        if fast is not None and fast.entries:
            return _convert(fast, parser="fast", url=url, headers=hdrs)
        raise ParseError(f"feed could not be parsed: {type(e).__name__}: {e}", url=url) from e

    if not slow.entries and not slow.get("version"):
        if fast is not None and (fast.entries or fast.get("version")):
            # Formats feedparser 6 does not know (JSON Feed) end up here.
            return _convert(fast, parser="fast", url=url, headers=hdrs)
        reason = _reason(slow) or _reason(fast) or "no RSS/Atom/RDF/JSON feed structure found"
        raise ParseError(f"not a feed: {reason}", url=url)
    return _convert(slow, parser="feedparser", url=url, headers=hdrs)


def parse_feed_with(
    body: bytes,
    parser: str,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse with one named parser ("fast" or "feedparser"), no fallback and no feed check.

    For comparing the two parsers and for benchmarks; the pipeline calls parse_feed.
    Raises ParseError for refused documents, ValueError for an unknown parser name.
    """
    data = bytes(body)
    if declares_entities(data):
        raise ParseError("refused: the document's DOCTYPE declares entities", url=url)
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    if parser == "fast":
        result = _fast_parse(data)
    elif parser == "feedparser":
        result = feedparser.parse(
            data,
            response_headers=_feedparser_headers(hdrs, url),
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    else:
        raise ValueError(f"unknown parser {parser!r}")
    return _convert(result, parser=parser, url=url, headers=hdrs)


def _fast_parse(data: bytes) -> Any:
    # resolve_relative_uris=True is what applies xml:base to entry links in feedparser_rs (it
    # does not rewrite embedded HTML); feedparser applies xml:base to links regardless.
    return feedparser_rs.parse(data, sanitize_html=False, resolve_relative_uris=True)


def declares_entities(data: bytes) -> bool:
    """True when the document has a DOCTYPE that declares entities (refused as hostile).

    Looks at the raw bytes, and for UTF-16/32 or EBCDIC documents at their decoded text, since
    the ASCII patterns are invisible there.
    """
    if _DOCTYPE.search(data) is not None:
        return _ENTITY_DECL.search(data) is not None
    codec = _non_ascii_codec(data[:4])
    if codec is None:
        return False
    text = data.decode(codec, errors="replace")
    return _DOCTYPE_STR.search(text) is not None and _ENTITY_DECL_STR.search(text) is not None


def _non_ascii_codec(head: bytes) -> str | None:
    if head.startswith((b"\x00\x00\xfe\xff", b"\x00\x00\x00<")):
        return "utf-32-be"
    if head.startswith((b"\xff\xfe\x00\x00", b"<\x00\x00\x00")):
        return "utf-32-le"
    if head.startswith((b"\xfe\xff", b"\x00<")):
        return "utf-16-be"
    if head.startswith((b"\xff\xfe", b"<\x00")):
        return "utf-16-le"
    if head.startswith(b"\x4c\x6f\xa7\x94"):  # "<?xm" in EBCDIC
        return "cp037"
    return None


def _reason(result: Any) -> str | None:
    if result is None:
        return None
    exc = result.get("bozo_exception")
    return str(exc)[:300] if exc else None


def _feedparser_headers(hdrs: dict[str, str], url: str | None) -> dict[str, str]:
    out = dict(hdrs)
    if url and "content-location" not in out:
        # feedparser resolves relative links against Content-Location when parsing bytes.
        out["content-location"] = url
    if out and "content-type" not in out:
        # With any headers present feedparser flags a missing Content-Type as bozo; a body of
        # unknown type is read as XML (declaration/BOM decide the charset), as without headers.
        out["content-type"] = "application/xml"
    return out


def _fast_is_trustworthy(result: Any, data: bytes) -> bool:
    """False when the fast result may be wrong or incomplete; feedparser then takes over.

    Besides bozo/empty/U+FFFD this covers what comparing both parsers over feedparser's own
    test corpus showed the fast parser to miss: base64 Atom content, dcterms dates, and
    entries whose text sits in elements it does not map (xhtml:body, fullitem).
    """
    if result.bozo or not result.entries:
        return False
    feed = result.feed
    if "\ufffd" in (feed.get("title") or ""):
        return False
    if _BASE64_MODE.search(data) is not None:
        return False
    check_dates = b"dcterms:" in data
    for entry in result.entries[:MAX_ENTRIES]:
        if not (entry.get("title") or entry.get("summary") or entry.get("content")):
            return False
        if check_dates and not any(entry.get(f"{key}_parsed") for key in _DATE_KEYS):
            return False
        for key in ("title", "summary", "link", "id", "author"):
            value = entry.get(key)
            if value and "\ufffd" in value:
                return False
        for block in entry.get("content") or ():
            value = _attr(block, "value")
            if value and "\ufffd" in value:
                return False
    return True


# --------------------------------------------------------------------------- conversion


def _attr(obj: Any, name: str) -> Any:
    """Read a field from either parser's objects (dict-like in feedparser, attributes in rs)."""
    if obj is None:
        return None
    getter = getattr(obj, "get", None)
    if getter is not None:
        try:
            return getter(name)
        except (KeyError, AttributeError, TypeError):
            return None
    return getattr(obj, name, None)


def _convert(result: Any, *, parser: str, url: str | None, headers: dict[str, str]) -> ParsedFeed:
    feed = result.feed
    feed_lang = normalize_lang(feed.get("language")) or normalize_lang(
        headers.get("content-language")
    )
    feed_link = _http_link(feed.get("link"), url)
    entries = [
        _entry(raw, url=url, feed_lang=feed_lang) for raw in list(result.entries)[:MAX_ENTRIES]
    ]
    bozo = bool(result.get("bozo"))
    return ParsedFeed(
        title=_title(feed.get("title"), _attr(feed.get("title_detail"), "type")),
        link=feed_link,
        lang=feed_lang,
        entries=entries,
        parser=parser,
        bozo=bozo,
        bozo_reason=_reason(result) if bozo else None,
    )


def _entry(raw: Any, *, url: str | None, feed_lang: str | None) -> ParsedEntry:
    guid = _plain_field(raw.get("id"), MAX_GUID)
    link = raw.get("link") or _alternate_link(raw.get("links"))
    author = raw.get("author")
    return ParsedEntry(
        guid=guid or None,
        link=_resolve(link, url),
        title=_title(raw.get("title"), _attr(raw.get("title_detail"), "type")),
        text=_entry_text(raw),
        published=_entry_date(raw),
        author=cap_text(one_line(author), MAX_AUTHOR) or None if author else None,
        lang=_entry_lang(raw) or feed_lang,
        image=_image(raw, url),
    )


def _plain_field(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if len(value) <= limit else ""


def _title(value: Any, kind: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    value = value[:MAX_HTML_IN]
    text = clean_text(value).replace("\n", " ") if kind == "text/plain" else one_line(value)
    return cap_text(text, MAX_TITLE)


def _entry_text(raw: Any) -> str:
    best = ""
    best_kind: Any = None
    for block in raw.get("content") or ():
        value = _attr(block, "value")
        if isinstance(value, str) and len(value) > len(best):
            best, best_kind = value, _attr(block, "type")
    summary = raw.get("summary")
    if isinstance(summary, str) and len(summary) > len(best):
        best, best_kind = summary, _attr(raw.get("summary_detail"), "type")
    if not best:
        return ""
    best = best[:MAX_HTML_IN]
    text = clean_text(best) if best_kind == "text/plain" else html_to_text(best)
    return cap_text(text, MAX_TEXT)


def _entry_date(raw: Any) -> Any:
    for key in _DATE_KEYS:
        parsed = raw.get(f"{key}_parsed")
        text = raw.get(key)
        if parsed is not None:
            dt = parse_date(parsed)
            # A struct_time the parser produced but out of range is not retried from text.
            if dt is not None or not isinstance(text, str):
                return dt
        if isinstance(text, str) and text.strip():
            dt = parse_date(text)
            if dt is not None:
                return dt
    return None


def _entry_lang(raw: Any) -> str | None:
    for key in ("title_detail", "summary_detail"):
        lang = normalize_lang(_attr(raw.get(key), "language"))
        if lang:
            return lang
    for block in raw.get("content") or ():
        lang = normalize_lang(_attr(block, "language"))
        if lang:
            return lang
    return normalize_lang(raw.get("language"))


def _alternate_link(links: Any) -> str | None:
    if not links:
        return None
    fallback: str | None = None
    for item in links:
        href = _attr(item, "href")
        if not isinstance(href, str):
            continue
        rel = _attr(item, "rel") or "alternate"
        if rel == "alternate":
            return href
        if fallback is None and rel not in ("enclosure", "self", "replies", "edit"):
            fallback = href
    return fallback


def _image(raw: Any, url: str | None) -> str | None:
    candidates: list[Any] = []
    for thumb in raw.get("media_thumbnail") or ():
        candidates.append(_attr(thumb, "url"))
    for media in raw.get("media_content") or ():
        medium = _attr(media, "medium") or ""
        kind = _attr(media, "type") or ""
        if medium == "image" or str(kind).startswith("image/"):
            candidates.append(_attr(media, "url"))
    for enc in raw.get("enclosures") or ():
        if str(_attr(enc, "type") or "").startswith("image/"):
            candidates.append(_attr(enc, "href") or _attr(enc, "url"))
    candidates.append(_attr(raw.get("image"), "href"))
    for cand in candidates:
        link = _http_link(cand, url)
        if link:
            return link
    return None


def _resolve(link: Any, base: str | None) -> str | None:
    if not isinstance(link, str):
        return None
    link = link.strip()
    if not link or len(link) > MAX_LINK:
        return None
    if base:
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    return link if len(link) <= MAX_LINK else None


def _http_link(link: Any, base: str | None) -> str | None:
    resolved = _resolve(link, base)
    if resolved is None:
        return None
    try:
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError:
        return None
    return resolved if scheme in ("http", "https") else None


# --------------------------------------------------------------------------- small helpers


def cap_text(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


_LANG_ALIASES: Final = {"in": "id", "ind": "id", "eng": "en"}  # "in" is the pre-1989 code


def normalize_lang(value: Any) -> str | None:
    """A declared language tag ("en-US", "id_ID", "in") -> its primary subtag ("en", "id")."""
    if not isinstance(value, str):
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if not primary or not primary.isalpha() or len(primary) > 8:
        return None
    return _LANG_ALIASES.get(primary, primary)
