"""What a signed-in person manages besides their items: their API tokens; and what the
operators (`server.admins`) see: every owner with their usage, every item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db import accounts, items, owners
from bot.errors import Invalid, NotFound
from bot.models import Item
from bot.service.core import Core
from bot.service.ids import ID_PATTERN
from bot.service.sessions import Account
from bot.service.tokens import hash_token, new_token

PAGE_LIMIT = 100
NO_SUCH_TOKEN = "No such token."  # noqa: S105 - a message, not a secret


@dataclass(frozen=True)
class TokenInfo:
    """One of an owner's live API tokens, by name (the token itself is never kept)."""

    token_id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class OwnerUsage:
    """An owner as the operator sees them: who, since when, and how much they store."""

    owner_id: int
    name: str
    discord_user_id: int | None
    created_at: datetime
    items: int
    bytes: int


@dataclass(frozen=True)
class OwnerPage:
    owners: tuple[OwnerUsage, ...]
    next_cursor: str | None


class Accounts:
    """An owner's API tokens, and the operators' view of every owner and item."""

    def __init__(self, core: Core) -> None:
        self.core = core

    # ---- an owner's API tokens --------------------------------------------------------------

    async def create_token(self, owner_id: int, name: str) -> str:
        """A new API token for this owner, called `name`; the token is shown only now."""
        name = name.strip()
        if not 0 < len(name) <= 100:
            raise Invalid("A token name is 1 to 100 characters.")
        token = new_token()
        await owners.insert_api_token(self.core.db.pool, owner_id, name, hash_token(token))
        return token

    async def tokens(self, owner_id: int) -> list[TokenInfo]:
        """The owner's live tokens, the newest first."""
        rows = await accounts.list_tokens(self.core.db.pool, owner_id)
        return [TokenInfo(row["token_id"], row["name"], row["created_at"]) for row in rows]

    async def revoke_token(self, owner_id: int, token_id: int) -> None:
        """Revoke one of the owner's tokens; NotFound for anyone else's (or none)."""
        if not await accounts.revoke_token(self.core.db.pool, owner_id, token_id):
            raise NotFound(NO_SUCH_TOKEN)

    # ---- the operators' view ----------------------------------------------------------------

    async def owners_page(self, account: Account, cursor: str | None, limit: int = 50) -> OwnerPage:
        """Every owner, the newest first, with their usage; NotFound for a non-operator."""
        require_admin(account)
        before = None
        if cursor:
            if not cursor.isdigit() or len(cursor) > 19:
                raise Invalid("The page cursor is not valid.")
            before = int(cursor)
        limit = max(1, min(limit, PAGE_LIMIT))
        rows = await accounts.list_owners(self.core.db.read_pool, before, limit + 1)
        found = [
            OwnerUsage(
                owner_id=row["owner_id"],
                name=row["name"],
                discord_user_id=row["discord_user_id"],
                created_at=row["created_at"],
                items=row["items"],
                bytes=row["bytes"],
            )
            for row in rows[:limit]
        ]
        next_cursor = str(found[-1].owner_id) if len(rows) > limit else None
        return OwnerPage(owners=tuple(found), next_cursor=next_cursor)

    async def find_item(self, account: Account, content_id: str) -> Item | None:
        """Any item by its id, blocked, expired or used up as well; NotFound for a
        non-operator."""
        require_admin(account)
        if not ID_PATTERN.match(content_id):
            return None
        return await items.fetch_item(self.core.db.pool, content_id)


def require_admin(account: Account | None) -> Account:
    """The account, if it is an operator's; NotFound otherwise: the operators' pages are not
    even confirmed to exist to anyone else."""
    if account is None or not account.is_admin:
        raise NotFound("There is nothing at this address.")
    return account
