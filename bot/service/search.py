"""Search: the query language (words, "phrases", a prefix last word, filters) and its pages.

`refbin reindex` and the store feed the index (bot/db/search.py); this module parses what a
person types into the dashboard's box, `GET /api/v1/items?q=...` or `/mine query:`, and answers
a page of their own items (every owner's for operators), best match first, then newest. See
docs/search.md for the language.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.db import search as db_search
from bot.db.listing import ilike_pattern
from bot.errors import Invalid
from bot.models import ListFilter
from bot.service.core import Core
from bot.service.languages import PLAIN
from bot.service.prose import guess_prose_language, prose_language

# The part of a paste indexed (characters): searching finds words in its first 256 KiB or so.
INDEXED_TEXT = 256 * 1024
MAX_TERMS = 8
MAX_OFFSET = 1000  # results one can page through
_SEARCH_CURSOR = "s"

# A prose paste's `lang` -> its PostgreSQL text search configuration (bot/service/prose.py's
# languages; those PostgreSQL has no stemmer for are indexed as `simple`).
PROSE_CONFIGS = {
    "ar": "arabic",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "eu": "basque",
    "fr": "french",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "ru": "russian",
}
KIND_NAMES = {
    "paste": "text",
    "text": "text",
    "link": "url",
    "url": "url",
    "image": "image",
    "file": "file",
}
IS_VALUES = ("private", "unlisted", "public", "protected", "limited")
FILTERS = ("kind", "lang", "is", "before", "after")
# `name:value`; a value starting with `/` or `:` is not a filter (https://..., std::vector).
_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_FILTER = re.compile(r"^([A-Za-z]+):([^:/\s]\S*)$")
_WORDS = re.compile(r"\w+")


def config_for(language: str | None) -> str:
    """The text search configuration a paste in `language` is indexed under."""
    return PROSE_CONFIGS.get((language or "").lower(), "simple")


def search_config(text: str, language: str | None) -> str:
    """The configuration a paste is indexed under: its prose language's, named or (for plain
    text) guessed, else `simple`. Blocking (the guess): call it in an executor."""
    code = prose_language(language)
    if code is None and (language or PLAIN) in (PLAIN, "markdown", "md"):
        code = guess_prose_language(text[:INDEXED_TEXT])
    return config_for(code)


def indexed_text(text: str) -> str:
    """The part of a paste's text indexed, as PostgreSQL can store it (no lone surrogates)."""
    return text[:INDEXED_TEXT].encode("utf-8", "replace").decode("utf-8")


def names_of(content_id: str, *parts: str | None) -> str:
    """An item's names for the index: its id, and its file name, target, title, language."""
    return "\n".join([content_id, *(part for part in parts if part)])


@dataclass(frozen=True)
class Query:
    """A parsed query: its terms and the filters written in it."""

    terms: tuple[db_search.Term, ...]
    kind: str | None = None
    language: str | None = None
    visibility: str | None = None
    has_password: bool | None = None
    view_limited: bool | None = None
    before: datetime | None = None
    after: datetime | None = None


def parse_query(text: str) -> Query:
    """Parse a query; Invalid naming an unknown filter or a bad value."""
    terms: list[db_search.Term] = []
    found: dict[str, object] = {}
    tokens = list(_TOKEN.finditer(text))
    for index, token in enumerate(tokens):
        phrase, word = token.group(1), token.group(2)
        if phrase is not None:
            if phrase.strip():
                natural = _natural(phrase)
                terms.append(db_search.Term("phrase", phrase, ilike_pattern(phrase), None, natural))
            continue
        matched = _FILTER.match(word)
        if matched:
            _apply_filter(matched.group(1).lower(), matched.group(2), found)
            continue
        last = index == len(tokens) - 1 and not text[token.end() :].strip()
        letters = _WORDS.findall(word.lower())
        if last and letters:
            # As one types: the last word's last piece may be the start of a word.
            prefix = " & ".join(f"'{piece}'" for piece in letters) + ":*"
            terms.append(db_search.Term("word", word, ilike_pattern(word), prefix, _natural(word)))
        else:
            terms.append(db_search.Term("word", word, ilike_pattern(word), None, _natural(word)))
    if len(terms) > MAX_TERMS:
        raise Invalid(f"A search has at most {MAX_TERMS} words and phrases.")
    return Query(terms=tuple(terms), **found)  # type: ignore[arg-type]


