"""Fetcher against a real aiohttp server on 127.0.0.1 (tests/feedserver.py); nothing is mocked."""

from __future__ import annotations

import asyncio
import gzip
import resource
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.errors import (
    BlockedURL,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooLarge,
    TooManyRedirects,
)
from bot.feeds import netguard
from bot.feeds.fetch import Fetcher, parse_max_age, parse_retry_after, redact_url
from tests import feedserver
from tests.feedserver import FeedServer

feed_server = feedserver.feed_server  # the fixture, used by name

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    + b"".join(
        b"<item><title>item %d</title><link>http://x/%d</link></item>" % (i, i) for i in range(10)
    )
    + b"</channel></rss>"
)


async def test_200_has_body_validators_and_lowercased_headers(feed_server: FeedServer) -> None:
    path = feed_server.add_bytes("/feed.xml", RSS, headers={"Cache-Control": "public, max-age=600"})
    async with Fetcher() as f:
        r = await f.fetch(feed_server.url(path))
    assert r.status == 200
    assert r.body == RSS
    assert r.etag
    assert r.etag.startswith('"')
    assert r.last_modified
    assert r.last_modified.endswith("GMT")
    assert r.content_type == "application/rss+xml; charset=utf-8"
    assert r.final_url == r.url == feed_server.url(path)
    assert r.retry_after == 600.0
    assert r.elapsed > 0
    assert r.headers["etag"] == r.etag
    assert all(k == k.lower() for k in r.headers)


async def test_sends_user_agent_accept_and_accept_encoding(feed_server: FeedServer) -> None:
    feed_server.record_headers()
    path = feed_server.add_bytes("/ua.xml", RSS)
    async with Fetcher(user_agent="WartaTest/1") as f:
        await f.fetch(feed_server.url(path))
    sent = feed_server.stats(path).request_headers[0]
    assert sent["User-Agent"] == "WartaTest/1"
    assert "application/rss+xml" in sent["Accept"]
    assert sent["Accept-Encoding"] == "gzip, deflate"


async def test_conditional_get_round_trip_gives_304_without_body(feed_server: FeedServer) -> None:
    path = feed_server.add_bytes("/c.xml", RSS)
    async with Fetcher() as f:
        first = await f.fetch(feed_server.url(path))
        second = await f.fetch(
            feed_server.url(path), etag=first.etag, last_modified=first.last_modified
        )
        only_lm = await f.fetch(feed_server.url(path), last_modified=first.last_modified)
        feed_server.set_body(path, RSS + b"<!-- changed -->")
        third = await f.fetch(
            feed_server.url(path), etag=first.etag, last_modified=first.last_modified
        )
    assert second.status == 304
    assert second.body is None
    assert second.etag == first.etag
    assert only_lm.status == 304
    assert third.status == 200
    assert third.body is not None
    assert third.body.endswith(b"<!-- changed -->")
    assert third.etag != first.etag
    st = feed_server.stats(path)
    assert (st.requests, st.not_modified) == (4, 2)


async def test_gzip_body_is_decompressed(feed_server: FeedServer) -> None:
    path = feed_server.add_bytes("/g.xml", RSS * 50, gzip_encode=True)
    async with Fetcher() as f:
        r = await f.fetch(feed_server.url(path))
    assert r.headers["content-encoding"] == "gzip"
    assert r.body == RSS * 50


async def test_deflate_body_is_decompressed(feed_server: FeedServer) -> None:
    import zlib

    path = feed_server.add_status(
        "/d.xml", 200, body=zlib.compress(RSS), headers={"Content-Encoding": "deflate"}
    )
    async with Fetcher() as f:
        r = await f.fetch(feed_server.url(path))
    assert r.body == RSS


async def test_five_redirects_are_followed(feed_server: FeedServer) -> None:
    feed_server.add_bytes("/final.xml", RSS)
    first = feed_server.add_redirect_chain("/r5", 5, "/final.xml", status=301)
    async with Fetcher(max_redirects=5) as f:
        r = await f.fetch(feed_server.url(first))
    assert r.status == 200
    assert r.body == RSS
    assert r.url == feed_server.url(first)
    assert r.final_url == feed_server.url("/final.xml")


async def test_relative_and_absolute_locations(feed_server: FeedServer) -> None:
    feed_server.add_bytes("/dir/final.xml", RSS)
    feed_server.add_redirect("/dir/rel", "final.xml", status=307)
    feed_server.add_redirect("/abs", feed_server.url("/dir/rel"), status=308)
    async with Fetcher() as f:
        r = await f.fetch(feed_server.url("/abs"))
    assert r.final_url == feed_server.url("/dir/final.xml")


async def test_six_redirects_are_too_many(feed_server: FeedServer) -> None:
    feed_server.add_bytes("/final.xml", RSS)
    first = feed_server.add_redirect_chain("/r6", 6, "/final.xml")
    async with Fetcher(max_redirects=5) as f:
        with pytest.raises(TooManyRedirects) as exc:
            await f.fetch(feed_server.url(first))
    assert exc.value.url == feed_server.url(first)
    assert feed_server.stats("/final.xml").requests == 0


