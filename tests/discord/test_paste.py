"""/paste through the real discord.py: the form, the answer, and what cannot go wrong."""

from __future__ import annotations

from tests.discord_fixtures import (  # noqa: F401 - fixtures
    MODAL,
    RefbinDiscord,
    discord_database,
    discord_settings_fixture,
    refbin_fixture,
)
from tests.helpers import id_of

SCRIPT = "import sys\n\n\ndef main() -> None:\n    print(sys.argv)\n"


async def test_paste_opens_a_form_and_answers_the_link_with_highlighted_first_lines(
    refbin: RefbinDiscord,
) -> None:
    form = await refbin.command("paste", user=refbin.alice, options={"expires": "1w"})
    assert form.type == MODAL
    assert form.data["title"] == "New paste"

    answer = await refbin.submit(form, {"Text": SCRIPT, "File name": "tool.py"})

    assert answer.callback.type == 5  # deferred at once, answered with a follow-up
    assert not answer.ephemeral
    [embed] = answer.embeds
    item = await refbin.service.get(id_of(embed["url"]))
    assert (item.kind, item.language, item.filename) == ("text", "python", "tool.py")
    assert item.owner_id is not None and item.guild_id == refbin.guild.id
    assert await refbin.service.read_text(item) == SCRIPT
    preview = next(f["value"] for f in embed["fields"] if f["name"] == "Preview")
    assert preview.startswith("```python\nimport sys\n")


async def test_the_language_option_wins_and_an_unknown_one_is_refused(
    refbin: RefbinDiscord,
) -> None:
    unknown = await refbin.command("paste", user=refbin.alice, options={"language": "klingon"})
    form = await refbin.command("paste", user=refbin.alice, options={"language": "rust"})
    answer = await refbin.submit(form, {"Text": "fn main() {}"})

    assert unknown.type == 4 and unknown.ephemeral
    assert "Unknown language 'klingon'" in unknown.content
    item = await refbin.service.get(id_of(answer.embeds[0]["url"]))
    assert item.language == "rust"


async def test_an_empty_paste_is_refused_privately(refbin: RefbinDiscord) -> None:
    form = await refbin.command("paste", user=refbin.alice)
    answer = await refbin.submit(form, {"Text": "   \n\t  "})

    assert answer.ephemeral
    assert answer.content == "The paste is empty."
    # the public "thinking…" message was removed rather than turned into the error
    original = f"/webhooks/{refbin.api.application_id}/{{token}}/messages/@original"
    assert refbin.api.find_requests("DELETE", original)


async def test_a_paste_cannot_ping_or_break_out_of_its_code_block(refbin: RefbinDiscord) -> None:
    text = "@everyone look\n<@&123> and <@456>\n```\n**bold** outside?\n"
    form = await refbin.command("paste", user=refbin.alice)
    answer = await refbin.submit(form, {"Text": text})

    assert answer.request.json["allowed_mentions"]["parse"] == []
    preview = next(f["value"] for f in answer.embeds[0]["fields"] if f["name"] == "Preview")
    assert preview.count("```") == 2  # only the fence itself
    assert preview.startswith("```") and preview.endswith("```")
    assert answer.message is not None and answer.message["mention_everyone"] is False


async def test_the_language_option_suggests_common_languages(refbin: RefbinDiscord) -> None:
    typing = await refbin.api.autocomplete(
        "paste",
        user=refbin.alice,
        channel=refbin.general,
        focused="language",
        options={"language": "py"},
    )
    answer = await refbin.api.wait_for_callback(typing)

    assert answer.type == 8
    assert [c["value"] for c in answer.data["choices"]] == ["python"]


async def test_a_paste_with_a_bot_token_is_refused_privately_naming_the_line(
    refbin: RefbinDiscord,
) -> None:
    token = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GkX3aB.q9Rt2vLmZ8wYxN4cJ7pH1sKdFgUeWbTa0oIi"
    form = await refbin.command("paste", user=refbin.alice)
    answer = await refbin.submit(form, {"Text": f"import bot\n\nbot.run({token!r})\n"})

    assert answer.ephemeral
    assert answer.content == (
        "Nothing was stored: this holds a Discord bot token on line 3. If it is a live "
        "credential, revoke it now. A Discord bot token is revoked by resetting it in the "
        "Developer Portal. Paste the text again without the credential."
    )
    assert token not in answer.content
    assert not answer.embeds
