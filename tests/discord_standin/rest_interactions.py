"""REST routes an interaction's token opens: the callback, then the webhook follow-ups."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from .context import BODY, SETTINGS, WORLD
from .errors import (
    INTERACTION_ALREADY_ACKNOWLEDGED,
    UNKNOWN_INTERACTION,
    UNKNOWN_MESSAGE,
    UNKNOWN_WEBHOOK,
    DiscordHTTPError,
    invalid_form,
    json_response,
    not_found,
)
from .messages import EPHEMERAL, LOADING, SENDABLE_FLAGS
from .world import DiscordWorld, InteractionState

PONG, CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5

# which callback types Discord accepts for which interaction types
ALLOWED_CALLBACKS = {
    1: {PONG},
    APPLICATION_COMMAND: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, MODAL},
    MESSAGE_COMPONENT: {
        CHANNEL_MESSAGE,
        DEFERRED_CHANNEL_MESSAGE,
        DEFERRED_UPDATE,
        UPDATE_MESSAGE,
        MODAL,
    },
    AUTOCOMPLETE: {AUTOCOMPLETE_RESULT},
    MODAL_SUBMIT: {CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE},
}
COMMAND_MESSAGE_TYPES = {1: 20, 2: 23, 3: 23}  # CHAT_INPUT_COMMAND, CONTEXT_MENU_COMMAND


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_post(f"{prefix}/interactions/{{interaction_id}}/{{token}}/callback", callback)
    webhook = f"{prefix}/webhooks/{{application_id}}/{{token}}"
    app.router.add_post(webhook, create_followup)
    app.router.add_get(webhook + "/messages/{message_id}", get_webhook_message)
    app.router.add_patch(webhook + "/messages/{message_id}", edit_webhook_message)
    app.router.add_delete(webhook + "/messages/{message_id}", delete_webhook_message)


async def callback(request: web.Request) -> web.Response:
    """POST /interactions/{id}/{token}/callback: the bot's one initial response."""
    world = request.app[WORLD]
    state = world.interactions.get(_int(request.match_info["interaction_id"]))
    if state is None or state.token != request.match_info["token"]:
        raise not_found(UNKNOWN_INTERACTION, "interaction")
    age = asyncio.get_running_loop().time() - state.created_at
    if age > request.app[SETTINGS].interaction_deadline:
        raise not_found(UNKNOWN_INTERACTION, "interaction")  # the 3 second window has passed
    if state.response_type is not None:
        raise DiscordHTTPError(
            400, INTERACTION_ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged."
        )
    body = request[BODY].object()
    response_type = body.get("type")
    allowed = ALLOWED_CALLBACKS.get(state.type, set())
    if state.type == MODAL_SUBMIT and "message" not in state.payload:
        allowed = allowed - {DEFERRED_UPDATE, UPDATE_MESSAGE}
    if response_type not in allowed:
        raise invalid_form("type", "INTERACTION_RESPONSE_TYPE_INVALID", "Invalid response type")
    message = _respond(world, state, response_type, body.get("data") or {}, request)
    state.response_type = response_type
    if request.query.get("with_response", "").lower() not in ("1", "true"):
        return web.Response(status=204)
    return json_response(_callback_response(state, response_type, message))


def _respond(
    world: DiscordWorld,
    state: InteractionState,
    response_type: int,
    data: dict[str, Any],
    request: web.Request,
) -> dict[str, Any] | None:
    """Carry out a callback; the message it created or updated, if any."""
    files = request[BODY].files
    if response_type == CHANNEL_MESSAGE:
        message = world.messages.create_from_body(
            channel=state.channel,
            author=world.bot_user,
            body=data,
            files=files,
            allowed_flags=SENDABLE_FLAGS | EPHEMERAL,
            message_type=_reply_type(state),
            extra=_interaction_fields(world, state),
            upload_limit=state.payload["attachment_size_limit"],
        )
    elif response_type == DEFERRED_CHANNEL_MESSAGE:
        message = world.messages.create(
            channel=state.channel,
            author=world.bot_user,
            flags=LOADING | (int(data.get("flags") or 0) & EPHEMERAL),
            message_type=_reply_type(state),
            extra=_interaction_fields(world, state),
        )
    elif response_type in (DEFERRED_UPDATE, UPDATE_MESSAGE):
        message = world.messages.require(int(state.payload["message"]["id"]))
        if response_type == UPDATE_MESSAGE:
            world.messages.edit_from_body(message, data, files)
    elif response_type == MODAL:
        _validate_modal(data)
        return None
    else:
        return None
    state.original_message_id = int(message["id"])
    return message


