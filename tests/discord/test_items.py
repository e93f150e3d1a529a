"""/info, /mine and /delete through the real discord.py: who may see and remove what."""

from __future__ import annotations

from bot.models import ItemOptions, Visit
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
)
from tests.discord_standin import User
from tests.helpers import id_of


async def shorten(refbin: RefbinDiscord, user: User, url: str) -> str:
    answer = await refbin.command("shorten", user=user, options={"url": url})
    return id_of(answer.embeds[0]["url"])


async def items_in_db(refbin: RefbinDiscord) -> set[str]:
    async with refbin.runtime.db.pool.acquire() as conn:
        return {r["content_id"] for r in await conn.fetch("SELECT content_id FROM refs")}


async def test_info_shows_the_item_and_visits_only_to_its_owner(refbin: RefbinDiscord) -> None:
    content_id = await shorten(refbin, refbin.alice, "https://example.com/info")
    await refbin.service.resolve(content_id, visit=Visit(referrer="news.example"))
    await refbin.service.counter.flush(refbin.runtime.db.pool)

    by_owner = await refbin.command("info", user=refbin.alice, options={"id": content_id})
    by_other = await refbin.command(
        "info", user=refbin.bob, options={"id": refbin.service.url_for(content_id)}
    )

    assert by_owner.ephemeral and by_other.ephemeral
    assert "Target: https://example.com/info" in by_owner.text
    assert "Views: 1" in by_owner.text
    assert "news.example: 1" in by_owner.text
    assert "Target: https://example.com/info" in by_other.text
    assert "Top referrers" not in by_other.text


async def test_info_keeps_a_view_limited_items_content_from_all_but_its_owner(
    refbin: RefbinDiscord,
) -> None:
    owner_id = await refbin.service.owner_for_discord_user(refbin.alice.id, "alice")
    options = ItemOptions(owner_id=owner_id, max_views=1)
    link = await refbin.service.add_link("https://example.com/burn", options=options)
    paste = await refbin.service.add_paste("x" * 3000, options=options)

    by_owner = await refbin.command("info", user=refbin.alice, options={"id": link.url})
    by_other = await refbin.command("info", user=refbin.bob, options={"id": link.url})
    paste_by_other = await refbin.command("info", user=refbin.bob, options={"id": paste.url})

    assert "Target: https://example.com/burn" in by_owner.text
    assert "example.com/burn" not in by_other.text
    assert "limited number of times" in by_other.text
    assert "size not shown" in paste_by_other.text and "2.9 KiB" not in paste_by_other.text
    assert (await refbin.service.get(link.item.content_id)).views == 0


async def test_info_on_an_unknown_id_says_so(refbin: RefbinDiscord) -> None:
    answer = await refbin.command("info", user=refbin.alice, options={"id": "nope123"})

    assert answer.ephemeral and answer.content == "No such item."


async def test_mine_pages_through_the_callers_items_and_deletes_after_a_second_press(
    refbin: RefbinDiscord,
) -> None:
    owner_id = await refbin.service.owner_for_discord_user(refbin.alice.id, "alice")
    options = ItemOptions(owner_id=owner_id)
    made = [
        (await refbin.service.add_link(f"https://example.com/{n}", options=options)).item
        for n in range(7)
    ]
    await shorten(refbin, refbin.bob, "https://example.com/bobs")

    first = await refbin.command("mine", user=refbin.alice, options={"kind": "url"})
    assert first.ephemeral
    assert first.button_labels() == [*(f"Delete {n}" for n in range(1, 6)), "◀ Previous", "Next ▶"]
    newest = made[-1].content_id
    assert refbin.service.url_for(newest) in first.text
    assert "bobs" not in first.text

    second = await refbin.click(first, "Next ▶", user=refbin.alice)
    assert second.type == 6  # acknowledged at once, then the message was edited
    assert second.button_labels() == ["Delete 6", "Delete 7", "◀ Previous", "Next ▶"]
    oldest = made[0].content_id
    assert refbin.service.url_for(oldest) in second.text

    armed = await refbin.click(second, "Delete 7", user=refbin.alice)
    assert "Sure? Delete 7" in armed.button_labels()
    assert oldest in await items_in_db(refbin)
    deleted = await refbin.click(armed, "Sure? Delete 7", user=refbin.alice)
    assert deleted.content == f"Deleted `{oldest}`."
    assert oldest not in await items_in_db(refbin)
    assert deleted.button_labels() == ["Delete 6", "◀ Previous", "Next ▶"]


async def test_someone_elses_buttons_do_nothing(refbin: RefbinDiscord) -> None:
    await shorten(refbin, refbin.alice, "https://example.com/mine")
    listing = await refbin.command("mine", user=refbin.alice)

    poke = await refbin.click(listing, "Delete 1", user=refbin.bob)

    assert poke.ephemeral and poke.content == "These buttons are not yours."


async def test_delete_asks_first_then_removes_the_owners_item(refbin: RefbinDiscord) -> None:
    content_id = await shorten(refbin, refbin.alice, "https://example.com/gone")

    prompt = await refbin.command("delete", user=refbin.alice, options={"id": content_id})
    assert prompt.ephemeral and prompt.content.startswith("Delete http")
    assert content_id in await items_in_db(refbin)
    done = await refbin.click(prompt, "Delete", user=refbin.alice)

    assert done.content == f"Deleted `{content_id}`."
    assert content_id not in await items_in_db(refbin)


async def test_someone_elses_item_cannot_be_deleted(refbin: RefbinDiscord) -> None:
    content_id = await shorten(refbin, refbin.alice, "https://example.com/alices")

    answer = await refbin.command("delete", user=refbin.bob, options={"id": content_id})

    assert answer.ephemeral
    assert answer.content == "No such item, or it is not yours to delete."
    assert content_id in await items_in_db(refbin)


async def test_a_moderator_deletes_items_made_in_their_server_only(refbin: RefbinDiscord) -> None:
    await refbin.sync_to(refbin.other_guild)
    here = await shorten(refbin, refbin.alice, "https://example.com/here")
    elsewhere_answer = await refbin.command(
        "shorten",
        user=refbin.alice,
        options={"url": "https://example.com/elsewhere"},
        channel=refbin.other_guild.channels[0],
    )
    elsewhere = id_of(elsewhere_answer.embeds[0]["url"])

    refused = await refbin.command("delete", user=refbin.mod, options={"id": elsewhere})
    prompt = await refbin.command("delete", user=refbin.mod, options={"id": here})
    done = await refbin.click(prompt, "Delete", user=refbin.mod)
    # in the other server the moderator is a plain member
    not_there = await refbin.command(
        "delete", user=refbin.mod, options={"id": elsewhere}, channel=refbin.other_guild.channels[0]
    )

    assert refused.content == "No such item, or it is not yours to delete."
    assert done.content == f"Deleted `{here}`."
    assert not_there.content == "No such item, or it is not yours to delete."
    assert await items_in_db(refbin) == {elsewhere}
