"""ParsedEntry -> Story: canonical URL, identity key, content hash, title and language."""

from __future__ import annotations

import hashlib
import re
from typing import Final, Protocol
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from bot.feeds.boilerplate import strip_boilerplate
from bot.feeds.parse import cap_text
from bot.models import LANGS, LangGuess, ParsedEntry, Story

__all__ = [
    "canonical_url",
    "content_hash",
    "display_url",
    "entry_hash",
    "entry_key",
    "is_http_url",
    "to_story",
]

# Query parameters that only say how a reader arrived (campaign, click and share trackers).
_TRACKING_EXACT: Final = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "igsh",
        "ref_src",
        "ref_url",
        "_ga",
        "_gl",
        "yclid",
        "ysclid",
        "spm",
        "scm",
        "xtor",
        "ocid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "hsctatracking",
        "vero_id",
        "vero_conv",
        "oly_anon_id",
        "oly_enc_id",
        "rb_clickid",
        "s_cid",
        "wt.mc_id",
        "wt.tsrc",
        "__twitter_impression",
        "cmpid",
        "sr_share",
        "share_source",
        "fb_action_ids",
        "fb_action_types",
        "fb_source",
        "fb_ref",
        "action_object_map",
        "action_type_map",
        "action_ref_map",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
    }
)
_TRACKING_PREFIXES: Final = ("utm_", "at_", "pk_", "mtm_", "piwik_", "hmb_", "ga_", "trk_")
# ``?amp``, ``?amp=1``, ``?outputType=amp``: a rendering switch on the same article path, so
# dropping it always names the same article (the server ignores or defaults the flag).
_AMP_FLAGS: Final = frozenset({"amp", "outputtype", "output"})
# A trailing "/amp" segment is dropped only after a slug-like segment (has a hyphen or a digit):
# that is the CMS pattern "/2025/05/some-title/amp/" whose parent is the article itself. "/amp"
# anywhere else (a section named amp, AMP-cache paths like "/amp/s/...") is left alone because
# the parent path may be a different page.
_SLUG = re.compile(r"[-\d]")
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def canonical_url(url: str) -> str:
    """A URL with tracking noise removed, so the same article has one spelling.

    Lower-cases scheme and host, drops default ports, tracking query parameters and the
    fragment (never sent to the server; used for trackers like ``#xtor=RSS-1``; hash-bang
    ``#!/...`` routes are kept because they select content), drops AMP switches where the
    non-AMP page is certainly the same path, and sorts the remaining query parameters stably
    (values of a repeated key keep their order). Path case and percent-encoding are kept as
    written. A string that does not parse as a URL comes back stripped.
    """
    return _normalize_url(url, keep_anchor=False)


def display_url(url: str) -> str:
    """The link shown to readers: ``canonical_url`` but keeping anchors.

    A fragment that marks a place (``#item-3``, a daily blog whose items are anchors on one
    page) stays; a tracking fragment (``#xtor=RSS-3``, ``#ref=rss``, ``#utm_source=x``) goes,
    and so do tracking pairs inside a fragment that also carries other state.
    """
    return _normalize_url(url, keep_anchor=True)


def _normalize_url(url: str, *, keep_anchor: bool) -> str:
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return text
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{netloc}"

    path = parts.path or "/"
    pairs = [p for p in parts.query.split("&") if p]
    kept: list[tuple[str, str]] = []
    for pair in pairs:
        key = unquote_plus(pair.partition("=")[0]).strip().lower()
        value = unquote_plus(pair.partition("=")[2]).strip().lower()
        if _is_tracking(key):
            continue
        if key in _AMP_FLAGS and ((key == "amp" and value in ("", "1", "true")) or value == "amp"):
            continue
        kept.append((key, pair))
    kept.sort(key=lambda kv: kv[0])
    query = "&".join(pair for _, pair in kept)

    path = _strip_amp_segment(path)
    if parts.fragment.startswith("!"):
        fragment = parts.fragment
    elif keep_anchor:
        fragment = _clean_fragment(parts.fragment)
    else:
        fragment = ""
    return urlunsplit((scheme, netloc, path, query, fragment))


def _is_tracking(key: str) -> bool:
    return key in _TRACKING_EXACT or key.startswith(_TRACKING_PREFIXES)


# Keys that only say where a click came from when they appear in a fragment. A fragment never
# reaches the server, so "#ref=rss" or "#source=feed" cannot select content; in a query string
# the same names may (``?ref=main`` on a code host), so they are not tracking there.
_FRAGMENT_TRACKING: Final = frozenset(
    {"ref", "src", "source", "from", "via", "echobox", "rss", "feed", "cmp", "campaign", "medium"}
)


