"""Parsing and formatting of the units people type: durations (`7d`) and sizes (`100MiB`)."""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction

_DURATION = re.compile(r"([0-9]+)\s*(s|m|h|d|w|y)", re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
# Every duration is added to "now" (Python dates end in 9999) and stored as a timestamp; a
# thousand years is past any real expiry and far inside both ranges.
MAX_DURATION_YEARS = 1000
_MAX_DURATION_SECONDS = MAX_DURATION_YEARS * _DURATION_UNITS["y"]
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}
MAX_SIZE = 2**63 - 1  # sizes are stored and compared in PostgreSQL as bigint


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `7d`, `2w`, `1y` or combinations like `1d12h`, up to 1000y;
    ValueError otherwise (never OverflowError, however many digits)."""
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise ValueError("empty duration")
    seconds = 0
    position = 0
    for match in _DURATION.finditer(cleaned):
        if match.start() != position:
            break
        digits = match.group(1).lstrip("0") or "0"
        # 20 digits are past the limit in any unit, and int() refuses thousands of digits.
        count = int(digits) if len(digits) <= 20 else _MAX_DURATION_SECONDS + 1
        seconds += count * _DURATION_UNITS[match.group(2).lower()]
        position = match.end()
    if position != len(cleaned):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30m, 1h, 7d, 2w)")
    if seconds > _MAX_DURATION_SECONDS:
        raise ValueError(f"duration too long: {text!r} (at most {MAX_DURATION_YEARS}y)")
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest exact spelling of a duration in the units parse_duration reads."""
    seconds = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _DURATION_UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_size(text: str | int) -> int:
    """Bytes from `1048576`, `100MiB`, `1.5 GB`, `512k`, below 8 EiB; ValueError otherwise."""
    if isinstance(text, int):
        value = text
    else:
        match = _SIZE.match(text)
        if not match:
            raise ValueError(f"not a size: {text!r} (use e.g. 512KiB, 100MiB, 1GiB)")
        number, unit = match.groups()
        if len(number) > 40:  # far past the limit; spare Fraction thousands of digits
            raise ValueError(f"size too large: {text!r} (at most 8 EiB)")
        unit = unit.lower()
        binary = "i" in unit
        prefix = unit.rstrip("b").rstrip("i")
        base = 1024 ** "kmgt".index(prefix) * 1024 if binary and prefix else _SIZE_UNITS[prefix]
        value = int(Fraction(number) * base)  # exact: a float of many digits is infinity
    if value < 0:
        raise ValueError("size must not be negative")
    if value > MAX_SIZE:
        raise ValueError(f"size too large: {text!r} (at most 8 EiB)")
    return value


def format_size(size: int) -> str:
    """A size for people: `512 B`, `1.5 KiB`, `100 MiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return (
                f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}".replace(".0 ", " ")
            )
        value /= 1024
    raise AssertionError("unreachable")
