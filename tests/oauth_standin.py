"""A stand-in for Discord's OAuth2 endpoints on loopback, driven by real HTTP.

`GET /oauth2/authorize` plays the person at Discord's consent page: it checks the query as
Discord does (response type, client id, scope, redirect, an S256 PKCE challenge) and sends the
browser back to the redirect with a one-time code and the state, as `signed_in_as` (whoever is
"logged in to Discord") or, with `deny = True`, with `error=access_denied`.
`POST /api/v10/oauth2/token` trades a code for an access token, once, only with the same client,
secret, redirect and the verifier of the challenge; `GET /api/v10/users/@me` answers the user of
an access token. `token_delay` makes the token endpoint slow, `token_status` makes it fail.

    async with OAuthStandin(client_id="42", client_secret="s3cret") as oauth:
        oauth.signed_in_as = DiscordAccount(80351110224678912, "alice")
        ... settings: discord.oauth_url = oauth.url ...
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlencode

from aiohttp import web


@dataclass(frozen=True)
class DiscordAccount:
    user_id: int
    username: str
    global_name: str | None = None


@dataclass
class _Grant:
    account: DiscordAccount
    redirect_uri: str
    challenge: str
    used: bool = False


@dataclass
class OAuthStandin:
    client_id: str
    client_secret: str
    signed_in_as: DiscordAccount | None = None
    deny: bool = False
    token_delay: float = 0.0
    token_status: int | None = None  # answer the token endpoint with this status instead
    url: str = ""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _access: dict[str, DiscordAccount] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> OAuthStandin:
        app = web.Application()
        app.router.add_get("/oauth2/authorize", self._authorize)
        app.router.add_post("/api/v10/oauth2/token", self._token)
        app.router.add_get("/api/v10/users/@me", self._me)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        problems = [
            name
            for name, wanted in (
                ("response_type", "code"),
                ("client_id", self.client_id),
                ("scope", "identify"),
                ("code_challenge_method", "S256"),
            )
            if query.get(name) != wanted
        ]
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if problems or not redirect_uri or not state or not query.get("code_challenge"):
            return web.json_response({"error": "invalid_request", "fields": problems}, status=400)
        if self.deny or self.signed_in_as is None:
            answer = {"error": "access_denied", "state": state}
        else:
            code = secrets.token_urlsafe(16)
            self._grants[code] = _Grant(self.signed_in_as, redirect_uri, query["code_challenge"])
            answer = {"code": code, "state": state}
        raise web.HTTPFound(f"{redirect_uri}?{urlencode(answer)}")

    async def _token(self, request: web.Request) -> web.Response:
        form = {name: str(value) for name, value in (await request.post()).items()}
        self.token_requests.append(form)
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if self.token_status is not None:
            return web.json_response({"message": "standin failure"}, status=self.token_status)
        grant = self._grants.get(form.get("code", ""))
        valid = (
            grant is not None
            and not grant.used
            and form.get("grant_type") == "authorization_code"
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
            and form.get("redirect_uri") == grant.redirect_uri
            and _challenge(form.get("code_verifier", "")) == grant.challenge
        )
        if not valid or grant is None:
            return web.json_response({"error": "invalid_grant"}, status=400)
        grant.used = True
        access = secrets.token_urlsafe(24)
        self._access[access] = grant.account
        return web.json_response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 604800,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": "identify",
            }
        )

    async def _me(self, request: web.Request) -> web.Response:
        scheme, _, access = request.headers.get("Authorization", "").partition(" ")
        account = self._access.get(access) if scheme == "Bearer" else None
        if account is None:
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return web.json_response(
            {
                "id": str(account.user_id),
                "username": account.username,
                "global_name": account.global_name,
                "discriminator": "0",
                "avatar": None,
            }
        )


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
