"""Expiry reminders on a controlled clock: sent once, by DM, with a working "Extend 7 days"."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.models import Item, ItemOptions
from bot.service.reminders import Delivery, ReminderJob
from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
)
from tests.discord_standin import User


async def item_expiring(
    refbin: RefbinDiscord, user: User, expires_in: timedelta, *, opted_in: bool = True
) -> Item:
    """An item of `user`'s, made to live three days, that expires `expires_in` after the
    clock's time (moved forward to match: reminders are only for items kept two days)."""
    owner_id = await refbin.service.owner_for_discord_user(user.id, user.username)
    if opted_in:
        await refbin.service.set_reminders(owner_id, True)
    options = ItemOptions(owner_id=owner_id, expires_in=timedelta(days=3))
    url = f"https://example.com/{user.id}/{expires_in.total_seconds()}"
    created = await refbin.service.add_link(url, options=options)
    assert created.item.expires_at is not None
    refbin.clock.now = max(refbin.clock.now, created.item.expires_at - expires_in)
    return created.item


def reminder_job(refbin: RefbinDiscord) -> ReminderJob:
    cog = refbin.bot.get_cog("Reminders")
    assert cog is not None
    return cog.job  # type: ignore[attr-defined]


def dms_to(refbin: RefbinDiscord, user: User) -> list[dict]:
    return refbin.api.messages_in(refbin.api.dm_channel(user))


async def test_a_reminder_is_sent_once_a_day_before_expiry(refbin: RefbinDiscord) -> None:
    item = await item_expiring(refbin, refbin.alice, timedelta(days=3))
    job = reminder_job(refbin)

    early = await job.run_once()
    refbin.clock.advance(timedelta(days=2, hours=1))
    due = await job.run_once()
    again = await job.run_once()

    assert early[Delivery.SENT] == 0
    assert due[Delivery.SENT] == 1
    assert again[Delivery.SENT] == 0
    [dm] = dms_to(refbin, refbin.alice)
    [embed] = dm["embeds"]
    assert refbin.service.url_for(item.content_id) in embed["description"]
    assert "expires" in embed["description"]
    labels = [c["label"] for row in dm["components"] for c in row["components"]]
    assert labels == ["Extend 7 days"]


async def test_several_processes_racing_send_each_reminder_once(refbin: RefbinDiscord) -> None:
    for user in (refbin.alice, refbin.bob):
        await item_expiring(refbin, user, timedelta(hours=12))
    job = reminder_job(refbin)
    # another bot process: its own job, on the same database
    other = ReminderJob(refbin.service, job.send, refbin.clock)

    outcomes = await asyncio.gather(*(j.run_once() for j in (job, other, job, other)))

    assert sum(o[Delivery.SENT] for o in outcomes) == 2
    assert len(dms_to(refbin, refbin.alice)) == 1
    assert len(dms_to(refbin, refbin.bob)) == 1


async def test_extend_pushes_the_expiry_back_and_reminds_again_later(
    refbin: RefbinDiscord,
) -> None:
    item = await item_expiring(refbin, refbin.alice, timedelta(hours=20))
    job = reminder_job(refbin)
    await job.run_once()
    [dm] = dms_to(refbin, refbin.alice)

    click = await refbin.api.click_button(dm, user=refbin.alice, label="Extend 7 days")
    extended = await refbin.answer_to(click)

    assert extended.type == 6
    assert extended.data["embeds"][0]["title"] == "Extended"
    assert extended.data["components"] == []
    after = await refbin.service.get(item.content_id)
    assert item.expires_at is not None and after.expires_at == item.expires_at + timedelta(days=7)
    refbin.clock.advance(timedelta(days=7))
    await job.run_once()
    assert len(dms_to(refbin, refbin.alice)) == 2


async def test_only_the_owner_can_extend(refbin: RefbinDiscord) -> None:
    item = await item_expiring(refbin, refbin.alice, timedelta(hours=20))
    bobs_item = await item_expiring(refbin, refbin.bob, timedelta(hours=20))
    await reminder_job(refbin).run_once()
    [bobs_dm] = dms_to(refbin, refbin.bob)
    # alice cannot press a button in bob's DMs; a forged click on her own DM with bob's id
    forged = dict(bobs_dm, channel_id=str(refbin.api.dm_channel(refbin.alice).id))

    click = await refbin.api.click_button(forged, user=refbin.alice, label="Extend 7 days")
    answer = await refbin.answer_to(click)

    assert answer.ephemeral and answer.content == "No such item, or it is not yours."
    assert (await refbin.service.get(bobs_item.content_id)).expires_at == bobs_item.expires_at
    assert (await refbin.service.get(item.content_id)).expires_at == item.expires_at


async def test_owners_can_turn_reminders_off(refbin: RefbinDiscord) -> None:
    await item_expiring(refbin, refbin.alice, timedelta(hours=5))

    answer = await refbin.command("reminders", user=refbin.alice, options={"enabled": False})
    outcome = await reminder_job(refbin).run_once()

    assert answer.ephemeral and answer.content == "Expiry reminders are off."
    assert outcome[Delivery.SENT] == 0
    assert dms_to(refbin, refbin.alice) == []


async def test_closed_dms_are_not_retried(refbin: RefbinDiscord) -> None:
    carol = refbin.api.create_user("carol")
    carol.dms_open = False
    item = await item_expiring(refbin, carol, timedelta(hours=5))
    job = reminder_job(refbin)

    first = await job.run_once()
    second = await job.run_once()

    assert first[Delivery.UNDELIVERABLE] == 1
    assert second == dict.fromkeys(Delivery, 0)
    async with refbin.runtime.db.pool.acquire() as conn:
        reminded = await conn.fetchval(
            "SELECT reminded_at FROM refs WHERE content_id = $1", item.content_id
        )
    assert reminded is not None


async def test_a_failure_that_may_pass_releases_the_claim(refbin: RefbinDiscord) -> None:
    await item_expiring(refbin, refbin.alice, timedelta(hours=5))
    attempts: list[str] = []

    async def flaky(reminders):
        attempts.append(reminders[0].content_id)
        return Delivery.RETRY if len(attempts) == 1 else Delivery.SENT

    job = ReminderJob(refbin.service, flaky, refbin.clock)
    first = await job.run_once()
    second = await job.run_once()

    assert (first[Delivery.RETRY], second[Delivery.SENT]) == (1, 1)
    assert attempts[0] == attempts[1]


async def test_a_rate_limited_dm_waits_for_retry_after_and_is_delivered(
    refbin: RefbinDiscord,
) -> None:
    await item_expiring(refbin, refbin.alice, timedelta(hours=5))
    dm_path = f"/channels/{refbin.api.dm_channel(refbin.alice).id}/messages"
    refbin.api.rate_limit("POST", dm_path, retry_after=0.3)

    outcome = await reminder_job(refbin).run_once()

    assert outcome[Delivery.SENT] == 1
    limited, accepted = refbin.api.find_requests("POST", dm_path)
    assert (limited.status, accepted.status) == (429, 200)
    assert accepted.at - limited.at >= 0.3
    assert len(dms_to(refbin, refbin.alice)) == 1
