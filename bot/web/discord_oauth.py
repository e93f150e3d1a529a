"""Discord's side of signing in: the authorize page's address, and the two calls the callback
makes (the code for an access token, with the PKCE verifier; the token for the user).

Only the `identify` scope is asked for: a user's id and name. The access token is used once, to
read them, and kept nowhere. Each call has a short timeout; Discord unreachable, slow or failing
is `DiscordUnavailable` (the page says 502), and Discord refusing the code is `DiscordRefused`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.config import DiscordSettings

SCOPE = "identify"
API = "/api/v10"
TIMEOUT = aiohttp.ClientTimeout(total=5, sock_connect=3)
MAX_ANSWER = 64 * 1024  # Discord's answers here are a few hundred bytes


class DiscordUnavailable(Exception):
    """Discord could not be reached, or answered with a failure of its own."""


class DiscordRefused(Exception):
    """Discord would not exchange the code (expired, used, or for another application)."""


@dataclass(frozen=True)
class DiscordUser:
    user_id: int
    name: str


def code_challenge(verifier: str) -> str:
    """PKCE's S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(settings: DiscordSettings, *, state: str, verifier: str, redirect: str) -> str:
    """Discord's page that asks the person to let refbin read who they are."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.client_id,
            "scope": SCOPE,
            "state": state,
            "redirect_uri": redirect,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
            "prompt": "none",  # no second consent screen for someone who agreed before
        }
    )
    return f"{settings.oauth_url}/oauth2/authorize?{query}"


async def user_for_code(
    settings: DiscordSettings, *, code: str, verifier: str, redirect: str
) -> DiscordUser:
    """The Discord user who agreed to sign in, from the callback's code."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "code_verifier": verifier,
            "client_id": settings.client_id,
        }
        if settings.client_secret:  # a public client (PKCE alone) has none
            form["client_secret"] = settings.client_secret
        granted = await _call(session, "POST", f"{settings.oauth_url}{API}/oauth2/token", data=form)
        access = granted.get("access_token")
        if not isinstance(access, str) or not access:
            raise DiscordUnavailable("Discord's answer had no access token")
        headers = {"Authorization": f"Bearer {access}"}
        user = await _call(session, "GET", f"{settings.oauth_url}{API}/users/@me", headers=headers)
    user_id, name = user.get("id"), user.get("username")
    if not isinstance(user_id, str) or not user_id.isdigit() or len(user_id) > 19:
        raise DiscordUnavailable("Discord's answer had no user id")
    if not isinstance(name, str) or not name.strip():
        name = user_id
    return DiscordUser(user_id=int(user_id), name=name.strip()[:200])


async def _call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Any:
    """One call to Discord, as a JSON object; its refusal of the request (4xx) is
    DiscordRefused, anything else that is not an answer DiscordUnavailable."""
    try:
        async with session.request(method, url, allow_redirects=False, **kwargs) as answer:
            body = await answer.content.read(MAX_ANSWER)
            status = answer.status
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DiscordUnavailable(f"{method} {url}: {error!r}") from error
    if status == 429 or status >= 500:
        raise DiscordUnavailable(f"{method} {url}: HTTP {status}")
    if status >= 400:
        raise DiscordRefused(f"{method} {url}: HTTP {status}: {body[:200]!r}")
    try:
        found = json.loads(body)
    except ValueError:
        found = None
    if status != 200 or not isinstance(found, dict):
        raise DiscordUnavailable(f"{method} {url}: HTTP {status}, not a JSON object")
    return found
