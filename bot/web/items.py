"""Items over HTTP: the curl-friendly `POST /` and `GET /{id}` (raw bytes: bot.web.raw)."""

from __future__ import annotations

from aiohttp import hdrs, web

from bot.models import Visit
from bot.service.policy import shown_to
from bot.web.access import open_item, resolve_item
from bot.web.home import created_page
from bot.web.item_form import add_posted
from bot.web.item_pages import redirect_to, show_item_page
from bot.web.keys import service_of
from bot.web.metrics import count_created
from bot.web.raw import head_of, serve_item
from bot.web.session import form_owner
from bot.web.templating import wants_html, wants_page
from bot.web.visitors import referrer_host

# Fields the home page's form sends besides the item's: how to answer, and its open tab.
PAGE_FIELDS = frozenset({"format", "mode"})


# An item's own address: any one segment except `/{id}+` (the link's info page), so the router
# can try it first without a wrong match; it is refbin's hottest route.
ITEM_PATH = r"/{content_id:[^/]*[^/+]}"


async def create_item(request: web.Request) -> web.Response:
    """`curl -F url=…`, `-F text=…` or `-F file=@…`: answers the short URL as plain text, or
    the result page to the home page's form (and browsers)."""
    posted = await add_posted(request, await form_owner(request), extra=PAGE_FIELDS)
    created = posted.created
    count_created(request, created)
    if posted.extra.get("format") == "html" or wants_html(request):
        return created_page(request, created)
    headers = {}
    if created.delete_token:
        headers["X-Delete-Token"] = created.delete_token
    return web.Response(
        text=created.url + "\n",
        status=201 if created.created else 200,
        headers=headers,
        content_type="text/plain",
    )


async def show_item(request: web.Request) -> web.StreamResponse:
    """A link redirects; a paste, an image or a file is served: as a page to browsers and
    link-preview bots, as its bytes to everyone else (`curl …/ID` prints a paste)."""
    if wants_page(request):  # preview bots too: past this line, every caller is a visitor
        return await show_item_page(request)
    service = service_of(request)
    content_id = request.match_info["content_id"]
    if request.method == hdrs.METH_HEAD:
        # HEAD counts and spends nothing: it shows no bytes, nor a view-limited link's target.
        item = await resolve_item(request, content_id, None)
        if item.kind == "url" and shown_to(item, None).target is not None:
            return redirect_to(item.target)
        response = await head_of(request, service, item)
    else:
        visit = Visit(referrer=referrer_host(request.headers.get("Referer", "")))
        item = (await open_item(request, content_id, visit)).item
        if item.kind == "url":
            assert item.target is not None
            return redirect_to(item.target)
        response = await serve_item(request, service, item)
    # The same URL answers browsers with a page: a shared cache must keep the two apart.
    response.headers["Vary"] = "Accept, User-Agent"
    return response


ROUTES = [web.get(ITEM_PATH, show_item), web.post("/", create_item)]
