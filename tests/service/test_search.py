"""Search on the real PostgreSQL (008's index, pg_trgm): what a query must and must not find,
whose items it may return, and what it may show of them."""

from __future__ import annotations

import pytest

from bot.errors import Invalid
from bot.models import ItemOptions, ListFilter
from bot.runtime import Runtime
from bot.service import ContentService
from bot.service.search import parse_query


async def owner(runtime: Runtime, user_id: int) -> int:
    return await runtime.service.owner_for_discord_user(user_id, f"user{user_id}")


async def found(service: ContentService, owner_id: int | None, q: str, **kw: object) -> set[str]:
    page = await service.list_owned(owner_id, ListFilter(text=q), limit=100, **kw)  # type: ignore[arg-type]
    return {item.content_id for item in page.items}


PROSE = "The runners were running quickly through the old forest at dawn."
GERMAN = "Die Häuser am Fluss wurden im Winter gebaut."
CODE = "import asyncpg\n\npool = await asyncpg.create_pool(dsn)\nprint('naïve café')\n"


async def test_words_phrases_prefixes_and_filters_match_what_they_should(
    runtime: Runtime,
) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    mine = ItemOptions(owner_id=alice)
    prose = (await service.add_paste(PROSE, options=mine)).item.content_id
    german = (await service.add_paste(GERMAN, options=mine)).item.content_id
    code = (await service.add_paste(CODE, language="python", options=mine)).item.content_id
    link = (
        await service.add_link("https://docs.python.org/3/library/asyncio.html", options=mine)
    ).item.content_id
    cases = {
        "run": {prose},  # English stemming: running, runners
        "forest dawn": {prose},  # every word, anywhere
        '"old forest"': {prose},  # a phrase, in order
        '"forest old"': set(),
        "Haus": {german},  # German stemming: Häuser
        "asyncpg.create_pool": {code},  # a code identifier as written
        "create_pool": {code},
        "café": {code},  # Unicode
        "naïve": {code},
        "asyncp": {code},  # the last word as a prefix, as one types
        "asyncp forest": set(),  # only the last word is a prefix
        "docs.python": {link},  # a fragment of a link's target
        "asyncio": {link},
        "kind:link asyncio": {link},
        "kind:paste asyncio": set(),
        "lang:python": {code},
        "lang:python forest": set(),
        "before:2000-01-01": set(),
        "after:2000-01-01 kind:paste": {prose, german, code},
        "lang:text": {prose, german},
        "elephant": set(),
    }
    for q, expected in cases.items():
        assert await found(service, alice, q) == expected, q


async def test_results_are_ranked_then_newest_and_show_marked_lines(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    mine = ItemOptions(owner_id=alice)
    once = await service.add_paste("banana bread recipe\nflour", options=mine)
    often = await service.add_paste("banana banana banana\nbanana split", options=mine)
    page = await service.list_owned(alice, ListFilter(text="banana"), limit=10)
    assert [item.content_id for item in page.items] == [
        often.item.content_id,
        once.item.content_id,
    ]
    assert page.items[0].matches is not None and "«banana»" in page.items[0].matches


async def test_another_owners_items_are_never_found(runtime: Runtime) -> None:
    service = runtime.service
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    await service.add_paste("the secret plan of bob", options=ItemOptions(owner_id=bob))
    await service.add_link("https://bob.example/plan", options=ItemOptions(owner_id=bob))
    assert await found(service, alice, "plan") == set()
    assert await found(service, alice, "bob") == set()
    assert len(await found(service, bob, "plan")) == 2
    # Operators find everyone's, but never see the text of a paste they do not own.
    page = await service.list_owned(None, ListFilter(text="secret"), admin=True)
    assert len(page.items) == 1 and page.items[0].matches is None


@pytest.mark.parametrize(
    "options",
    [
        {"visibility": "private"},
        {"password": "correct horse"},
        {"max_views": 1},
    ],
)
async def test_hidden_items_are_searchable_by_their_owner_without_spending_a_view(
    runtime: Runtime, options: dict[str, object]
) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    created = await service.add_paste(
        "quarterly numbers look fine",
        options=ItemOptions(owner_id=alice, **options),  # type: ignore[arg-type]
    )
    content_id = created.item.content_id
    for _ in range(3):
        page = await service.list_owned(alice, ListFilter(text="quarterly"), limit=5)
        assert [item.content_id for item in page.items] == [content_id]
        assert page.items[0].matches is not None and "«quarterly»" in page.items[0].matches
    assert (await service.get(content_id)).views == 0
    is_filter = {"visibility": "is:private", "password": "is:protected", "max_views": "is:limited"}
    assert await found(service, alice, is_filter[next(iter(options))]) == {content_id}
    assert await found(service, await owner(runtime, 2), "quarterly") == set()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("color:red", "Unknown search filter color:"),
        ("kind:video", "kind: is one of"),
        ("is:secret", "is: is one of"),
        ("before:tomorrow", "YYYY-MM-DD"),
        (" ".join(f"w{n}" for n in range(9)), "at most 8"),
    ],
)
def test_bad_queries_are_refused_naming_what_is_wrong(query: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_query(query)


def test_links_and_identifiers_are_words_not_filters() -> None:
    query = parse_query("https://example.com std::vector")
    assert [term.text for term in query.terms] == ["https://example.com", "std::vector"]
    assert query.terms[-1].prefix == "'std' & 'vector':*"


async def unindex(runtime: Runtime, content_id: str) -> None:
    """Make a paste's index row as 008 makes it for a paste stored before it: names only."""
    await runtime.db.pool.execute(
        """
        UPDATE search_index
        SET body = NULL, body_indexed = FALSE, config = 'simple',
            words = to_tsvector('simple', names)
        WHERE content_id = $1
        """,
        content_id,
    )


async def test_reindex_indexes_older_pastes_once_with_progress(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    old = await service.add_paste("a forgotten walrus poem", options=ItemOptions(alice))
    content_id = old.item.content_id
    await unindex(runtime, content_id)
    assert await found(service, alice, "walrus") == set()
    seen: list[tuple[int, int]] = []
    assert await service.reindex(lambda done, total: seen.append((done, total))) == 1
    assert seen == [(1, 1)]
    assert await found(service, alice, "walrus") == {content_id}
    assert await service.reindex(lambda done, total: None) == 0  # nothing left to do
