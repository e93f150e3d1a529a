"""`GET /sharex.sxcu`: a ShareX custom uploader that sends images, text, files and links to the
API with the caller's token. Opening the downloaded file adds it to ShareX as a destination."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.errors import Unauthenticated
from bot.web.api import API
from bot.web.bearer import bearer_token, owner_of_token
from bot.web.headers import content_disposition
from bot.web.keys import service_of

SHAREX_VERSION = "15.0.0"  # the custom uploader format this follows ({json:…} syntax)


async def sharex_config(request: web.Request) -> web.Response:
    """The uploader, for the token in `Authorization: Bearer …` or `?token=…`."""
    service = service_of(request)
    token = bearer_token(request) or request.query.get("token", "").strip()
    if not token:
        raise Unauthenticated(
            "Pass your API token as ?token=… or an Authorization header "
            "(make one with `refbin token create NAME`)."
        )
    await owner_of_token(service, token)
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


ROUTES = [web.get("/sharex.sxcu", sharex_config)]
