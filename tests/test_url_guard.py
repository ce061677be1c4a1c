"""The URL guard through the public path: a real aiohttp server on 127.0.0.1 and the Fetcher.

Every refused case also asserts that the server received no request at all. Cases that go
through the Fetcher only use spellings of addresses on this machine (127.0.0.1, 0.0.0.0, ::):
were the guard to fail, the request would land on the test server and the test would see it,
and nothing ever leaves loopback. Other ranges are checked by ``check_url``/``blocked_reason``
alone, which never connect.

``allow_loopback=True`` is the most permissive user-URL policy (it lets the first hop reach the
test server). The spellings below are refused *under it*, which shows they are refused for how
they are spelled, not for where they point; a canonical 127.0.0.1 control is fetched with the
same settings.
"""

from __future__ import annotations

import socket

import aiohttp
import pytest
from yarl import URL

from bot.errors import BlockedURL
from bot.feeds import netguard
from bot.feeds.fetch import Fetcher
from tests import feedserver
from tests.feedserver import FeedServer
from tests.resolver import StaticResolver

feed_server = feedserver.feed_server  # the fixture, used by name

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'

# Every one of these is read as 127.0.0.1 by inet_aton (and so by getaddrinfo).
LOOPBACK_SPELLINGS = [
    "2130706433",  # decimal
    "017700000001",  # octal
    "0x7f000001",  # hex
    "0177.0.0.1",  # octal first part
    "0x7f.0.0.1",
    "0x7f.1",  # hex, short
    "127.1",  # short forms
    "127.0.1",
    "127.000.000.001",  # zero-padded
    "0127.0.0.01",
    "127.0.0.1.",  # trailing dot
    "2130706433.",
    "127.1.",
]
# Read as 0.0.0.0, which Linux connects to the local host.
UNSPECIFIED_SPELLINGS = ["0", "0x0", "00", "0.0", "0.0.0.00"]


def _url(host: str, port: int, path: str) -> str:
    return f"http://{host}:{port}{path}"


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + UNSPECIFIED_SPELLINGS)
@pytest.mark.parametrize(
    "policy",
    [
        {"allow_private": False, "allow_loopback": True},
        {"allow_private": False, "allow_loopback": False},
        {"allow_private": True},  # operator feeds: any address, but not an odd spelling
    ],
    ids=["user+loopback", "user", "operator"],
)
async def test_non_canonical_ipv4_host_is_refused_without_a_request(
    feed_server: FeedServer, host: str, policy: dict[str, bool]
) -> None:
    path = feed_server.add_bytes("/p.xml", RSS)
    async with Fetcher(timeout_s=5, **policy) as f:
        with pytest.raises(BlockedURL, match="non-canonical IPv4"):
            await f.fetch(_url(host, feed_server.port, path))
    assert feed_server.total_requests == 0


async def test_canonical_loopback_is_fetched_under_the_same_settings(
    feed_server: FeedServer,
) -> None:
    path = feed_server.add_bytes("/p.xml", RSS)
    async with Fetcher(allow_private=False, allow_loopback=True, timeout_s=5) as f:
        result = await f.fetch(_url("127.0.0.1", feed_server.port, path))
    assert result.body == RSS
    assert feed_server.total_requests == 1


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS + UNSPECIFIED_SPELLINGS)
async def test_redirect_to_non_canonical_ipv4_is_refused(
    feed_server: FeedServer, host: str
) -> None:
    target = feed_server.add_bytes("/target.xml", RSS)
    hop = feed_server.add_redirect("/hop", _url(host, feed_server.port, target))
    async with Fetcher(allow_private=False, allow_loopback=True, timeout_s=5) as f:
        with pytest.raises(BlockedURL, match="non-canonical IPv4"):
            await f.fetch(feed_server.url(hop))
    assert feed_server.stats(hop).requests == 1  # the first hop was fetched...
    assert feed_server.stats(target).requests == 0  # ...and the redirect was not followed
    assert feed_server.total_requests == 1


async def test_redirect_from_a_public_name_to_decimal_loopback(feed_server: FeedServer) -> None:
    # news.test stands for a public site: the resolver seam gives it the test server's address
    # (loopback is allowed for it by allow_loopback); the redirect it answers with points at the
    # same server spelled 2130706433 and must not be followed.
    target = feed_server.add_bytes("/target.xml", RSS)
    hop = feed_server.add_redirect("/hop", f"http://2130706433:{feed_server.port}{target}")
    dns = StaticResolver({"news.test": ["127.0.0.1"]})
    async with Fetcher(allow_private=False, allow_loopback=True, timeout_s=5, resolver=dns) as f:
        with pytest.raises(BlockedURL, match="non-canonical IPv4 host '2130706433'"):
            await f.fetch(f"http://news.test:{feed_server.port}{hop}")
    assert dns.lookups == ["news.test"]
    assert feed_server.stats(hop).requests == 1
    assert feed_server.total_requests == 1


