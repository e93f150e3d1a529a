"""The "Save to refbin" message menu through the real discord.py."""

from __future__ import annotations

from tests.discord_fixtures import (  # noqa: F401 - fixtures
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
)
from tests.helpers import id_of, png_bytes


def ids_in(text: str) -> list[str]:
    return [id_of(line.split(" · ")[0]) for line in text.splitlines() if line.startswith("http")]


async def test_links_code_blocks_and_attachments_each_get_a_link(refbin: RefbinDiscord) -> None:
    channel = refbin.general
    photo = refbin.api.add_attachment("cat.png", png_bytes(40, 30), channel=channel)
    content = (
        "see https://docs.example.org/guide (and <https://example.com/quiet>).\n"
        '```rust\nfn main() {\n    println!("hi");\n}\n```\n'
        "```\nplain words in a block\n```"
    )
    posted = await refbin.api.send_message(channel, refbin.bob, content, attachments=[photo])

    menu = await refbin.api.message_command("Save to refbin", user=refbin.alice, message=posted)
    answer = await refbin.answer_to(menu)

    assert answer.ephemeral
    items = [await refbin.service.get(i) for i in ids_in(answer.content)]
    assert [i.kind for i in items] == ["url", "url", "text", "text", "image"]
    assert [i.target for i in items[:2]] == [
        "https://docs.example.org/guide",
        "https://example.com/quiet",
    ]
    assert items[2].language == "rust"
    assert await refbin.service.read_text(items[2]) == 'fn main() {\n    println!("hi");\n}'
    assert items[4].filename == "cat.png"
    alice_owner = await refbin.service.owner_for_discord_user(refbin.alice.id, "alice")
    assert {i.owner_id for i in items} == {alice_owner}  # saved by alice, not by the author


async def test_a_message_with_nothing_to_save_is_told_so(refbin: RefbinDiscord) -> None:
    posted = await refbin.api.send_message(refbin.general, refbin.bob, "just words, javascript:x")

    menu = await refbin.api.message_command("Save to refbin", user=refbin.alice, message=posted)
    answer = await refbin.answer_to(menu)

    assert answer.type == 4 and answer.ephemeral
    assert answer.content == "That message has no links, attachments or code blocks to save."


async def test_items_that_fail_are_listed_with_the_reason(refbin: RefbinDiscord) -> None:
    refbin_url = refbin.service.url_for("abc")
    content = f"mine: {refbin_url} and https://ok.example/"
    posted = await refbin.api.send_message(refbin.general, refbin.bob, content)

    menu = await refbin.api.message_command("Save to refbin", user=refbin.alice, message=posted)
    answer = await refbin.answer_to(menu)

    first, second = answer.content.splitlines()
    assert first.startswith("✗ ") and "Links to this refbin itself cannot be shortened." in first
    assert second.startswith("http") and "ok.example" in second
