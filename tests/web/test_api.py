"""The JSON API under /api/v1, checked against its own OpenAPI document.

Every documented call goes through `call()`, which validates the answer against the schema the
document gives for that status and records the operation; the last test checks that every
documented operation was exercised.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from bot.runtime import Runtime
from bot.web import create_app, openapi
from tests.helpers import id_of, png_bytes

DOC = openapi.document("http://refbin.test")
DOC_URI = "urn:refbin:openapi"
REGISTRY = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(DOC))
EXERCISED: set[tuple[str, str]] = set()
ITEMS = "/api/v1/items"
ITEM = "/api/v1/items/{content_id}"
STATS = "/api/v1/items/{content_id}/stats"
BULK = "/api/v1/items/bulk"


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def check_schema(data: object, *location: str) -> None:
    """Validate `data` against the schema at `location` in the document."""
    schema = {"$ref": f"{DOC_URI}#/{_pointer(*location)}"}
    Draft202012Validator(
        schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    ).validate(data)


def check_error(data: object, code: str) -> None:
    check_schema(data, "components", "schemas", "Error")
    assert data["error"]["code"] == code, data


async def call(
    client: TestClient,
    method: str,
    template: str,
    status: int,
    *,
    content_id: str = "",
    valid_request: bool = True,
    **kwargs: Any,
) -> tuple[aiohttp.ClientResponse, Any]:
    """Make a documented call; check the status, and the answer against the document."""
    operation = DOC["paths"][template][method.lower()]
    if valid_request and "json" in kwargs:
        check_schema(
            kwargs["json"],
            "paths",
            template,
            method.lower(),
            "requestBody",
            "content",
            "application/json",
            "schema",
        )
    response = await client.request(
        method, template.format(content_id=content_id), allow_redirects=False, **kwargs
    )
    body = await response.read()
    assert response.status == status, body
    documented = operation["responses"]
    assert str(status) in documented, f"{method} {template}: {status} is not documented"
    location: tuple[str, ...] = ("paths", template, method.lower(), "responses", str(status))
    spec = documented[str(status)]
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[1]
        location, spec = ("components", "responses", name), DOC["components"]["responses"][name]
    data = None
    if "content" not in spec:
        assert body == b""
    else:
        assert response.content_type in spec["content"], response.content_type
        data = json.loads(body)
        check_schema(data, *location, "content", response.content_type, "schema")
    EXERCISED.add((method.lower(), template))
    return response, data


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def token(runtime: Runtime) -> str:
    return await runtime.service.create_api_token("alice")


@pytest.fixture
async def other_token(runtime: Runtime) -> str:
    return await runtime.service.create_api_token("bob")


# ---- the document ----------------------------------------------------------------------------


async def test_the_document_is_valid_openapi_31_and_served(client: TestClient, runtime) -> None:
    validate(DOC)
    _, served = await call(client, "GET", "/api/v1/openapi.json", 200)
    assert served == openapi.document(runtime.settings.server.base_url)
    validate(served)


def test_the_document_and_the_app_name_the_same_routes(runtime: Runtime) -> None:
    app = create_app(runtime.service)
    registered = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    documented = {(method, path) for path, ops in DOC["paths"].items() for method in ops}
    assert documented <= registered, documented - registered
    api_routes = {(m, path) for m, path in registered if path.startswith("/api/v1")}
    assert api_routes <= documented, api_routes - documented


# ---- creating --------------------------------------------------------------------------------


async def test_a_link_from_json(client: TestClient) -> None:
    response, created = await call(
        client, "POST", ITEMS, 201, json={"url": "https://example.com/long/path"}
    )
    assert created["kind"] == "url" and created["created"] is True
    assert created["target"] == "https://example.com/long/path"
    assert created["delete_token"]
    assert response.headers["Location"] == f"{ITEMS}/{created['id']}"
    follow = await client.get(f"/{created['id']}", allow_redirects=False)
    assert follow.headers["Location"] == "https://example.com/long/path"
    _, item = await call(client, "GET", ITEM, 200, content_id=created["id"])
    assert item["target"] == created["target"] and "delete_token" not in item


async def test_a_link_with_an_alias_and_a_taken_alias(client: TestClient) -> None:
    body = {"url": "https://example.com/a", "alias": "my-link"}
    _, created = await call(client, "POST", ITEMS, 201, json=body)
    assert created["id"] == "my-link"
    _, error = await call(
        client, "POST", ITEMS, 409, json={"url": "https://example.com/b", "alias": "my-link"}
    )
    check_error(error, "conflict")


async def test_a_paste_with_options_and_its_password(client: TestClient, token: str) -> None:
    body = {
        "text": "def hello():\n    return 'hi'\n",
        "language": "python",
        "filename": "hello.py",
        "expires": "7d",
        "max_views": 10,
        "visibility": "unlisted",
        "password": "s3cret",
    }
    _, created = await call(client, "POST", ITEMS, 201, json=body, headers=bearer(token))
    assert created["kind"] == "text" and created["language"] == "python"
    assert created["line_count"] == 2 and created["filename"] == "hello.py"
    assert created["max_views"] == 10 and created["visibility"] == "unlisted"
    assert created["expires_at"] is not None and created["has_password"] is True
    content_id = created["id"]
    _, refused = await call(client, "GET", ITEM, 401, content_id=content_id)
    check_error(refused, "password_required")
    _, item = await call(
        client, "GET", ITEM, 200, content_id=content_id, headers={"X-Password": "s3cret"}
    )
    assert item["raw_url"].endswith(f"/{content_id}/raw")
    # The password opens the metadata, but not what would confirm a guessed content offline.
    assert "sha256" not in item and "size" not in item
    # Its owner needs no password to read the metadata, and sees all of it.
    _, mine = await call(client, "GET", ITEM, 200, content_id=content_id, headers=bearer(token))
    assert mine["sha256"] == created["sha256"] and mine["size"] == created["size"]


async def test_a_file_from_multipart_with_options_before_it(client: TestClient) -> None:
    form = aiohttp.FormData()
    form.add_field("expires", "1h")
    form.add_field("visibility", "private")
    form.add_field("file", png_bytes(300, 200), filename="shot.png")
    _, created = await call(client, "POST", ITEMS, 201, data=form)
    assert created["kind"] == "image" and (created["width"], created["height"]) == (300, 200)
    assert created["visibility"] == "private" and len(created["id"]) >= 22
    assert created["filename"] == "shot.png" and created["media_type"] == "image/png"
    thumb = await client.get(f"/{created['id']}/thumb")
    assert thumb.status == 200
    raw = await client.get(f"/{created['id']}/raw")
    assert await raw.read() == png_bytes(300, 200)


async def test_fields_after_the_file_are_refused_and_nothing_is_kept(
    client: TestClient, runtime: Runtime
) -> None:
    form = aiohttp.FormData()
    form.add_field("file", b"some bytes", filename="a.bin")
    form.add_field("max_views", "1")
    _, error = await call(client, "POST", ITEMS, 400, data=form)
    check_error(error, "invalid")
    assert "before the file" in error["error"]["message"]
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0


async def test_a_url_encoded_form(client: TestClient) -> None:
    _, created = await call(client, "POST", ITEMS, 201, data={"text": "from curl -d"})
    assert created["kind"] == "text"


async def test_the_same_content_twice_gives_the_same_item(client: TestClient, token: str) -> None:
    body = {"url": "https://example.com/twice"}
    _, first = await call(client, "POST", ITEMS, 201, json=body, headers=bearer(token))
    _, again = await call(client, "POST", ITEMS, 200, json=body, headers=bearer(token))
    assert again["id"] == first["id"]
    assert again["created"] is False and again["delete_token"] is None


BAD_BODIES = [
    ({"url": "https://example.com", "text": "x"}, "not both"),
    ({"urls": "https://example.com"}, "Unknown field"),
    ({"url": 42}, "string"),
    ({"text": "x", "max_views": "10"}, "whole number"),
    ({"text": "x", "max_views": True}, "whole number"),
    ({"text": "x", "alias": "nope"}, "links only"),
    ({"text": "x", "expires": "soon"}, "expiry"),
    ({"text": "x", "visibility": "secret"}, "Visibility"),
    ({}, "Nothing to store"),
    ({"url": "javascript:alert(1)"}, "http"),
]


async def test_bad_json_bodies_are_400(client: TestClient) -> None:
    for body, message in BAD_BODIES:
        _, error = await call(client, "POST", ITEMS, 400, json=body, valid_request=False)
        check_error(error, "invalid")
        assert message in error["error"]["message"], body


async def test_malformed_json_and_other_bodies(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    _, error = await call(client, "POST", ITEMS, 400, data=b"{nope", headers=headers)
    assert "not valid JSON" in error["error"]["message"]
    _, error = await call(client, "POST", ITEMS, 400, data=b"[1, 2]", headers=headers)
    assert "JSON object" in error["error"]["message"]
    _, error = await call(
        client, "POST", ITEMS, 415, data=b"hello", headers={"Content-Type": "text/plain"}
    )
    check_error(error, "unsupported_media_type")


async def test_a_bad_token_is_401_and_anonymous_uploads_can_be_off(
    client: TestClient, runtime: Runtime, settings
) -> None:
    response, error = await call(
        client, "POST", ITEMS, 401, json={"text": "x"}, headers=bearer("not-a-token")
    )
    check_error(error, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    server = dataclasses.replace(settings.server, anonymous_uploads=False)
    runtime.service.settings = dataclasses.replace(settings, server=server)
    _, error = await call(client, "POST", ITEMS, 401, json={"text": "x"})
    assert "token" in error["error"]["message"]


# ---- reading, listing, stats -----------------------------------------------------------------


async def test_unknown_and_gone_items(client: TestClient, runtime: Runtime) -> None:
    _, error = await call(client, "GET", ITEM, 404, content_id="nosuchid")
    check_error(error, "not_found")
    created = await runtime.service.add_paste("once", options=_once())
    assert (await client.get(f"/{created.item.content_id}/raw")).status == 200
    _, error = await call(client, "GET", ITEM, 410, content_id=created.item.content_id)
    check_error(error, "gone")


def _once() -> Any:
    from bot.models import ItemOptions

    return ItemOptions(max_views=1)


async def test_listing_pages_through_my_items_only(
    client: TestClient, token: str, other_token: str
) -> None:
    for number in range(5):
        await call(
            client, "POST", ITEMS, 201, json={"text": f"paste {number}"}, headers=bearer(token)
        )
    await call(
        client, "POST", ITEMS, 201, json={"url": "https://example.com/"}, headers=bearer(token)
    )
    await call(client, "POST", ITEMS, 201, json={"text": "bob's"}, headers=bearer(other_token))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"kind": "text", "limit": "2", **({"cursor": cursor} if cursor else {})}
        _, page = await call(client, "GET", ITEMS, 200, params=params, headers=bearer(token))
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        assert all(item["kind"] == "text" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    _, everything = await call(client, "GET", ITEMS, 200, headers=bearer(token))
    assert len(everything["items"]) == 6
    created_at = [item["created_at"] for item in everything["items"]]
    assert created_at == sorted(created_at, reverse=True)


async def test_listing_needs_a_token_and_sane_parameters(client: TestClient, token: str) -> None:
    _, error = await call(client, "GET", ITEMS, 401)
    check_error(error, "unauthorized")
    for params in ({"limit": "many"}, {"kind": "video"}, {"cursor": "garbage"}):
        _, error = await call(client, "GET", ITEMS, 400, params=params, headers=bearer(token))
        check_error(error, "invalid")


async def test_stats_for_the_owner_only(
    client: TestClient, runtime: Runtime, token: str, other_token: str
) -> None:
    _, created = await call(
        client, "POST", ITEMS, 201, json={"url": "https://example.com/s"}, headers=bearer(token)
    )
    content_id = created["id"]
    for referrer in ("https://chat.example/x", "https://chat.example/y", ""):
        headers = {"Referer": referrer} if referrer else {}
        await client.get(f"/{content_id}", allow_redirects=False, headers=headers)
    await runtime.service.counter.flush(runtime.db.pool)
    _, stats = await call(
        client,
        "GET",
        STATS,
        200,
        content_id=content_id,
        params={"days": "7"},
        headers=bearer(token),
    )
    assert stats["views"] == 3
    assert sum(day["count"] for day in stats["per_day"]) == 3
    assert stats["referrers"][0] == {"referrer": "chat.example", "count": 2}
    _, error = await call(
        client, "GET", STATS, 404, content_id=content_id, headers=bearer(other_token)
    )
    check_error(error, "not_found")
    await call(client, "GET", STATS, 401, content_id=content_id)
    await call(
        client,
        "GET",
        STATS,
        400,
        content_id=content_id,
        params={"days": "x"},
        headers=bearer(token),
    )


# ---- deleting --------------------------------------------------------------------------------


async def test_delete_with_the_delete_token(client: TestClient) -> None:
    _, created = await call(client, "POST", ITEMS, 201, json={"text": "bye"})
    content_id = created["id"]
    _, error = await call(
        client, "DELETE", ITEM, 404, content_id=content_id, headers={"X-Delete-Token": "wrong"}
    )
    check_error(error, "not_found")
    await call(client, "DELETE", ITEM, 404, content_id=content_id)
    await call(
        client,
        "DELETE",
        ITEM,
        204,
        content_id=content_id,
        headers={"X-Delete-Token": created["delete_token"]},
    )
    await call(client, "GET", ITEM, 404, content_id=content_id)


async def test_delete_as_the_owner_and_not_as_someone_else(
    client: TestClient, token: str, other_token: str
) -> None:
    _, created = await call(
        client, "POST", ITEMS, 201, json={"text": "mine"}, headers=bearer(token)
    )
    content_id = created["id"]
    await call(client, "DELETE", ITEM, 404, content_id=content_id, headers=bearer(other_token))
    await call(client, "DELETE", ITEM, 401, content_id=content_id, headers=bearer("forged"))
    await call(client, "DELETE", ITEM, 204, content_id=content_id, headers=bearer(token))
    assert (await client.get(f"/{content_id}")).status == 404


async def test_curl_friendly_delete_on_the_short_link(client: TestClient) -> None:
    response = await client.post("/", data={"url": "https://example.com/curl"})
    content_id = id_of(await response.text())
    token = response.headers["X-Delete-Token"]
    await call(client, "DELETE", "/{content_id}", 404, content_id=content_id)
    await call(
        client,
        "DELETE",
        "/{content_id}",
        204,
        content_id=content_id,
        headers={"X-Delete-Token": token},
    )
    assert (await client.get(f"/{content_id}", allow_redirects=False)).status == 404


# ---- aiohttp's own errors are JSON under /api/ -----------------------------------------------


async def test_unknown_paths_and_methods_answer_json(client: TestClient) -> None:
    missing = await client.get("/api/v1/nothing/here")
    assert missing.status == 404
    check_error(await missing.json(), "not_found")
    wrong = await client.put(ITEMS, json={})
    assert wrong.status == 405
    assert "POST" in wrong.headers["Allow"]
    check_error(await wrong.json(), "method_not_allowed")


async def test_a_body_past_the_size_limit_is_413_json(client: TestClient, runtime) -> None:
    too_big = "x" * (runtime.settings.limits.paste + 200 * 1024)
    _, error = await call(client, "POST", ITEMS, 413, data={"text": too_big})
    check_error(error, "too_large")
    _, error = await call(client, "POST", ITEMS, 413, json={"text": too_big}, valid_request=False)
    check_error(error, "too_large")


# ---- ShareX ----------------------------------------------------------------------------------


async def test_sharex_uploader_for_a_valid_token(client: TestClient, runtime, token: str) -> None:
    response, config = await call(client, "GET", "/sharex.sxcu", 200, params={"token": token})
    assert response.headers["Content-Disposition"].startswith('attachment; filename="refbin.sxcu"')
    assert config["RequestURL"] == f"{runtime.settings.server.base_url}/api/v1/items"
    assert config["Headers"]["Authorization"] == f"Bearer {token}"
    assert config["DestinationType"] == "ImageUploader, TextUploader, FileUploader, URLShortener"
    assert (config["URL"], config["ErrorMessage"]) == ("{json:url}", "{json:error.message}")
    _, by_header = await call(client, "GET", "/sharex.sxcu", 200, headers=bearer(token))
    assert by_header == config
    for params in ({"token": "forged"}, {}):
        _, error = await call(client, "GET", "/sharex.sxcu", 401, params=params)
        check_error(error, "unauthorized")


async def test_what_sharex_sends_is_understood(client: TestClient, token: str) -> None:
    """ShareX sends its Arguments first, with `{input}` empty for files, then the file."""
    headers = bearer(token)
    image = aiohttp.FormData()
    image.add_field("input", "")
    image.add_field("file", png_bytes(), filename="Screenshot.png")
    _, created = await call(client, "POST", ITEMS, 201, data=image, headers=headers)
    assert created["kind"] == "image" and created["thumb_url"].endswith("/thumb")
    link = aiohttp.FormData()
    link.add_field("input", "https://example.com/from-sharex")
    _, created = await call(client, "POST", ITEMS, 201, data=link, headers=headers)
    assert created["kind"] == "url" and created["target"] == "https://example.com/from-sharex"
    text = aiohttp.FormData()
    text.add_field("input", "some text")
    text.add_field("file", b"some text", filename="text.txt")
    _, created = await call(client, "POST", ITEMS, 201, data=text, headers=headers)
    assert created["kind"] == "file" and created["media_type"].startswith("text/plain")


async def test_an_owner_changes_one_item_and_many(client: TestClient, token: str) -> None:
    # The rules and refusals: tests/web/test_api_owner.py and tests/service/test_owning.py.
    _, created = await call(client, "POST", ITEMS, 201, json={"text": "x"}, headers=bearer(token))
    _, item = await call(
        client,
        "PATCH",
        ITEM,
        200,
        content_id=created["id"],
        json={"max_views": 3, "visibility": "unlisted"},
        headers=bearer(token),
    )
    assert (item["max_views"], item["visibility"]) == (3, "unlisted")
    body = {"action": "delete", "ids": [created["id"]]}
    _, bulk = await call(client, "POST", BULK, 200, json=body, headers=bearer(token))
    assert bulk == {"results": [{"id": created["id"], "ok": True}]}


# ---- coverage of the document (keep last) ----------------------------------------------------


def test_every_documented_operation_was_exercised(request: pytest.FixtureRequest) -> None:
    module_tests = {name for name in dir(request.module) if name.startswith("test_")}
    selected = {
        item.originalname for item in request.session.items if item.module is request.module
    }
    if selected != module_tests:
        pytest.skip("coverage is checked when the whole module runs")
    documented = {(method, path) for path, ops in DOC["paths"].items() for method in ops}
    assert documented - EXERCISED == set()