async def test_redirect_to_canonical_loopback_is_followed_control(feed_server: FeedServer) -> None:
    target = feed_server.add_bytes("/target.xml", RSS)
    hop = feed_server.add_redirect("/hop", f"http://127.0.0.1:{feed_server.port}{target}")
    async with Fetcher(allow_private=False, allow_loopback=True, timeout_s=5) as f:
        result = await f.fetch(feed_server.url(hop))
    assert result.body == RSS
    assert feed_server.stats(target).requests == 1


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "[::]", "[::ffff:0.0.0.0]", "[::ffff:0:0]", "[::1%25lo]"]
)
async def test_unspecified_address_is_refused_even_with_allow_loopback(
    feed_server: FeedServer, host: str
) -> None:
    path = feed_server.add_bytes("/p.xml", RSS)
    async with Fetcher(allow_private=False, allow_loopback=True, timeout_s=5) as f:
        with pytest.raises(BlockedURL):
            await f.fetch(_url(host, feed_server.port, path))
        hop = feed_server.add_redirect("/hop", _url(host, feed_server.port, path))
        with pytest.raises(BlockedURL):
            await f.fetch(feed_server.url(hop))
    assert feed_server.stats(path).requests == 0


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]", "localhost"]
)
async def test_every_loopback_form_is_refused_without_allow_loopback(
    feed_server: FeedServer, host: str
) -> None:
    path = feed_server.add_bytes("/p.xml", RSS)
    async with Fetcher(allow_private=False, timeout_s=5) as f:
        with pytest.raises(BlockedURL):
            await f.fetch(_url(host, feed_server.port, path))
    assert feed_server.total_requests == 0


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "::ffff:0.0.0.0", "127.0.0.1"])
async def test_a_name_is_judged_by_what_it_resolves_to(
    feed_server: FeedServer, address: str
) -> None:
    # allow_loopback only for the 127.0.0.1 case below is off, so all four are refused; the
    # three unspecified addresses would reach this server if the guard let them through.
    path = feed_server.add_bytes("/p.xml", RSS)
    dns = StaticResolver({"rebind.test": [address]})
    allow = address != "127.0.0.1"
    async with Fetcher(allow_private=False, allow_loopback=allow, timeout_s=5, resolver=dns) as f:
        with pytest.raises(BlockedURL, match="resolves to"):
            await f.fetch(f"http://rebind.test:{feed_server.port}{path}")
        hop = feed_server.add_redirect("/hop", f"http://rebind.test:{feed_server.port}{path}")
        if allow:  # the first hop (127.0.0.1) is allowed: the redirect is what gets refused
            with pytest.raises(BlockedURL, match="resolves to"):
                await f.fetch(feed_server.url(hop))
            assert feed_server.stats(hop).requests == 1
    assert feed_server.stats(path).requests == 0


async def test_one_bad_address_refuses_the_whole_name(feed_server: FeedServer) -> None:
    path = feed_server.add_bytes("/p.xml", RSS)
    dns = StaticResolver({"split.test": ["127.0.0.1", "0.0.0.0"]})
    async with Fetcher(allow_private=False, allow_loopback=True, timeout_s=5, resolver=dns) as f:
        with pytest.raises(BlockedURL, match="unspecified"):
            await f.fetch(f"http://split.test:{feed_server.port}{path}")
    assert feed_server.total_requests == 0


async def test_a_name_that_does_not_resolve_is_refused_like_a_private_one() -> None:
    dns = StaticResolver({})
    async with Fetcher(allow_private=False, timeout_s=5, resolver=dns) as f:
        with pytest.raises(BlockedURL, match="does not resolve"):
            await f.fetch("http://nowhere.test/feed")
    assert dns.lookups == ["nowhere.test"]


async def test_connect_time_check_refuses_the_exact_address(feed_server: FeedServer) -> None:
    # The socket factory alone, without check_url or the resolver: an IP literal goes straight
    # to the connector, which must still refuse to open a socket for it.
    path = feed_server.add_bytes("/p.xml", RSS)
    connector = aiohttp.TCPConnector(socket_factory=netguard.guarded_socket_factory())
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as info:
            await session.get(feed_server.url(path))
    assert isinstance(info.value.os_error, netguard.RefusedAddress)
    assert feed_server.total_requests == 0
    allowed = netguard.guarded_socket_factory(allow_loopback=True)
    connector = aiohttp.TCPConnector(socket_factory=allowed)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(feed_server.url(path)) as resp,
    ):
        assert await resp.read() == RSS


