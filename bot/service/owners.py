"""Owners and their API tokens: a Discord user becomes an owner on first use; an API user is an
owner made with a token, which is stored only as a hash, under a name no other live token has."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from bot.db import Database, owners
from bot.errors import Conflict, Invalid, Unavailable
from bot.models import ApiToken
from bot.service.tokens import hash_token, new_token

log = logging.getLogger(__name__)

KNOWN_TOKENS = 10_000  # valid API token hashes remembered for the rate limiter
# How stale a token's "last used" may be: each process writes it at most this often per token,
# not on every request.
LAST_USED_EVERY = 60.0


class Owners:
    """Finds and makes owners, and issues, checks and revokes their API tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Hashes of tokens seen to open an owner, newest last, with when this process last
        # wrote their use down (time.monotonic()).
        self._known_tokens: OrderedDict[bytes, float] = OrderedDict()

    async def owner_for_discord_user(self, user_id: int, name: str) -> int:
        """The owner id of a Discord user, made on first use."""
        return await owners.owner_for_discord_user(self.db.pool, user_id, name)

    async def create_api_token(self, name: str) -> str:
        """A new API token for a new owner called `name`; the token is shown only now. Conflict
        when a live token already has the name (revoke it first, or choose another)."""
        name = name.strip()
        if not 0 < len(name) <= 100:
            raise Invalid("A token name is 1 to 100 characters.")
        token = new_token()
        async with self.db.pool.acquire() as conn, conn.transaction():
            owner_id = await owners.create_owner(conn, name)
            if await owners.insert_api_token(conn, owner_id, name, hash_token(token)) is None:
                # Raised inside the transaction: the owner just made goes with it.
                raise Conflict(
                    f"A token named {name!r} exists; revoke it first or choose another name."
                )
        return token

    async def revoke_api_token(self, name: str) -> int:
        """Revoke every live token with this name; how many were revoked."""
        return await owners.revoke_api_tokens(self.db.pool, name.strip())

    async def list_api_tokens(self) -> list[ApiToken]:
        """Every live token, by name: when it was made and last used, never the token."""
        return await owners.live_api_tokens(self.db.pool)

    async def owner_for_api_token(self, token: str) -> int | None:
        """The owner a bearer token stands for, or None."""
        token_hash = hash_token(token)
        owner_id = await owners.owner_for_token(self.db.read_pool, token_hash)
        if owner_id is not None:
            await self._note_use(token_hash)
        return owner_id

    async def _note_use(self, token_hash: bytes) -> None:
        """Remember the token as valid, and write its use down if it is not recent."""
        known = self._known_tokens
        now = time.monotonic()
        written = known.pop(token_hash, None)
        due = written is None or now - written >= LAST_USED_EVERY
        known[token_hash] = now if due else written  # put back as the newest
        if len(known) > KNOWN_TOKENS:
            known.popitem(last=False)
        if due:
            try:
                await owners.touch_api_token(self.db.pool, token_hash)
            except Unavailable as exc:
                # "Last used" is a hint for the operator: a primary that is down (while a
                # replica answered the lookup) must not fail the request it would describe.
                log.warning("could not note an API token's use: %s", exc)

    def is_known_token(self, token: str) -> bool:
        """Whether this process has seen the token open an owner. The rate limiter counts a
        bearer against its token only then: an invented token must not buy a fresh bucket."""
        return hash_token(token) in self._known_tokens
