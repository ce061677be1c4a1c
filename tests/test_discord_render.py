"""Discord rendering: every documented limit, escaping of untrusted text, http(s)-only links."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.commands import Reply, ReplyFile, ReplyItem
from bot.models import AlsoReported, Digest, DigestEntry, Story, Summary, TopicResult
from bot.render.discord import (
    MessagePayload,
    clip,
    embed_size,
    escape,
    render_digest,
    render_reply,
    safe_url,
)
from tests.peers.discord_rest import validate_message


def entry(
    i: int,
    *,
    headline: str = "Seniman bocorkan akses Sora",
    bullets: tuple[str, ...] = ("Satu.", "Dua.", "Tiga."),
    url: str | None = None,
    source: str = "Kompas",
    also: list[AlsoReported] | None = None,
    note: str | None = None,
) -> DigestEntry:
    story = Story(
        feed_url="https://example.com/feed",
        key=f"k{i}",
        url=url or f"https://example.com/{i}",
        title=headline,
        text="",
        source=source,
        lang="id",
        published=datetime(2026, 11, 24, tzinfo=UTC),
        content_hash="h",
        id=i,
    )
    return DigestEntry(
        story=story,
        summary=Summary(headline=headline, bullets=bullets, lang="id"),
        topic=TopicResult(score=1.0, relevant=True),
        also=also or [],
        note=note,
    )


def make_digest(entries: list[DigestEntry], **kw: Any) -> Digest:
    return Digest(
        lang=kw.get("lang", "id"),
        title=kw.get("title", "Ringkasan AI & Seniman — 24 Nov 2026"),
        window_start=datetime(2026, 11, 23, tzinfo=UTC),
        window_end=datetime(2026, 11, 24, tzinfo=UTC),
        tz="Asia/Jakarta",
        entries=entries,
        empty_text=kw.get("empty_text", "Belum ada berita baru."),
        footer=kw.get("footer", ""),
    )


def assert_within_limits(messages: list[MessagePayload]) -> None:
    """Our own reading of Discord's limits, plus the loopback server's independent validator."""
    assert messages
    for m in messages:
        assert m["content"] or m["embeds"], "Discord refuses an empty message"
        assert len(m["content"] or "") <= 2000
        assert len(m["embeds"]) <= 10
        total = 0
        for e in m["embeds"]:
            assert len(e.get("title", "")) <= 256
            assert len(e.get("description", "")) <= 4096
            assert len(e.get("footer", {}).get("text", "")) <= 2048
            assert len(e.get("fields", [])) <= 25
            for f in e.get("fields", []):
                assert len(f["name"]) <= 256
                assert len(f["value"]) <= 1024
            if "url" in e:
                assert e["url"].startswith(("http://", "https://"))
            total += embed_size(e)
        assert total <= 6000
        assert validate_message(dict(m)) == {}


def test_many_long_stories_become_several_messages_in_order() -> None:
    long_bullets = tuple("Fakta panjang sekali " * 60 for _ in range(4))  # ~1260 chars each
    entries = [
        entry(i, headline=f"Judul {i} " + "x" * 400, bullets=long_bullets, source="S" * 3000)
        for i in range(40)
    ]
    messages = render_digest(make_digest(entries, footer="40 berita · 23–24 Nov"))
    assert_within_limits(messages)
    assert len(messages) > 4
    titles = [e["title"] for m in messages for e in m["embeds"]]
    assert len(titles) == 40
    assert [t.split()[1] for t in titles] == [str(i) for i in range(40)]  # order kept
    assert all(len(t) == 256 and t.endswith("…") for t in titles)
    assert "Ringkasan AI" in (messages[0]["content"] or "")
    assert all(m["content"] is None for m in messages[1:])
    footer = messages[0]["embeds"][0]["footer"]["text"]
    assert len(footer) == 2048


def test_ten_embed_cap_with_small_stories() -> None:
    messages = render_digest(make_digest([entry(i) for i in range(23)]))
    assert [len(m["embeds"]) for m in messages] == [10, 10, 3]
    assert_within_limits(messages)


def test_one_huge_story_is_cut_to_fit_description_and_total() -> None:
    bullets = tuple("b" * 3000 for _ in range(4))
    also = [AlsoReported(f"Outlet {k}", f"https://o{k}.example/a") for k in range(200)]
    messages = render_digest(
        make_digest(
            [
                entry(
                    1,
                    bullets=bullets,
                    also=also,
                    note="n" * 5000,
                    headline="h" * 5000,
                    source="s" * 5000,
                )
            ]
        )
    )
    assert_within_limits(messages)
    [embed] = messages[0]["embeds"]
    assert embed_size(embed) <= 6000
    assert embed["description"].startswith("• bbb")


def test_random_digests_always_fit() -> None:
    rng = random.Random(20261124)
    alphabet = "abc *_~`|>#-@<&[]()\\\n😀é"
    for _ in range(100):
        entries = []
        for i in range(rng.randint(0, 30)):
            text = lambda hi: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, hi)))  # noqa: E731
            entries.append(
                entry(
                    i,
                    headline=text(400) or "x",
                    bullets=tuple(text(2500) for _ in range(rng.randint(0, 4))),
                    source=text(2500),
                    note=text(300) or None,
                    also=[
                        AlsoReported(text(50) or "o", f"https://e.com/{text(30)}")
                        for _ in range(rng.randint(0, 5))
                    ],
                )
            )
        assert_within_limits(
            render_digest(make_digest(entries, title=text(3000), footer=text(100)))
        )


def test_markdown_and_mentions_are_escaped() -> None:
    e = entry(
        1,
        headline="**bold** @everyone <@&123>",
        bullets=(
            "@here ping <@123456789012345678>",
            "__under__ ~~strike~~ `code` ||spoiler|| [click](https://evil.example)",
        ),
        note="> quote",
        also=[AlsoReported("**Tempo** @everyone", "https://tempo.co/a_(b)")],
    )
    messages = render_digest(make_digest([e], title="@everyone **Digest**"))
    content = messages[0]["content"] or ""
    assert "@everyone" not in content.replace("@\u200beveryone", "")
    embed = messages[0]["embeds"][0]
    assert embed["title"] == "\\*\\*bold\\*\\* @\u200beveryone \\<@&123>"
    desc = embed["description"]
    assert "@\u200bhere" in desc
    assert "\\<@\u200b123456789012345678>" in desc
    formatted = desc.splitlines()[1]
    # Every markdown character in the untrusted bullet is preceded by a backslash.
    assert re.findall(r"(?<!\\)[*_~|`]", formatted) == []
    assert "\\[click\\]\\(https://evil.example)" in desc
    # The also-reported link is a real masked link with the label escaped and the URL made safe.
    assert "[\\*\\*Tempo\\*\\* @\u200beveryone](https://tempo.co/a_%28b%29)" in desc


def test_escape_is_inert_for_common_tricks() -> None:
    assert escape("@everyone") == "@\u200beveryone"
    assert escape("<@&123>") == "\\<@&123>"
    assert escape("<#123> </cmd:1>") == "\\<#123> \\</cmd:1>"
    assert escape("**bold**") == "\\*\\*bold\\*\\*"
    assert escape("a\\b") == "a\\\\b"


def test_clip_never_leaves_a_dangling_escape() -> None:
    text = escape("*" * 300)  # "\\*" pairs
    cut = clip(text, 256)
    assert len(cut) <= 256
    assert cut.endswith("…")
    body = cut[:-1]
    assert (len(body) - len(body.rstrip("\\"))) % 2 == 0


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com/a",
        "data:text/html,x",
        "/relative/path",
        "file:///etc/passwd",
        "https://",
        "http://exa mple.com/",
        "",
    ],
)
def test_only_http_urls_are_linked(url: str) -> None:
    assert safe_url(url) is None
    messages = render_digest(
        make_digest([entry(1, url=url or "x", also=[AlsoReported("Src", url)])])
    )
    embed = messages[0]["embeds"][0]
    assert "url" not in embed
    assert "](" not in embed["description"]
    assert_within_limits(messages)


def test_http_and_https_are_linked() -> None:
    assert safe_url("http://example.com/a") == "http://example.com/a"
    assert safe_url("HTTPS://example.com/a?b=c") == "HTTPS://example.com/a?b=c"
    messages = render_digest(make_digest([entry(1, url="https://example.com/s")]))
    assert messages[0]["embeds"][0]["url"] == "https://example.com/s"


def test_empty_digest_is_one_message_with_empty_text() -> None:
    messages = render_digest(make_digest([], empty_text="Belum ada berita **baru**."))
    assert len(messages) == 1
    assert messages[0]["embeds"] == []
    content = messages[0]["content"] or ""
    assert "Belum ada berita \\*\\*baru\\*\\*." in content
    assert content.startswith("**Ringkasan AI")
    assert_within_limits(messages)


def test_rendering_is_deterministic() -> None:
    d = make_digest([entry(i) for i in range(15)])
    assert render_digest(d) == render_digest(d)


def test_also_and_note_lines_localized() -> None:
    e = entry(
        1, also=[AlsoReported("Tempo", "https://tempo.co/x")], note="Poin dalam bahasa Inggris"
    )
    desc_id = render_digest(make_digest([e]))[0]["embeds"][0]["description"]
    desc_en = render_digest(make_digest([e], lang="en"))[0]["embeds"][0]["description"]
    assert desc_id.splitlines()[:3] == ["• Satu.", "• Dua.", "• Tiga."]
    assert "Juga diberitakan: [Tempo](https://tempo.co/x)" in desc_id
    assert "Also reported by: [Tempo](https://tempo.co/x)" in desc_en
    assert desc_id.endswith("*Poin dalam bahasa Inggris*")


def test_reply_with_many_items_and_long_text_splits() -> None:
    items = [
        ReplyItem(
            title=f"Story {i} " + "t" * 150, url=f"https://e.com/{i}", detail="d" * 100, ref=f"#{i}"
        )
        for i in range(300)
    ]
    reply = Reply(text=("Line of help text. " * 10 + "\n") * 40, lang="en", items=items)
    messages = render_reply(reply)
    assert_within_limits(messages)
    assert sum(1 for m in messages if m["content"]) >= 2  # ~7600 chars of text
    lines = [ln for m in messages for e in m["embeds"] for ln in e["description"].splitlines()]
    assert len(lines) == 300
    assert lines[0].startswith("`#0` [Story 0 ")


def test_reply_plain_text_and_error() -> None:
    [m] = render_reply(Reply(text="Nope @everyone", lang="en", error=True))
    assert m["content"] == "Nope @\u200beveryone"
    [m] = render_reply(Reply(text="", lang="en"))
    assert m["content"]  # never an empty message


def test_reply_with_digest_appends_digest_messages() -> None:
    d = make_digest([entry(i) for i in range(12)])
    messages = render_reply(Reply(text="Ini ringkasannya:", lang="id", digest=d))
    assert messages[0]["content"] == "Ini ringkasannya:"
    assert messages[1:] == render_digest(d)


# ----------------------------------------------------------------------------- masked links

HOSTILE_TITLE = "Outlet](https://evil.example/login) · [Official"

# A model of how a markdown client finds masked links, written after simple-markdown's rules
# (Discord's client parser derives from it; no real client can run in a test): a backslash
# escapes the next character; a link starts at an unescaped "[" and its label is matched by a
# plain regex that does NOT honour backslashes, then "](", then the target.
_LINK_LABEL = r"(?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*"
_LINK_TARGET = r"\s*<?((?:\([^)]*\)|[^\s\\]|\\.)*?)>?(?:\s+['\"]([\s\S]*?)['\"])?\s*"
_LINK = re.compile(r"\[(" + _LINK_LABEL + r")\]\(" + _LINK_TARGET + r"\)")


def masked_links(text: str) -> list[tuple[str, str]]:
    """(label, target) of every masked link a client would render in ``text``."""
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "[":
            m = _LINK.match(text, i)
            if m:
                found.append((m[1], m[2]))
                i = m.end()
                continue
        i += 1
    return found


def all_text(messages: list[MessagePayload]) -> str:
    parts: list[str] = []
    for m in messages:
        parts.append(m["content"] or "")
        for e in m["embeds"]:
            parts += [e.get("title", ""), e.get("description", "")]
            parts += [f["name"] + "\n" + f["value"] for f in e.get("fields", [])]
    return "\n".join(parts)


def test_masked_link_model_finds_links() -> None:
    # The model must see the attack, or the tests below prove nothing.
    label = "[" + HOSTILE_TITLE + "](https://real.example/)"
    assert masked_links(label) == [
        ("Outlet", "https://evil.example/login"),
        ("Official", "https://real.example/"),
    ]
    assert masked_links("\\[a](https://x.example)") == []
    # Backslashes do not protect a label: "\\](" still closes it.
    assert masked_links("[a\\](https://evil.example) b") == [("a\\", "https://evil.example")]
    # A label runs to the last "](" it can reach, across lines.
    assert masked_links("[a](https://x.example)\nb\\](https://evil.example)") == [
        ("a](https://x.example)\nb\\", "https://evil.example")
    ]


HOSTILE = [
    HOSTILE_TITLE,
    "Outlet](<https://evil.example/login>) · [Official",  # angle-bracket target
    "[[Breaking]](https://evil.example/a) [x]",  # nested brackets
    "Outlet\\](https://evil.example/b) · \\[Official",  # backslashes of its own
    "see https://news.example/a\\",  # a raw backslash kept at the end of a URL-looking part
    "[Official](https://evil.example/c)",
    "Outlet]( https://evil.example/d 'title') [x",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_untrusted_text_never_becomes_a_masked_link(hostile: str) -> None:
    real = "https://real.example/story"
    e = entry(
        1,
        headline=hostile,
        bullets=(hostile, f"{hostile} and {hostile}"),
        url=real,
        source=hostile,
        also=[AlsoReported(hostile, "https://tempo.example/a"), AlsoReported("Tempo", None)],
        note=hostile,
    )
    messages = render_digest(make_digest([e], title=hostile, footer=hostile))
    assert_within_limits(messages)
    links = masked_links(all_text(messages))
    # Exactly our one also-reported link, to the URL we were given.
    assert [target for _, target in links] == ["https://tempo.example/a"]

    reply = Reply(
        text=f"{hostile}\n• {hostile}",
        lang="en",
        items=[
            ReplyItem(title=hostile, url=real, detail=hostile, ref="#1"),
            ReplyItem(title=hostile, url=None, detail=hostile),
        ],
    )
    messages = render_reply(reply)
    assert_within_limits(messages)
    assert [target for _, target in masked_links(all_text(messages))] == [real]


def test_hostile_title_keeps_its_text_and_links_to_the_real_url() -> None:
    [m] = render_reply(
        Reply(text="", lang="en", items=[ReplyItem(title=HOSTILE_TITLE, url="https://real.ex/s")])
    )
    line = m["embeds"][0]["description"]
    assert line == "[Outlet］(https://evil.example/login) · ［Official](https://real.ex/s)"
    assert masked_links(line) == [
        ("Outlet］(https://evil.example/login) · ［Official", "https://real.ex/s")
    ]


def test_escape_neutralises_link_and_angle_syntax() -> None:
    assert escape(HOSTILE_TITLE) == "Outlet\\]\\(https://evil.example/login) · \\[Official"
    assert escape("[[a]](b)") == "\\[\\[a\\]\\]\\(b)"
    assert escape("<https://evil.example>") == "\\<https://evil.example>"
    assert escape("<:emoji:123> <t:1700000000>") == "\\<:emoji:123> \\<t:1700000000>"
    assert escape("a\\](x)") == "a\\\\\\]\\(x)"  # its backslash escaped, then its bracket


# --------------------------------------------------------------------------- permalink, image

PERMALINK = "https://warta.example/digest/id/2026-11-24"


def test_permalink_is_one_masked_link_in_the_first_message() -> None:
    digest = make_digest([entry(i, bullets=("x" * 900,) * 4) for i in range(30)])
    digest.web_url = PERMALINK
    messages = render_digest(digest)
    assert len(messages) > 1
    assert_within_limits(messages)
    first = messages[0]["content"] or ""
    assert first.endswith(f"\n[Lihat ringkasan hari ini di web]({PERMALINK})")
    assert all(PERMALINK not in all_text([m]) for m in messages[1:])
    # A title at the content limit is clipped before the link, never the link itself.
    long = make_digest([], title="t" * 3000, empty_text="e" * 3000)
    long.web_url = PERMALINK
    [only] = render_digest(long)
    assert_within_limits([only])
    assert (only["content"] or "").endswith(f"({PERMALINK})")
    # Not an http(s) URL: no link at all.
    bad = make_digest([entry(1)])
    bad.web_url = "javascript:alert(1)"
    assert "javascript" not in all_text(render_digest(bad))
    assert "Lihat ringkasan" not in all_text(render_digest(bad))


def test_an_image_reply_points_an_embed_at_its_attachment() -> None:
    png = ReplyFile("stats.png", b"\x89PNG\r\n\x1a\n", "image/png", kind="image")
    [message] = render_reply(Reply(text="Grafik mingguan", lang="id", file=png))
    assert message["content"] == "Grafik mingguan"
    [embed] = message["embeds"]
    assert embed["image"] == {"url": "attachment://stats.png"}
    assert_within_limits([message])
    # A document (an OPML export) stays a plain attachment: no embed shows it.
    opml = ReplyFile("warta-sources.opml", b"<opml/>", "text/x-opml")
    [plain] = render_reply(Reply(text="OPML", lang="id", file=opml))
    assert plain["embeds"] == []
