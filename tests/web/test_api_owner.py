"""An owner's items over the JSON API: the filtered listing, PATCH of one item, bulk changes;
every answer checked against the OpenAPI document (tests/web/test_api.py's `call`)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime import Runtime
from tests.web.test_api import BULK, ITEM, ITEMS, bearer, call, check_error


@pytest.fixture
async def alice(runtime: Runtime) -> dict[str, str]:
    return bearer(await runtime.service.create_api_token("alice"))


@pytest.fixture
async def bob(runtime: Runtime) -> dict[str, str]:
    return bearer(await runtime.service.create_api_token("bob"))


async def make(client: TestClient, who: dict[str, str], **body: Any) -> dict[str, Any]:
    _, created = await call(client, "POST", ITEMS, 201, json=body, headers=who)
    return created


async def listed(client: TestClient, who: dict[str, str], **params: str) -> list[str]:
    """Every id the listing shows for these parameters, following next_cursor."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {}), "limit": "2"}
        _, page = await call(client, "GET", ITEMS, 200, params=query, headers=who)
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


def close_to(stamp: str, expected: datetime) -> bool:
    return abs(datetime.fromisoformat(stamp) - expected) < timedelta(minutes=1)


# ---- listing -----------------------------------------------------------------------------------


async def test_the_listing_filters_by_each_parameter(
    client: TestClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    link = await make(client, alice, url="https://example.com/docs/page")
    paste = await make(client, alice, text="\n  first words\nmore\n", filename="notes.md")
    hidden = await make(client, alice, text="hidden", visibility="unlisted", password="pw")
    soon = await make(client, alice, url="https://example.com/soon", expires="2d", max_views=3)
    await make(client, bob, url="https://example.com/docs/bob", password="pw")
    cases = {
        (): {link["id"], paste["id"], hidden["id"], soon["id"]},
        (("kind", "text"),): {paste["id"], hidden["id"]},
        (("visibility", "unlisted"),): {hidden["id"]},
        (("visibility", "public"),): {link["id"], paste["id"], soon["id"]},
        (("has_password", "true"),): {hidden["id"]},
        (("has_password", "false"),): {link["id"], paste["id"], soon["id"]},
        (("view_limited", "true"),): {soon["id"]},
        (("expiring", "7"),): {soon["id"]},
        (("q", "docs"),): {link["id"]},
        (("q", "NOTES.md"),): {paste["id"]},
        (("q", "%"),): set(),
        (("kind", "url"), ("q", "soon")): {soon["id"]},
        (("q", "words"),): {paste["id"]},  # a word of a paste's text
        (("q", "kind:paste is:unlisted"),): {hidden["id"]},
        (("q", "bob"),): set(),  # another owner's
    }
    for params, expected in cases.items():
        found = await listed(client, alice, **dict(params))
        assert len(found) == len(set(found)) and set(found) == expected, params
    _, page = await call(client, "GET", ITEMS, 200, params={"kind": "text"}, headers=alice)
    first_lines = {item["id"]: item["first_line"] for item in page["items"]}
    assert first_lines == {paste["id"]: "first words", hidden["id"]: "hidden"}
    _, searched = await call(client, "GET", ITEMS, 200, params={"q": "first"}, headers=alice)
    assert [item["matches"] for item in searched["items"]] == ["«first» words\nmore"]


async def test_bad_listing_parameters_are_400(client: TestClient, alice: dict[str, str]) -> None:
    for params, message in (
        ({"visibility": "secret"}, "Visibility"),
        ({"visibility": ""}, "Visibility"),
        ({"expiring": "0"}, "expiring"),
        ({"expiring": "soon"}, "expiring"),
        ({"has_password": "yes"}, "true or false"),
        ({"view_limited": ""}, "true or false"),
        ({"q": "x" * 101}, "at most 100"),
        ({"q": "color:red"}, "Unknown search filter color:"),
        ({"q": "docs", "cursor": "1700000000.000000.abcdefg"}, "cursor"),
        ({"expiring": "3", "cursor": "1700000000.000000.abcdefg"}, "cursor"),
    ):
        _, error = await call(
            client, "GET", ITEMS, 400, params=params, headers=alice, valid_request=False
        )
        check_error(error, "invalid")
        assert message in error["error"]["message"], params


# ---- PATCH -------------------------------------------------------------------------------------


async def test_patch_changes_each_field_and_answers_the_item(
    client: TestClient, alice: dict[str, str]
) -> None:
    created = await make(client, alice, text="change me", expires="1d")
    content_id = created["id"]

    async def patch(**body: Any) -> dict[str, Any]:
        _, item = await call(
            client, "PATCH", ITEM, 200, content_id=content_id, json=body, headers=alice
        )
        assert item["id"] == content_id
        return item

    now = datetime.now(UTC)
    assert close_to((await patch(expires="10d"))["expires_at"], now + timedelta(days=10))
    assert close_to((await patch(expires="+2d"))["expires_at"], now + timedelta(days=12))
    assert (await patch(expires=None))["expires_at"] is None
    assert (await patch(max_views=5))["max_views"] == 5
    assert (await patch(max_views=None))["max_views"] is None
    assert (await patch(visibility="private"))["visibility"] == "private"
    assert (await patch(password="s3cret"))["has_password"] is True
    _, refused = await call(client, "GET", ITEM, 401, content_id=content_id)
    check_error(refused, "password_required")
    assert (await patch(password=None, visibility="public"))["has_password"] is False
    _, item = await call(client, "GET", ITEM, 200, content_id=content_id)
    assert item["visibility"] == "public"


async def test_patch_refusals(
    client: TestClient, runtime: Runtime, alice: dict[str, str], bob: dict[str, str]
) -> None:
    service = runtime.service
    service.settings = dataclasses.replace(
        service.settings,
        limits=dataclasses.replace(service.settings.limits, max_expiry=timedelta(days=30)),
    )
    mine = await make(client, alice, text="mine", max_views=10, visibility="private")
    content_id = mine["id"]
    for _ in range(2):
        assert (await client.get(f"/{content_id}/raw")).status == 200

    async def refused(status: int, body: Any, who: dict[str, str] = alice, **kw: Any) -> str:
        _, error = await call(
            client,
            "PATCH",
            ITEM,
            status,
            content_id=kw.get("content_id", content_id),
            json=body,
            headers=who,
            valid_request=False,
        )
        return error["error"]["message"]

    # Someone else's item is not found, exactly as one that does not exist.
    assert await refused(404, {"visibility": "public"}, bob) == await refused(
        404, {"visibility": "public"}, content_id="NoSuchItem1"
    )
    assert "API token" in await refused(401, {"visibility": "public"}, {})
    assert "more than the 2 views" in await refused(400, {"max_views": 2})
    assert "longer than this instance allows" in await refused(400, {"expires": "31d"})
    assert "kept forever" in await refused(400, {"expires": None})
    assert "Unknown field(s): owner_id, views" in await refused(
        400, {"views": 0, "owner_id": 2, "max_views": 3}
    )
    assert "Nothing to change" in await refused(400, {})
    assert "JSON object" in await refused(400, ["max_views", 3])
    assert "whole number" in await refused(400, {"max_views": "5"})
    assert "Bad expires" in await refused(400, {"expires": "soon"})
    _, error = await call(
        client,
        "PATCH",
        ITEM,
        415,
        content_id=content_id,
        data=b"max_views=3",
        headers={**alice, "Content-Type": "application/x-www-form-urlencoded"},
        valid_request=False,
    )
    check_error(error, "unsupported_media_type")
    _, item = await call(client, "GET", ITEM, 200, content_id=content_id, headers=alice)
    assert item["max_views"] == 10 and item["visibility"] == "private"  # nothing changed
    once = await make(client, alice, text="once", max_views=1)
    assert (await client.get(f"/{once['id']}/raw")).status == 200
    _, gone = await call(
        client, "PATCH", ITEM, 410, content_id=once["id"], json={"max_views": 5}, headers=alice
    )
    check_error(gone, "gone")


# ---- bulk --------------------------------------------------------------------------------------


async def test_bulk_with_own_and_foreign_ids(
    client: TestClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    a1 = (await make(client, alice, text="a1", expires="1d"))["id"]
    a2 = (await make(client, alice, text="a2", expires="1d"))["id"]
    b1 = (await make(client, bob, text="b1", expires="1d"))["id"]

    async def bulk(**body: Any) -> list[dict[str, Any]]:
        _, answer = await call(client, "POST", BULK, 200, json=body, headers=alice)
        return answer["results"]

    extended = await bulk(action="extend", ids=[a1, b1, "nope"], by="1d")
    assert [(r["id"], r["ok"]) for r in extended] == [(a1, True), (b1, False), ("nope", False)]
    assert extended[1]["error"] == extended[2]["error"]
    assert extended[1]["error"]["code"] == "not_found"
    _, item = await call(client, "GET", ITEM, 200, content_id=a1)
    _, untouched = await call(client, "GET", ITEM, 200, content_id=b1)
    assert datetime.fromisoformat(item["expires_at"]) > datetime.fromisoformat(
        untouched["expires_at"]
    ) + timedelta(hours=23)

    hidden = await bulk(action="visibility", ids=[a1, a2, b1], visibility="unlisted")
    assert [r["ok"] for r in hidden] == [True, True, False]
    deleted = await bulk(action="delete", ids=[a1, b1, a2, a1])
    assert [(r["id"], r["ok"]) for r in deleted] == [(a1, True), (b1, False), (a2, True)]
    for content_id, status in ((a1, 404), (a2, 404), (b1, 200)):
        await call(client, "GET", ITEM, status, content_id=content_id)


async def test_bulk_refusals(client: TestClient, alice: dict[str, str]) -> None:
    for body, message in (
        ({"action": "archive", "ids": ["a"]}, "action is one of"),
        ({"action": "delete", "ids": []}, "at least one"),
        ({"action": "delete", "ids": ["a"] * 501}, "At most 500"),
        ({"action": "delete", "ids": "a"}, "list of item ids"),
        ({"action": "delete", "ids": [1]}, "list of item ids"),
        ({"action": "extend", "ids": ["a"]}, "needs a duration"),
        ({"action": "delete", "ids": ["a"], "by": "1d"}, "only extending"),
        ({"action": "visibility", "ids": ["a"]}, "needs one"),
        ({"action": "delete", "ids": ["a"], "visibility": None}, "Visibility"),
        ({"action": "delete", "ids": ["a"], "everything": True}, "Unknown field(s): everything"),
    ):
        _, error = await call(
            client, "POST", BULK, 400, json=body, headers=alice, valid_request=False
        )
        check_error(error, "invalid")
        assert message.lower() in error["error"]["message"].lower(), body
    _, error = await call(client, "POST", BULK, 401, json={"action": "delete", "ids": ["a"]})
    check_error(error, "unauthorized")