async def test_redirect_loop(feed_server: FeedServer) -> None:
    a = feed_server.add_redirect_loop("/loop/a", "/loop/b")
    async with Fetcher() as f:
        with pytest.raises(TooManyRedirects, match="loop"):
            await f.fetch(feed_server.url(a))
    assert feed_server.stats("/loop/a").requests == 1
    assert feed_server.stats("/loop/b").requests == 1


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)", "/relative"]
)
async def test_non_http_schemes_are_blocked(url: str) -> None:
    async with Fetcher() as f:
        with pytest.raises(BlockedURL):
            await f.fetch(url)


async def test_redirect_to_non_http_scheme_is_blocked(feed_server: FeedServer) -> None:
    path = feed_server.add_redirect("/to-file", "file:///etc/passwd")
    async with Fetcher() as f:
        with pytest.raises(BlockedURL):
            await f.fetch(feed_server.url(path))


async def test_private_policy_refuses_loopback_ip_and_localhost(feed_server: FeedServer) -> None:
    path = feed_server.add_bytes("/p.xml", RSS)
    async with Fetcher(allow_private=False) as f:
        with pytest.raises(BlockedURL, match="loopback"):
            await f.fetch(feed_server.url(path))
        with pytest.raises(BlockedURL, match="localhost"):
            await f.fetch(f"http://localhost:{feed_server.port}{path}")
        with pytest.raises(BlockedURL):
            await f.fetch(f"http://[::1]:{feed_server.port}{path}")
    assert feed_server.stats(path).requests == 0


async def test_allow_loopback_override(feed_server: FeedServer) -> None:
    path = feed_server.add_bytes("/p.xml", RSS)
    async with Fetcher(allow_private=False, allow_loopback=True) as f:
        by_ip = await f.fetch(feed_server.url(path))
        by_name = await f.fetch(f"http://localhost:{feed_server.port}{path}")
    assert by_ip.body == RSS
    assert by_name.body == RSS


