"""Calm reminders: opt-in, only for items kept two days and made on purpose, one DM a round."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Settings
from bot.models import ItemOptions
from bot.service.reminders import Delivery
from tests.discord.test_reminders import dms_to, item_expiring, reminder_job
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
    running_refbin,
)
from tests.helpers import id_of

LONG_CODE = "```python\n" + "\n".join(f"print({n})" for n in range(40)) + "\n```"


async def test_three_items_make_one_grouped_dm_with_a_button_each(refbin: RefbinDiscord) -> None:
    items = [
        await item_expiring(refbin, refbin.alice, timedelta(hours=hours)) for hours in (3, 5, 7)
    ]

    outcome = await reminder_job(refbin).run_once()

    assert outcome[Delivery.SENT] == 3
    [dm] = dms_to(refbin, refbin.alice)
    [embed] = dm["embeds"]
    assert embed["title"] == "3 items expire soon"
    for item in items:
        assert refbin.service.url_for(item.content_id) in embed["description"]
    buttons = [c for row in dm["components"] for c in row["components"]]
    assert [b["label"] for b in buttons] == [f"Extend {i.content_id}" for i in items]
    assert [b["custom_id"] for b in buttons] == [f"refbin:extend:{i.content_id}" for i in items]

    middle = items[1]
    click = await refbin.api.click_button(
        dm, user=refbin.alice, label=f"Extend {middle.content_id}"
    )
    extended = await refbin.answer_to(click)

    assert extended.data["embeds"][0]["title"] == "Extended"
    assert middle.expires_at is not None
    assert (
        await refbin.service.get(middle.content_id)
    ).expires_at == middle.expires_at + timedelta(days=7)
    assert (await refbin.service.get(items[0].content_id)).expires_at == items[0].expires_at


async def test_reminders_are_off_until_the_person_turns_them_on(refbin: RefbinDiscord) -> None:
    await item_expiring(refbin, refbin.alice, timedelta(hours=5), opted_in=False)
    job = reminder_job(refbin)

    before = await job.run_once()
    turned_on = await refbin.command("reminders", user=refbin.alice, options={"enabled": True})
    await item_expiring(refbin, refbin.alice, timedelta(hours=6), opted_in=False)
    after = await job.run_once()

    assert before[Delivery.SENT] == 0
    assert turned_on.content == "Expiry reminders are on."
    assert after[Delivery.SENT] == 2  # the first item was not claimed while they were off
    assert len(dms_to(refbin, refbin.alice)) == 1


async def test_items_meant_to_live_under_two_days_are_not_reminded(refbin: RefbinDiscord) -> None:
    owner_id = await refbin.service.owner_for_discord_user(refbin.alice.id, "alice")
    await refbin.service.set_reminders(owner_id, True)
    options = ItemOptions(owner_id=owner_id, expires_in=timedelta(days=1, hours=23))
    await refbin.service.add_link("https://example.com/brief", options=options)
    refbin.clock.advance(timedelta(days=1))

    outcome = await reminder_job(refbin).run_once()

    assert outcome[Delivery.SENT] == 0
    assert dms_to(refbin, refbin.alice) == []


async def test_auto_pasted_code_is_never_reminded(discord_settings: Settings) -> None:
    async with running_refbin(discord_settings, discord_settings={"auto_paste": True}) as refbin:
        code = refbin.guild.channel("code")
        await refbin.command(
            "settings auto-paste", user=refbin.owner, options={"channel": code, "enabled": True}
        )
        await refbin.command("settings expiry", user=refbin.owner, options={"default": "3d"})
        await refbin.command("reminders", user=refbin.alice, options={"enabled": True})
        await refbin.api.send_message(code, refbin.alice, LONG_CODE)
        reply = await refbin.api.wait_for_request("POST", f"/channels/{code.id}/messages")
        pasted = await refbin.service.get(id_of(reply.json["embeds"][0]["url"]))
        assert pasted.expires_at is not None
        refbin.clock.now = pasted.expires_at - timedelta(hours=2)

        outcome = await reminder_job(refbin).run_once()

        async with refbin.runtime.db.pool.acquire() as conn:
            marked = await conn.fetchval(
                "SELECT auto_pasted FROM refs WHERE content_id = $1", pasted.content_id
            )
    assert marked is True
    assert outcome[Delivery.SENT] == 0
    assert dms_to(refbin, refbin.alice) == []
