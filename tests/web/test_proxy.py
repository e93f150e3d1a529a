"""Trusted proxies: X-Forwarded-* believed only from configured networks, read from the right."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from bot.config import Settings
from bot.runtime import open_runtime
from bot.web import create_app
from bot.web.app import add_routes
from bot.web.proxy import Forwarded, TrustedProxies, client_ip, forwarded_of, parse_address

PROXIES = TrustedProxies(["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"])


def headers(*pairs: tuple[str, str]) -> CIMultiDict[str]:
    return CIMultiDict(pairs)


# What the headers say, as a pure function of the peer and the headers.


def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    sent = headers(("X-Forwarded-For", "198.51.100.9"), ("X-Forwarded-Proto", "https"))

    assert PROXIES.resolve("203.0.113.5", sent) is None


def test_the_client_is_the_first_untrusted_address_from_the_right() -> None:
    # The leftmost entry is whatever the client claimed; only the hops we trust vouch for more.
    sent = headers(("X-Forwarded-For", "192.0.2.66, 203.0.113.7, 10.1.2.3"))

    assert PROXIES.resolve("10.0.0.1", sent) == Forwarded(client="203.0.113.7")


def test_copies_of_the_header_are_read_as_one_list_in_order() -> None:
    sent = headers(("X-Forwarded-For", "192.0.2.66"), ("X-Forwarded-For", "203.0.113.7, 10.9.9.9"))

    assert PROXIES.resolve("10.0.0.1", sent).client == "203.0.113.7"


def test_a_garbage_entry_stops_the_walk_at_the_last_trusted_hop() -> None:
    sent = headers(("X-Forwarded-For", "203.0.113.7, not-an-address, 10.1.2.3"))

    assert PROXIES.resolve("10.0.0.1", sent).client == "10.1.2.3"


def test_without_forwarded_for_the_trusted_peer_is_the_client() -> None:
    assert PROXIES.resolve("10.0.0.1", headers()) == Forwarded(client="10.0.0.1")


def test_when_every_hop_is_trusted_the_leftmost_is_the_client() -> None:
    sent = headers(("X-Forwarded-For", "10.5.5.5, 10.1.2.3"))

    assert PROXIES.resolve("10.0.0.1", sent).client == "10.5.5.5"


@pytest.mark.parametrize(
    ("entry", "address"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:5123", "203.0.113.7"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unknown", None),
        ("_hidden", None),
        ("", None),
    ],
)
def test_header_entries_parse_with_ports_and_brackets(entry: str, address: str | None) -> None:
    parsed = parse_address(entry)

    assert (str(parsed) if parsed is not None else None) == address


def test_an_ipv4_mapped_peer_matches_an_ipv4_network() -> None:
    assert PROXIES.trusts("::ffff:127.0.0.1")
    assert not PROXIES.trusts("::ffff:192.0.2.1")
    assert PROXIES.trusts("fd12::1")
    assert not PROXIES.trusts(None)


def test_proto_and_host_come_from_the_client_facing_hop() -> None:
    # Every hop appended its own entry: the client's hop saw https and the public host.
    sent = headers(
        ("X-Forwarded-For", "203.0.113.7, 10.1.2.3"),
        ("X-Forwarded-Proto", "https, http"),
        ("X-Forwarded-Host", "bin.example, internal:8000"),
    )

    assert PROXIES.resolve("10.0.0.1", sent) == Forwarded(
        client="203.0.113.7", scheme="https", host="bin.example"
    )


def test_a_single_proto_and_host_are_taken_as_set_by_the_nearest_proxy() -> None:
    sent = headers(
        ("X-Forwarded-For", "203.0.113.7, 10.1.2.3"),
        ("X-Forwarded-Proto", "HTTPS"),
        ("X-Forwarded-Host", "bin.example"),
    )

    assert PROXIES.resolve("10.0.0.1", sent) == Forwarded(
        client="203.0.113.7", scheme="https", host="bin.example"
    )


class FakeRequest:
    """Just what forwarded_of reads: the peer and the headers."""

    def __init__(self, remote: str, sent: CIMultiDict[str]) -> None:
        self.remote = remote
        self.headers = sent


@pytest.mark.parametrize(
    ("proto", "host"),
    [
        ("javascript", "evil.example/path"),
        ("gopher", "user@evil.example"),
        ("https\r\nX-Injected: 1", "evil.example\r\nX-Injected: 1"),
        ("ftp", "a b"),
    ],
)
def test_unusable_schemes_and_hosts_are_dropped(proto: str, host: str) -> None:
    sent = headers(
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-Proto", proto),
        ("X-Forwarded-Host", host),
    )

    forwarded = forwarded_of(PROXIES, FakeRequest("10.0.0.1", sent))  # type: ignore[arg-type]

    assert forwarded == Forwarded(client="203.0.113.7")


# Through the real application on a real loopback port (its peer is 127.0.0.1).


async def echo(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "client_ip": client_ip(request),
            "remote": request.remote,
            "scheme": request.scheme,
            "host": request.host,
            "url": str(request.url),
        }
    )


@asynccontextmanager
async def app_client(
    settings: Settings, trusted: tuple[str, ...], rate_read: int = 0
) -> AsyncIterator[TestClient]:
    settings = dataclasses.replace(
        settings,
        server=dataclasses.replace(settings.server, trusted_proxies=trusted),
        limits=dataclasses.replace(settings.limits, rate_read=rate_read),
    )
    async with open_runtime(settings) as runtime:
        app = create_app(runtime.service)
        add_routes(app, [web.get("/_test/echo", echo)])
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client


FORWARDED = {
    "X-Forwarded-For": "192.0.2.66, 203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "bin.example",
}


async def test_behind_a_trusted_proxy_handlers_see_the_client(settings: Settings) -> None:
    async with app_client(settings, ("127.0.0.1/32",)) as client:
        response = await client.get("/_test/echo", headers=FORWARDED)
        seen = await response.json()

    assert seen == {
        "client_ip": "203.0.113.7",
        "remote": "203.0.113.7",
        "scheme": "https",
        "host": "bin.example",
        "url": "https://bin.example/_test/echo",
    }


async def test_without_trusted_proxies_forwarded_headers_change_nothing(
    settings: Settings,
) -> None:
    async with app_client(settings, ()) as client:
        response = await client.get("/_test/echo", headers=FORWARDED)
        seen = await response.json()
        own_url = str(client.make_url("/_test/echo"))

    assert seen["client_ip"] == seen["remote"] == "127.0.0.1"
    assert seen["scheme"] == "http"
    assert seen["url"] == own_url


async def test_a_peer_outside_the_trusted_networks_is_not_believed(settings: Settings) -> None:
    async with app_client(settings, ("10.0.0.0/8",)) as client:
        seen = await (await client.get("/_test/echo", headers=FORWARDED)).json()

    assert seen["client_ip"] == "127.0.0.1"
    assert seen["scheme"] == "http"


async def rate_limited_after(
    client: TestClient, forwarded_for: Callable[[int], str], attempts: int
) -> list[int]:
    statuses = []
    for n in range(attempts):
        response = await client.get("/nosuchid", headers={"X-Forwarded-For": forwarded_for(n)})
        statuses.append(response.status)
    return statuses


async def test_rate_limits_count_the_forwarded_client_behind_a_trusted_proxy(
    settings: Settings,
) -> None:
    async with app_client(settings, ("127.0.0.1/32",), rate_read=2) as client:
        same_client = await rate_limited_after(client, lambda n: "203.0.113.7", 3)
        other_client = await rate_limited_after(client, lambda n: "203.0.113.8", 1)

    assert same_client == [404, 404, 429]
    assert other_client == [404]


async def test_a_spoofed_forwarded_for_does_not_escape_rate_limits(settings: Settings) -> None:
    async with app_client(settings, (), rate_read=2) as client:
        statuses = await rate_limited_after(client, lambda n: f"198.51.100.{n}", 3)

    assert statuses == [404, 404, 429]
