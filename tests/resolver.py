"""A DNS seam for tests: names resolve from a fixed table, never over the network.

It replaces only the lookup. :class:`bot.feeds.netguard.GuardedResolver` still judges every
address it returns, so tests can give a "public-looking" name to the loopback test server, or
point a name at an address the guard must refuse, without any packet leaving 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from socket import AF_INET

from aiohttp.abc import AbstractResolver, ResolveResult


class StaticResolver(AbstractResolver):
    """Resolves the names in ``table`` (name -> list of IP strings); any other name fails the
    way a real lookup of a name that does not exist fails (``socket.gaierror``)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = {name.lower().rstrip("."): addrs for name, addrs in table.items()}
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        addrs = self.table.get(host.lower().rstrip("."))
        if not addrs:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host,
                host=addr,
                port=port,
                family=socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for addr in addrs
        ]

    async def close(self) -> None:
        pass
