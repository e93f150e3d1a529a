"""Typed application keys."""

from __future__ import annotations

from aiohttp import web

from bot.service import ContentService

SERVICE_KEY = web.AppKey("service", ContentService)
