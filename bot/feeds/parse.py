"""Feed bytes -> ParsedFeed: plain-text, capped, with dates in UTC.

Two parsers sit behind one function. ``feedparser_rs`` (Rust) is the fast path; feedparser 6
is the reference and takes over whenever the fast one is unsure: it flagged the document as
malformed (bozo), found no entries, produced U+FFFD (a decoding guess went wrong) or raised,
or the document has a shape on which the fast parser is known to diverge from feedparser
(links on private hosts emptied, a nested <title> taking the item's place: see
``_fast_may_serve``). Each divergence found on real feeds has a fixture in tests/data/feeds.
feedparser's loose parser recovers far more broken feeds, at a fraction of the speed.

Hostile input is refused before either parser sees it: feedparser's loose parser expands
internal entities without any limit (a 55 KB document grew to 100 MB), so any document whose
DOCTYPE declares entities is a ParseError. Only bytes are accepted: ``feedparser.parse(str)``
opens local files and ``feedparser_rs.parse(str)`` fetches URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urljoin, urlsplit

import feedparser_rs

from bot.errors import ParseError
from bot.feeds.dates import parse_date
from bot.feeds.html import cap_text, clean_text, html_to_text, one_line
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
_PARSED_KEYS: Final = {key: f"{key}_parsed" for key in _DATE_KEYS}


def _feedparser() -> Any:
    """feedparser, imported on the first document the fast parser cannot serve: most polls
    never need it, and its import is ~0.05 CPU-s and 3.5 MB in every process."""
    import feedparser

    return feedparser


def parse_feed(
    body: bytes,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse a feed document given as bytes.

    ``url`` is where the document came from; relative links resolve against the feed's site
    link, else against ``url``. ``headers`` are the HTTP response headers (charset,
    Content-Location, Content-Language).

    Each entry's ``text`` is made from its ``body`` on first read, so a poll that finds an
    entry already stored (same key, same content hash over title + body) never pays for
    HTML->text conversion.

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
    hdrs = {k.lower(): v for k, v in (headers or {}).items()} if headers else {}

    fast: Any = None
    try:
        fast = _fast_parse(data)
    except Exception:  # any failure of the fast path means "ask feedparser"
        fast = None
    if fast is not None and _fast_may_serve(fast, data):
        try:
            return _convert(fast, parser="fast", url=url, headers=hdrs, data=data)
        except _Untrusted:
            pass

    try:
        slow = _feedparser().parse(
            data,
            response_headers=_feedparser_headers(hdrs),
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
        result = _feedparser().parse(
            data,
            response_headers=_feedparser_headers(hdrs),
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


def _feedparser_headers(hdrs: dict[str, str]) -> dict[str, str]:
    # The document's URL is deliberately not passed as Content-Location: feedparser would
    # resolve relative links against it (a file:// URL for `inspect --file`, where the stories
    # were then dropped), while Warta resolves them against the feed's site link first, then
    # the document's URL, whichever parser served (see _convert).
    out = dict(hdrs)
    if out and "content-type" not in out:
        # With any headers present feedparser flags a missing Content-Type as bozo; a body of
        # unknown type is read as XML (declaration/BOM decide the charset), as without headers.
        out["content-type"] = "application/xml"
    return out


# <title> elements a document may hold besides one per entry: the channel's, its <image>'s and
# its <textInput>'s (RSS), an Atom <source>'s.
_SPARE_TITLES: Final = 3


def _nested_titles(data: bytes, entries: int) -> bool:
    """True when the document has more un-prefixed <title> elements than its entries explain.

    feedparser_rs 0.7 lets a <title> nested in another element of an item overwrite the item's
    own (an RSS <author> carrying <name> and a job <title>, as a large vendor's blog does); the
    author's job then becomes every story's headline. Counting is one pass of bytes.count; a
    surplus (nested titles, or <title> inside CDATA markup) sends the document to feedparser,
    which keeps the item's own title.
    """
    return data.count(b"<title") > entries + _SPARE_TITLES


class _Untrusted(Exception):
    """Raised while converting a fast result that must not be served; feedparser takes over."""


def _fast_may_serve(result: Any, data: bytes) -> bool:
    """Document-level reasons to distrust the fast result; entries are checked while converting.

    Besides bozo/empty/U+FFFD this covers what comparing both parsers over feedparser's own
    test corpus showed the fast parser to miss: base64 Atom content, dcterms dates, and
    entries whose text sits in elements it does not map (xhtml:body, fullitem); and what
    comparing them on real publishers' feeds showed: links on private hosts emptied (checked
    per entry) and titles nested in other elements (see _nested_titles).
    """
    if result.bozo or not result.entries:
        return False
    feed = result.feed
    if "\ufffd" in (feed.get("title") or ""):
        return False
    if feed.get("link") == "":
        # feedparser_rs 0.7 empties links to loopback/private/.lan hosts (the self-hosted
        # RSS-Bridge case) instead of returning them; feedparser keeps them.
        return False
    if _nested_titles(data, len(result.entries)):
        return False
    # A plain substring scan first: the regex alone costs ten times more on a 100 KB feed.
    return not (
        (b"base64" in data or b"octet-stream" in data) and _BASE64_MODE.search(data) is not None
    )


# --------------------------------------------------------------------------- conversion


class _LazyEntry(ParsedEntry):
    """A ParsedEntry whose ``text`` is made from ``body`` on first read, then kept."""

    __slots__ = ("_pending", "_plain")
    _pending: bool
    _plain: bool  # body is text/plain, not HTML

    @property
    def text(self) -> str:
        if getattr(self, "_pending", False):
            self._pending = False
            _TEXT_SLOT.__set__(self, _body_text(self.body or "", plain=self._plain))
        value: str = _TEXT_SLOT.__get__(self, ParsedEntry)
        return value

    @text.setter
    def text(self, value: str) -> None:
        self._pending = False
        _TEXT_SLOT.__set__(self, value)


# The storage slot of ParsedEntry.text, which _LazyEntry's property shadows.
_TEXT_SLOT: Final[Any] = ParsedEntry.__dict__["text"]


def _body_text(body: str, *, plain: bool) -> str:
    return cap_text(clean_text(body) if plain else html_to_text(body), MAX_TEXT)


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


def _convert(
    result: Any,
    *,
    parser: str,
    url: str | None,
    headers: dict[str, str],
    data: bytes | None = None,
) -> ParsedFeed:
    """Parser result -> ParsedFeed. With ``data`` (the fast path) entries are also vetted and
    _Untrusted is raised at the first one the fast parser may have got wrong."""
    feed = result.feed
    feed_lang = normalize_lang(feed.get("language")) or normalize_lang(
        headers.get("content-language")
    )
    feed_link = _http_link(feed.get("link"), url)
    # Relative entry links resolve against the feed's site link, then the document's URL: a
    # feed read from a file (file:// URL) still yields web links when it names its site.
    ctx = _Context(url=feed_link or url, feed_lang=feed_lang, data=data)
    entries = [_entry(raw, ctx) for raw in result.entries[:MAX_ENTRIES]]
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


class _Context:
    """What every entry of one document shares; computed once per document."""

    __slots__ = ("data", "dcterms", "feed_lang", "now", "url")

    def __init__(self, *, url: str | None, feed_lang: str | None, data: bytes | None) -> None:
        self.url = url
        self.feed_lang = feed_lang
        self.data = data  # set only when entries must be vetted (fast path)
        self.dcterms: bool | None = None  # found lazily: only entries without dates need it
        self.now = datetime.now(UTC)

    def has_dcterms(self) -> bool:
        if self.dcterms is None:
            self.dcterms = self.data is not None and b"dcterms:" in self.data
        return self.dcterms


def _entry(raw: Any, ctx: _Context) -> ParsedEntry:
    get = raw.get
    title = get("title")
    summary = get("summary")
    content = get("content") or ()
    link = get("link")
    guid = get("id")
    author = get("author")

    if ctx.data is not None:
        if not (title or summary or content):
            raise _Untrusted  # text in elements the fast parser does not map
        for value in (title, summary, link, guid, author):
            if value and "\ufffd" in value:
                raise _Untrusted
        if link == "":
            raise _Untrusted  # a private-host link the fast parser emptied (see _fast_may_serve)

    body = ""
    kind: Any = None
    for block in content:
        value = _attr(block, "value")
        if not isinstance(value, str):
            continue
        if ctx.data is not None and "\ufffd" in value:
            raise _Untrusted
        if len(value) > len(body):
            body, kind = value, _attr(block, "type")
    if isinstance(summary, str) and len(summary) > len(body):
        body, kind = summary, _attr(get("summary_detail"), "type")
    body = body[:MAX_HTML_IN]

    published, had_parsed = _entry_date(raw, ctx.now)
    if ctx.data is not None and not had_parsed and ctx.has_dcterms():
        raise _Untrusted  # dcterms dates the fast parser does not read

    if not link:
        link = _alternate_link(get("links"))
    guid = _plain_field(guid, MAX_GUID)
    entry = _LazyEntry(
        guid=guid or None,
        link=_resolve(link, ctx.url),
        title=_title(title, _attr(get("title_detail"), "type")),
        text="",
        published=published,
        author=cap_text(one_line(author), MAX_AUTHOR) or None if author else None,
        lang=_entry_lang(raw, content) or ctx.feed_lang,
        image=_image(raw, ctx.url),
        body=body,
    )
    if body:
        entry._plain = kind == "text/plain"
        entry._pending = True
    return entry


def _plain_field(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return value if len(value) <= limit else ""


def _title(value: Any, kind: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    value = value[:MAX_HTML_IN]
    text = " ".join(clean_text(value).split()) if kind == "text/plain" else one_line(value)
    return cap_text(text, MAX_TITLE)


def _entry_date(raw: Any, now: datetime) -> tuple[datetime | None, bool]:
    """The entry's date and whether the parser had given any ``*_parsed`` value."""
    had_parsed = False
    get = raw.get
    for key in _DATE_KEYS:
        parsed = get(_PARSED_KEYS[key])
        text = get(key)
        if parsed:
            had_parsed = True
            dt = parse_date(parsed, now=now)
            # A struct_time the parser produced but out of range is not retried from text.
            if dt is not None or not isinstance(text, str):
                return dt, had_parsed
        if isinstance(text, str) and text.strip():
            dt = parse_date(text, now=now)
            if dt is not None:
                return dt, had_parsed
    return None, had_parsed


