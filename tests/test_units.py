"""The units people type: durations and sizes, refused with ValueError (never OverflowError)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.units import MAX_SIZE, format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 2 w ", timedelta(weeks=2)),
        ("1000y", timedelta(days=365_000)),
    ],
)
def test_durations_people_type(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "99999999999999999d",
        "1000y1s",
        "9999999999999999999999w",
        "1" + "0" * 5000 + "s",  # more digits than int() reads
        "365001d",
    ],
)
def test_a_duration_too_long_for_a_date_is_a_value_error_naming_the_limit(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == f"duration too long: {text!r} (at most 1000y)"
    # The longest duration accepted can still be added to now, as every caller does.
    assert datetime.now(UTC) + parse_duration("1000y") > datetime.now(UTC)


@pytest.mark.parametrize("text", ["", "soon", "7x", "0s", "-1d", "1d-", "٣d"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_sizes_up_to_postgres_bigint() -> None:
    assert parse_size("100MiB") == 100 * 1024 * 1024
    assert parse_size("1.5 GB") == 1_500_000_000
    assert parse_size(str(MAX_SIZE)) == MAX_SIZE
    for text in (str(MAX_SIZE + 1), "9" * 400 + ".5KiB", "99999999TiB", 2**70):
        with pytest.raises(ValueError, match="size too large"):
            parse_size(text)
