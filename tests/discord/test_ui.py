"""The persistent per-item buttons: their custom ids carry exactly the ids the service takes."""

from __future__ import annotations

import pytest

from bot.service import ID_PATTERN
from cogs.reminders import ExtendButton
from cogs.shorten import QRButton

BUTTONS = [pytest.param(QRButton, id="qr"), pytest.param(ExtendButton, id="extend")]


@pytest.mark.parametrize("button", BUTTONS)
@pytest.mark.parametrize("content_id", ["abc1234", "my-alias_2", "x" * 64])
def test_an_item_buttons_custom_id_carries_the_item_id_back(button: type, content_id: str) -> None:
    pressed = button(content_id)

    match = button.__discord_ui_compiled_template__.fullmatch(pressed.custom_id)

    assert pressed.custom_id == f"refbin:{button.action}:{content_id}"
    assert match is not None and match["id"] == content_id


@pytest.mark.parametrize("button", BUTTONS)
@pytest.mark.parametrize("content_id", ["", "x" * 65, "a/b", "a:b", "abc 123", "é"])
def test_an_item_button_takes_no_id_the_service_refuses(button: type, content_id: str) -> None:
    assert ID_PATTERN.match(content_id) is None
    template = button.__discord_ui_compiled_template__

    # discord.py dispatches a click to the dynamic item whose template matches it whole
    assert template.fullmatch(f"refbin:{button.action}:{content_id}") is None


def test_each_item_button_answers_only_its_own_action() -> None:
    qr = QRButton.__discord_ui_compiled_template__
    extend = ExtendButton.__discord_ui_compiled_template__

    assert qr.fullmatch("refbin:extend:abc1234") is None
    assert extend.fullmatch("refbin:qr:abc1234") is None
