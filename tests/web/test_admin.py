"""The operators' view, /admin: every owner with their usage, every item, and blocking,
unblocking and deleting as `refbin block`, `unblock` and `rm` do; a 404 to anyone else."""

from __future__ import annotations

import dataclasses

import aiohttp
import pytest

from bot.models import ItemOptions
from tests.helpers import chunks_of
from tests.oauth_standin import OAuthStandin
from tests.signin_fixtures import (  # noqa: F401 - fixtures
    ALICE,
    BOB,
    OPERATOR,
    Site,
    Visitors,
    oauth_fixture,
    site_fixture,
    visitors_fixture,
)

ADMIN_GETS = ["/admin", "/admin/items", "/admin/items?owner=1", "/admin/items?id=abc"]


async def alices_items(site: Site) -> tuple[int, list[str]]:
    """Alice's owner (the bot's for her) with a link and a 3,000-byte file."""
    service = site.service
    owner_id = await service.owner_for_discord_user(ALICE.user_id, ALICE.username)
    options = ItemOptions(owner_id=owner_id)
    link = await service.add_link("https://example.com/alice", options=options)
    upload = await service.add_upload(chunks_of(b"x" * 3000), filename="notes.bin", options=options)
    return owner_id, [link.item.content_id, upload.item.content_id]


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as answer:
        return answer.status


@pytest.mark.parametrize("who", ["stranger", "alice"])
async def test_admin_pages_are_404_for_anyone_but_an_operator(
    who: str, site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    _, (content_id, _) = await alices_items(site)
    visitor = visitors.new() if who == "stranger" else await visitors.signed_in(oauth, ALICE)

    for path in ADMIN_GETS:
        status, page, _ = await visitor.get(path)
        assert status == 404 and "There is nothing at this address" in page, path
    for action, form in (
        ("block", {"back": "/admin/items", "reason": "spam"}),
        ("unblock", {"back": "/admin/items"}),
        ("delete", {"back": "/admin/items"}),
    ):
        status, _, _ = await visitor.post(f"/admin/items/{content_id}/{action}", form)
        assert status == 404, action
    assert (await site.service.get(content_id)).blocked_reason is None
    if who == "alice":
        _, page, _ = await visitor.get("/me")
        assert 'href="/admin"' not in page


async def test_the_operator_sees_every_owner_with_their_usage_and_every_item(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice_id, alice_ids = await alices_items(site)
    anonymous = await site.service.add_paste("anonymous words\n")
    operator = await visitors.signed_in(oauth, OPERATOR)

    status, owners, _ = await operator.get("/admin")
    status_items, items, _ = await operator.get("/admin/items")
    _, only_alice, _ = await operator.get(f"/admin/items?owner={alice_id}")
    _, me, _ = await operator.get("/me")

    assert status == 200 and status_items == 200
    alice_row = owners.split(">alice<", 1)[1].split("</tr>", 1)[0]
    assert str(ALICE.user_id) in alice_row
    assert '<td class="num" data-label="Items">2</td>' in alice_row and "2.9 KiB" in alice_row
    assert ">operator<" in owners
    for content_id in [*alice_ids, anonymous.item.content_id]:
        assert f'id="item-{content_id}"' in items
    assert "anonymous" in items and f"?owner={alice_id}" in items
    assert anonymous.item.content_id not in only_alice and alice_ids[0] in only_alice
    assert 'href="/admin"' in me


async def test_the_operator_pages_through_every_item(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    made = [(await site.service.add_link(f"https://example.com/{n}")).item for n in range(55)]
    operator = await visitors.signed_in(oauth, OPERATOR)

    _, first, _ = await operator.get("/admin/items")
    older = first.split('href="/admin/items?after=', 1)[1].split('"', 1)[0]
    _, second, _ = await operator.get(f"/admin/items?after={older}")

    shown = [m.content_id for m in made if f'id="item-{m.content_id}"' in first]
    rest = [m.content_id for m in made if f'id="item-{m.content_id}"' in second]
    assert len(shown) == 50 and len(rest) == 5 and not set(shown) & set(rest)
    assert made[-1].content_id in shown and made[0].content_id in rest
    assert ">Older</a>" in first and ">Older</a>" not in second


async def test_the_operator_blocks_unblocks_and_deletes_as_the_command_line_does(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    _, (link_id, file_id) = await alices_items(site)
    operator = await visitors.signed_in(oauth, OPERATOR)
    back = f"/admin/items?id={link_id}"

    status, _, answer = await operator.post(
        f"/admin/items/{link_id}/block", {"back": back, "reason": "phishing"}
    )
    assert status == 303 and answer.headers["Location"] == back
    assert await status_of(f"{site.url}/{link_id}") == 451
    _, found, _ = await operator.get(back)  # blocked items are still found by the operator
    assert "blocked" in found and "phishing" in found and "/unblock" in found

    status, _, _ = await operator.post(f"/admin/items/{link_id}/unblock", {"back": back})
    assert status == 303
    assert (await site.service.get(link_id)).blocked_reason is None

    status, _, answer = await operator.post(
        f"/admin/items/{file_id}/delete", {"back": "https://evil.example/"}
    )
    assert status == 303 and answer.headers["Location"] == "/admin/items"
    assert await status_of(f"{site.url}/{file_id}") == 404
    status, _, _ = await operator.post(f"/admin/items/{file_id}/delete", {"back": back})
    assert status == 404  # already gone


async def test_admin_forms_from_another_site_are_refused(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    _, (link_id, _) = await alices_items(site)
    operator = await visitors.signed_in(oauth, OPERATOR)

    status, _, _ = await operator.post(
        f"/admin/items/{link_id}/block",
        {"back": "/admin/items", "reason": "planted"},
        origin="https://evil.example",
    )
    status_delete, _, _ = await operator.post(
        f"/admin/items/{link_id}/delete", {"back": "/admin/items"}, origin="https://evil.example"
    )

    assert status == 403 and status_delete == 403
    assert (await site.service.get(link_id)).blocked_reason is None


async def test_an_operator_removed_from_the_settings_is_no_longer_one(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    operator = await visitors.signed_in(oauth, OPERATOR)
    assert (await operator.get("/admin"))[0] == 200
    settings = site.service.settings
    site.service.settings = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, admins=())
    )

    assert (await operator.get("/admin"))[0] == 404
    assert (await operator.get("/me"))[0] == 200