def _natural(text: str) -> bool:
    """Whether a term is made of words of letters only (not code, numbers or names)."""
    return all(piece.isalpha() for piece in text.split())


def _apply_filter(name: str, value: str, found: dict[str, object]) -> None:
    if name == "kind":
        kind = KIND_NAMES.get(value.lower())
        if kind is None:
            raise Invalid(f"kind: is one of {', '.join(KIND_NAMES)}.")
        found["kind"] = kind
    elif name == "lang":
        found["language"] = value
    elif name == "is":
        value = value.lower()
        if value not in IS_VALUES:
            raise Invalid(f"is: is one of {', '.join(IS_VALUES)}.")
        if value == "protected":
            found["has_password"] = True
        elif value == "limited":
            found["view_limited"] = True
        else:
            found["visibility"] = value
    elif name in ("before", "after"):
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise Invalid(f"{name}: is a date written YYYY-MM-DD.") from None
        found[name] = day
    else:
        known = ", ".join(f"{known}:" for known in FILTERS)
        raise Invalid(f"Unknown search filter {name}: (the filters are {known}).")


def criteria_for(owner_id: int | None, filters: ListFilter, query: Query) -> db_search.Criteria:
    """The listing's filters and the query's together (both hold)."""
    kind, visibility = filters.kind, filters.visibility
    impossible = (kind and query.kind and kind != query.kind) or (
        visibility and query.visibility and visibility != query.visibility
    )
    within = filters.expiring_within
    criteria = db_search.Criteria(
        owner_id=owner_id,
        kind=kind or query.kind,
        visibility=visibility or query.visibility,
        has_password=filters.has_password
        if filters.has_password is not None
        else query.has_password,
        view_limited=filters.view_limited
        if filters.view_limited is not None
        else query.view_limited,
        expires_before=None if within is None else datetime.now(UTC) + within,
        language=query.language,
        before=query.before,
        after=query.after,
    )
    if impossible:  # two kinds asked for at once: nothing has both
        criteria = dataclasses.replace(criteria, before=datetime(1970, 1, 1, tzinfo=UTC))
    return criteria


def encode_offset(offset: int) -> str:
    return f"{_SEARCH_CURSOR}{offset}"


def decode_offset(cursor: str | None) -> int:
    """The offset of a search's page cursor; Invalid for any other cursor."""
    if cursor is None:
        return 0
    digits = cursor.removeprefix(_SEARCH_CURSOR)
    if not cursor.startswith(_SEARCH_CURSOR) or not digits.isdigit():
        raise Invalid("The page cursor is not valid.")
    offset = int(digits)
    if offset > MAX_OFFSET:
        raise Invalid(f"A search shows its first {MAX_OFFSET} results.")
    return offset


Progress = Callable[[int, int], None]  # (done, total)
OpenBlob = Callable[[str, int, int | None], AsyncIterator[bytes]]


async def reindex(core: Core, open_blob: OpenBlob, progress: Progress) -> int:
    """Index the text of every paste not indexed yet (those stored before 008), a batch at a
    time; stopped and run again, it goes on where it was. Returns how many it indexed."""
    pool = core.db.pool
    total = await db_search.count_unindexed(pool)
    done, after = 0, ""
    loop = asyncio.get_running_loop()
    while batch := await db_search.unindexed_pastes(pool, after, 100):
        for content_id, sha256 in batch:
            after = content_id
            found = await db_search.fetch_names(pool, content_id)
            if found is None:  # deleted meanwhile
                continue
            names, language = found
            try:
                # UTF-8 takes at most 4 bytes a character.
                parts = [chunk async for chunk in open_blob(sha256, 0, INDEXED_TEXT * 4)]
                body: str | None = indexed_text(b"".join(parts).decode("utf-8", "replace"))
            except FileNotFoundError:  # the store lost it: the names stay searchable
                body = None
            config = "simple"
            if body is not None:
                config = await loop.run_in_executor(None, search_config, body, language)
            await db_search.index_item(pool, content_id, names=names, body=body, config=config)
            done += 1
            progress(done, total)
    return done
