"""The pure parts of the bot: reading chat messages, writing safe Markdown, reading input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.discord.caller import item_id, parse_expiry
from bot.discord.chat_parts import CodeBlock, code_blocks, links
from bot.discord.render import code_block, escape, preview
from bot.errors import Invalid


def test_code_blocks_keep_their_language_tag_when_a_line_break_follows() -> None:
    content = "a\n```py\nprint(1)\n```\nb ```not a tag``` c\n```klingon\nqapla'\n```\n```\n\n```"

    assert code_blocks(content) == [
        CodeBlock("python", "print(1)"),
        CodeBlock(None, "not a tag"),
        CodeBlock(None, "qapla'"),
    ]


def test_links_are_found_outside_code_blocks_without_sentence_punctuation() -> None:
    content = (
        "see https://a.example/x, and (https://b.example/y) or <https://c.example/z>.\n"
        "https://en.wikipedia.org/wiki/Foo_(bar)! ```\nhttps://in.code/block\n``` "
        "https://a.example/x again; javascript:alert(1) ftp://nope.example"
    )

    assert links(content) == [
        "https://a.example/x",
        "https://b.example/y",
        "https://c.example/z",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
    ]


@pytest.mark.parametrize(
    "text",
    ["```", "a ``` b", "````` run", "ends with ``", "`", "```\n```python\nx\n```"],
)
def test_no_content_can_close_a_code_block_early(text: str) -> None:
    block = code_block(text, "python")

    assert block.startswith("```python\n") and block.endswith("\n```")
    assert "```" not in block[len("```python\n") : -len("\n```")]


def test_code_block_language_tags_are_only_plain_words() -> None:
    assert code_block("x", "python").startswith("```python\n")
    assert code_block("x", "text").startswith("```\n")
    assert code_block("x", "py\nthon").startswith("```\n")


def test_escape_makes_markdown_and_mentions_inert() -> None:
    escaped = escape("**bold** _it_ @everyone <@123> `code`")

    assert "**" not in escaped.replace("\\*", "")
    assert "@everyone" not in escaped and "@\u200beveryone" in escaped
    assert "\\`code\\`" in escaped


def test_preview_shows_the_first_lines_and_marks_the_cut() -> None:
    text = "\n".join(f"line {n}" for n in range(30))

    shown = preview(text, lines=3)

    assert shown == "line 0\nline 1\nline 2\n…"
    assert preview("one line") == "one line"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("abc123", "abc123"),
        (" abc123 ", "abc123"),
        ("https://bin.example/abc123", "abc123"),
        ("https://bin.example/abc123/", "abc123"),
        ("https://bin.example/abc123/raw?x=1", "abc123"),
        ("bin.example/abc123", "abc123"),
    ],
)
def test_item_ids_are_read_from_ids_or_short_links(typed: str, expected: str) -> None:
    assert item_id(typed) == expected


def test_expiries_are_durations() -> None:
    assert parse_expiry("1d12h") == timedelta(days=1, hours=12)
    assert parse_expiry(None) is None and parse_expiry("  ") is None
    with pytest.raises(Invalid, match="'tomorrow' is not an expiry"):
        parse_expiry("tomorrow")
