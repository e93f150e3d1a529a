"""Signing in with Discord (OAuth2's authorization code with PKCE) and out again.

`GET /login[?next=/path]` sends the browser to Discord's authorize page. The `state` it carries,
the PKCE verifier and where to go afterwards are kept on this browser in a short-lived, signed,
HttpOnly cookie (Path=/auth), so that only the browser that started a sign-in can finish it:
`GET /auth/callback` checks the state against that cookie, forgets the cookie whatever happens
(a state is good once), trades the code for the Discord user, and signs the owner the bot keeps
for that user in. `POST /logout` ends the session; the guard refuses it from another site.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time

from aiohttp import web

from bot.errors import NotFound
from bot.service import ContentService
from bot.web import discord_oauth
from bot.web.keys import service_of
from bot.web.proxy import client_ip
from bot.web.session import (
    clear_session_cookie,
    safe_next,
    secure,
    session_token,
    set_session_cookie,
)
from bot.web.templating import render_page

log = logging.getLogger(__name__)

STATE_COOKIE = "refbin_signin"
STATE_PATH = "/auth"
STATE_SECONDS = 600  # time to get through Discord's page
CALLBACK = "/auth/callback"
_PURPOSE = "signin-state"
NO_SIGNIN = "There is nothing at this address."
STALE = (
    "This sign-in was not started here, has expired, or was already used. "
    "Sign in again from the start."
)
CANCELLED = "Discord did not sign you in (the request was cancelled or refused). Try again?"
REFUSED = "Discord did not accept this sign-in (the code expired or was used). Sign in again."
UNREACHABLE = "Discord could not be reached to finish signing you in. Try again in a moment."


def _signin_service(request: web.Request) -> ContentService:
    service = service_of(request)
    if not service.settings.discord.signin:
        raise NotFound(NO_SIGNIN)
    return service


def callback_url(service: ContentService) -> str:
    """The redirect registered with Discord for this instance."""
    return service.settings.server.base_url + CALLBACK


async def login(request: web.Request) -> web.Response:
    """GET /login: off to Discord's authorize page, remembering on this browser why."""
    service = _signin_service(request)
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # PKCE: 43 to 128 characters
    target = discord_oauth.authorize_url(
        service.settings.discord, state=state, verifier=verifier, redirect=callback_url(service)
    )
    response = see_other(target)
    pending = {"state": state, "verifier": verifier, "next": safe_next(request.query.get("next"))}
    response.set_cookie(
        STATE_COOKIE,
        _sign(service, pending),
        max_age=STATE_SECONDS,
        path=STATE_PATH,
        httponly=True,
        samesite="Lax",  # sent on the top-level navigation back from Discord
        secure=secure(service),
    )
    return response


async def callback(request: web.Request) -> web.Response:
    """GET /auth/callback: Discord sends the browser back here with a code and the state."""
    service = _signin_service(request)
    pending = _unsign(service, request.cookies.get(STATE_COOKIE, ""))
    state = request.query.get("state", "")
    if pending is None or not hmac.compare_digest(pending["state"].encode(), state.encode()):
        response = _refusal(request, 400, "Sign-in expired", STALE)
    elif "code" not in request.query:
        response = _refusal(request, 400, "Not signed in", CANCELLED)
    else:
        response = await _finish(request, service, pending)
    response.del_cookie(STATE_COOKIE, path=STATE_PATH)
    return response


async def _finish(
    request: web.Request, service: ContentService, pending: dict[str, str]
) -> web.Response:
    try:
        user = await discord_oauth.user_for_code(
            service.settings.discord,
            code=request.query["code"],
            verifier=pending["verifier"],
            redirect=callback_url(service),
        )
    except discord_oauth.DiscordRefused as refusal:
        log.info("sign-in refused by Discord: %s", refusal)
        return _refusal(request, 400, "Not signed in", REFUSED)
    except discord_oauth.DiscordUnavailable as failure:
        log.warning("sign-in failed, Discord unavailable: %s", failure)
        return _refusal(request, 502, "Discord unavailable", UNREACHABLE)
    signed = await service.sign_in(
        user.user_id,
        user.name,
        user_agent=request.headers.get("User-Agent", ""),
        address=client_ip(request),
        replacing=session_token(request),
    )
    response = see_other(safe_next(pending["next"]))
    set_session_cookie(response, request, signed.token)
    return response


async def logout(request: web.Request) -> web.Response:
    """POST /logout: end this browser's session; back to the home page."""
    service = service_of(request)
    token = session_token(request)
    if token:
        await service.sign_out(token)
    response = see_other("/")
    clear_session_cookie(response, request)
    return response


def see_other(location: str) -> web.Response:
    """303 to `location` (a GET), never stored: it may set or clear a session."""
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _refusal(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return render_page(
        request,
        "signin_failed.html",
        status=status,
        cache="no-store",
        title=title,
        status_code=status,
        message=message,
    )


# ---- the signed cookie: base64(JSON).base64(HMAC) -------------------------------------------


def _sign(service: ContentService, pending: dict[str, str]) -> str:
    payload = json.dumps({**pending, "until": int(time.time()) + STATE_SECONDS})
    body = _b64(payload.encode())
    return f"{body}.{_b64(_mac(service, body))}"


def _unsign(service: ContentService, value: str) -> dict[str, str] | None:
    """The pending sign-in a cookie holds, if we made it and it has not expired."""
    body, _, mac = value.partition(".")
    if not body or not hmac.compare_digest(mac.encode(), _b64(_mac(service, body)).encode()):
        return None
    try:
        pending = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    fields = ("state", "verifier", "next")
    if not isinstance(pending, dict) or not all(isinstance(pending.get(f), str) for f in fields):
        return None
    if not isinstance(pending.get("until"), int) or pending["until"] < time.time():
        return None
    return {name: pending[name] for name in fields}


def _mac(service: ContentService, body: str) -> bytes:
    return hmac.new(service.derive_key(_PURPOSE), body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


ROUTES = [
    web.get("/login", login),
    web.get(CALLBACK, callback),
    web.post("/logout", logout),
]
