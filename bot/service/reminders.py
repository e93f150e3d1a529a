"""Expiry reminders: a day before an item runs out, its owner is told once.

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
REMINDER_BATCH = 100

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
    rows = await reminders_sql.claim_due_reminders(db.pool, now, window, limit)
    return [
        Reminder(r["content_id"], r["kind"], r["discord_user_id"], r["expires_at"]) for r in rows
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
    """Claims the reminders due at `clock()` and sends them, a batch at a time."""

    def __init__(
        self,
        source: ReminderSource,
        send: Callable[[Reminder], Awaitable[Delivery]],
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
            for reminder in claimed:
                delivery = await self._deliver(reminder)
                outcome[delivery] += 1
            if len(claimed) < self.batch or outcome[Delivery.RETRY]:
                return outcome

    async def _deliver(self, reminder: Reminder) -> Delivery:
        try:
            delivery = await self.send(reminder)
        except Exception:
            log.exception("reminder for %s failed; will try again", reminder.content_id)
            delivery = Delivery.RETRY
        if delivery is Delivery.RETRY:
            await self.source.release_reminder(reminder.content_id)
        elif delivery is Delivery.UNDELIVERABLE:
            log.info("reminder for %s cannot be delivered; not retried", reminder.content_id)
        return delivery

    async def run_forever(self, interval: float) -> None:
        """Run a round every `interval` seconds until cancelled; a failed round is logged."""
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("reminder round failed; will try again")
            await asyncio.sleep(interval)
