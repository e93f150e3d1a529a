"""Slash command options typed by the synced command's schema, as Discord's client fills them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .commands import SUB_COMMAND, SUB_COMMAND_GROUP
from .guild import Guild
from .models import Channel, Role, User

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
)


@dataclass
class Resolved:
    """The `data.resolved` map: the users, members, roles, channels, attachments options name."""

    guild: Guild | None
    channel_permissions: int
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, kind: str, key: int | str, payload: dict[str, Any]) -> str:
        self.maps.setdefault(kind, {})[str(key)] = payload
        return str(key)

    def user(self, user: User) -> str:
        if self.guild is not None and user.id in self.guild.members:
            member = self.guild.members[user.id].to_payload(with_user=False)
            member["permissions"] = str(self.guild.permissions_for(user))
            self.add("members", user.id, member)
        return self.add("users", user.id, user.to_payload())

    def to_payload(self) -> dict[str, Any]:
        return self.maps


def build_options(
    command: dict[str, Any],
    path: list[str],
    values: Mapping[str, Any],
    resolved: Resolved,
    *,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """`options` for invoking `command` (through the subcommand `path`) with `values`.

    With `focused` (autocomplete) required options may be missing and the focused one carries
    the text typed so far.
    """
    schema: list[dict[str, Any]] = command.get("options") or []
    if path:
        sub = _named(schema, path[0], (SUB_COMMAND, SUB_COMMAND_GROUP), command["name"])
        return [
            {
                "type": sub["type"],
                "name": sub["name"],
                "options": build_options(sub, path[1:], values, resolved, focused=focused),
            }
        ]
    if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema):
        raise ValueError(f"/{command['name']} needs a subcommand (name it as 'parent sub')")
    known = {o["name"]: o for o in schema}
    unknown = set(values) - set(known)
    if unknown:
        raise ValueError(f"/{command['name']} has no option(s) {sorted(unknown)}")
    options = []
    for option in schema:
        if option["name"] not in values:
            if option.get("required") and focused is None:
                raise ValueError(f"/{command['name']} needs option {option['name']!r}")
            continue
        if option["name"] == focused:
            typed = str(values[focused])
            options.append(
                {"type": option["type"], "name": focused, "value": typed, "focused": True}
            )
            continue
        value = _option_value(option, values[option["name"]], resolved)
        options.append({"type": option["type"], "name": option["name"], "value": value})
    return options


def _named(
    options: list[dict[str, Any]], name: str, types: tuple[int, ...], parent: str
) -> dict[str, Any]:
    for option in options:
        if option["name"] == name and option["type"] in types:
            return option
    raise ValueError(f"/{parent} has no subcommand {name!r}")


def _option_value(option: dict[str, Any], value: Any, resolved: Resolved) -> Any:
    kind = option["type"]
    name = option["name"]
    choices = option.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise ValueError(f"option {name!r}: {value!r} is not one of its choices")
    if kind == STRING:
        return str(value)
    if kind in (INTEGER, NUMBER):
        number = int(value) if kind == INTEGER else float(value)
        low, high = option.get("min_value"), option.get("max_value")
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(f"option {name!r}: {number} is outside [{low}, {high}]")
        return number
    if kind == BOOLEAN:
        return bool(value)
    if kind == USER or (kind == MENTIONABLE and isinstance(value, User)):
        return resolved.user(value)
    if kind in (ROLE, MENTIONABLE) and isinstance(value, Role):
        return resolved.add("roles", value.id, value.to_payload())
    if kind == CHANNEL and isinstance(value, Channel):
        payload = value.to_payload()
        payload["permissions"] = str(resolved.channel_permissions)
        return resolved.add("channels", value.id, payload)
    if kind == ATTACHMENT and isinstance(value, dict):
        return resolved.add("attachments", value["id"], value)
    raise ValueError(f"option {name!r} (type {kind}) cannot take {value!r}")
