"""What the bot may do in a channel, answered with Discord's 403s when it may not."""

from __future__ import annotations

from .errors import missing_access, missing_permissions
from .models import Channel
from .permissions import SEND_MESSAGES, SEND_MESSAGES_IN_THREADS, VIEW_CHANNEL
from .world import DiscordWorld


def require(world: DiscordWorld, channel: Channel, needed: int = 0) -> None:
    """Raise Discord's error unless the bot can view `channel` and has `needed` there.

    Not seeing the channel (or not being in its guild) is 403 Missing Access (50001); seeing it
    without `needed` is 403 Missing Permissions (50013). DMs need nothing.
    """
    permissions = world.bot_permissions(channel)
    if permissions is None:
        return
    if not permissions & VIEW_CHANNEL:
        raise missing_access()
    if permissions & needed != needed:
        raise missing_permissions()


def has(world: DiscordWorld, channel: Channel, needed: int) -> bool:
    """Whether the bot has all of `needed` in `channel` (everything in DMs)."""
    permissions = world.bot_permissions(channel)
    return permissions is None or permissions & needed == needed


def send_permission(channel: Channel) -> int:
    """Sending in a thread takes Send Messages in Threads; elsewhere Send Messages."""
    return SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
