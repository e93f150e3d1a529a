"""How items look in Discord: embeds, previews and safe code blocks.

Everything a user typed or uploaded (a filename, a link, a paste) is escaped before it goes
into Markdown, and code blocks cannot be closed early by backticks in the content. Mentions
never ping anyway (the bot sends every message with no allowed mentions); escaping them also
keeps them from rendering as pings.
"""

from __future__ import annotations

import re
from datetime import datetime

import discord

from bot.models import KIND_PLURALS, KIND_TITLES, Created, Item, Stats
from bot.service.guilds import GuildSettings
from bot.service.links import link_host
from bot.units import format_duration, format_size

COLOUR = discord.Colour(0x3B82F6)
PREVIEW_LINES = 12
PREVIEW_CHARS = 1000
_LANGUAGE_TAG = re.compile(r"^[A-Za-z0-9_+#-]{1,20}$")
_ZERO_WIDTH_SPACE = "\u200b"


def escape(text: str) -> str:
    """User text made inert in Discord Markdown: no formatting, no mentions."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def code_block(text: str, language: str | None = None) -> str:
    """A fenced code block that `text` cannot break out of, in `language` when it is a tag
    Discord's highlighter could know."""
    tag = language if language and _LANGUAGE_TAG.match(language) and language != "text" else ""
    # No run of three backticks survives, so the content cannot close the fence.
    body = text.replace("``", "`" + _ZERO_WIDTH_SPACE + "`")
    return f"```{tag}\n{body.rstrip()}\n```"


def preview(text: str, lines: int = PREVIEW_LINES, chars: int = PREVIEW_CHARS) -> str:
    """The first lines of a paste, short enough for an embed, marked when cut."""
    head = text.splitlines()[:lines]
    shown = "\n".join(head)
    cut = len(head) < len(text.splitlines()) or len(shown) > chars
    shown = shown[:chars]
    return shown + ("\n…" if cut else "")


def when(moment: datetime | None) -> str:
    """A Discord timestamp (shown in each reader's time zone), or 'never'."""
    if moment is None:
        return "never"
    stamp = int(moment.timestamp())
    return f"<t:{stamp}:f> (<t:{stamp}:R>)"


def describe(item: Item) -> str:
    """One line on what the item holds: the link's host, the paste's language, the file."""
    if item.kind == "url":
        return f"Link to **{escape(link_host(item.target or ''))}**"
    size = "size not shown" if item.size is None else format_size(item.size)
    name = f"**{escape(item.filename)}**, " if item.filename else ""
    if item.kind == "text":
        return f"{name}{item.language or 'text'}, {item.line_count or 0} lines, {size}"
    if item.kind == "image":
        return f"{name}{item.width}×{item.height} image, {size}"
    return f"{name}{escape(item.media_type or 'file')}, {size}"


def created_embed(
    created: Created, *, text: str | None = None, thumb_url: str | None = None
) -> discord.Embed:
    """The answer to a new item: its short link first, what it is, when it expires."""
    item = created.item
    embed = discord.Embed(
        title=KIND_TITLES[item.kind], url=created.url, colour=COLOUR, description=created.url
    )
    embed.add_field(name="What", value=describe(item), inline=False)
    embed.add_field(name="Expires", value=when(item.expires_at), inline=True)
    if item.max_views is not None:
        embed.add_field(name="Views allowed", value=f"{item.max_views:,}", inline=True)
    if item.visibility != "public":
        embed.add_field(name="Visibility", value=item.visibility, inline=True)
    if text is not None:
        embed.add_field(
            name="Preview", value=code_block(preview(text), item.language)[:1024], inline=False
        )
    if thumb_url is not None:
        embed.set_image(url=thumb_url)
    if not created.created:
        embed.set_footer(text="You had stored this already: same link as before.")
    return embed


def info_embed(item: Item, url: str, stats: Stats | None = None) -> discord.Embed:
    """/info: kind, target or size, created, expires, views; visits for the owner."""
    embed = discord.Embed(title=KIND_TITLES[item.kind], url=url, colour=COLOUR, description=url)
    if item.kind == "url" and item.has_password:
        embed.add_field(name="What", value="A link protected by a password", inline=False)
    elif item.kind == "url" and item.target is None:  # view-limited: the target is its content
        embed.add_field(
            name="What", value="A link that opens a limited number of times", inline=False
        )
    elif item.kind == "url":
        embed.add_field(name="Target", value=escape(item.target or "")[:1024], inline=False)
    else:
        embed.add_field(name="What", value=describe(item), inline=False)
    embed.add_field(name="Created", value=when(item.created_at), inline=True)
    embed.add_field(name="Expires", value=when(item.expires_at), inline=True)
    views = f"{item.views:,}" + (f" of {item.max_views:,}" if item.max_views else "")
    embed.add_field(name="Views", value=views, inline=True)
    if stats is not None:
        days = "\n".join(f"{day:%Y-%m-%d}: {count:,}" for day, count in stats.per_day[-7:])
        embed.add_field(name="Last visits", value=days or "none yet", inline=True)
        referrers = "\n".join(
            f"{escape(host or '(direct)')}: {count:,}" for host, count in stats.referrers[:5]
        )
        embed.add_field(name="Top referrers", value=referrers or "none yet", inline=True)
    return embed


def mine_line(number: int, item: Item, url: str) -> str:
    """One entry of /mine."""
    return f"**{number}.** {url}\n{describe(item)} · expires {when(item.expires_at)}"


def settings_embed(settings: GuildSettings, *, instance_upload_limit: int) -> discord.Embed:
    """/settings: the server's settings as they are now."""
    embed = discord.Embed(title="refbin settings for this server", colour=COLOUR)
    channels = " ".join(f"<#{c}>" for c in settings.auto_paste_channels) or "off"
    auto = f"{channels}\nfrom {settings.auto_paste_min_lines} lines"
    if settings.auto_paste_delete:
        auto += ", offering to remove the original"
    embed.add_field(name="Auto-paste", value=auto, inline=False)
    expiry = format_duration(settings.default_expiry) if settings.default_expiry else "none"
    embed.add_field(name="Default expiry", value=expiry, inline=True)
    kinds = ", ".join(KIND_PLURALS[k] for k in settings.allowed_kinds)
    embed.add_field(name="Members may store", value=kinds, inline=True)
    limit = settings.upload_limit_within(instance_upload_limit)
    embed.add_field(name="Upload limit", value=format_size(limit), inline=True)
    return embed
