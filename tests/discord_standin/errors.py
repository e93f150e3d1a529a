"""Discord's JSON answers: bodies with its exact Content-Type, and errors in its shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

UNKNOWN_CHANNEL = 10003
UNKNOWN_GUILD = 10004
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
UNKNOWN_WEBHOOK = 10015
UNKNOWN_INTERACTION = 10062
UNKNOWN_APPLICATION_COMMAND = 10063
CANNOT_SEND_EMPTY_MESSAGE = 50006
INVALID_FORM_BODY = 50035
INTERACTION_ALREADY_ACKNOWLEDGED = 40060
REQUEST_ENTITY_TOO_LARGE = 40005
MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer with Content-Type exactly `application/json`, as Discord sends it.

    discord.py compares the header to that string, so aiohttp's default
    `application/json; charset=utf-8` would make it treat every body as text.
    """
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


class DiscordHTTPError(Exception):
    """An error answer in Discord's shape: {"message", "code", "errors"?}."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors

    def to_response(self) -> web.Response:
        return json_response(self.body, status=self.status)


def not_found(code: int, what: str) -> DiscordHTTPError:
    return DiscordHTTPError(404, code, f"Unknown {what}")


def invalid_form(field: str, code: str, message: str) -> DiscordHTTPError:
    """400 Invalid Form Body with one field error, nested as Discord nests them."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(field.split(".")):
        errors = {part: errors}
    return DiscordHTTPError(400, INVALID_FORM_BODY, "Invalid Form Body", errors)


def missing_access() -> DiscordHTTPError:
    """What Discord answers when the bot cannot see the channel (or is not in its guild)."""
    return DiscordHTTPError(403, MISSING_ACCESS, "Missing Access")


def missing_permissions() -> DiscordHTTPError:
    return DiscordHTTPError(403, MISSING_PERMISSIONS, "Missing Permissions")


def unauthorized() -> DiscordHTTPError:
    return DiscordHTTPError(401, 0, "401: Unauthorized")
