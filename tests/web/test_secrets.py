"""A paste holding a credential is refused on `POST /` and the API (422, `secret_found`, the kind
and line named, the secret never repeated nor logged), unless the request says to store it."""

from __future__ import annotations

import logging

import pytest

from tests.helpers import id_of
from tests.security_fixtures import (  # noqa: F401 - the shared_app fixture
    MULTIPART,
    SharedApp,
    multipart,
    part,
    shared_app_fixture,
)

API = "/api/v1/items"
JSON = {"Accept": "application/json"}
DOORS = ["/", API]
TOKEN = "ghp_R3kq8ZpV7mX2cL9wT4yN6bH1dF5gJ0sQaE2u"
CONFIG = f"[deploy]\nhost = example.org\nGITHUB={TOKEN}\n"
REFUSED = (
    "Nothing was stored: this holds a GitHub token on line 3. If it is a live credential, "
    "revoke it now. To store it anyway, send allow_secrets=1."
)


def _posts(text: str, **extra: str) -> dict[str, dict[str, object]]:
    """The same paste sent as a URL-encoded form, as multipart and as JSON."""
    fields = {"text": text, **extra}
    parts = [part(f'name="{name}"'.encode(), value.encode()) for name, value in fields.items()]
    return {
        "form": {"data": fields, "headers": JSON},
        "multipart": {"data": multipart(*parts), "headers": {**JSON, **MULTIPART}},
        "json": {"json": fields, "headers": JSON},
    }


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("body", ["form", "multipart", "json"])
async def test_a_paste_with_a_token_is_refused_naming_kind_and_line_and_nothing_is_kept(
    shared_app: SharedApp, door: str, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = await shared_app.count()
    caplog.set_level(logging.DEBUG)

    response = await shared_app.client.post(door, **_posts(CONFIG)[body])  # type: ignore[arg-type]

    assert response.status == 422
    assert await response.json() == {"error": {"code": "secret_found", "message": REFUSED}}
    assert await shared_app.count() == before
    assert TOKEN not in caplog.text
    assert TOKEN[4:12] not in caplog.text


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("body", ["form", "multipart"])
async def test_allow_secrets_stores_the_paste_as_it_is(
    shared_app: SharedApp, door: str, body: str
) -> None:
    text = f"{CONFIG}# {door} {body}\n"
    response = await shared_app.client.post(door, **_posts(text, allow_secrets="1")[body])  # type: ignore[arg-type]

    assert response.status in (200, 201), await response.text()
    url = (await response.text()).split()[0] if door == "/" else (await response.json())["url"]
    raw = await shared_app.client.get(f"/{id_of(url)}/raw")
    assert await raw.text() == text


async def test_allow_secrets_as_a_json_boolean(shared_app: SharedApp) -> None:
    text = f"{CONFIG}# json true\n"
    response = await shared_app.client.post(
        API, json={"text": text, "allow_secrets": True}, headers=JSON
    )
    assert response.status == 201, await response.text()

    refused = await shared_app.client.post(
        API, json={"text": f"{CONFIG}# json false\n", "allow_secrets": False}, headers=JSON
    )
    assert refused.status == 422


async def test_allow_secrets_neither_on_nor_off_is_refused(shared_app: SharedApp) -> None:
    response = await shared_app.client.post(
        API, data={"text": CONFIG, "allow_secrets": "maybe"}, headers=JSON
    )
    assert response.status == 400
    message = (await response.json())["error"]["message"]
    assert message == "allow_secrets is on or off (1, true, yes, on; 0, false, no, off)."


async def test_a_placeholder_is_no_secret(shared_app: SharedApp) -> None:
    text = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\npassword = ${DB_PASSWORD}\n"
    response = await shared_app.client.post(API, json={"text": text}, headers=JSON)
    assert response.status == 201, await response.text()


async def test_a_browser_is_shown_the_refusal_as_a_page(shared_app: SharedApp) -> None:
    response = await shared_app.client.post(
        "/", data={"text": CONFIG}, headers={"Accept": "text/html"}
    )
    assert response.status == 422
    page = await response.text()
    assert "A secret was found" in page
    assert "a GitHub token on line 3" in page
    assert TOKEN not in page
