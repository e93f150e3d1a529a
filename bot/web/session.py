"""Who is signed in on this browser: the session cookie, read once per request.

`signed_in(request)` is the account (or None) every page and form asks for. The cookie is
HttpOnly, SameSite=Lax, Path=/, and Secure (named with the `__Host-` prefix) whenever the public
URL is https. The header of every page shows "Sign in", or the person's name with a sign-out
button, in a slot that `fill_account_slot` fills after the page is made: pages reused for
several visitors (a paste's, for a few seconds) never carry anyone's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from bot.errors import NotFound, RefbinError
from bot.service import ContentService
from bot.service.sessions import Account, Resolved
from bot.web.bearer import bearer_owner
from bot.web.keys import service_of
from bot.web.templating import PAGES_KEY

COOKIE = "refbin_session"
SECURE_COOKIE = "__Host-refbin_session"  # the browser keeps it only from https, for Path=/
# What base.html puts where the header's account part goes (user text is escaped, so no page
# can hold this but the header).
ACCOUNT_SLOT = b"<!--refbin:account-->"
HOME = "/me"  # where sign-in leads when it was not asked for from a page
SIGN_IN_PATHS = ("/login", "/logout", "/auth/")  # never where sign-in leads back to
# A path on this site: one slash, then printable ASCII with no backslash. Browsers read `//host`
# and `/\host` as another site, and drop tabs and newlines (`/\t/host`), so none passes.
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


@dataclass(frozen=True)
class _Lookup:
    resolved: Resolved | None


LOOKUP_KEY = web.RequestKey("session", _Lookup)


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the dashboard: after sign-in, nobody is
    sent elsewhere (`//evil.example`, `/\\evil.example`, `https://…` all lead to /me)."""
    if target and _LOCAL_PATH.fullmatch(target) and not target.startswith(SIGN_IN_PATHS):
        return target
    return HOME


def secure(service: ContentService) -> bool:
    return service.settings.server.base_url.startswith("https://")


def cookie_name(service: ContentService) -> str:
    return SECURE_COOKIE if secure(service) else COOKIE


def session_token(request: web.Request) -> str | None:
    """The session cookie's value, when the browser sent one."""
    return request.cookies.get(cookie_name(service_of(request))) or None


async def _lookup(request: web.Request) -> Resolved | None:
    """The request's session, asked of the service once however often it is wanted."""
    found = request.get(LOOKUP_KEY)
    if found is None:
        service = service_of(request)
        token = session_token(request) if service.settings.discord.signin else None
        found = _Lookup(await service.session_account(token) if token else None)
        request[LOOKUP_KEY] = found
    return found.resolved


async def signed_in(request: web.Request) -> Account | None:
    """The person signed in on this browser, or None (always None without sign-in)."""
    resolved = await _lookup(request)
    return resolved.account if resolved is not None else None


async def current_session_id(request: web.Request) -> int | None:
    """The id of this browser's session (to tell it in the sessions list), or None."""
    resolved = await _lookup(request)
    return resolved.session_id if resolved is not None else None


async def required_account(request: web.Request) -> Account:
    """The signed-in person; anyone else is sent to sign in and brought back here (a GET), or
    refused. Without sign-in configured, the address does not exist."""
    service = service_of(request)
    if not service.settings.discord.signin:
        raise NotFound("There is nothing at this address.")
    account = await signed_in(request)
    if account is None:
        if request.method in ("GET", "HEAD"):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
        raise NotFound("You are not signed in (or your session ended); sign in again.")
    return account


async def form_owner(request: web.Request) -> int | None:
    """Whose an item posted by a form is: the bearer token's owner, else the signed-in
    person's, else nobody's."""
    owner_id = await bearer_owner(request)
    if owner_id is None:
        account = await signed_in(request)
        owner_id = account.owner_id if account is not None else None
    return owner_id


def set_session_cookie(response: web.StreamResponse, request: web.Request, token: str) -> None:
    service = service_of(request)
    response.set_cookie(
        cookie_name(service),
        token,
        max_age=int(service.settings.server.session_idle.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure(service),
    )


def clear_session_cookie(response: web.StreamResponse, request: web.Request) -> None:
    service = service_of(request)
    response.del_cookie(
        cookie_name(service), path="/", httponly=True, samesite="Lax", secure=secure(service)
    )


def keep_session_cookie(response: web.StreamResponse, request: web.Request) -> None:
    """Tell the browser what became of its session on this request: a renewed one lasts
    another `session_idle` from now; one that ended or lapsed is forgotten."""
    found = request.get(LOOKUP_KEY)
    token = session_token(request)
    if found is None or token is None or cookie_name(service_of(request)) in response.cookies:
        return
    if found.resolved is None:
        clear_session_cookie(response, request)
    elif found.resolved.renewed:
        set_session_cookie(response, request, token)


async def fill_account_slot(request: web.Request, response: web.StreamResponse) -> None:
    """Put "Sign in", or the person's name and a sign-out button, in the header of a page
    (only when sign-in is configured: otherwise the slot stays an empty comment)."""
    if not isinstance(response, web.Response) or response.content_type != "text/html":
        return
    body = response.body
    service = service_of(request)
    if not isinstance(body, bytes) or not service.settings.discord.signin:
        return
    at = body.find(ACCOUNT_SLOT)
    if at < 0:
        return
    try:
        account = await signed_in(request)
    except RefbinError:  # the database is down: the page says so already, or needs no name
        return
    template = request.app[PAGES_KEY].env.get_template("account_slot.html")
    # Signing in from a page comes back to it; from the home page (or a form's answer), it
    # leads to one's items.
    here = safe_next(request.path_qs) if request.method == "GET" and request.path != "/" else HOME
    html = template.render(account=account, next=quote(here, safe="/"))
    response.body = body[:at] + html.encode() + body[at + len(ACCOUNT_SLOT) :]
    keep_session_cookie(response, request)
