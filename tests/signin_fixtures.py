"""Fixtures for signing in with Discord: the OAuth2 stand-in (tests/oauth_standin.py), refbin on
a real loopback port configured to use it, and `Visitor`, a browser-like HTTP client (a cookie
jar, redirects followed one at a time so each can be looked at).

Test modules take them with `from tests.signin_fixtures import oauth_fixture, …` (named
fixtures, as in tests/browser_fixtures.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from tests.browser_fixtures import LiveServer, running_site
from tests.oauth_standin import DiscordAccount, OAuthStandin

CLIENT_ID = "424242424242424242"
CLIENT_SECRET = "standin-secret"  # noqa: S105 - the stand-in's, nothing real
ALICE = DiscordAccount(80351110224678912, "alice", "Alice A.")
BOB = DiscordAccount(80351110224678913, "bob")
OPERATOR = DiscordAccount(80351110224678999, "operator")


@pytest.fixture(name="oauth")
async def oauth_fixture() -> AsyncIterator[OAuthStandin]:
    async with OAuthStandin(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as standin:
        yield standin


def with_signin(settings: Settings, oauth_url: str) -> Settings:
    """`settings` with sign-in through `oauth_url`, and OPERATOR among the admins."""
    return dataclasses.replace(
        settings,
        discord=dataclasses.replace(
            settings.discord,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            oauth_url=oauth_url,
        ),
        server=dataclasses.replace(settings.server, admins=(OPERATOR.user_id,)),
    )


Site = LiveServer  # the sign-in tests' name for it


@pytest.fixture(name="site")
async def site_fixture(settings: Settings, oauth: OAuthStandin) -> AsyncIterator[Site]:
    """refbin with sign-in through the stand-in."""
    async with running_site(with_signin(settings, oauth.url)) as running:
        yield running


class Visitor:
    """One browser: its own cookies; each redirect is a separate request."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of 127.0.0.1
        self.session = aiohttp.ClientSession(
            cookie_jar=self.jar, headers={"Accept": "text/html", "User-Agent": FIREFOX}
        )

    async def close(self) -> None:
        await self.session.close()

    def _url(self, path: str) -> str:
        return path if "://" in path else self.site.url + path

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.session.get(self._url(path), allow_redirects=False, **kwargs) as answer:
            return answer.status, await answer.text(), answer

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, origin: str | None = None
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        """A form post, as a browser sends it from a page of `origin` (this site's own)."""
        headers = {"Origin": origin or self.site.url}
        async with self.session.post(
            self._url(path), data=data or {}, headers=headers, allow_redirects=False
        ) as answer:
            return answer.status, await answer.text(), answer

    async def start_sign_in(self, next_path: str | None = None) -> str:
        """GET /login: the address of Discord's authorize page it sends the browser to."""
        path = "/login" + (f"?next={next_path}" if next_path is not None else "")
        status, _, answer = await self.get(path)
        assert status == 303, status
        return answer.headers["Location"]

    async def at_discord(self, authorize: str) -> str:
        """Discord's page agrees (or not): where it sends the browser back to."""
        status, body, answer = await self.get(authorize)
        assert status == 302, (status, body)
        return answer.headers["Location"]

    async def sign_in(self, next_path: str | None = None, *, authorize: str = "") -> str:
        """The whole flow (from `authorize` when /login was already asked); where the
        browser lands after it (the callback's redirect)."""
        callback = await self.at_discord(authorize or await self.start_sign_in(next_path))
        status, body, answer = await self.get(callback)
        assert status == 303, (status, body)
        return answer.headers["Location"]

    def session_cookie(self) -> str | None:
        for cookie in self.jar:
            if cookie.key == "refbin_session":
                return cookie.value
        return None


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture(name="visitors")
async def visitors_fixture(site: Site) -> AsyncIterator[Visitors]:
    opened = Visitors(site)
    try:
        yield opened
    finally:
        await opened.close()


class Visitors:
    """Makes browsers for a test and closes them when it ends."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self._open: list[Visitor] = []

    def new(self) -> Visitor:
        visitor = Visitor(self.site)
        self._open.append(visitor)
        return visitor

    async def signed_in(self, oauth: OAuthStandin, account: DiscordAccount) -> Visitor:
        """A browser in which `account` signed in."""
        oauth.signed_in_as = account
        visitor = self.new()
        await visitor.sign_in()
        assert visitor.session_cookie()
        return visitor

    async def close(self) -> None:
        for visitor in self._open:
            await visitor.close()
