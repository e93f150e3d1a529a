"""The signed-in person's pages under /me: their items (the dashboard: bot/web/dashboard.py), their
sessions, their API tokens (and a ShareX config for one).

Every page needs a session (`required_account`: a GET is sent to sign in first, a POST is
refused); every form posts to this site only (the guard refuses cross-site posts), and what it
names (a session, a token) is looked up among the person's own: anyone else's is a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.errors import Invalid, NotFound
from bot.models import Item
from bot.service.sessions import Account
from bot.units import format_size
from bot.web.auth import see_other
from bot.web.bodies import read_form
from bot.web.headers import content_disposition
from bot.web.keys import service_of
from bot.web.session import (
    clear_session_cookie,
    current_session_id,
    required_account,
    session_token,
)
from bot.web.sharex import uploader
from bot.web.templating import remaining, render_page, when

KINDS = {"url": "link", "text": "paste", "image": "image", "file": "file"}


def describe(item: Item) -> str:
    """One line saying what an item is: where a link goes, a paste's or file's name."""
    if item.kind == "url":
        return item.target or ""
    parts = [item.filename or ""]
    if item.kind == "text":
        lines = item.line_count or 0
        parts.append(f"{item.language or 'text'}, {lines} line{'' if lines == 1 else 's'}")
    elif item.kind == "image" and item.width:
        parts.append(f"{item.width}×{item.height}")
    if item.size is not None:
        parts.append(format_size(item.size))
    return " · ".join(part for part in parts if part)


def spoken(duration: timedelta) -> str:
    """'30 days', '12 hours', '90 minutes': a whole number of the largest unit that fits."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def account_page(
    request: web.Request, template: str, account: Account, here: str, **context: Any
) -> web.Response:
    """One of the account's pages: personal, so never stored by anyone."""
    return render_page(
        request,
        template,
        cache="no-store",
        account=account,
        here=here,
        when=when,
        remaining=remaining,
        describe=describe,
        kinds=KINDS,
        **context,
    )


async def read_fields(request: web.Request, names: Iterable[str]) -> dict[str, str]:
    """A posted form's fields, all of `names` and nothing else (Invalid otherwise)."""
    service = service_of(request)
    form = await read_form(request, service.settings.server.read_timeout)
    wanted = set(names)
    unknown = sorted(set(form) - wanted)
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(unknown)}.")
    missing = sorted(wanted - set(form))
    if missing:
        raise Invalid(f"Missing field(s): {', '.join(missing)}.")
    return form


def id_field(form: dict[str, str], name: str, missing: str) -> int:
    """A numeric id from a form; anything that is not one is as absent as a wrong one."""
    text = form[name].strip()
    if not text.isdigit() or len(text) > 18:
        raise NotFound(missing)
    return int(text)


# ---- sessions -----------------------------------------------------------------------------------


async def sessions_page(request: web.Request) -> web.Response:
    """GET /me/sessions: every browser signed in as this person."""
    account = await required_account(request)
    service = service_of(request)
    sessions = await service.list_sessions(account.owner_id, session_token(request))
    idle = spoken(service.settings.server.session_idle)
    return account_page(request, "sessions.html", account, "sessions", sessions=sessions, idle=idle)


async def revoke_session(request: web.Request) -> web.Response:
    """POST /me/sessions/revoke: end one of the person's sessions (this one: signed out)."""
    account = await required_account(request)
    form = await read_fields(request, ["session_id"])
    session_id = id_field(form, "session_id", "No such session.")
    await service_of(request).revoke_session(account.owner_id, session_id)
    if session_id == await current_session_id(request):
        response = see_other("/")
        clear_session_cookie(response, request)
        return response
    return see_other("/me/sessions")


async def revoke_all_sessions(request: web.Request) -> web.Response:
    """POST /me/sessions/revoke-all: sign out everywhere, here too."""
    account = await required_account(request)
    await read_fields(request, [])
    await service_of(request).revoke_sessions(account.owner_id)
    response = see_other("/")
    clear_session_cookie(response, request)
    return response


# ---- API tokens ---------------------------------------------------------------------------------


async def tokens_page(request: web.Request) -> web.Response:
    """GET /me/tokens: the person's API tokens, by name, and a form for a new one."""
    account = await required_account(request)
    tokens = await service_of(request).list_owner_tokens(account.owner_id)
    return account_page(request, "tokens.html", account, "tokens", tokens=tokens)


async def create_token(request: web.Request) -> web.Response:
    """POST /me/tokens: a new token, shown on this answer only."""
    account = await required_account(request)
    form = await read_fields(request, ["name"])
    service = service_of(request)
    token = await service.create_owner_token(account.owner_id, form["name"])
    response = account_page(
        request,
        "token_created.html",
        account,
        "tokens",
        name=form["name"].strip(),
        token=token,
        base_url=service.settings.server.base_url,
    )
    response.set_status(201)
    return response


async def revoke_token(request: web.Request) -> web.Response:
    """POST /me/tokens/revoke: revoke one of the person's tokens."""
    account = await required_account(request)
    form = await read_fields(request, ["token_id"])
    token_id = id_field(form, "token_id", "No such token.")
    await service_of(request).revoke_owner_token(account.owner_id, token_id)
    return see_other("/me/tokens")


async def sharex_for_token(request: web.Request) -> web.Response:
    """POST /me/tokens/sharex: the ShareX uploader for one of the person's own tokens (posted,
    so that the token is in no address, history or log)."""
    account = await required_account(request)
    form = await read_fields(request, ["token"])
    service = service_of(request)
    token = form["token"].strip()
    if not token or await service.owner_for_api_token(token) != account.owner_id:
        raise NotFound("No such token.")
    return web.json_response(
        uploader(service.settings.server.base_url, token),
        headers={
            "Content-Disposition": content_disposition("refbin.sxcu", "attachment"),
            "Cache-Control": "private, no-store",
        },
    )


ROUTES = [
    web.get("/me/sessions", sessions_page),
    web.post("/me/sessions/revoke", revoke_session),
    web.post("/me/sessions/revoke-all", revoke_all_sessions),
    web.get("/me/tokens", tokens_page),
    web.post("/me/tokens", create_token),
    web.post("/me/tokens/revoke", revoke_token),
    web.post("/me/tokens/sharex", sharex_for_token),
]
