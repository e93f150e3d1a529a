"""Owners and their API tokens: a Discord user becomes an owner on first use; an API user is an
owner made with a token, which is stored only as a hash."""

from __future__ import annotations

from collections import OrderedDict

from bot.db import Database, owners
from bot.errors import Invalid
from bot.service.tokens import hash_token, new_token

KNOWN_TOKENS = 10_000  # valid API token hashes remembered for the rate limiter


class Owners:
    """Finds and makes owners, and issues, checks and revokes their API tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._known_tokens: OrderedDict[bytes, None] = OrderedDict()  # hashes, newest last

    async def owner_for_discord_user(self, user_id: int, name: str) -> int:
        """The owner id of a Discord user, made on first use."""
        return await owners.owner_for_discord_user(self.db.pool, user_id, name)

    async def create_api_token(self, name: str) -> str:
        """A new API token for a new owner called `name`; the token is shown only now."""
        name = name.strip()
        if not 0 < len(name) <= 100:
            raise Invalid("A token name is 1 to 100 characters.")
        token = new_token()
        async with self.db.pool.acquire() as conn, conn.transaction():
            owner_id = await owners.create_owner(conn, name)
            await owners.insert_api_token(conn, owner_id, name, hash_token(token))
        return token

    async def revoke_api_token(self, name: str) -> int:
        """Revoke every live token with this name; how many were revoked."""
        return await owners.revoke_api_tokens(self.db.pool, name)

    async def owner_for_api_token(self, token: str) -> int | None:
        """The owner a bearer token stands for, or None."""
        token_hash = hash_token(token)
        owner_id = await owners.owner_for_token(self.db.read_pool, token_hash)
        if owner_id is not None:
            self._known_tokens[token_hash] = None
            self._known_tokens.move_to_end(token_hash)
            if len(self._known_tokens) > KNOWN_TOKENS:
                self._known_tokens.popitem(last=False)
        return owner_id

    def is_known_token(self, token: str) -> bool:
        """Whether this process has seen the token open an owner. The rate limiter counts a
        bearer against its token only then: an invented token must not buy a fresh bucket."""
        return hash_token(token) in self._known_tokens
