"""Which URLs and addresses Warta may connect to.

Every feed, page and chat message is untrusted. Two policies exist:

* feeds from the operator's config: any http/https URL (``allow_private=True``);
* URLs a chat user supplied (``/summary <url>``, feeds added from chat): http/https only, and
  never an address that is private, loopback, link-local, reserved, multicast or otherwise not
  globally routable.

Both policies refuse a host that *looks like* an IPv4 address but is not spelled as a canonical
dotted quad (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``127.000.000.001``,
``127.0.0.1.``). The C library's ``inet_aton`` reads all of those as addresses, while a policy
that only recognises the canonical spelling takes them for host names and leaves them to a
resolver that the HTTP client skips for "numeric" hosts: that is how they reached loopback.
Deciding this here, from the URL alone, keeps the guarantee whatever the aiohttp version does.

For the private policy the address is checked three times, each for a different gap:

1. :func:`check_url` on every hop (redirects included), before any request: scheme and literal
   IP hosts;
2. :class:`GuardedResolver` inside the connector: every address a host name resolves to, so the
   address that is checked is the address that is connected to (no DNS-rebinding gap between a
   check and a second lookup);
3. :func:`guarded_socket_factory` at connect time: the exact socket address, whatever path
   produced it (a cached lookup, an IP literal the client did not hand to the resolver).

``allow_loopback`` is an explicit escape hatch for tests and local demos (a server on
127.0.0.1 or ::1); it never opens the other ranges, nor 0.0.0.0 (which Linux connects to the
local host, so it would be a way around "loopback only").
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.errors import BlockedURL

ALLOWED_SCHEMES: frozenset[str] = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The WHATWG URL standard's "ends in a number" test: a host whose last label is all digits or a
# 0x-prefixed hex number is parsed as IPv4 by browsers and by inet_aton, never looked up in DNS.
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
# What a host name on the wire may be (IDNs arrive as punycode). Anything else, such as
# "127.0.0.1 x" or "127.0.0.1%20", is refused: inet_aton stops at the first space and would
# read the rest as an address.
_HOST_NAME = re.compile(r"(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}\.?", re.IGNORECASE)

# Why explicit tables and not just ``ipaddress``'s ``is_global``: what ``is_private`` and
# ``is_global`` cover has changed between Python releases (3.11 does not count fec0::/10 or
# 64:ff9b:1::/48 as private; 3.12.4/3.13 moved several ranges), and a security check must not
# depend on the interpreter's patch level. The tables follow IANA's special-purpose registries;
# ``not is_global`` stays as a last net. Order matters only for the reason logged.
_V4_REFUSED: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        # "This network": Linux connects 0.0.0.0 to the local host.
        ("0.0.0.0/8", "unspecified address"),
        ("10.0.0.0/8", "private address"),
        ("100.64.0.0/10", "shared (CGNAT) address"),
        ("169.254.0.0/16", "link-local address"),  # cloud metadata lives here
        ("172.16.0.0/12", "private address"),
        ("192.0.0.0/24", "IETF protocol address"),
        ("192.0.2.0/24", "documentation address"),
        ("192.88.99.0/24", "6to4 relay address"),
        ("192.168.0.0/16", "private address"),
        ("198.18.0.0/15", "benchmarking address"),
        ("198.51.100.0/24", "documentation address"),
        ("203.0.113.0/24", "documentation address"),
        ("224.0.0.0/4", "multicast address"),
        ("240.0.0.0/4", "reserved address"),  # includes the broadcast 255.255.255.255
    )
)
_V6_REFUSED: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "unspecified address"),
        # Deprecated IPv4-compatible addresses (::127.0.0.1): no legitimate use, refused whole.
        ("::/96", "IPv4-compatible address"),
        ("64:ff9b:1::/48", "local-use NAT64 address"),
        ("100::/64", "discard-only address"),
        ("2001::/23", "IETF protocol address"),
        ("2001:db8::/32", "documentation address"),
        ("3fff::/20", "documentation address"),
        ("5f00::/16", "segment-routing address"),
        ("fc00::/7", "private address"),  # unique local
        ("fe80::/10", "link-local address"),
        ("fec0::/10", "site-local address"),  # deprecated, still routed inside some networks
        ("ff00::/8", "multicast address"),
    )
)
# Only 2000::/3 is allocated for global unicast; anything else is reserved or special.
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# NAT64 (RFC 6052) embeds an IPv4 address in the last 32 bits; 64:ff9b::127.0.0.1 reaches
# loopback on a NAT64 network, so it must be judged by the embedded address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv4-mapped or NAT64 address reaches, else None."""
    if ip in _MAPPED or ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(address: str | IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why ``address`` must not be contacted for a user-supplied URL, or None when it may.

    Raises ValueError when ``address`` is not an IP address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "scoped IPv6 address"
        inner = _embedded_ipv4(ip)
        if inner is not None:
            # Only a mapped address is the local host itself; NAT64 is a translator somewhere
            # on the network, so what it wraps never counts as loopback.
            return blocked_reason(inner, allow_loopback=allow_loopback and ip in _MAPPED)
        if ip in _SIXTOFOUR or ip in _TEREDO:
            # Tunnels that wrap an IPv4 address (both deprecated): name what they wrap when it
            # is itself refused, and refuse them anyway.
            wrapped = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
            inner_reason = None if wrapped is None else blocked_reason(wrapped)
            return inner_reason or "IPv4 tunnel address"
    if ip.is_loopback:
        return None if allow_loopback else "loopback address"
    table: tuple[tuple[Any, str], ...] = (
        _V4_REFUSED if isinstance(ip, ipaddress.IPv4Address) else _V6_REFUSED
    )
    for net, reason in table:
        if ip in net:
            return reason
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _V6_GLOBAL_UNICAST:
        return "reserved address"
    if not ip.is_global:
        return "reserved address"
    return None


def host_address(host: str) -> IPAddress | None:
    """The IP address a URL's host (as sent: ``URL.raw_host``) names, or None for a DNS name.

    Raises BlockedURL for a host that is IP-like but not spelled canonically (see the module
    docstring), for IPv6 literals with a zone (``fe80::1%eth0``: link-scoped by definition) and
    for anything that is not a well-formed host name.
    """
    if ":" in host:
        try:
            ip6 = ipaddress.IPv6Address(host)
        except ValueError as e:
            raise BlockedURL(f"refused malformed IPv6 host {host[:60]!r}") from e
        if ip6.scope_id:
            raise BlockedURL("refused scoped IPv6 host")
        return ip6
    if len(host) > 254 or not _HOST_NAME.fullmatch(host):
        raise BlockedURL(f"refused malformed host {host[:60]!r}")
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # one trailing dot: "127.0.0.1." still ends in a number
    if not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    try:
        ip4 = ipaddress.IPv4Address(host)
    except ValueError:
        ip4 = None
    # ipaddress refuses leading zeros and short forms; the string comparison also refuses a
    # trailing dot and anything else that is not exactly the canonical spelling.
    if ip4 is None or str(ip4) != host:
        raise BlockedURL(f"refused non-canonical IPv4 host {host[:60]!r}")
    return ip4


def check_url(url: URL, *, allow_private: bool = True, allow_loopback: bool = False) -> URL:
    """Check what can be checked before any DNS lookup: scheme, host, and literal IP hosts.

    Hostnames are checked after resolution by :class:`GuardedResolver`. Returns ``url``.
    Raises BlockedURL.
    """
    if url.scheme not in ALLOWED_SCHEMES:
        raise BlockedURL(f"only http and https URLs are allowed, not {url.scheme or 'none'!r}")
    host = url.raw_host  # what the connector will use: punycode, not the decoded IDN
    if not host:
        raise BlockedURL("URL has no host")
    ip = host_address(host)  # non-canonical numeric hosts are refused under every policy
    if allow_private or ip is None:
        return url  # a hostname: judged by the resolver once its addresses are known
    reason = blocked_reason(ip, allow_loopback=allow_loopback)
    if reason:
        raise BlockedURL(f"refused {reason} {host}")
    return url


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses a hostname when any of its addresses is not public.

    Refusing the whole name (rather than dropping the bad addresses) keeps a split-horizon or
    rebinding name from reaching an internal service through a retry on another address. A name
    that does not resolve is refused with the same exception: to the person who typed the URL,
    "private" and "does not exist" must look the same, or the bot becomes an oracle for which
    internal names exist.
    """

    def __init__(self, *, allow_loopback: bool = False, inner: AbstractResolver | None = None):
        self._allow_loopback = allow_loopback
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        host_address(host)  # the connector may hand over a host it took for a name
        try:
            results = await self._inner.resolve(host, port, family)
        except OSError as e:
            raise BlockedURL(f"refused {host}: it does not resolve") from e
        if not results:
            raise BlockedURL(f"refused {host}: it does not resolve")
        for result in results:
            reason = blocked_reason(result["host"], allow_loopback=self._allow_loopback)
            if reason:
                raise BlockedURL(f"refused {host}: it resolves to a {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


class RefusedAddress(OSError):
    """Raised by :func:`guarded_socket_factory`. An OSError on purpose: the connector treats it
    as a failed connection attempt (no socket is ever created for the address)."""


SocketFactory = Callable[[tuple[Any, ...]], socket.socket]


def guarded_socket_factory(*, allow_loopback: bool = False) -> SocketFactory:
    """A ``socket_factory`` for aiohttp's TCPConnector that refuses to create a socket for an
    address :func:`blocked_reason` refuses: the last check, on the exact address connected to.

    The factory raises RefusedAddress.
    """

    def factory(addr_info: tuple[Any, ...]) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        reason = blocked_reason(str(sockaddr[0]), allow_loopback=allow_loopback)
        if reason:
            raise RefusedAddress(f"refused {reason} {sockaddr[0]} at connect time")
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


async def check_url_resolved(
    url: str | URL, *, allow_loopback: bool = False, resolver: AbstractResolver | None = None
) -> list[str]:
    """Resolve ``url``'s host and refuse it unless every address is public.

    For callers that hand a URL to something other than :class:`bot.feeds.fetch.Fetcher`
    (which applies the same check inside its connector on every hop). Returns the addresses.
    Raises BlockedURL (also when the name does not resolve).
    """
    parsed = check_url(URL(url), allow_private=False, allow_loopback=allow_loopback)
    host = parsed.raw_host
    assert host is not None  # check_url refuses host-less URLs
    ip = host_address(host)
    if ip is not None:
        return [str(ip)]
    guard = GuardedResolver(allow_loopback=allow_loopback, inner=resolver)
    try:
        results: list[Any] = await guard.resolve(host, parsed.port or 0, socket.AF_UNSPEC)
    finally:
        if resolver is None:
            await guard.close()
    return [r["host"] for r in results]
