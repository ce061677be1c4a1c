"""Which URLs and addresses Warta may connect to.

Every feed, page and chat message is untrusted. Two policies exist:

* feeds from the operator's config: any http/https URL (``allow_private=True``);
* URLs a chat user supplied (``/summary <url>``, feeds added from chat): http/https only, and
  never an address that is private, loopback, link-local, reserved, multicast or otherwise not
  globally routable. The check runs on the *resolved* addresses of every hop (redirects
  included), inside the connector's resolver, so the address that is checked is the address that
  is connected to (no DNS-rebinding gap between a check and a second lookup).

``allow_loopback`` is an explicit escape hatch for tests and local demos (a server on
127.0.0.1); it never opens the other private ranges.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from bot.errors import BlockedURL

ALLOWED_SCHEMES: frozenset[str] = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64 (RFC 6052) embeds an IPv4 address in the last 32 bits; 64:ff9b::127.0.0.1 reaches
# loopback on a NAT64 network, so it must be judged by the embedded address.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(address: str | IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why ``address`` must not be contacted for a user-supplied URL, or None when it may.

    Raises ValueError when ``address`` is not an IP address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return blocked_reason(inner, allow_loopback=allow_loopback)
    if ip.is_loopback:
        return None if allow_loopback else "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_private:
        return "private address"
    if ip.is_reserved or not ip.is_global:
        return "reserved address"
    return None


def check_url(url: URL, *, allow_private: bool = True, allow_loopback: bool = False) -> URL:
    """Check what can be checked before any DNS lookup: scheme, host, and literal IP hosts.

    Hostnames are checked after resolution by :class:`GuardedResolver`. Returns ``url``.
    Raises BlockedURL.
    """
    if url.scheme not in ALLOWED_SCHEMES:
        raise BlockedURL(f"only http and https URLs are allowed, not {url.scheme or 'none'!r}")
    host = url.host
    if not host:
        raise BlockedURL("URL has no host")
    if allow_private:
        return url
    try:
        reason = blocked_reason(host, allow_loopback=allow_loopback)
    except ValueError:
        return url  # a hostname: judged by the resolver once its addresses are known
    if reason:
        raise BlockedURL(f"refused {reason} {host}")
    return url


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses a hostname when any of its addresses is not public.

    Refusing the whole name (rather than dropping the bad addresses) keeps a split-horizon or
    rebinding name from reaching an internal service through a retry on another address.
    """

    def __init__(self, *, allow_loopback: bool = False, inner: AbstractResolver | None = None):
        self._allow_loopback = allow_loopback
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = blocked_reason(result["host"], allow_loopback=self._allow_loopback)
            if reason:
                raise BlockedURL(f"refused {host}: it resolves to a {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


async def check_url_resolved(
    url: str | URL, *, allow_loopback: bool = False, resolver: AbstractResolver | None = None
) -> list[str]:
    """Resolve ``url``'s host and refuse it unless every address is public.

    For callers that hand a URL to something other than :class:`bot.feeds.fetch.Fetcher`
    (which applies the same check inside its connector on every hop). Returns the addresses.
    Raises BlockedURL (also when the name does not resolve).
    """
    parsed = check_url(URL(url), allow_private=False, allow_loopback=allow_loopback)
    host = parsed.host
    assert host is not None  # check_url refuses host-less URLs
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    guard = GuardedResolver(allow_loopback=allow_loopback, inner=resolver)
    try:
        results: list[Any] = await guard.resolve(host, parsed.port or 0, socket.AF_UNSPEC)
    except OSError as e:
        raise BlockedURL(f"cannot resolve {host}") from e
    finally:
        if resolver is None:
            await guard.close()
    return [r["host"] for r in results]
