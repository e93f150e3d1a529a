"""Trusted proxies: X-Forwarded-For, -Proto and -Host, believed only from configured networks.

Anyone can send these headers, so they count only when the direct peer (the TCP connection's
other end) is in `server.trusted_proxies`. Then the request is cloned with the client's address,
scheme and host, so `request.remote`, `request.scheme`, `request.host` and `request.url` tell
the truth to every handler (bot/web/guard.py does the cloning); `client_ip(request)` is the
address to count a client by (rate limits, logs).

X-Forwarded-For is read from the right: each trusted hop vouches for the address to its left,
and the first address that is not a trusted proxy is the client. The `Forwarded` header
(RFC 7239) is not read; the proxy examples in docs/deploy.md send the X-Forwarded-* set.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web
from multidict import MultiMapping

FORWARDED_FOR = "X-Forwarded-For"
FORWARDED_PROTO = "X-Forwarded-Proto"
FORWARDED_HOST = "X-Forwarded-Host"
SCHEMES = frozenset({"http", "https"})
MAX_HOPS = 32  # a longer chain is someone padding the header; the nearest hops are the ones read
# A host name or a bracketed IPv6 address, with an optional port: nothing that could smuggle a
# path, a user or a second header into a URL built from it.
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)
_BRACKETED = re.compile(r"^\[([^\]]+)\](?::\d{1,5})?$")
_V4_WITH_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Forwarded:
    """What trusted forwarding headers say about a request; None fields were not sent."""

    client: str
    scheme: str | None = None
    host: str | None = None


class TrustedProxies:
    """The networks whose forwarding headers refbin believes."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str | None) -> bool:
        """Whether a peer address is one of the trusted proxies."""
        ip = parse_address(address or "")
        return ip is not None and any(ip in network for network in self.networks)

    def resolve(self, peer: str | None, headers: MultiMapping[str]) -> Forwarded | None:
        """The client, scheme and host the headers give, or None when the peer is not trusted."""
        if not self.trusts(peer):
            return None
        assert peer is not None
        hops = _list(headers, FORWARDED_FOR)[-MAX_HOPS:]
        client = str(parse_address(peer))
        position: int | None = None
        for index in range(len(hops) - 1, -1, -1):
            address = parse_address(hops[index])
            if address is None:
                break  # garbage from beyond the last trusted hop: that hop is all we know
            client, position = str(address), index
            if not self.trusts(client):
                break
        return Forwarded(
            client=client,
            scheme=_per_hop(_list(headers, FORWARDED_PROTO, lower=True), len(hops), position),
            host=_per_hop(_list(headers, FORWARDED_HOST), len(hops), position),
        )


def parse_address(text: str) -> IPAddress | None:
    """An IP address from a header entry (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`), or None.

    An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as a dual-stack socket reports IPv4 peers)
    is returned as the IPv4 address, so that IPv4 networks match it.
    """
    text = text.strip()
    if match := _BRACKETED.match(text):
        text = match.group(1)
    elif match := _V4_WITH_PORT.match(text):
        text = match.group(1)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _list(headers: MultiMapping[str], name: str, *, lower: bool = False) -> list[str]:
    """Every comma-separated entry of every copy of a header, in order."""
    entries = [entry.strip() for value in headers.getall(name, ()) for entry in value.split(",")]
    entries = [entry for entry in entries if entry]
    return [entry.lower() for entry in entries] if lower else entries


def _per_hop(values: list[str], hops: int, position: int | None) -> str | None:
    """The value the client-facing hop sent: the client's entry when every hop added one,
    otherwise the nearest (rightmost) value, which the nearest trusted proxy set or passed on."""
    if not values:
        return None
    if position is not None and len(values) == hops:
        return values[position]
    return values[-1]


def forwarded_of(trusted: TrustedProxies, request: web.BaseRequest) -> Forwarded | None:
    """What a request's trusted forwarding headers say, with bad schemes and hosts left out."""
    forwarded = trusted.resolve(request.remote, request.headers)
    if forwarded is None:
        return None
    scheme = forwarded.scheme if forwarded.scheme in SCHEMES else None
    host = forwarded.host if forwarded.host and _HOST.match(forwarded.host) else None
    return Forwarded(client=forwarded.client, scheme=scheme, host=host)


def client_ip(request: web.BaseRequest) -> str:
    """The client's address: the forwarded one behind a trusted proxy, else the peer's.

    Behind the guard, `request.remote` already is that address; this names the intent.
    """
    return request.remote or ""
