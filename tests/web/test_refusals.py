"""One answer for each refusal on every web door: the table from domain errors to status, JSON
code and page title; the bearer token; the item-form rules `POST /` and the API share."""

from __future__ import annotations

import dataclasses
import re

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

import bot.errors
from bot.errors import RefbinError
from bot.runtime import Runtime
from bot.service import ALIAS_PATTERN, ID_PATTERN
from bot.service.policy import NEEDS_OWNER
from bot.web import openapi
from bot.web.bearer import UNKNOWN_BEARER
from bot.web.errors import BY_CODE, REFUSALS, refusal_for
from bot.web.item_form import FORM_FIELDS, JSON_FIELDS
from tests.helpers import id_of
from tests.security_fixtures import (  # noqa: F401 - the shared_app fixture
    SharedApp,
    raw_request,
    shared_app_fixture,
)

API = "/api/v1/items"
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}
CHALLENGE = 'Bearer realm="refbin"'
DOMAIN_ERRORS = [
    value
    for value in vars(bot.errors).values()
    if isinstance(value, type) and issubclass(value, RefbinError)
]


# ---- the table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("error", DOMAIN_ERRORS, ids=lambda error: error.__name__)
def test_every_domain_error_has_one_row_with_its_own_code(error: type[RefbinError]) -> None:
    rows = [row for row in REFUSALS if row.error is error]
    assert len(rows) == 1, f"{error.__name__} needs a row in bot/web/errors.py"
    assert rows[0].code == error.code
    assert BY_CODE[error.code] == rows[0]


def test_the_openapi_document_takes_statuses_and_patterns_from_their_one_place() -> None:
    document = openapi.document("http://refbin.test")
    for path in document["paths"].values():
        for operation in path.values():
            for status, answer in operation["responses"].items():
                name = answer.get("$ref", "").rsplit("/", 1)[-1]
                rows = [row for row in REFUSALS if openapi._response_name(row.code) == name]
                assert not name or not status.startswith("2") and rows, (status, name)
                assert not rows or str(rows[0].status) == status, (status, name)
    schemas, parameters = document["components"]["schemas"], document["components"]["parameters"]
    assert schemas["ItemFields"]["properties"]["id"]["pattern"] == ID_PATTERN.pattern
    assert parameters["ContentId"]["schema"]["pattern"] == ID_PATTERN.pattern
    assert schemas["NewLink"]["properties"]["alias"]["pattern"] == ALIAS_PATTERN.pattern


def test_the_openapi_document_names_the_fields_the_form_reader_takes() -> None:
    schemas = openapi.document("http://refbin.test")["components"]["schemas"]
    assert set(schemas["NewItemUrlEncoded"]["properties"]) == FORM_FIELDS
    assert set(schemas["NewItemForm"]["properties"]) == FORM_FIELDS | {"file"}
    json_fields = set(schemas["NewLink"]["properties"]) | set(schemas["NewPaste"]["properties"])
    assert json_fields == JSON_FIELDS


async def test_the_home_form_checks_aliases_by_the_service_rule(client: TestClient) -> None:
    page = await (await client.get("/", headers=HTML)).text()
    attribute = re.search(r'name="alias" pattern="([^"]+)"', page)
    assert attribute is not None
    browser_rule = re.compile(attribute[1].replace("\\-", "-"))
    for alias in ("my-link", "a", "_no", "-no", "x" * 64, "x" * 65, "ok_9-Z", "no way"):
        assert bool(browser_rule.fullmatch(alias)) == bool(ALIAS_PATTERN.match(alias)), alias


# ---- pages and JSON: the same refusal ----------------------------------------------------------


async def _locked(client: TestClient) -> str:
    return id_of(await (await client.post("/", data={"text": "locked", "password": "pw"})).text())


async def _plain(client: TestClient) -> str:
    return id_of(await (await client.post("/", data={"text": "a paste"})).text())


