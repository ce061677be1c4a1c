"""Telegram HTML rendering: escaping, safe links, splitting within Telegram's limits.

Markup is checked with the same Telegram-rules HTML checker the emulator proxy uses (pure
Python, no node needed) and with html.parser for tag balance.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from bot.commands import Reply, ReplyItem
from bot.models import AlsoReported, Digest, DigestEntry, Story, Summary, TopicResult
from bot.render.telegram import (
    RAW_LIMIT,
    TEXT_LIMIT,
    render_digest,
    render_reply,
    safe_href,
    to_plain,
    utf16_len,
)
from tests.peers.telegram_emulator import telegram_html_error

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def entry(
    n: int,
    *,
    title: str | None = None,
    url: str = "https://example.org/a",
    bullets: tuple[str, ...] = ("Satu.", "Dua."),
    source: str = "Kompas",
    also: list[AlsoReported] | None = None,
    note: str | None = None,
) -> DigestEntry:
    title = title if title is not None else f"Berita nomor {n}"
    story = Story(
        feed_url="https://example.org/feed",
        key=f"k{n}",
        url=url,
        title=title,
        text="",
        source=source,
        lang="id",
        published=NOW,
        content_hash=f"h{n}",
    )
    return DigestEntry(
        story, Summary(title, bullets, "id"), TopicResult(1.0, True), also or [], note
    )


def digest(entries: list[DigestEntry], title: str = "Ringkasan AI & Seniman") -> Digest:
    return Digest("id", title, NOW, NOW, "Asia/Jakarta", entries, empty_text="Belum ada berita.")


class Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.ok = True
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


def check_part(part: str) -> str:
    """Assert ``part`` is valid Telegram HTML within the limits; return its visible text."""
    error, visible = telegram_html_error(part)
    assert error is None, (error, part[:300])
    balance = Balance()
    balance.feed(part)
    balance.close()
    assert balance.ok, part[:300]
    assert not balance.stack, part[:300]
    assert utf16_len(visible) <= TEXT_LIMIT
    assert len(part) <= RAW_LIMIT
    return visible


def hrefs(part: str) -> list[str | None]:
    parser = Balance()
    parser.feed(part)
    return parser.hrefs


# --------------------------------------------------------------------------- escaping


def test_untrusted_text_is_escaped() -> None:
    hostile = entry(
        1,
        title='<script>alert("x")</script> & </a><b>',
        bullets=("1 < 2 & 3 > 2", "<i>not italic</i>"),
        source="Tom & Jerry </b>",
        note="<u>catatan</u>",
    )
    [part] = render_digest(digest([hostile], title="Judul </a> & <b>"))
    visible = check_part(part)
    assert "<script>" not in part
    assert "&lt;script&gt;" in part
    assert '<script>alert("x")</script> & </a><b>' in visible
    assert "Judul </a> & <b>" in visible
    assert "1 < 2 & 3 > 2" in visible
    assert "<i>not italic</i>" in visible
    assert part.startswith("<b>Judul &lt;/a&gt; &amp; &lt;b&gt;</b>")


def test_mentions_are_defused() -> None:
    [part] = render_digest(
        digest([entry(1, title="@everyone lihat @channel_admin", source="@here")])
    )
    visible = check_part(part)
    # Telegram would turn "@name" into a mention entity; a word joiner after "@" prevents it.
    assert not re.search(r"@[A-Za-z0-9_]", visible)
    assert visible.count("@\u2060") == 3
    assert "everyone" in visible


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://example.org/a?b=1&c=2", True),
        ("http://example.org/", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ("ftp://example.org/x", False),
        ("/relative/path", False),
        ("http://", False),
        ("https://exa mple.org/", False),
        ("https://example.org/" + "a" * 3000, False),
    ],
)
def test_only_http_links(url: str, linked: bool) -> None:
    [part] = render_digest(digest([entry(1, url=url)]))
    check_part(part)
    found = hrefs(part)
    assert (found == [url]) is linked
    if not linked:
        assert found == []
        assert "Berita nomor 1" in part  # the headline stays, as text


def test_href_quotes_are_escaped() -> None:
    url = 'https://example.org/"onmouseover="x'
    [part] = render_digest(digest([entry(1, url=url)]))
    check_part(part)
    assert 'href="https://example.org/&quot;onmouseover=&quot;x"' in part
    assert hrefs(part) == [url]
    assert safe_href(url) == url


def test_also_line_and_note() -> None:
    also = [
        AlsoReported("Tempo", "https://tempo.co/x"),
        AlsoReported("Evil <b>", "javascript:alert(1)"),
    ]
    [part] = render_digest(digest([entry(1, also=also, note="Poin dalam bahasa Inggris")]))
    visible = check_part(part)
    assert "Juga diberitakan: Tempo, Evil <b>" in visible
    assert hrefs(part) == ["https://example.org/a", "https://tempo.co/x"]
    assert "<i>Poin dalam bahasa Inggris</i>" in part
    assert "• Satu.\n• Dua." in visible


# --------------------------------------------------------------------------- splitting


def long_bullets(n: int) -> tuple[str, ...]:
    return (
        f"Seniman ke-{n} 🎨🤖 memprotes Sora; “akses bocor” dalam {n} jam — kata mereka. " * 4,
        "Perusahaan menanggapi: uji coba dihentikan sementara 🙏 " * 3,
        "Para kurator di Jakarta, Yogyakarta dan Bandung ikut berkomentar. " * 2,
    )


def test_split_at_story_boundaries_within_utf16_limit() -> None:
    entries = [entry(n, bullets=long_bullets(n)) for n in range(1, 41)]
    parts = render_digest(digest(entries))
    assert len(parts) > 3
    seen: list[int] = []
    for part in parts:
        visible = check_part(part)
        numbers = [int(m) for m in re.findall(r"^(\d+)\. Berita nomor \1$", visible, re.M)]
        assert numbers, visible[:200]
        for n in numbers:
            # Every story in this part is whole: all its bullets are here.
            for bullet in long_bullets(n):
                assert "• " + bullet.strip() in visible or "• " + bullet in visible
        seen += numbers
    assert seen == list(range(1, 41))  # in order, each story exactly once
    assert parts[0].startswith("<b>Ringkasan AI &amp; Seniman</b>")


def test_limit_is_counted_in_utf16_units() -> None:
    # Each story is ~1000 characters of emoji (2 UTF-16 units each): counting code points would
    # put 4 stories in a message; Telegram counts 2x and would refuse it.
    emoji = "🎨" * 990
    parts = render_digest(digest([entry(n, bullets=(emoji,)) for n in range(1, 9)]))
    for part in parts:
        visible = check_part(part)
        assert utf16_len(visible) <= TEXT_LIMIT
    assert len(parts) == 4  # two ~2000-unit stories per message


def test_greedy_packing_fills_messages() -> None:
    entries = [entry(n, bullets=long_bullets(n)) for n in range(1, 30)]
    parts = render_digest(digest(entries))
    visibles = [check_part(p) for p in parts]
    # No message could have taken the first story of the next one.
    for current, following in itertools.pairwise(visibles):
        first_story = following.split("\n\n")[0]
        assert utf16_len(current) + 2 + utf16_len(first_story) > TEXT_LIMIT


def test_oversize_story_is_truncated_at_a_word_with_balanced_tags() -> None:
    words = " ".join(f"kata{n}" for n in range(3000))  # ~25,000 characters
    giant = entry(2, title="Cerita <panjang> " * 5, bullets=(words,), note="catatan")
    parts = render_digest(digest([entry(1), giant, entry(3)]))
    assert len(parts) == 3
    visible = check_part(parts[1])
    assert visible.endswith("…")
    assert utf16_len(visible) > TEXT_LIMIT - 100  # it uses the room it has
    body = visible[: -len("…")].rstrip()
    last_word = body.split()[-1]
    assert re.fullmatch(r"kata\d+", last_word)
    assert f" {last_word} " in words + " "  # cut between words, not inside one
    assert "Berita nomor 3" in check_part(parts[2])


def test_oversize_headline_keeps_link_and_bold_balanced() -> None:
    headline = "Judul " + "sangat panjang 🎨 " * 400
    parts = render_digest(digest([entry(1, title=headline)]))
    assert len(parts) == 2  # the title alone, then the cut story
    visible = check_part(parts[1])
    assert visible.endswith("…")
    assert parts[1].startswith('<b>1. <a href="https://example.org/a">Judul sangat panjang')
    assert parts[1].endswith("</a></b>…")


def test_control_characters_and_lone_surrogates_are_dropped() -> None:
    [part] = render_digest(digest([entry(1, title="A\x1b[31mB\u202eC\ud800D")]))
    visible = check_part(part)
    assert "A[31mBCD" in visible


def test_many_long_links_stay_under_raw_limit() -> None:
    also = [AlsoReported(f"S{i}", "https://example.org/" + "p" * 1500 + str(i)) for i in range(20)]
    parts = render_digest(digest([entry(n, also=also) for n in range(1, 4)]))
    for part in parts:
        check_part(part)
    assert len(parts) >= 3


def test_empty_digest_is_one_message() -> None:
    [part] = render_digest(digest([]))
    visible = check_part(part)
    assert "Belum ada berita." in visible
    assert "Ringkasan AI & Seniman" in visible


def test_rendering_is_deterministic() -> None:
    d = digest([entry(n, bullets=long_bullets(n)) for n in range(1, 12)])
    assert render_digest(d) == render_digest(d)


# --------------------------------------------------------------------------- replies, plain


def test_reply_items_numbered_with_links() -> None:
    reply = Reply(
        text="Hasil pencarian untuk <sora>:",
        lang="id",
        items=[
            ReplyItem("Seniman & Sora", "https://example.org/1", "Kompas · 24 Nov", "#12"),
            ReplyItem("Tanpa tautan", None),
            ReplyItem("Tautan jahat", "javascript:alert(1)"),
        ],
    )
    [part] = render_reply(reply)
    visible = check_part(part)
    assert visible.startswith("Hasil pencarian untuk <sora>:\n\n1. #12 Seniman & Sora\n")
    assert "\n2. Tanpa tautan\n3. Tautan jahat" in visible
    assert hrefs(part) == ["https://example.org/1"]


def test_long_reply_splits_between_items() -> None:
    items = [ReplyItem(f"Judul {n} " + "x" * 300, f"https://e.org/{n}") for n in range(40)]
    parts = render_reply(Reply(text="Daftar:", lang="id", items=items))
    assert len(parts) > 1
    joined = "\n".join(check_part(p) for p in parts)
    assert all(f"{n + 1}. Judul {n} " in joined for n in range(40))


def test_empty_reply_sends_nothing() -> None:
    assert render_reply(Reply(text="", lang="id")) == []


def test_reply_with_digest_appends_its_parts() -> None:
    parts = render_reply(Reply(text="Ini ringkasannya", lang="id", digest=digest([entry(1)])))
    assert len(parts) == 2
    assert parts[0] == "Ini ringkasannya"


def test_to_plain() -> None:
    [part] = render_digest(digest([entry(1, title="A & <B>", url="https://e.org/?a=1&b=2")]))
    plain = to_plain(part)
    assert "<" not in plain.replace("<B>", "")
    assert plain.startswith("Ringkasan AI & Seniman\n\n1. A & <B> (https://e.org/?a=1&b=2)")
    long_part = render_digest(
        digest([entry(1, bullets=("kata " * 800,), url="https://e.org/" + "x" * 1500)])
    )[0]
    assert utf16_len(to_plain(long_part)) <= TEXT_LIMIT
    assert to_plain("<b>tebal <i>miring</b>") == "tebal miring"


# --------------------------------------------------------------------------- web permalink

PERMALINK = "https://warta.example/digest/id/2026-11-24"


def test_permalink_is_one_link_at_the_end_of_a_split_digest() -> None:
    with_link = digest([entry(n, bullets=long_bullets(n)) for n in range(1, 41)])
    with_link.web_url = PERMALINK
    parts = render_digest(with_link)
    assert len(parts) > 3
    for part in parts:
        check_part(part)
    assert [h for part in parts for h in hrefs(part) if h == PERMALINK] == [PERMALINK]
    assert parts[-1].endswith(f'<a href="{PERMALINK}">Lihat ringkasan hari ini di web</a>')
    # Without a site, no link; an empty digest still links to its day.
    assert not [h for p in render_digest(digest([entry(1)])) for h in hrefs(p) if h == PERMALINK]
    empty = digest([])
    empty.web_url = PERMALINK
    [part] = render_digest(empty)
    assert hrefs(part) == [PERMALINK]


def test_a_permalink_that_is_no_http_url_is_not_linked() -> None:
    bad = digest([entry(1)])
    bad.web_url = 'javascript:alert(1)//"'
    parts = render_digest(bad)
    assert all(h != bad.web_url for p in parts for h in hrefs(p))
    assert "Lihat ringkasan" not in "".join(parts)