def _callback_response(
    state: InteractionState, response_type: int, message: dict[str, Any] | None
) -> dict[str, Any]:
    """The InteractionCallbackResponse body that `with_response=true` asks for."""
    interaction: dict[str, Any] = {"id": str(state.id), "type": state.type}
    resource: dict[str, Any] = {"type": response_type}
    if message is not None:
        interaction.update(
            response_message_id=message["id"],
            response_message_loading=bool(message["flags"] & LOADING),
            response_message_ephemeral=bool(message["flags"] & EPHEMERAL),
        )
        resource["message"] = message
    return {"interaction": interaction, "resource": resource}


def _validate_modal(data: dict[str, Any]) -> None:
    if not data.get("custom_id"):
        raise invalid_form("data.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
    if not 1 <= len(data.get("title") or "") <= 45:
        raise invalid_form(
            "data.title", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length."
        )
    if not 1 <= len(data.get("components") or []) <= 5:
        raise invalid_form(
            "data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )


async def create_followup(request: web.Request) -> web.Response:
    """POST /webhooks/{app}/{token}: a follow-up (the first after a defer fills the loader)."""
    world = request.app[WORLD]
    state = _acknowledged(request)
    body = request[BODY]
    original = world.messages.get(state.original_message_id or 0)
    if state.response_type == DEFERRED_CHANNEL_MESSAGE and original and original["flags"] & LOADING:
        # Discord: a follow-up right after a deferral edits the loading message instead
        message = world.messages.edit_from_body(original, _keep_flags(body.object()), body.files)
    else:
        extra = _interaction_fields(world, state)
        extra["interaction_metadata"]["original_response_message_id"] = (
            str(state.original_message_id) if state.original_message_id else None
        )
        message = world.messages.create_from_body(
            channel=state.channel,
            author=world.bot_user,
            body=body.object(),
            files=body.files,
            allowed_flags=SENDABLE_FLAGS | EPHEMERAL,
            extra=extra,
            upload_limit=state.payload["attachment_size_limit"],
        )
        state.followup_ids.append(int(message["id"]))
    if request.query.get("wait", "").lower() in ("1", "true"):
        return json_response(message)
    return web.Response(status=204)


async def get_webhook_message(request: web.Request) -> web.Response:
    return json_response(_webhook_message(request))


async def edit_webhook_message(request: web.Request) -> web.Response:
    message = _webhook_message(request)
    body = request[BODY]
    request.app[WORLD].messages.edit_from_body(message, body.object(), body.files)
    return json_response(message)


async def delete_webhook_message(request: web.Request) -> web.Response:
    message = _webhook_message(request)
    request.app[WORLD].messages.delete(int(message["id"]))
    return web.Response(status=204)


def _acknowledged(request: web.Request) -> InteractionState:
    """The interaction a webhook token belongs to; follow-ups need an initial response first."""
    world = request.app[WORLD]
    token = request.match_info["token"]
    if request.match_info["application_id"] == str(world.application_id):
        for state in world.interactions.values():
            if state.token == token and state.response_type is not None:
                return state
    raise not_found(UNKNOWN_WEBHOOK, "Webhook")


def _webhook_message(request: web.Request) -> dict[str, Any]:
    state = _acknowledged(request)
    wanted = request.match_info["message_id"]
    ids = [state.original_message_id, *state.followup_ids]
    message_id = state.original_message_id if wanted == "@original" else _int(wanted)
    message = request.app[WORLD].messages.get(message_id or 0)
    if message is None or message_id not in ids:
        raise not_found(UNKNOWN_MESSAGE, "Message")
    return message


def _interaction_fields(world: DiscordWorld, state: InteractionState) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "id": str(state.id),
        "type": state.type,
        "user": state.user.to_payload(),
        "authorizing_integration_owners": state.payload["authorizing_integration_owners"],
    }
    data = state.payload.get("data", {})
    if state.type == APPLICATION_COMMAND:
        metadata.update(name=data.get("name"), command_type=data.get("type", 1))
        if data.get("type") == 3:
            metadata["target_message_id"] = data["target_id"]
    elif state.type == MESSAGE_COMPONENT:
        metadata["interacted_message_id"] = state.payload["message"]["id"]
    return {
        "webhook_id": str(world.application_id),
        "application_id": str(world.application_id),
        "interaction_metadata": metadata,
    }


def _reply_type(state: InteractionState) -> int:
    if state.type == APPLICATION_COMMAND:
        return COMMAND_MESSAGE_TYPES.get(state.payload["data"].get("type", 1), 20)
    return 0


def _keep_flags(body: dict[str, Any]) -> dict[str, Any]:
    """Discord keeps the deferral's ephemeral choice when a follow-up fills the loader."""
    return {k: v for k, v in body.items() if k != "flags"}


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0