def _entry_lang(raw: Any, content: Any) -> str | None:
    get = raw.get
    for key in ("title_detail", "summary_detail"):
        lang = normalize_lang(_attr(get(key), "language"))
        if lang:
            return lang
    for block in content:
        lang = normalize_lang(_attr(block, "language"))
        if lang:
            return lang
    return normalize_lang(get("language"))


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
    get = raw.get
    for thumb in get("media_thumbnail") or ():
        link = _http_link(_attr(thumb, "url"), url)
        if link:
            return link
    for media in get("media_content") or ():
        medium = _attr(media, "medium") or ""
        kind = _attr(media, "type") or ""
        if medium == "image" or str(kind).startswith("image/"):
            link = _http_link(_attr(media, "url"), url)
            if link:
                return link
    for enc in get("enclosures") or ():
        if str(_attr(enc, "type") or "").startswith("image/"):
            link = _http_link(_attr(enc, "href") or _attr(enc, "url"), url)
            if link:
                return link
    return _http_link(_attr(get("image"), "href"), url)


def _is_plain_absolute(link: str) -> bool:
    # urljoin returns such a link unchanged (it never removes dot segments from an absolute
    # URL), so the costly call is skipped; "[" (IPv6 literal) still gets the full check.
    return link.startswith(("https://", "http://")) and "[" not in link


