"""Expiry reminders: a day before an item runs out, its owner is told once, if they asked.

Reminders are opt-in (/reminders), only for items that were to live at least two days and
that someone made on purpose (never auto-pasted code), and grouped: one DM per person per
round lists all of theirs that are about to expire.

The job claims due reminders through the content service (which marks them sent in the same
statement that selects them, skipping rows another process holds) and only then hands each to
`send`. So a reminder goes out at most once, across restarts and several bot processes. When
sending fails:

- for good (the owner closed their DMs, left every server with the bot, deleted their account):
  it stays marked and is not tried again; the owner still sees the expiry in /mine;
- for now (Discord answered 5xx, the network failed): the claim is released and the next round
  tries again; if Discord did deliver before failing, the owner may get it twice, which is
  better than never.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.db import Database
from bot.db import reminders as reminders_sql
from bot.models import Kind

log = logging.getLogger(__name__)

REMINDER_WINDOW = timedelta(days=1)
REMINDER_MIN_LIFE = timedelta(days=2)  # shorter-lived items were meant to go
REMINDER_BATCH = 100
REMINDERS_PER_MESSAGE = 25  # Discord's limit of buttons on one message

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Reminder:
    """An owner to tell that their item expires soon."""

    content_id: str
    kind: Kind
    discord_user_id: int
    expires_at: datetime


async def set_reminders(db: Database, owner_id: int, enabled: bool) -> None:
    """Turn an owner's expiry reminders on or off."""
    await reminders_sql.set_owner_reminders(db.pool, owner_id, enabled)


async def claim_due_reminders(
    db: Database, now: datetime, window: timedelta, limit: int
) -> list[Reminder]:
    """Reminders for items expiring within `window` after `now`, each claimed (marked sent)
    before it is returned, so no other process or later round returns it again."""
    rows = await reminders_sql.claim_due_reminders(db.pool, now, window, limit, REMINDER_MIN_LIFE)
    return [
        Reminder(r["content_id"], r["kind"], r["discord_user_id"], r["expires_at"]) for r in rows
    ]


async def mark_auto_pasted(db: Database, content_id: str) -> None:
    """Record that the bot pasted this item from chat by itself: it is never reminded."""
    await reminders_sql.mark_auto_pasted(db.pool, content_id)


def group_by_person(reminders: list[Reminder]) -> list[list[Reminder]]:
    """One group per person, soonest first, each at most a message's worth."""
    people: dict[int, list[Reminder]] = {}
    for reminder in sorted(reminders, key=lambda r: r.expires_at):  # soonest first
        people.setdefault(reminder.discord_user_id, []).append(reminder)
    return [
        group[start : start + REMINDERS_PER_MESSAGE]
        for group in people.values()
        for start in range(0, len(group), REMINDERS_PER_MESSAGE)
    ]


async def release_reminder(db: Database, content_id: str) -> None:
    """A claimed reminder could not be sent for now: make it due again."""
    await reminders_sql.release_reminder(db.pool, content_id)


class Delivery(enum.Enum):
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"  # never try again
    RETRY = "retry"  # release the claim: the next round tries again


class ReminderSource(Protocol):
    async def claim_due_reminders(
        self, now: datetime, *, window: timedelta = ..., limit: int = ...
    ) -> list[Reminder]: ...

    async def release_reminder(self, content_id: str) -> None: ...


class ReminderJob:
    """Claims the reminders due at `clock()` and sends them, one message per person."""

    def __init__(
        self,
        source: ReminderSource,
        send: Callable[[list[Reminder]], Awaitable[Delivery]],
        clock: Clock,
        *,
        window: timedelta = REMINDER_WINDOW,
        batch: int = REMINDER_BATCH,
    ) -> None:
        self.source = source
        self.send = send
        self.clock = clock
        self.window = window
        self.batch = batch

    async def run_once(self) -> dict[Delivery, int]:
        """Send every reminder due now; how many were sent, undeliverable, or left to retry."""
        outcome = dict.fromkeys(Delivery, 0)
        while True:
            claimed = await self.source.claim_due_reminders(
                self.clock(), window=self.window, limit=self.batch
            )
            for group in group_by_person(claimed):
                delivery = await self._deliver(group)
                outcome[delivery] += len(group)
            if len(claimed) < self.batch or outcome[Delivery.RETRY]:
                return outcome

    async def _deliver(self, group: list[Reminder]) -> Delivery:
        ids = ", ".join(r.content_id for r in group)
        try:
            delivery = await self.send(group)
        except Exception:
            log.exception("reminders for %s failed; will try again", ids)
            delivery = Delivery.RETRY
        if delivery is Delivery.RETRY:
            for reminder in group:
                await self.source.release_reminder(reminder.content_id)
        elif delivery is Delivery.UNDELIVERABLE:
            log.info("reminders for %s cannot be delivered; not retried", ids)
        return delivery

    async def run_forever(self, interval: float) -> None:
        """Run a round every `interval` seconds until cancelled; a failed round is logged."""
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("reminder round failed; will try again")
            await asyncio.sleep(interval)
