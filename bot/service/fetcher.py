"""A guarded fetch of a link's page title (and og: tags), for the link's info page and search.

Fetching a URL someone gave us is a door into the network refbin runs in (SSRF). So: only http
and https; the host resolved here and every address checked to be public (not loopback, private,
link-local, multicast or reserved), then connected to by that checked address (pinned, so a
second DNS answer cannot point elsewhere); every redirect checked the same way, at most
MAX_REDIRECTS; a short timeout; at most MAX_BYTES read; no cookies; an honest User-Agent; at
most CONCURRENCY fetches at once. A page that is not HTML, too slow or refused has no title.

Not wired yet: nothing calls it after a link is stored (see docs/search.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver

MAX_REDIRECTS = 3
MAX_BYTES = 256 * 1024
TIMEOUT = 5.0  # seconds, for the whole fetch of one hop
CONCURRENCY = 4
MAX_TITLE = 300  # characters kept of a title or description
USER_AGENT = "refbin link-title fetcher (+https://github.com/refbin)"


@dataclass(frozen=True)
class PageFacts:
    """What a page says about itself (None: it does not say)."""

    title: str | None
    description: str | None = None
    icon: str | None = None  # an absolute URL


class Refused(Exception):
    """The address may not be fetched."""


class _Pinned(AbstractResolver):
    """Answers the addresses already checked, never asking DNS again."""

    def __init__(self, host: str, addresses: list[tuple[int, str]]) -> None:
        self.host = host
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_INET
    ) -> list[dict[str, Any]]:
        if host != self.host:
            raise OSError(f"unexpected host {host}")
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": address_family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address_family, address in self.addresses
        ]

    async def close(self) -> None:
        return None


class TitleFetcher:
    """Fetches pages' titles, guarded as the module says."""

    def __init__(self, *, allow_loopback: bool = False, timeout: float = TIMEOUT) -> None:
        # allow_loopback: for tests against a local server only, never from configuration.
        self.allow_loopback = allow_loopback
        self.timeout = timeout
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def fetch(self, url: str) -> PageFacts | None:
        """The page's facts, or None when it is refused, fails, is slow or is not HTML."""
        async with self._slots:
            try:
                return await asyncio.wait_for(self._follow(url), self.timeout)
            except (Refused, aiohttp.ClientError, OSError, TimeoutError, UnicodeError):
                return None

    async def _follow(self, url: str) -> PageFacts | None:
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise Refused(url)
            host = parts.hostname
            port = parts.port or (443 if parts.scheme == "https" else 80)
            addresses = await self._public_addresses(host, port)
            connector = aiohttp.TCPConnector(resolver=_Pinned(host, addresses), limit=1)
            async with (
                aiohttp.ClientSession(
                    connector=connector,
                    cookie_jar=aiohttp.DummyCookieJar(),
                    headers={"User-Agent": USER_AGENT, "Accept": "text/html"},
                ) as session,
                session.get(url, allow_redirects=False) as response,
            ):
                if response.status in (301, 302, 303, 307, 308):
                    location = response.headers.get("Location")
                    if not location:
                        return None
                    url = urljoin(url, location)
                    continue
                if response.status != 200 or response.content_type != "text/html":
                    return None
                body = await _read_at_most(response, MAX_BYTES)
                return parse_page(body.decode(response.charset or "utf-8", "replace"), url)
        raise Refused("too many redirects")

    async def _public_addresses(self, host: str, port: int) -> list[tuple[int, str]]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [(info[0], str(info[4][0])) for info in infos]
        if not addresses:
            raise Refused(host)
        for _, address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not (ip.is_global or (self.allow_loopback and ip.is_loopback)):
                raise Refused(f"{host} is {ip}, not a public address")
        return addresses


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body's first `limit` bytes; the rest is never read."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(16 * 1024):
        parts.append(chunk[: limit - size])
        size += len(parts[-1])
        if size >= limit:
            break
    return b"".join(parts)


class _HeadReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_title = False
        self.title: list[str] = []
        self.meta: dict[str, str] = {}
        self.icon: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            key = values.get("property") or values.get("name")
            if key and "content" in values:
                self.meta.setdefault(key.lower(), values["content"])
        elif tag == "link" and "icon" in values.get("rel", "").lower().split():
            self.icon = self.icon or values.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)


def parse_page(html: str, url: str) -> PageFacts:
    """The title (og:title first), description and icon a page's HTML gives."""
    reader = _HeadReader()
    reader.feed(html)
    title = reader.meta.get("og:title") or "".join(reader.title)
    description = reader.meta.get("og:description") or reader.meta.get("description")
    icon = urljoin(url, reader.icon) if reader.icon else None
    return PageFacts(title=_clean(title), description=_clean(description), icon=icon)


def _clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())[:MAX_TITLE]
    return text or None
