"""Gateway payloads shaped like Discord's for what users do: messages, commands, components,
modals."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from .commands import CHAT_INPUT, MESSAGE, USER
from .messages import DEFAULT_UPLOAD_LIMIT
from .modals import submitted_components
from .models import Channel, User
from .options import Resolved, build_options
from .permissions import EVERYONE_DEFAULT, USE_APPLICATION_COMMANDS, VIEW_CHANNEL
from .records import InteractionCallback
from .world import DiscordWorld

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
BUTTON, STRING_SELECT = 2, 3
GUILD_CONTEXT, BOT_DM_CONTEXT = 0, 1
MAX_CONTENT_TYPED = 4000  # what a Nitro user can type; longer text becomes message.txt


class PayloadBuilder:
    """Builds the event payloads Discord would send for a user's action."""

    def __init__(self, world: DiscordWorld) -> None:
        self.world = world

    def message_create(
        self,
        channel: Channel,
        author: User,
        content: str = "",
        *,
        attachments: Iterable[dict[str, Any]] = (),
        embeds: Iterable[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """MESSAGE_CREATE for `author` posting in `channel` (the message is stored too)."""
        if len(content) > MAX_CONTENT_TYPED:
            raise ValueError(
                f"Discord's client turns text over {MAX_CONTENT_TYPED} characters into a "
                "message.txt attachment; use send_long_message"
            )
        guild = self.world.guild_of(channel)
        if guild is not None:
            guild.member(author)
        elif author is not channel.recipient:
            raise ValueError(f"{author.username} is not in DM channel {channel.id}")
        message = self.world.messages.create(
            channel=channel,
            author=author,
            content=content,
            attachments=list(attachments),
            embeds=list(embeds),
        )
        return self.world.message_event(message)

    def slash_command(
        self,
        name: str,
        *,
        user: User,
        channel: Channel,
        options: Mapping[str, Any] | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """`/name` (or "group sub" for subcommands) with option values by name.

        Values are typed by the synced command's schema: str/int/float/bool, a User, Channel or
        Role, or an attachment payload from `add_attachment`.
        """
        words = name.split()
        command = self._command(words[0], CHAT_INPUT, user, channel)
        guild = self.world.guild_of(channel)
        permissions = guild.permissions_for(user, channel) if guild else EVERYONE_DEFAULT
        resolved = Resolved(guild, channel_permissions=permissions)
        data = self._command_data(command)
        data["options"] = build_options(command, words[1:], options or {}, resolved)
        if resolved.maps:
            data["resolved"] = resolved.to_payload()
        return self._envelope(APPLICATION_COMMAND, data, user, channel, locale=locale)

    def autocomplete(
        self,
        name: str,
        *,
        user: User,
        channel: Channel,
        focused: str,
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The user is typing option `focused` of `/name`; `options` holds what is typed so far."""
        words = name.split()
        command = self._command(words[0], CHAT_INPUT, user, channel)
        guild = self.world.guild_of(channel)
        resolved = Resolved(guild, channel_permissions=0)
        data = self._command_data(command)
        if focused not in options:
            raise ValueError(f"the focused option {focused!r} needs its typed text in options")
        data["options"] = build_options(command, words[1:], options, resolved, focused=focused)
        return self._envelope(AUTOCOMPLETE, data, user, channel)

    def message_command(self, name: str, *, user: User, message: dict[str, Any]) -> dict[str, Any]:
        """A message context menu command used on `message`."""
        channel = self._channel_of(message)
        command = self._command(name, MESSAGE, user, channel)
        data = self._command_data(command)
        data.update(target_id=message["id"], resolved={"messages": {message["id"]: message}})
        return self._envelope(APPLICATION_COMMAND, data, user, channel)

    def user_command(
        self, name: str, *, user: User, target: User, channel: Channel
    ) -> dict[str, Any]:
        """A user context menu command used on `target`."""
        command = self._command(name, USER, user, channel)
        guild = self.world.guild_of(channel)
        resolved = Resolved(guild, channel_permissions=0)
        resolved.user(target)
        data = self._command_data(command)
        data.update(target_id=str(target.id), resolved=resolved.to_payload())
        return self._envelope(APPLICATION_COMMAND, data, user, channel)

    def button_click(
        self,
        message: dict[str, Any],
        *,
        user: User,
        custom_id: str | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """A click on the button with `custom_id` (or `label`) of a message the bot sent."""
        button = _find_component(
            message,
            lambda c: (
                c["type"] == BUTTON
                and (
                    c.get("custom_id") == custom_id
                    if custom_id is not None
                    else c.get("label") == label
                )
            ),
            f"button {custom_id or label!r}",
        )
        if button.get("disabled"):
            raise ValueError(f"button {custom_id or label!r} is disabled")
        if "custom_id" not in button:
            raise ValueError("link and premium buttons do not send interactions")
        data = {"custom_id": button["custom_id"], "component_type": BUTTON}
        return self._component(message, data, user)

    def select_menu(
        self, message: dict[str, Any], *, user: User, custom_id: str, values: list[str]
    ) -> dict[str, Any]:
        """Picking `values` in a message's string select."""
        select = _find_component(
            message,
            lambda c: c["type"] == STRING_SELECT and c.get("custom_id") == custom_id,
            f"select {custom_id!r}",
        )
        offered = {o["value"] for o in select.get("options", [])}
        if not set(values) <= offered:
            raise ValueError(f"select {custom_id!r} offers {sorted(offered)}, not {values}")
        if not select.get("min_values", 1) <= len(values) <= select.get("max_values", 1):
            raise ValueError(f"select {custom_id!r} takes a different number of values")
        data = {"custom_id": custom_id, "component_type": STRING_SELECT, "values": values}
        return self._component(message, data, user)

    def modal_submit(self, modal: InteractionCallback, values: Mapping[str, str]) -> dict[str, Any]:
        """Submitting the modal the bot opened, filling inputs by custom_id or by label."""
        if modal.type != 9:
            raise ValueError(f"callback type {modal.type} is not a modal (9)")
        state = self.world.interactions[modal.interaction_id]
        components = submitted_components(modal.data["components"], values)
        data = {"custom_id": modal.data["custom_id"], "components": components}
        message = state.payload.get("message")
        return self._envelope(MODAL_SUBMIT, data, state.user, state.channel, message=message)

    def _command(
        self, name: str, command_type: int, user: User, channel: Channel
    ) -> dict[str, Any]:
        guild = self.world.guild_of(channel)
        command = self.world.commands.find(name, command_type, guild.id if guild else None)
        if command is None:
            raise LookupError(
                f"no command {name!r} (type {command_type}) is registered for this channel; "
                "sync the bot's tree first or preset it with register_commands()"
            )
        if guild is not None:
            permissions = guild.permissions_for(user, channel)
            needed = int(command.get("default_member_permissions") or 0) | USE_APPLICATION_COMMANDS
            if permissions & (needed | VIEW_CHANNEL) != needed | VIEW_CHANNEL:
                raise PermissionError(f"Discord would not show {name!r} to {user.username} here")
        elif not _offered_in_dms(command):
            raise PermissionError(f"Discord does not offer {name!r} in DMs")
        return command

    def _command_data(self, command: dict[str, Any]) -> dict[str, Any]:
        data = {"id": command["id"], "name": command["name"], "type": command["type"]}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    def _component(
        self, message: dict[str, Any], data: dict[str, Any], user: User
    ) -> dict[str, Any]:
        channel = self._channel_of(message)
        return self._envelope(MESSAGE_COMPONENT, data, user, channel, message=dict(message))

    def _channel_of(self, message: dict[str, Any]) -> Channel:
        channel = self.world.channel(int(message["channel_id"]))
        if channel is None:
            raise LookupError(f"message {message['id']} is in an unknown channel")
        return channel

    def _envelope(
        self,
        interaction_type: int,
        data: dict[str, Any],
        user: User,
        channel: Channel,
        *,
        message: dict[str, Any] | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """The fields every interaction carries, for a guild channel or a DM."""
        world = self.world
        payload: dict[str, Any] = {
            "id": str(world.snowflakes.next()),
            "application_id": str(world.application_id),
            "type": interaction_type,
            "data": data,
            "token": world.new_interaction_token(),
            "version": 1,
            "channel_id": str(channel.id),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": DEFAULT_UPLOAD_LIMIT,
        }
        guild = world.guild_of(channel)
        if guild is not None:
            permissions = str(guild.permissions_for(user, channel))
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
                guild_locale=guild.preferred_locale,
                member=guild.member(user).to_payload() | {"permissions": permissions},
                app_permissions=str(guild.permissions_for(world.bot_user, channel)),
                channel=channel.to_payload() | {"permissions": permissions},
                authorizing_integration_owners={"0": str(guild.id)},
                context=GUILD_CONTEXT,
            )
        else:
            if channel.recipient is not user:
                raise ValueError(f"{user.username} is not the recipient of DM channel {channel.id}")
            payload.update(
                user=user.to_payload(),
                app_permissions=str(EVERYONE_DEFAULT),
                channel=channel.to_payload(),
                authorizing_integration_owners={"0": "0"},
                context=BOT_DM_CONTEXT,
            )
        if message is not None:
            payload["message"] = message
        return payload


def _offered_in_dms(command: dict[str, Any]) -> bool:
    """Whether a global command shows in the bot's DMs: its contexts (or the older
    dm_permission) must allow BOT_DM (1)."""
    contexts = command.get("contexts")
    if contexts is not None:
        return BOT_DM_CONTEXT in contexts
    return command.get("dm_permission") is not False


def _find_component(
    message: dict[str, Any], matches: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    for component in _walk(message.get("components", [])):
        if matches(component):
            return component
    raise LookupError(f"message {message['id']} has no {what}")


def _walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for component in components:
        yield component
        yield from _walk(component.get("components", []))
        if "accessory" in component:
            yield from _walk([component["accessory"]])