def _clean_fragment(fragment: str) -> str:
    """A fragment without tracking pairs; a plain anchor ("section-2") is returned as is."""
    if not fragment or "=" not in fragment:
        return fragment
    kept = []
    for pair in fragment.split("&"):
        key = unquote_plus(pair.partition("=")[0]).strip().lower()
        if not key or _is_tracking(key) or key in _FRAGMENT_TRACKING:
            continue
        kept.append(pair)
    return "&".join(kept)


def _strip_amp_segment(path: str) -> str:
    trimmed = path[:-1] if path.endswith("/") else path
    if not trimmed.lower().endswith("/amp"):
        return path
    parent = trimmed[: -len("/amp")]
    last = parent.rsplit("/", 1)[-1]
    if not last or _SLUG.search(last) is None:
        return path
    return parent + ("/" if path.endswith("/") else "")


def entry_key(entry: ParsedEntry) -> str:
    """The entry's identity within its feed: guid, else the shown link (``display_url``:
    tracking removed, anchors kept), else a content hash.

    The hash fallback uses title + published date, so an edited text keeps the identity.
    """
    if entry.guid and entry.guid.strip():
        return entry.guid.strip()
    if entry.link and entry.link.strip():
        # Anchors are kept: items that are anchors on one page (#item-1, #item-2) are
        # different entries, not one.
        return display_url(entry.link)
    published = entry.published.isoformat() if entry.published else ""
    digest = hashlib.sha256(f"{entry.title}\x1f{published}".encode()).hexdigest()
    return f"sha256:{digest}"


_WS = re.compile(r"\s+")


def content_hash(title: str, text: str) -> str:
    """A hash that changes when the visible title or text changes (whitespace-insensitive)."""
    norm = f"{_WS.sub(' ', title).strip()}\x1f{_WS.sub(' ', text).strip()}"
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()


def entry_hash(entry: ParsedEntry) -> str:
    """The content hash of an entry, computed without turning its HTML into text.

    Covers the title and the body as the feed gave it (``body``; ``text`` when the body is
    unknown), so any edit of either changes it while a poll can compare it with the stored
    hash before paying for HTML->text. Whitespace in the title is normalized; the body is
    hashed as given (a whitespace-only rewrite at worst re-analyzes the entry once).
    """
    body = entry.body if entry.body is not None else entry.text
    norm = f"{' '.join(entry.title.split())}\x1f{body.strip()}"
    return hashlib.sha256(norm.encode("utf-8", "surrogatepass")).hexdigest()


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s|\n")
_DERIVED_TITLE_MAX: Final = 140


def _title_from_text(text: str) -> str:
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    return cap_text(_WS.sub(" ", first).strip(), _DERIVED_TITLE_MAX)


class LangJudge(Protocol):
    """Decides a story's language from its title and text; ``prior`` is a declared language
    used only when the text cannot tell (``bot.analyze.judge_story_lang``)."""

    def __call__(self, title: str, text: str, prior: str | None) -> LangGuess: ...


def to_story(
    entry: ParsedEntry,
    *,
    feed_url: str,
    source: str,
    lang_hint: str | None,
    detect_lang: LangJudge,
    base_url: str | None = None,
) -> Story | None:
    """Turn a parsed entry into a Story, or None when it has nothing to show.

    The text is the entry's plain text without publisher boilerplate (teasers, bylines, tags,
    captions: see ``bot.feeds.boilerplate``), so what is stored, scored and summarized is the
    article. Relative links resolve against ``feed_url``. Only http(s) links are kept; without
    one the story points at ``base_url`` (the feed's site link) when that is http(s), else it is
    skipped. Language: ``detect_lang(title, text, prior)`` where the prior is ``lang_hint`` (the
    operator's setting for the feed), else the entry's or feed's declared language.
    """
    title = entry.title.strip()
    text = strip_boilerplate(entry.text.strip())
    if not title and not text:
        return None
    url = _story_url(entry.link, feed_url)
    if url is None and base_url is not None:
        url = _story_url(base_url, feed_url)
    if url is None:
        return None
    if not title:
        title = _title_from_text(text)

    guess = detect_lang(title, text, lang_hint if lang_hint in LANGS else entry.lang)
    return Story(
        feed_url=feed_url,
        key=entry_key(entry),
        url=url,
        title=title,
        text=text,
        source=source,
        lang=guess.lang,
        published=entry.published,
        content_hash=entry_hash(entry),
        lang_guess=guess,
    )


def _story_url(link: str | None, feed_url: str) -> str | None:
    if not link or not link.strip():
        return None
    try:
        absolute = urljoin(feed_url, link.strip())
    except ValueError:
        return None
    if not is_http_url(absolute):
        return None
    return display_url(absolute)
