"""Who is asking: a visitor to count, or a link-preview fetcher or crawler that is not one."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import web

from bot.models import Visit

# Link-preview fetchers and crawlers: they see items but are not visitors.
BOT_AGENTS = re.compile(
    r"discordbot|slackbot|twitterbot|facebookexternalhit|telegrambot|whatsapp|linkedinbot"
    r"|skypeuripreview|mastodon|pleroma|embedly|redditbot|googlebot|bingbot|applebot"
    r"|bot\b|crawler|spider|preview",
    re.IGNORECASE,
)


def visit_of(request: web.Request) -> Visit | None:
    """The visit to count, or None for link-preview fetchers and crawlers."""
    agent = request.headers.get("User-Agent", "")
    if BOT_AGENTS.search(agent):
        return None
    referrer = urlsplit(request.headers.get("Referer", "")).hostname or ""
    return Visit(referrer=referrer.lower())
