"""Test helpers for what server admins and Discord itself do: permissions, the bot joining or
being removed, threads archived, locked or deleted, and a slow or failing CDN. Mixed into
DiscordStandin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import threads
from .cdn import CdnBehaviour
from .guild import REQUIRE_TAG, Guild
from .models import TEXT_CHANNEL, Channel, Role, User, iso_now

if TYPE_CHECKING:
    from .world import DiscordWorld

ROLE_OVERWRITE, MEMBER_OVERWRITE = 0, 1


class GuildAdmin:
    """Changes to guilds, channels and threads, announced as Discord announces them."""

    if TYPE_CHECKING:
        world: DiscordWorld

        async def dispatch(self, event: str, data: dict[str, Any]) -> int: ...

        async def dispatch_seen(
            self, channel: Channel, event: str, data: dict[str, Any]
        ) -> int: ...

    # channels and permissions

    async def create_channel(
        self,
        guild: Guild,
        name: str,
        *,
        type: int = TEXT_CHANNEL,
        parent: Channel | None = None,
        tags: tuple[str, ...] = (),
        require_tag: bool = False,
    ) -> Channel:
        """An admin adds a channel (a forum with `type=FORUM_CHANNEL` and `tags`) while the bot
        runs: CHANNEL_CREATE, so discord.py knows it. Before the bot connects, `guild.add_*`."""
        flags = REQUIRE_TAG if require_tag else 0
        channel = guild.add_channel(name, type=type, parent=parent, tags=tags, flags=flags)
        await self.dispatch("CHANNEL_CREATE", channel.to_payload())
        return channel

    def bot_role(self, guild: Guild) -> Role:
        """The bot's managed role in `guild` (made when the guild was)."""
        for role in guild.roles:
            if role.managed and (role.tags or {}).get("bot_id") == str(self.world.bot_user.id):
                return role
        raise LookupError(f"the bot has no role in {guild.name!r}")

    async def set_permissions(
        self, channel: Channel, target: Role | User, *, allow: int = 0, deny: int = 0
    ) -> int:
        """Set `channel`'s overwrite for a role or member (none left when both are 0), and send
        CHANNEL_UPDATE; e.g. `deny=SEND_MESSAGES` on `bot_role(guild)`. How many sessions got it.
        """
        if channel.guild_id is None or channel.is_thread:
            raise ValueError("overwrites belong to guild channels; a thread takes its parent's")
        kind = MEMBER_OVERWRITE if isinstance(target, User) else ROLE_OVERWRITE
        kept = [o for o in channel.permission_overwrites if int(o["id"]) != target.id]
        if allow or deny:
            kept.append(
                {"id": str(target.id), "type": kind, "allow": str(allow), "deny": str(deny)}
            )
        channel.permission_overwrites = kept
        return await self.dispatch("CHANNEL_UPDATE", channel.to_payload())

    async def set_role_permissions(self, guild: Guild, role: Role, permissions: int) -> int:
        """Give `role` exactly `permissions` (GUILD_ROLE_UPDATE)."""
        role.permissions = permissions
        event = {"guild_id": str(guild.id), "role": role.to_payload()}
        return await self.dispatch("GUILD_ROLE_UPDATE", event)

    # the bot joining and leaving

    def bot_in(self, guild: Guild) -> bool:
        return guild.id in self.world.guilds

    async def add_bot_to(self, guild: Guild) -> int:
        """Someone adds the bot to `guild` (made with `joined=False`, or left): GUILD_CREATE
        while it runs, so discord.py fires on_guild_join."""
        if self.bot_in(guild):
            raise ValueError(f"the bot is already in {guild.name!r}")
        self.world.join(guild)
        return await self.dispatch("GUILD_CREATE", self.world.guild_create(guild, joined_now=True))

    async def remove_bot_from(self, guild: Guild) -> int:
        """An admin kicks the bot: GUILD_DELETE (without `unavailable`), on_guild_remove."""
        self.world.leave(guild)
        return await self.dispatch("GUILD_DELETE", {"id": str(guild.id)})

    # threads

    async def update_thread(
        self,
        thread: Channel,
        *,
        name: str | None = None,
        archived: bool | None = None,
        locked: bool | None = None,
        tags: list[str] | None = None,
    ) -> None:
        """Rename, archive, lock or retag a thread (THREAD_UPDATE, if the bot can see it)."""
        state = thread.thread
        if state is None:
            raise ValueError(f"channel {thread.id} is not a thread")
        if name is not None:
            thread.name = name
        if archived is not None and archived != state.archived:
            state.archived = archived
            state.archive_timestamp = iso_now()
        if locked is not None:
            state.locked = locked
        if tags is not None:
            guild = self.world.guild_of(thread)
            parent = self.world.channel(thread.parent_id or 0)
            assert guild is not None and parent is not None
            state.applied_tags = [guild.tag_id(parent, t) for t in tags]
        await self.dispatch_seen(
            thread, "THREAD_UPDATE", threads.thread_payload(self.world, thread)
        )

    async def delete_thread(self, thread: Channel) -> None:
        """Delete a thread and its messages (THREAD_DELETE, if the bot could see it)."""
        seen = self.world.bot_sees(thread)
        threads.discard(self.world, thread)
        if seen:
            await self.dispatch("THREAD_DELETE", threads.thread_delete_payload(thread))

    async def sync_threads(self, guild: Guild, parents: list[Channel] | None = None) -> int:
        """THREAD_LIST_SYNC: the active threads the bot sees now, in `parents` or the guild (as
        Discord sends when the bot gains access to a channel)."""
        payload = threads.thread_list_sync_payload(self.world, guild, parents)
        return await self.dispatch("THREAD_LIST_SYNC", payload)

    # the CDN

    def configure_cdn(
        self,
        attachment: dict[str, Any] | None = None,
        *,
        delay: float = 0.0,
        trickle: float = 0.0,
        status: int | None = None,
    ) -> CdnBehaviour:
        """Make the CDN slow (`delay` before answering, `trickle` before each chunk) or fail
        (`status`, e.g. 404 or 500), for one attachment or, without one, for all."""
        behaviour = CdnBehaviour(delay=delay, trickle=trickle, status=status)
        if attachment is None:
            self.world.attachments.behaviour = behaviour
        else:
            self.world.attachments.per_attachment[int(attachment["id"])] = behaviour
        return behaviour