def _resolve(link: Any, base: str | None) -> str | None:
    if not isinstance(link, str):
        return None
    link = link.strip()
    if "&" in link and ";" in link:
        # feedparser_rs 0.7 leaves XML character references in Atom href attributes escaped
        # ("?a=1&amp;b=2"); feedparser decodes them. A real URL never contains "&amp;".
        link = html.unescape(link)
    if not link or len(link) > MAX_LINK:
        return None
    if base and not _is_plain_absolute(link):
        try:
            link = urljoin(base, link)
        except ValueError:
            return None
    return link if len(link) <= MAX_LINK else None


def _http_link(link: Any, base: str | None) -> str | None:
    resolved = _resolve(link, base)
    if resolved is None:
        return None
    if _is_plain_absolute(resolved):
        return resolved
    try:
        scheme = urlsplit(resolved).scheme.lower()
    except ValueError:
        return None
    return resolved if scheme in ("http", "https") else None


# --------------------------------------------------------------------------- small helpers


_LANG_ALIASES: Final = {"in": "id", "ind": "id", "eng": "en"}  # "in" is the pre-1989 code


def normalize_lang(value: Any) -> str | None:
    """A declared language tag ("en-US", "id_ID", "in") -> its primary subtag ("en", "id")."""
    if not isinstance(value, str):
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if not primary or not primary.isalpha() or len(primary) > 8:
        return None
    return _LANG_ALIASES.get(primary, primary)
