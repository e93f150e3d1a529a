"""The dashboard (/me) over real HTTP with a signed-in session: each filter, keyset pages, bulk
actions (a foreign id refused, nothing of its owner's changed), one item's page and its edits,
another person's item (404), cross-site posts refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.models import ItemOptions
from tests.oauth_standin import OAuthStandin
from tests.signin_fixtures import (  # noqa: F401 - fixtures
    ALICE,
    BOB,
    Site,
    Visitor,
    Visitors,
    oauth_fixture,
    site_fixture,
    visitors_fixture,
)


async def owner(site: Site, account=ALICE) -> int:  # noqa: ANN001
    return await site.service.owner_for_discord_user(account.user_id, account.username)


def listed(page: str) -> set[str]:
    """The ids the dashboard lists (each item's checkbox)."""
    return set(re.findall(r'name="id" value="([^"]+)"', page))


@pytest.fixture(name="made")
async def made_fixture(site: Site) -> AsyncIterator[dict[str, str]]:
    """Alice's items of every sort, by name."""
    service = site.service
    mine = await owner(site)
    base = ItemOptions(owner_id=mine)
    made = {
        "link": await service.add_link("https://example.com/a-target", options=base),
        "paste": await service.add_paste(
            "print('hi')\nmore\n", language="python", filename="hi.py", options=base
        ),
        "private": await service.add_link(
            "https://example.com/hidden", options=ItemOptions(owner_id=mine, visibility="private")
        ),
        "unlisted": await service.add_paste(
            "quiet\n", options=ItemOptions(owner_id=mine, visibility="unlisted")
        ),
        "soon": await service.add_link(
            "https://example.com/soon",
            options=ItemOptions(owner_id=mine, expires_in=timedelta(days=2)),
        ),
        "locked": await service.add_link(
            "https://example.com/locked", options=ItemOptions(owner_id=mine, password="s3cret!")
        ),
        "limited": await service.add_link(
            "https://example.com/limited", options=ItemOptions(owner_id=mine, max_views=3)
        ),
    }
    yield {name: created.item.content_id for name, created in made.items()}


@pytest.fixture(name="alice")
async def alice_fixture(visitors: Visitors, oauth: OAuthStandin) -> Visitor:
    return await visitors.signed_in(oauth, ALICE)


async def test_the_dashboard_lists_everything_with_its_markers(
    alice: Visitor, made: dict[str, str]
) -> None:
    status, page, answer = await alice.get("/me")
    assert status == 200 and "no-store" in answer.headers["Cache-Control"]
    assert listed(page) == set(made.values())
    assert "https://example.com/a-target" in page
    assert "print(&#39;hi&#39;)" in page and "python" in page
    assert "3 views left" in page and "password</span>" in page
    assert "expires in 2 days" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=text", {"paste", "unlisted"}),
        ("visibility=private", {"private"}),
        ("visibility=unlisted", {"unlisted"}),
        ("expiring=1", {"soon"}),
        ("password=1", {"locked"}),
        ("limited=1", {"limited"}),
        ("q=a-target", {"link"}),
        ("kind=url&limited=1", {"limited"}),
        ("kind=&visibility=&q=", None),  # the empty form filters nothing
    ],
)
async def test_each_filter(
    alice: Visitor, made: dict[str, str], query: str, expected: set[str] | None
) -> None:
    status, page, _ = await alice.get("/me?" + query)
    assert status == 200
    want = set(made.values()) if expected is None else {made[name] for name in expected}
    assert listed(page) == want


async def test_an_unknown_filter_value_is_refused(alice: Visitor, made: dict[str, str]) -> None:
    status, _, _ = await alice.get("/me?kind=album-of-cats")
    assert status == 400


async def test_next_page_keeps_the_filters_and_goes_on(site: Site, alice: Visitor) -> None:
    mine = await owner(site)
    ids = {
        (
            await site.service.add_link(
                f"https://example.com/many/{n}", options=ItemOptions(owner_id=mine)
            )
        ).item.content_id
        for n in range(30)
    }
    seen: set[str] = set()
    path = "/me?kind=url&q=many"
    for _ in range(5):
        status, page, _ = await alice.get(path)
        assert status == 200
        seen |= listed(page)
        found = re.search(r'href="([^"]+)" rel="next"', page)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
        assert "kind=url" in path and "q=many" in path and "after=" in path
    assert seen == ids


async def test_bulk_actions_on_ones_own_items(
    site: Site, alice: Visitor, made: dict[str, str]
) -> None:
    service = site.service
    picked = [made["link"], made["soon"]]
    before = await service.get(made["soon"])
    status, _, answer = await alice.post("/me/bulk", [("id", made["soon"]), ("action", "extend")])  # type: ignore[arg-type]
    assert status == 303 and answer.headers["Location"] == "/me"
    after = await service.get(made["soon"])
    assert before.expires_at and after.expires_at
    assert after.expires_at - before.expires_at == timedelta(days=7)

    status, _, _ = await alice.post(
        "/me/bulk", [("id", i) for i in picked] + [("action", "visibility:unlisted")]
    )  # type: ignore[arg-type]
    assert status == 303
    assert {(await service.get(i)).visibility for i in picked} == {"unlisted"}

    status, _, _ = await alice.post(
        "/me/bulk", [("id", i) for i in picked] + [("action", "delete")]
    )  # type: ignore[arg-type]
    assert status == 303
    _, page, _ = await alice.get("/me")
    assert not listed(page) & set(picked)