@pytest.mark.parametrize(
    "target",
    [
        "http://10.1.2.3/feed",
        "http://192.168.0.1/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
async def test_redirect_to_private_address_is_refused_before_connecting(
    feed_server: FeedServer, target: str
) -> None:
    # allow_loopback lets the first hop reach the test server; the redirect target is refused
    # by address, so no packet is ever sent to it.
    path = feed_server.add_redirect("/to-private", target)
    async with Fetcher(allow_private=False, allow_loopback=True, timeout_s=5) as f:
        with pytest.raises(BlockedURL):
            await f.fetch(feed_server.url(path))


async def test_redirect_to_localhost_name_is_refused_after_resolution(
    feed_server: FeedServer,
) -> None:
    path = feed_server.add_redirect("/to-localhost", f"http://localhost:{feed_server.port}/x")
    async with Fetcher(allow_private=False, allow_loopback=False) as f:
        with pytest.raises(BlockedURL):
            await f.fetch(feed_server.url(path))
    # The first hop is already refused (127.0.0.1), so nothing reached the server.
    assert feed_server.stats(path).requests == 0


def test_blocked_reason_classifies_addresses() -> None:
    assert netguard.blocked_reason("127.0.0.1") == "loopback address"
    assert netguard.blocked_reason("127.0.0.1", allow_loopback=True) is None
    assert netguard.blocked_reason("::1", allow_loopback=True) is None
    assert netguard.blocked_reason("10.0.0.1", allow_loopback=True) == "private address"
    assert netguard.blocked_reason("169.254.169.254") == "link-local address"
    assert netguard.blocked_reason("::ffff:127.0.0.1") == "loopback address"
    assert netguard.blocked_reason("64:ff9b::a00:1") == "private address"
    assert netguard.blocked_reason("2002:c0a8:1::1") == "private address"  # 6to4 of 192.168.0.1
    assert netguard.blocked_reason("224.0.0.1") == "multicast address"
    assert netguard.blocked_reason("93.184.215.14") is None
    assert netguard.blocked_reason("2606:4700::1111") is None


async def test_check_url_resolved() -> None:
    with pytest.raises(BlockedURL):
        await netguard.check_url_resolved("http://localhost/")
    assert "127.0.0.1" in await netguard.check_url_resolved(
        "http://localhost/", allow_loopback=True
    )
    with pytest.raises(BlockedURL):
        await netguard.check_url_resolved("gopher://example.com/")
    with pytest.raises(BlockedURL):
        await netguard.check_url_resolved("http://10.0.0.1/")


@pytest.mark.parametrize(
    ("status", "retry_after", "expected_retry", "permanent"),
    [
        (404, None, None, True),
        (410, None, None, True),
        (429, "120", 120.0, False),
        (500, None, None, False),
        (503, "30", 30.0, False),
    ],
)
async def test_http_errors_map_to_status_error(
    feed_server: FeedServer,
    status: int,
    retry_after: str | None,
    expected_retry: float | None,
    permanent: bool,
) -> None:
    path = feed_server.add_status(f"/s{status}", status, retry_after=retry_after, body=b"nope")
    async with Fetcher() as f:
        with pytest.raises(HTTPStatusError) as exc:
            await f.fetch(feed_server.url(path))
    assert exc.value.status == status
    assert exc.value.retry_after == expected_retry
    assert exc.value.permanent is permanent
    assert str(exc.value).startswith(f"HTTP {status}")


async def test_retry_after_http_date(feed_server: FeedServer) -> None:
    when = datetime.now(UTC) + timedelta(hours=1)
    path = feed_server.add_status("/dated", 429, retry_after=format_datetime(when, usegmt=True))
    async with Fetcher() as f:
        with pytest.raises(HTTPStatusError) as exc:
            await f.fetch(feed_server.url(path))
    assert exc.value.retry_after is not None
    assert 3500 < exc.value.retry_after <= 3600


def test_header_parsers() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Thu, 01 Jan 2026 00:02:00 GMT", now=now) == 120.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now=now) == 0.0
    assert parse_max_age("public, max-age=300") == 300.0
    assert parse_max_age("no-cache, max-age=300") is None
    assert parse_max_age("max-age=abc") is None
    assert parse_max_age("private") is None
    assert redact_url("https://u:secret@h.example/p?token=abc#x") == "https://h.example/p"


async def test_drip_is_cut_by_total_deadline(feed_server: FeedServer) -> None:
    path = feed_server.add_drip("/drip", interval_s=0.5, total=1000)
    async with Fetcher(timeout_s=1.5) as f:
        with pytest.raises(FetchTimeout) as exc:
            await f.fetch(feed_server.url(path))
    assert exc.value.url == feed_server.url(path)


async def test_gzip_bomb_is_cut_at_cap_with_bounded_memory(feed_server: FeedServer) -> None:
    path = feed_server.add_gzip_bomb("/bomb", expanded=2**30)
    cap = 4 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    async with Fetcher(max_bytes=cap, timeout_s=30) as f:
        with pytest.raises(TooLarge, match="decompressed"):
            await f.fetch(feed_server.url(path))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    # 1 GiB inflated in one go would raise the peak by ~1,048,576 KiB; the cap is 4 MiB.
    assert grown_kib < 256 * 1024


async def test_huge_content_length_refused_early(feed_server: FeedServer) -> None:
    path = feed_server.add_huge_length("/huge", length=10**12)
    async with Fetcher(max_bytes=2**20) as f:
        with pytest.raises(TooLarge, match="Content-Length"):
            await f.fetch(feed_server.url(path))


async def test_body_over_cap_without_length_is_cut(feed_server: FeedServer) -> None:
    big = gzip.compress(b"x" * (3 * 2**20))
    path = feed_server.add_status("/big", 200, body=big, headers={"Content-Encoding": "gzip"})
    async with Fetcher(max_bytes=2**20) as f:
        with pytest.raises(TooLarge):
            await f.fetch(feed_server.url(path))


async def test_concurrency_bound_per_host(feed_server: FeedServer) -> None:
    paths = [feed_server.add_slow(f"/slow/{i}", delay_s=0.1) for i in range(12)]
    async with Fetcher(concurrency=50, per_host=3) as f:
        results = await asyncio.gather(*(f.fetch(feed_server.url(p)) for p in paths))
    assert all(r.status == 200 for r in results)
    assert 1 <= feed_server.max_in_flight <= 3


async def test_deadline_does_not_count_time_queued_for_a_slot(feed_server: FeedServer) -> None:
    # Six 0.3 s answers through one slot take ~1.8 s in all, longer than the 1 s deadline;
    # each fetch's own deadline starts when it gets the slot, so all succeed.
    paths = [feed_server.add_slow(f"/q/{i}", delay_s=0.3) for i in range(6)]
    async with Fetcher(concurrency=10, per_host=1, timeout_s=1.0) as f:
        results = await asyncio.gather(*(f.fetch(feed_server.url(p)) for p in paths))
    assert [r.status for r in results] == [200] * 6
    assert feed_server.max_in_flight == 1


async def test_connection_refused_maps_to_fetch_error(feed_server: FeedServer) -> None:
    port = feed_server.port
    await feed_server.stop()
    async with Fetcher() as f:
        with pytest.raises(FetchError) as exc:
            await f.fetch(f"http://127.0.0.1:{port}/gone")
    assert type(exc.value) is FetchError
    assert isinstance(exc.value.__cause__, OSError)
    assert "cannot connect" in str(exc.value)


async def test_fetch_outside_context_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        await Fetcher().fetch("http://127.0.0.1/")
