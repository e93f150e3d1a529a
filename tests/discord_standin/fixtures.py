"""pytest fixtures for the stand-in; import them into a test module to use them.

from tests.discord_standin.fixtures import discord_api_fixture  # noqa: F401
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .server import DiscordStandin


@pytest.fixture(name="discord_api")
async def discord_api_fixture() -> AsyncIterator[DiscordStandin]:
    """A started stand-in, fresh for each test; discord.py points at it while the test runs."""
    async with DiscordStandin() as standin:
        yield standin