async def test_bulk_with_a_foreign_id_changes_nothing_of_the_others(
    site: Site, alice: Visitor, made: dict[str, str]
) -> None:
    service = site.service
    bobs = await service.add_link(
        "https://example.com/bobs", options=ItemOptions(owner_id=await owner(site, BOB))
    )
    theirs = bobs.item.content_id
    for action in ("delete", "extend", "visibility:private"):
        fields = [("id", made["link"]), ("id", theirs), ("action", action)]
        status, page, _ = await alice.post("/me/bulk", fields)  # type: ignore[arg-type]
        assert status == 422, action
        assert theirs in page and "refused" in page
        kept = await service.get(theirs)
        assert kept.visibility == "public" and kept.expires_at is None
    status, _, _ = await alice.post("/me/bulk", [("id", made["paste"]), ("action", "explode")])  # type: ignore[arg-type]
    assert status == 400
    status, _, _ = await alice.post("/me/bulk", {"action": "delete"})
    assert status == 400


async def test_the_item_page_and_its_edits(
    site: Site, alice: Visitor, made: dict[str, str]
) -> None:
    service = site.service
    content_id = made["link"]
    status, page, _ = await alice.get(f"/me/items/{content_id}")
    assert status == 200
    assert f'value="{service.url_for(content_id)}"' in page and f"/{content_id}/qr" in page
    assert "<svg" in page and "Views in all" in page

    fields = {"expires": "3d", "max_views": "9", "visibility": "private", "password": "hunter22"}
    status, _, answer = await alice.post(f"/me/items/{content_id}", fields)
    assert status == 303 and answer.headers["Location"] == f"/me/items/{content_id}"
    item = await service.get(content_id)
    assert item.max_views == 9 and item.visibility == "private" and item.has_password
    assert item.expires_at is not None

    blank = {"expires": "never", "max_views": "", "visibility": "public", "no_password": "1"}
    status, _, _ = await alice.post(f"/me/items/{content_id}", blank)
    assert status == 303
    item = await service.get(content_id)
    assert item.expires_at is None and item.max_views is None and not item.has_password

    for bad in ({"expires": "soonish"}, {"max_views": "-2"}, {"visibility": "secret"}):
        status, page, _ = await alice.post(f"/me/items/{content_id}", bad)
        assert status == 400, bad
        assert 'role="alert"' in page
    status, _, _ = await alice.post(f"/me/items/{content_id}", {"colour": "red"})
    assert status == 400
    assert (await service.get(content_id)).visibility == "public"

    status, _, answer = await alice.post(f"/me/items/{content_id}/delete")
    assert status == 303 and answer.headers["Location"] == "/me"
    status, _, _ = await alice.get(f"/me/items/{content_id}")
    assert status in (404, 410)


async def test_another_persons_item_is_not_found(
    site: Site, visitors: Visitors, oauth: OAuthStandin, made: dict[str, str]
) -> None:
    bob = await visitors.signed_in(oauth, BOB)
    content_id = made["private"]
    assert (await bob.get(f"/me/items/{content_id}"))[0] == 404
    assert (await bob.post(f"/me/items/{content_id}", {"visibility": "public"}))[0] == 404
    assert (await bob.post(f"/me/items/{content_id}/delete"))[0] == 404
    assert (await bob.get("/me/items/nosuchid"))[0] == 404
    item = await site.service.get(content_id)
    assert item.visibility == "private"
    _, page, _ = await bob.get("/me")
    assert listed(page) == set()


async def test_cross_site_posts_are_refused(
    site: Site, alice: Visitor, made: dict[str, str]
) -> None:
    evil = "https://evil.example"
    content_id = made["link"]
    status, _, _ = await alice.post("/me/bulk", {"id": content_id, "action": "delete"}, origin=evil)
    assert status == 403
    status, _, _ = await alice.post(
        f"/me/items/{content_id}", {"visibility": "private"}, origin=evil
    )
    assert status == 403
    status, _, _ = await alice.post(f"/me/items/{content_id}/delete", origin=evil)
    assert status == 403
    item = await site.service.get(content_id)
    assert item.visibility == "public"
    assert (await alice.get(f"/me/items/{content_id}"))[0] == 200


async def test_signed_out_the_dashboard_asks_to_sign_in(visitors: Visitors) -> None:
    stranger = visitors.new()
    status, _, answer = await stranger.get("/me?kind=url")
    assert status in (302, 303) and "/login" in answer.headers["Location"]
    status, _, _ = await stranger.post("/me/bulk", {"id": "x", "action": "delete"})
    assert status == 404  # as required_account refuses every signed-out post
