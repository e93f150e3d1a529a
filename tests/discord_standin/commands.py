"""Application commands as Discord stores them: per scope (global or a guild), with stable ids."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .errors import invalid_form
from .snowflakes import SnowflakeFactory

CHAT_INPUT = 1
USER = 2
MESSAGE = 3
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2

CHAT_INPUT_NAME = re.compile(r"^[-_'\w]{1,32}$")

Scope = int | None  # a guild id, or None for global commands


class CommandRegistry:
    """What the bot synced. Ids stay the same when a command with the same name is re-synced."""

    def __init__(self, snowflakes: SnowflakeFactory, application_id: int) -> None:
        self._snowflakes = snowflakes
        self._application_id = application_id
        self._commands: dict[Scope, dict[tuple[str, int], dict[str, Any]]] = {}

    def list(self, scope: Scope) -> list[dict[str, Any]]:
        return list(self._commands.get(scope, {}).values())

    def replace(self, scope: Scope, payloads: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bulk overwrite (PUT): the scope holds exactly these commands afterwards."""
        previous = self._commands.get(scope, {})
        stored = [self._stored(scope, p, previous) for p in payloads]
        self._commands[scope] = {(c["name"], c["type"]): c for c in stored}
        return stored

    def upsert(self, scope: Scope, payload: dict[str, Any]) -> dict[str, Any]:
        """Create or replace one command (POST)."""
        commands = self._commands.setdefault(scope, {})
        command = self._stored(scope, payload, commands)
        commands[(command["name"], command["type"])] = command
        return command

    def find(self, name: str, command_type: int, guild_id: int | None) -> dict[str, Any] | None:
        """The command a user would pick in `guild_id`: the guild's own first, then global."""
        for scope in (guild_id, None) if guild_id is not None else (None,):
            command = self._commands.get(scope, {}).get((name, command_type))
            if command is not None:
                return command
        return None

    def _stored(
        self,
        scope: Scope,
        payload: dict[str, Any],
        previous: dict[tuple[str, int], dict[str, Any]],
    ) -> dict[str, Any]:
        command_type = payload.get("type", CHAT_INPUT)
        _validate(payload, command_type)
        old = previous.get((payload["name"], command_type))
        command = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            "integration_types": [0],
            "contexts": None,
            **payload,
            "id": old["id"] if old else str(self._snowflakes.next()),
            "application_id": str(self._application_id),
            "type": command_type,
            "version": str(self._snowflakes.next()),
        }
        if scope is not None:
            command["guild_id"] = str(scope)
        return command


def _validate(payload: dict[str, Any], command_type: int) -> None:
    """Discord's sync-time checks that catch real mistakes (names, descriptions, option order)."""
    name = payload.get("name", "")
    if command_type == CHAT_INPUT:
        if not CHAT_INPUT_NAME.match(name) or name != name.lower():
            raise invalid_form("name", "APPLICATION_COMMAND_INVALID_NAME", f"Invalid name {name!r}")
        if not 1 <= len(payload.get("description", "")) <= 100:
            raise invalid_form(
                "description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        _validate_options(payload.get("options") or [], "options")
    elif not 1 <= len(name) <= 32:
        raise invalid_form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")


def _validate_options(options: list[dict[str, Any]], where: str) -> None:
    if len(options) > 25:
        raise invalid_form(where, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    for index, option in enumerate(options):
        if option["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _validate_options(option.get("options") or [], f"{where}.{index}.options")
            continue
        if option.get("required"):
            if seen_optional:
                raise invalid_form(
                    f"{where}.{index}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True
