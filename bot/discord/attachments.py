"""Discord attachments streamed from Discord's CDN into refbin, never whole in memory."""

from __future__ import annotations

import aiohttp
import discord

from bot.discord.caller import Caller
from bot.errors import Forbidden, TooLarge, Unavailable
from bot.models import Created, ItemOptions
from bot.service import ContentService
from bot.units import format_size

CHUNK_SIZE = 256 * 1024


def check_size(attachment: discord.Attachment, limit: int) -> None:
    """TooLarge when the size Discord reports for an attachment is over `limit`, so a file
    too large is refused before a byte of it is downloaded."""
    if attachment.size > limit:
        raise TooLarge(
            f"{attachment.filename} is {format_size(attachment.size)}: over the upload "
            f"limit of {format_size(limit)}."
        )


async def store_attachment(
    service: ContentService,
    session: aiohttp.ClientSession,
    attachment: discord.Attachment,
    caller: Caller,
    options: ItemOptions,
) -> Created:
    """Stream one attachment into storage as an image or file item of the caller's.

    The size Discord reports is checked first, and the stream is cut off at the limit too.
    """
    limit = caller.upload_limit(service.settings.limits.upload)
    check_size(attachment, limit)
    if caller.guild is not None and not {"image", "file"} & set(caller.guild.allowed_kinds):
        caller.guild.check_kind("file")
    try:
        async with session.get(attachment.url) as response:
            if response.status != 200:
                raise Unavailable(f"Discord did not hand over {attachment.filename}; try again.")
            created = await service.add_upload(
                response.content.iter_chunked(CHUNK_SIZE),
                filename=attachment.filename,
                options=options,
                max_size=limit,
            )
    except (aiohttp.ClientError, TimeoutError):
        raise Unavailable(f"Downloading {attachment.filename} from Discord failed.") from None
    return await _within_guild_kinds(service, caller, created)


async def _within_guild_kinds(service: ContentService, caller: Caller, created: Created) -> Created:
    """Images and files are told apart by their bytes, so a server that allows only one of
    them is checked after storing; a refused new item is removed again."""
    try:
        if caller.guild is not None:
            caller.guild.check_kind(created.item.kind)
    except Forbidden:
        if created.created:
            await service.delete(created.item.content_id, owner_id=caller.owner_id)
        raise
    return created
