"""Typed application keys."""

from __future__ import annotations

from aiohttp import web

from bot.runtime import Runtime
from bot.service import ContentService

RUNTIME_KEY = web.AppKey("runtime", Runtime)
SERVICE_KEY = web.AppKey("service", ContentService)
