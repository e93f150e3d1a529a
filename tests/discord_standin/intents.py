"""Gateway intents: which events a session receives, and what MESSAGE_CONTENT withholds."""

from __future__ import annotations

from typing import Any

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# application flags that say the privileged intents are enabled (for an unverified bot)
GATEWAY_PRESENCE_LIMITED = 1 << 13
GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
APPLICATION_COMMAND_BADGE = 1 << 23

MESSAGE_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"})
MEMBER_EVENTS = frozenset({"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"})


def application_flags(privileged_allowed: int) -> int:
    """The application's flags as READY and /oauth2/applications/@me report them."""
    flags = APPLICATION_COMMAND_BADGE
    if privileged_allowed & GUILD_PRESENCES:
        flags |= GATEWAY_PRESENCE_LIMITED
    if privileged_allowed & GUILD_MEMBERS:
        flags |= GATEWAY_GUILD_MEMBERS_LIMITED
    if privileged_allowed & MESSAGE_CONTENT:
        flags |= GATEWAY_MESSAGE_CONTENT_LIMITED
    return flags


def shape_for_intents(
    event: str, data: dict[str, Any], *, intents: int, bot_id: int
) -> dict[str, Any] | None:
    """The event as a session with `intents` receives it, or None when it is not sent at all."""
    if event in MESSAGE_EVENTS:
        needed = GUILD_MESSAGES if data.get("guild_id") else DIRECT_MESSAGES
        if not intents & needed:
            return None
        if event != "MESSAGE_DELETE" and not intents & MESSAGE_CONTENT:
            return data if _content_visible(data, bot_id) else _without_content(data)
    if event in MEMBER_EVENTS and not intents & GUILD_MEMBERS:
        return None
    if event == "GUILD_CREATE" and not intents & GUILD_MEMBERS:
        # without the intent, GUILD_CREATE lists only the bot itself among the members
        own = [m for m in data.get("members", []) if m["user"]["id"] == str(bot_id)]
        return data | {"members": own}
    return data


def _content_visible(message: dict[str, Any], bot_id: int) -> bool:
    """Without MESSAGE_CONTENT a bot still sees DMs, its own messages and ones mentioning it."""
    if not message.get("guild_id"):
        return True
    if message.get("author", {}).get("id") == str(bot_id):
        return True
    return any(m.get("id") == str(bot_id) for m in message.get("mentions", []))


def _without_content(message: dict[str, Any]) -> dict[str, Any]:
    stripped = {k: v for k, v in message.items() if k != "poll"}
    stripped.update(content="", embeds=[], attachments=[], components=[])
    return stripped