@pytest.mark.parametrize(
    ("case", "error", "status"),
    [
        ("unknown-id", bot.errors.NotFound, 404),
        ("bad-qr-format", bot.errors.Invalid, 400),
        ("password", bot.errors.PasswordRequired, 401),
        ("bad-token", bot.errors.Unauthenticated, 401),
    ],
)
async def test_a_browser_gets_as_a_page_the_refusal_a_program_gets_as_json(
    client: TestClient, case: str, error: type[RefbinError], status: int
) -> None:
    method, path, headers, data = "GET", "/nosuchid", {}, None
    if case == "bad-qr-format":
        path = f"/{await _plain(client)}/qr?format=gif"
    elif case == "password":
        path = f"/{await _locked(client)}"
    elif case == "bad-token":
        method, path, data = "POST", "/", {"text": "x"}
        headers = {"Authorization": "Bearer forged"}
    as_json = await client.request(method, path, headers={**headers, **JSON}, data=data)
    as_page = await client.request(method, path, headers={**headers, **HTML}, data=data)

    row = next(row for row in REFUSALS if row.error is error)
    assert as_json.status == as_page.status == row.status == status
    assert (await as_json.json())["error"]["code"] == error.code
    page = await as_page.text()
    assert as_page.content_type == "text/html" and f"<h1>{row.title}</h1>" in page
    assert ("unlock-form" in page) == (case == "password")
    challenged = case == "bad-token"
    assert (as_json.headers.get("WWW-Authenticate") == CHALLENGE) == challenged
    assert (as_page.headers.get("WWW-Authenticate") == CHALLENGE) == challenged


async def test_a_stalled_post_from_a_browser_gets_a_408_page_and_the_connection_closes(
    shared_app: SharedApp,
) -> None:
    head = (
        "POST / HTTP/1.1\r\nHost: refbin.test\r\nAccept: text/html\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n"
    )
    answer = await raw_request(shared_app.client, head.encode() + b"text=a", wait=10)

    assert answer.status == 408, answer.head
    assert re.search(rb"(?im)^content-type: text/html", answer.head)
    assert re.search(rb"(?im)^connection: close", answer.head), answer.head
    assert f"<h1>{refusal_for(bot.errors.TimedOut('x')).title}</h1>".encode() in answer.body


# ---- the bearer token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/", {"data": {"text": "x"}}),
        ("POST", API, {"json": {"text": "x"}}),
        ("GET", API, {}),
        ("GET", f"{API}/someid", {}),
        ("DELETE", f"{API}/someid", {}),
        ("DELETE", "/someid", {}),
        ("GET", "/sharex.sxcu", {}),
    ],
)
async def test_a_bad_token_is_the_same_401_on_every_route(
    client: TestClient, method: str, path: str, body: dict[str, object]
) -> None:
    response = await client.request(method, path, headers={"Authorization": "Bearer no"}, **body)

    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert await response.json() == {"error": {"code": "unauthorized", "message": UNKNOWN_BEARER}}


async def test_another_owners_token_does_not_open_a_password(
    client: TestClient, runtime: Runtime
) -> None:
    alice = {"Authorization": f"Bearer {await runtime.service.create_api_token('alice')}"}
    bob = {"Authorization": f"Bearer {await runtime.service.create_api_token('bob')}"}
    created = await client.post(API, json={"text": "alice's", "password": "pw"}, headers=alice)
    item = f"{API}/{(await created.json())['id']}"

    assert (await client.get(item, headers=alice)).status == 200
    refused = await client.get(item, headers=bob)
    assert refused.status == 401
    assert (await refused.json())["error"]["code"] == "password_required"


