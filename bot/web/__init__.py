"""The web side: aiohttp handlers that parse, call the content service, and answer."""

from bot.web.app import create_app

__all__ = ["create_app"]
