"""A stand-in for Discord (REST API, gateway, CDN) on loopback, for tests of real discord.py.

Start it with `async with DiscordStandin() as discord_api:` (or the `discord_api` fixture in
`tests.discord_standin.fixtures`), build guilds and users, run the bot with
`discord_api.running(bot)`, act as users (slash commands, buttons, modals, messages) and await
what the bot sent back (`wait_for_callback`, `wait_for_request`).

The world, before or while the bot runs:
- `create_guild(..., joined=False)` makes a server the bot is not in yet; `add_bot_to(guild)`
  adds it (GUILD_CREATE, on_guild_join), `remove_bot_from(guild)` kicks it (GUILD_DELETE); the
  bot's own `guild.leave()` is recorded as DELETE /users/@me/guilds/{id}; `bot_in(guild)`.
- `guild.add_category`, `guild.add_forum(name, parent=, tags=, require_tag=)` before the bot
  connects; `create_channel(guild, name, type=FORUM_CHANNEL, ...)` while it runs.
- `set_permissions(channel, role_or_user, allow=, deny=)` (CHANNEL_UPDATE) and
  `set_role_permissions(guild, role, permissions)` (GUILD_ROLE_UPDATE), e.g. on
  `bot_role(guild)`: REST then answers Discord's 403s (50001 Missing Access without View
  Channel, 50013 Missing Permissions; an empty history without Read Message History), and no
  events come from channels the bot cannot see.
- `add_attachment(name, data, channel=)`: bytes on the CDN; text types get `; charset=utf-8`,
  `cdn.NO_CONTENT_TYPE` leaves the type out. `configure_cdn(attachment, delay=, trickle=,
  status=)` makes one attachment (or all) slow or failing (404, 500).

People in chat (`chat.ChatActions`): `send_message`, `send_long_message` (a `message.txt`
attachment, as Discord's client sends long text), `edit_message` (MESSAGE_UPDATE),
`delete_message`, `create_thread(channel, owner, name, private=, message=)`,
`create_forum_post(forum, author, title, content, attachments=, tags=)` (THREAD_CREATE, then
MESSAGE_CREATE of the starter message, which shares the thread's id), `add_to_thread`; in DMs,
`send_message(dm_channel(user), user, ...)` and `slash_command(..., channel=dm_channel(user))`.
Threads change with `update_thread` (archive, lock, retag), `delete_thread`, `sync_threads`.

What the bot did: `message(id)`, `messages_in(channel)`, `components_of(message)` (after its
edits, e.g. buttons removed on timeout), `dms_to(user)` and `wait_for_dm(user)` (what the user
received), `find_requests`, `requests`.
"""

from __future__ import annotations

from .guild import Guild
from .models import Channel, Member, Role, User
from .records import GatewayFrame, InteractionCallback, RecordedFile, RecordedRequest
from .server import DiscordStandin

__all__ = [
    "Channel",
    "DiscordStandin",
    "GatewayFrame",
    "Guild",
    "InteractionCallback",
    "Member",
    "RecordedFile",
    "RecordedRequest",
    "Role",
    "User",
]