# ---- the item form, on both doors ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", API])
async def test_without_anonymous_uploads_both_doors_need_a_token(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    settings = runtime.service.settings
    server = dataclasses.replace(settings.server, anonymous_uploads=False)
    runtime.service.settings = dataclasses.replace(settings, server=server)
    token = await runtime.service.create_api_token("alice")

    refused = await client.post(path, data={"text": "anonymous"}, headers=JSON)
    assert refused.status == 401 and refused.headers["WWW-Authenticate"] == CHALLENGE
    assert await refused.json() == {"error": {"code": "unauthorized", "message": NEEDS_OWNER}}
    allowed = await client.post(
        path, data={"text": "with a token"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert allowed.status == 201


def _multipart(*fields: tuple[str, str | bytes]) -> aiohttp.FormData:
    data = aiohttp.FormData(quote_fields=False)
    for name, value in fields:
        if isinstance(value, bytes):
            data.add_field(name, value, filename="f.bin")
        else:
            data.add_field(name, value)
    return data


# (body, message, whether the file was stored before the refusal: then its new item is deleted)
FORM_REFUSALS = {
    "an-option-after-the-file": (
        _multipart(("file", b"kept public?"), ("password", "pw")),
        "before the file",
        True,
    ),
    "a-second-file": (_multipart(("file", b"one"), ("file", b"two")), "one item per request", True),
    "a-link-and-a-paste": (
        _multipart(("url", "https://example.com/"), ("text", "x")),
        "not both",
        False,
    ),
    "a-link-and-a-file": (
        _multipart(("url", "https://example.com/"), ("file", b"x")),
        "Send url or file, not both",
        False,
    ),
    "an-alias-for-a-paste": (
        _multipart(("alias", "mine"), ("text", "x")),
        "alias applies to links only, not to a paste.",
        False,
    ),
    "a-misspelt-option": (
        {"text": "x", "expire": "1d"},
        "Unknown field 'expire' (did you mean 'expires'?).",
        False,
    ),
    "a-bad-visibility-before-a-file": (
        _multipart(("visibility", "secret"), ("file", b"x" * 50_000)),
        "Visibility is public, unlisted or private.",
        False,
    ),
    "a-bad-view-limit-before-a-file": (
        _multipart(("max_views", "0"), ("file", b"y" * 50_000)),
        "The view limit is a number",
        False,
    ),
}


def _stored_blobs(runtime: Runtime) -> list[str]:
    root = runtime.store.root  # type: ignore[attr-defined] - the tests' local store
    return [path.name for path in root.rglob("*") if re.fullmatch("[0-9a-f]{64}", path.name)]


@pytest.mark.parametrize("path", ["/", API])
@pytest.mark.parametrize(
    ("body", "message", "stored_first"), FORM_REFUSALS.values(), ids=FORM_REFUSALS.keys()
)
async def test_both_doors_refuse_a_form_they_cannot_honour_and_store_nothing(
    client: TestClient,
    runtime: Runtime,
    path: str,
    body: object,
    message: str,
    stored_first: bool,
) -> None:
    response = await client.post(path, data=body, headers=JSON)

    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "invalid" and message in error["message"], error
    assert await runtime.db.pool.fetchval("SELECT count(*) FROM refs") == 0
    assert list(runtime.service.stager.tmp_dir.glob("*.part")) == []
    if not stored_first:  # refused before any content was read
        assert _stored_blobs(runtime) == []


@pytest.mark.parametrize("path", ["/", API])
async def test_both_doors_read_a_browser_form_the_same_way(
    client: TestClient, runtime: Runtime, path: str
) -> None:
    """A browser sends every input, filled or not: an empty field is one not sent, and a file
    input with no file chosen is no file."""
    body = _multipart(
        ("expires", ""),
        ("max_views", ""),
        ("visibility", "unlisted"),
        ("password", ""),
        ("url", ""),
        ("alias", ""),
        ("text", f"from a browser to {path}"),
        ("language", ""),
        ("filename", ""),
    )
    body.add_field("file", b"", filename="")

    response = await client.post(path, data=body, headers=JSON)

    assert response.status == 201, await response.text()
    content_id = (await response.json())["id"] if path == API else id_of(await response.text())
    item = await runtime.service.get(content_id)
    assert (item.kind, item.visibility, item.has_password) == ("text", "unlisted", False)
    assert item.max_views is None
