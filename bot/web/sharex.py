"""`GET /sharex.sxcu`: a ShareX custom uploader that sends images, text, files and links to the
API with the caller's token. Opening the downloaded file adds it to ShareX as a destination."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.web.api import API, unauthorized
from bot.web.headers import content_disposition
from bot.web.keys import SERVICE_KEY

SHAREX_VERSION = "15.0.0"  # the custom uploader format this follows ({json:…} syntax)


async def sharex_config(request: web.Request) -> web.Response:
    """The uploader, for the token in `Authorization: Bearer …` or `?token=…`."""
    service = request.app[SERVICE_KEY]
    token = _token_of(request)
    if not token:
        raise unauthorized(
            "Pass your API token as ?token=… or an Authorization header "
            "(make one with `refbin token create NAME`)."
        )
    if await service.owner_for_api_token(token) is None:
        raise unauthorized("The API token is not valid (or was revoked).")
    base_url = service.settings.server.base_url
    return web.json_response(
        uploader(base_url, token),
        headers={
            "Content-Disposition": content_disposition("refbin.sxcu", "attachment"),
            "Cache-Control": "private, no-store",
        },
    )


def uploader(base_url: str, token: str) -> dict[str, object]:
    """The .sxcu content. ShareX sends a link to shorten as `input` (and an empty `input` with
    a file, which the API ignores); text goes as a file part, like any file."""
    return {
        "Version": SHAREX_VERSION,
        "Name": f"refbin ({urlsplit(base_url).netloc})",
        "DestinationType": "ImageUploader, TextUploader, FileUploader, URLShortener",
        "RequestMethod": "POST",
        "RequestURL": f"{base_url}{API}/items",
        "Headers": {"Authorization": f"Bearer {token}"},
        "Body": "MultipartFormData",
        "Arguments": {"input": "{input}"},
        "FileFormName": "file",
        "URL": "{json:url}",
        "ThumbnailURL": "{json:thumb_url}",
        "ErrorMessage": "{json:error.message}",
    }


def _token_of(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query.get("token", "").strip()


ROUTES = [web.get("/sharex.sxcu", sharex_config)]
