"""What a chat message holds that refbin can keep: its links and its fenced code blocks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import Invalid
from bot.service.languages import canonical_language, count_lines

# ```lang\n…``` (the tag only counts when a line break follows it, as in Discord) or ```…```
_CODE_BLOCK = re.compile(r"```(?:([A-Za-z0-9_+#.-]{1,30})\n)?(.*?)```", re.DOTALL)
# As Discord links them: http(s) up to whitespace; <…> is a link without a preview.
_LINK = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"*_~"


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block: its text and its language tag (None when absent or unknown)."""

    language: str | None
    text: str

    @property
    def lines(self) -> int:
        return count_lines(self.text)


def code_blocks(content: str) -> list[CodeBlock]:
    """The non-empty fenced code blocks of a message, in order."""
    blocks = []
    for match in _CODE_BLOCK.finditer(content):
        tag, text = match.group(1), match.group(2).strip("\n")
        if text.strip():
            blocks.append(CodeBlock(_known_language(tag), text))
    return blocks


def links(content: str) -> list[str]:
    """The http(s) links of a message outside its code blocks, each once, in order."""
    outside = _CODE_BLOCK.sub(" ", content)
    found = (_trim(m.group(0)) for m in _LINK.finditer(outside))
    return list(dict.fromkeys(link for link in found if link))


def _trim(link: str) -> str:
    """Drop punctuation that ends the sentence rather than the link."""
    while link and (
        link[-1] in _TRAILING or (link[-1] == ")" and link.count("(") < link.count(")"))
    ):
        link = link[:-1]
    return link


def _known_language(tag: str | None) -> str | None:
    if not tag:
        return None
    try:
        return canonical_language(tag)
    except Invalid:
        return None
