"""Discord snowflake ids: time-based, unique and increasing, as Discord mints them."""

from __future__ import annotations

import itertools
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Mints ids whose timestamp part is now, so `discord.utils.snowflake_time` reads sensibly."""

    def __init__(self) -> None:
        self._increment = itertools.count()
        self._last = 0

    def next(self) -> int:
        """A new id, greater than every id minted before it."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (1 << 17) | (1 << 12) | (next(self._increment) & 0xFFF)
        self._last = max(value, self._last + 1)
        return self._last