def test_socket_factory_refuses_before_creating_a_socket() -> None:
    factory = netguard.guarded_socket_factory(allow_loopback=True)
    for family, addr in [
        (socket.AF_INET, ("0.0.0.0", 80)),
        (socket.AF_INET, ("10.0.0.1", 80)),
        (socket.AF_INET6, ("::ffff:10.0.0.1", 80, 0, 0)),
        (socket.AF_INET6, ("fec0::1", 80, 0, 0)),
    ]:
        with pytest.raises(netguard.RefusedAddress):
            factory((family, socket.SOCK_STREAM, 6, "", addr))
    sock = factory((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80)))
    sock.close()


# ----------------------------------------------------------------------------- pure checks

REFUSED_HOSTS = [
    *LOOPBACK_SPELLINGS,
    *UNSPECIFIED_SPELLINGS,
    "0x0a.1",  # 10.0.0.1
    "167772161",  # 10.0.0.1
    "0xa9.0xfe.0xa9.0xfe",  # 169.254.169.254
    "1.2.3.4.5",
    "foo.123",  # ends in a number: never a DNS name for a browser or inet_aton
    "0x",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",  # CGNAT
    "0.1.2.3",  # 0.0.0.0/8
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "198.51.100.1",
    "203.0.113.1",
    "192.0.0.8",  # IETF protocol assignments
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:10.0.0.1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1 (not the local host: refused even with loopback)
    "[64:ff9b:1::1]",  # local-use NAT64
    "[2002:a00:1::1]",  # 6to4 of 10.0.0.1
    "[2002:808:808::1]",  # 6to4 of a public address: a deprecated tunnel, refused anyway
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
    "[fec0::1]",  # site-local
    "[fd00::1]",  # unique local
    "[fe80::1]",  # link-local
    "[fe80::1%25eth0]",  # with a zone
    "[ff02::1]",  # multicast
    "[100::1]",  # discard-only
    "[2001:db8::1]",  # documentation
    "[3fff::1]",  # documentation (RFC 9637)
    "[4000::1]",  # outside 2000::/3: not allocated
    "127.0.0.1%20x",
]


LOOPBACK_LITERALS = {"[::1]", "[::ffff:127.0.0.1]"}  # the only ones allow_loopback opens


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_check_url_refuses(host: str) -> None:
    with pytest.raises(BlockedURL):
        netguard.check_url(URL(f"http://{host}/"), allow_private=False)
    if host not in LOOPBACK_LITERALS:
        with pytest.raises(BlockedURL):
            netguard.check_url(URL(f"http://{host}/"), allow_private=False, allow_loopback=True)


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "example.com.",
        "xn--e1afmkfd.xn--p1ai",
        "a_b.example",
        "93.184.215.14",
        "8.8.8.8",
        "[2606:4700::1111]",
        "[64:ff9b::808:808]",  # NAT64 of a public address
        "1.0.0.1",
    ],
)
def test_check_url_passes_public_hosts_and_names(host: str) -> None:
    url = URL(f"http://{host}/")
    assert netguard.check_url(url, allow_private=False) is url


def test_allow_loopback_opens_only_loopback() -> None:
    for host in ["127.0.0.1", "127.5.6.7", "[::1]", "[::ffff:127.0.0.1]"]:
        netguard.check_url(URL(f"http://{host}/"), allow_private=False, allow_loopback=True)
        with pytest.raises(BlockedURL, match="loopback"):
            netguard.check_url(URL(f"http://{host}/"), allow_private=False)


def test_operator_policy_allows_private_addresses_but_not_odd_spellings() -> None:
    for host in ["10.0.0.1", "127.0.0.1", "[fd00::1]", "intranet"]:
        netguard.check_url(URL(f"http://{host}/"), allow_private=True)
    with pytest.raises(BlockedURL):
        netguard.check_url(URL("http://127.1/"), allow_private=True)


def test_blocked_reason_names_the_range() -> None:
    assert netguard.blocked_reason("fec0::1") == "site-local address"
    assert netguard.blocked_reason("100.64.0.1") == "shared (CGNAT) address"
    assert netguard.blocked_reason("0.0.0.0", allow_loopback=True) == "unspecified address"
    assert netguard.blocked_reason("198.18.0.1") == "benchmarking address"
    assert netguard.blocked_reason("::127.0.0.1") == "IPv4-compatible address"
    assert netguard.blocked_reason("64:ff9b::7f00:1", allow_loopback=True) == "loopback address"
    assert netguard.blocked_reason("2002:7f00:1::1", allow_loopback=True) == "loopback address"
