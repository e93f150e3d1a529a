"""Refusals over HTTP: one table from the domain's errors (bot/errors.py) and HTTP's own refusals
to a status, a JSON error code and a page title, read by the guard, the error page and the
OpenAPI document alike.

A refusal is answered as JSON (`{"error": {"code", "message"}}`) or, for a browser off /api/,
as a page; both carry the same status and the same extra headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from bot.errors import (
    Blocked,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    PasswordRequired,
    RateLimited,
    RefbinError,
    SecretFound,
    StorageFull,
    TimedOut,
    TooLarge,
    Unauthenticated,
    Unavailable,
    Unprocessable,
)
from bot.web.templating import render_page

BEARER_CHALLENGE = 'Bearer realm="refbin"'
NOTHING_HERE = "There is nothing at this address."


@dataclass(frozen=True)
class Refusal:
    """How one kind of refusal is answered over HTTP."""

    status: int
    code: str  # the JSON error's code: stable, for programs
    title: str  # the error page's heading
    error: type[RefbinError] | None = None  # the domain error answered so; None: HTTP's own


def _domain(error: type[RefbinError], status: int, title: str) -> Refusal:
    return Refusal(status, error.code, title, error)


# Most specific first: the first row whose error class matches decides. The first row of a status
# also answers aiohttp's own refusals with that status (404, 405, 413, …).
REFUSALS: tuple[Refusal, ...] = (
    _domain(SecretFound, 422, "A secret was found"),
    _domain(Unprocessable, 422, "Could not use that"),
    _domain(Invalid, 400, "That did not work"),
    _domain(Unauthenticated, 401, "API token needed"),
    _domain(PasswordRequired, 401, "Password required"),
    _domain(Forbidden, 403, "Not allowed"),
    _domain(NotFound, 404, "Not found"),
    Refusal(405, "method_not_allowed", "Not allowed here"),
    _domain(TimedOut, 408, "Too slow"),
    _domain(Conflict, 409, "Already taken"),
    _domain(Gone, 410, "Gone"),
    _domain(TooLarge, 413, "Too large"),
    Refusal(415, "unsupported_media_type", "Unsupported type"),
    _domain(RateLimited, 429, "Slow down"),
    _domain(Blocked, 451, "Blocked"),
    _domain(StorageFull, 507, "Storage full"),
    _domain(Unavailable, 503, "Temporarily unavailable"),
    Refusal(500, "internal", "Something went wrong"),
    _domain(RefbinError, 400, "That did not work"),  # a new error not named above
)
_BY_STATUS: dict[int, Refusal] = {}
for _row in REFUSALS:
    _BY_STATUS.setdefault(_row.status, _row)
BY_CODE: dict[str, Refusal] = {row.code: row for row in REFUSALS}


def refusal_for(error: RefbinError) -> Refusal:
    """The row that answers a domain error."""
    return next(row for row in REFUSALS if row.error is not None and isinstance(error, row.error))


def status_for(error: RefbinError) -> int:
    return refusal_for(error).status


def error_response(error: RefbinError) -> web.Response:
    """A domain error as a JSON body with its status: {"error": {"code", "message"}}."""
    return _finish(json_error(status_for(error), error.code, error.message), error)


def error_page(request: web.Request, error: RefbinError) -> web.Response:
    """A domain error as a page for people (the guard answers browsers so, off /api/)."""
    refusal = refusal_for(error)
    content_id = request.match_info.get("content_id")
    unlock = isinstance(error, PasswordRequired) and content_id
    response = render_page(
        request,
        "error.html",
        status=refusal.status,
        cache="no-store",
        title=refusal.title,
        status_code=refusal.status,
        message=error.message,
        unlock_url=f"/{quote(content_id)}/unlock" if unlock else None,
    )
    return _finish(response, error)


def not_found_page(request: web.Request) -> web.Response:
    """The page for an address no route takes."""
    return error_page(request, NotFound(NOTHING_HERE))


def json_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, dumps=json.dumps
    )


def http_error_as_json(exc: web.HTTPException) -> web.Response:
    """One of aiohttp's refusals (404, 405, 413, …) as refbin's JSON error."""
    message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    refusal = _BY_STATUS.get(exc.status)
    code = refusal.code if refusal is not None else f"http_{exc.status}"
    response = json_error(exc.status, code, message)
    for name in ("Allow", "Retry-After"):
        if name in exc.headers:
            response.headers[name] = exc.headers[name]
    if exc.status == 413:
        response.force_close()  # the rest of the body was not read
    return response


def _finish(response: web.Response, error: RefbinError) -> web.Response:
    """What a refusal adds to its answer, page or JSON alike."""
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    elif isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = BEARER_CHALLENGE
    elif isinstance(error, TooLarge | TimedOut):
        # The rest of the body is not read: close the connection rather than drain it.
        response.force_close()
    return response
