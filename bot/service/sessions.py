"""Web sessions: signing in as a Discord user's owner, finding the account behind a cookie,
renewing, listing and ending sessions.

The cookie's value is a fresh 192-bit token; only its sha256 is stored, so neither a copy of
the table nor a session id opens anything. A session lapses after `server.session_idle` unused;
each use renews it, but at most once every RENEW_EVERY, so reading pages does not write each
time. Signing out deletes the row: a copy of the cookie taken before then opens nothing after.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from bot.db import owners
from bot.db import sessions as sessions_sql
from bot.errors import NotFound
from bot.service.core import Core
from bot.service.tokens import hash_token, new_token

RENEW_EVERY = timedelta(minutes=5)
MAX_TOKEN = 100  # longer than any token we issue: refused without a query
LAPSED_BATCH = 1000  # lapsed sessions removed at each sign-in
SESSION_GONE = "No such session."


@dataclass(frozen=True)
class Account:
    """A signed-in person as every page sees them."""

    owner_id: int
    discord_user_id: int | None
    name: str
    is_admin: bool


@dataclass(frozen=True)
class SignedIn:
    """A new session: the cookie's value (known only now) and whose it is."""

    token: str
    account: Account


@dataclass(frozen=True)
class Resolved:
    """The account behind a session cookie; `renewed`: its expiry was just pushed back."""

    account: Account
    session_id: int
    renewed: bool


@dataclass(frozen=True)
class SessionInfo:
    """One line of the sessions list."""

    session_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    client: str  # "Firefox on Linux"
    network: str  # "203.0.113.0/24"
    current: bool  # the browser asking


class Sessions:
    """Signs owners in and out of the web, one session per browser."""

    def __init__(self, core: Core) -> None:
        self.core = core

    @property
    def idle(self) -> timedelta:
        return self.core.settings.server.session_idle

    async def sign_in(
        self,
        discord_user_id: int,
        name: str,
        *,
        user_agent: str = "",
        address: str = "",
        replacing: str | None = None,
    ) -> SignedIn:
        """A new session for the owner of a Discord user (the same owner the bot uses, made on
        first use); the session `replacing` (the browser's previous cookie) ends."""
        pool = self.core.db.pool
        token = new_token()
        async with pool.acquire() as conn, conn.transaction():
            owner_id = await owners.owner_for_discord_user(conn, discord_user_id, name)
            await sessions_sql.insert_session(
                conn,
                token_hash=hash_token(token),
                owner_id=owner_id,
                idle=self.idle,
                client=client_summary(user_agent),
                network=network_summary(address),
            )
            if replacing:
                await sessions_sql.delete_session_by_hash(conn, hash_token(replacing))
        await sessions_sql.delete_lapsed_sessions(pool, LAPSED_BATCH)
        account = account_of(self.core.settings, owner_id, discord_user_id, name[:200])
        return SignedIn(token=token, account=account)

    async def resolve(self, token: str) -> Resolved | None:
        """The account a session cookie stands for, renewing the session when due; None for
        an unknown, ended or lapsed one. Read from the primary: a session made or ended a
        moment ago is decided as it is now, not as a replica last saw it."""
        if not token or len(token) > MAX_TOKEN:
            return None
        pool = self.core.db.pool
        row = await sessions_sql.fetch_session(pool, hash_token(token))
        if row is None:
            return None
        renewed = row["unseen_for"] >= RENEW_EVERY
        if renewed:
            await sessions_sql.renew_session(pool, row["session_id"], self.idle)
        account = account_of(
            self.core.settings, row["owner_id"], row["discord_user_id"], row["name"]
        )
        return Resolved(account=account, session_id=row["session_id"], renewed=renewed)

    async def sign_out(self, token: str) -> None:
        """End the session of this cookie (nothing happens for one that is already gone)."""
        if token and len(token) <= MAX_TOKEN:
            await sessions_sql.delete_session_by_hash(self.core.db.pool, hash_token(token))

    async def of_owner(self, owner_id: int, current: str | None = None) -> list[SessionInfo]:
        """An owner's live sessions, the most recently used first; `current` marks the
        asking browser's."""
        current_hash = hash_token(current) if current else None
        rows = await sessions_sql.list_sessions(self.core.db.pool, owner_id)
        return [
            SessionInfo(
                session_id=row["session_id"],
                created_at=row["created_at"],
                last_seen_at=row["last_seen_at"],
                expires_at=row["expires_at"],
                client=row["client"],
                network=row["network"],
                current=row["token_hash"] == current_hash,
            )
            for row in rows
        ]

    async def revoke(self, owner_id: int, session_id: int) -> None:
        """End one of the owner's sessions; NotFound for anyone else's (or none)."""
        if not await sessions_sql.delete_session(self.core.db.pool, owner_id, session_id):
            raise NotFound(SESSION_GONE)

    async def revoke_all(self, owner_id: int) -> int:
        """Sign the owner out everywhere; how many sessions ended."""
        return await sessions_sql.delete_sessions_of(self.core.db.pool, owner_id)


def account_of(
    settings: Settings, owner_id: int, discord_user_id: int | None, name: str
) -> Account:
    """The account of an owner; the operators are the Discord users in `server.admins`."""
    is_admin = discord_user_id is not None and discord_user_id in settings.server.admins
    return Account(owner_id, discord_user_id, name, is_admin)


# Browsers name their engines' rivals in their user agents, so the more specific come first.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)
_PRINTABLE = re.compile(r"[^ -~]")


def client_summary(user_agent: str) -> str:
    """'Firefox on Linux': enough to tell one's sessions apart, not a fingerprint."""
    user_agent = _PRINTABLE.sub("", user_agent)
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def network_summary(address: str) -> str:
    """The network an address is in (an IPv4 /24, an IPv6 /48), never the address itself."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
