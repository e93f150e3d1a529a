"""What `POST /` and the API refuse in a form, naming the field: a misspelt or unknown field, a
field that does not apply to what is added, two things in one request, an option after the file
(tests/web/test_refusals.py has the rest). Each refusal is the same on both doors, and stores
nothing."""

from __future__ import annotations

import pytest

from bot.web.item_form import AFTER_FILE
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


def _field(name: str, value: str) -> bytes:
    return part(f'name="{name}"'.encode(), value.encode())


def _file(data: bytes = b"the file's bytes\n") -> bytes:
    return part(b'name="file"; filename="f.bin"', data, content_type=b"application/octet-stream")


def _form(*parts: bytes) -> dict[str, object]:
    """The keyword arguments of a post of a multipart body made of these parts, in this order."""
    return {"data": multipart(*parts), "headers": {**JSON, **MULTIPART}}


# (how it is posted, the whole refusal)
REFUSALS = {
    "expire-in-a-url-encoded-form": (
        {"data": {"text": "x", "expire": "1d"}, "headers": JSON},
        "Unknown field 'expire' (did you mean 'expires'?).",
    ),
    "expire-before-a-file": (
        _form(_field("expire", "1d"), _file()),
        "Unknown field 'expire' (did you mean 'expires'?).",
    ),
    "expire-in-json": (
        {"json": {"text": "x", "expire": "1d"}, "headers": JSON},
        "Unknown field 'expire' (did you mean 'expires'?).",
    ),
    "an-unknown-empty-field-after-the-file": (
        _form(_file(), _field("max_view", "")),
        "Unknown field 'max_view' (did you mean 'max_views'?).",
    ),
    "several-unknown-fields": (
        {"json": {"text": "x", "colour": "red", "owner_id": 1}, "headers": JSON},
        "Unknown fields 'colour', 'owner_id'.",
    ),
    "an-alias-for-a-paste": (
        {"data": {"text": "x", "alias": "mine"}, "headers": JSON},
        "alias applies to links only, not to a paste.",
    ),
    "an-alias-for-a-file": (
        _form(_field("alias", "pic"), _file()),
        "alias applies to links only, not to a file.",
    ),
    "a-language-for-a-file": (
        _form(_field("language", "python"), _file()),
        "language applies to pastes only, not to a file.",
    ),
    "a-filename-for-a-link": (
        {"json": {"url": "https://example.com/", "filename": "x.txt"}, "headers": JSON},
        "filename applies to pastes and files only, not to a link.",
    ),
    "a-link-and-a-paste-in-a-url-encoded-form": (
        {"data": {"url": "https://example.com/", "text": "x"}, "headers": JSON},
        "Send url or text, not both: one item per request.",
    ),
    "a-link-and-a-paste-in-json": (
        {"json": {"url": "https://example.com/", "text": "x"}, "headers": JSON},
        "Send url or text, not both: one item per request.",
    ),
    "a-paste-and-a-file": (
        _form(_field("text", "x"), _file()),
        "Send text or file, not both: one item per request.",
    ),
    "sharex-input-and-a-paste": (
        {"data": {"input": "https://example.com/", "text": "x"}, "headers": JSON},
        "Send input or text, not both: one item per request.",
    ),
    "a-visibility-and-a-flag-that-disagree": (
        {"data": {"text": "x", "visibility": "public", "private": "on"}, "headers": JSON},
        "Send one visibility, not private and public.",
    ),
    "a-flag-neither-on-nor-off": (
        {"data": {"text": "x", "unlisted": "maybe"}, "headers": JSON},
        "unlisted is on or off (1, true, yes, on; 0, false, no, off).",
    ),
}


@pytest.mark.parametrize(("post", "message"), REFUSALS.values(), ids=REFUSALS.keys())
async def test_both_doors_refuse_a_field_they_cannot_honour_naming_it(
    shared_app: SharedApp, post: dict[str, object], message: str
) -> None:
    before = await shared_app.count()
    for door in DOORS:
        response = await shared_app.client.post(door, **post)  # type: ignore[arg-type]

        assert response.status == 400, (door, await response.text())
        assert await response.json() == {"error": {"code": "invalid", "message": message}}
    assert await shared_app.count() == before
    assert shared_app.temp_files() == []


OPTIONS_AFTER_THE_FILE = {
    "password": [("password", "pw")],
    "visibility": [("visibility", "private")],
    "max_views": [("max_views", "1")],
    "expires": [("expires", "1d")],
    "the-issue's-example": [("password", "pw"), ("visibility", "private"), ("max_views", "1")],
}


@pytest.mark.parametrize(
    "options", OPTIONS_AFTER_THE_FILE.values(), ids=OPTIONS_AFTER_THE_FILE.keys()
)
async def test_options_after_the_file_are_refused_on_both_doors_and_nothing_is_kept(
    shared_app: SharedApp, options: list[tuple[str, str]]
) -> None:
    """`-F file=@x -F password=… -F visibility=private -F max_views=1` would store the file
    public, unprotected and unlimited: refused, and the file stored first is deleted again."""
    before = await shared_app.count()
    for door in DOORS:
        body = _form(
            _file(f"kept public? {door} {options}".encode()),
            *(_field(name, value) for name, value in options),
        )
        response = await shared_app.client.post(door, **body)  # type: ignore[arg-type]

        assert response.status == 400, (door, await response.text())
        assert await response.json() == {"error": {"code": "invalid", "message": AFTER_FILE}}
    assert await shared_app.count() == before
    assert shared_app.temp_files() == []


async def test_an_empty_option_after_the_file_is_a_browsers_input_left_blank(
    shared_app: SharedApp,
) -> None:
    response = await shared_app.client.post(
        "/", **_form(_field("visibility", "unlisted"), _file(), _field("password", ""))
    )

    assert response.status == 201, await response.text()
    item = await shared_app.runtime.service.get(id_of(await response.text()))
    assert (item.kind, item.visibility, item.has_password) == ("file", "unlisted", False)


async def test_a_flag_that_agrees_with_the_visibility_is_taken(shared_app: SharedApp) -> None:
    response = await shared_app.client.post(
        API, data={"text": "flagged", "visibility": "private", "private": "on", "unlisted": "0"}
    )

    assert response.status == 201, await response.text()
    assert (await response.json())["visibility"] == "private"


async def test_sharex_sends_input_with_a_file_and_the_file_is_added(
    shared_app: SharedApp,
) -> None:
    """ShareX posts its `{input}` argument with every upload (empty, or a text upload's text)."""
    response = await shared_app.client.post(
        API, **_form(_field("input", "the text, again"), _file(b"the text, again"))
    )

    assert response.status == 201, await response.text()
    assert (await response.json())["kind"] == "file"
