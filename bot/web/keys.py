"""Typed application keys."""

from __future__ import annotations

from aiohttp import web

from bot.service import ContentService

SERVICE_KEY = web.AppKey("service", ContentService)


def service_of(request: web.Request) -> ContentService:
    """The content service the request's app is in front of."""
    return request.app[SERVICE_KEY]
