"""The search index (sql/008_search.sql): an item's row written with it, and searches of it.

A search is one statement: the owner's index rows that match every term (full-text on `words`,
or a fragment of `names` by trigrams), and the other filters, ranked by relevance then newest,
a page at a time by offset. The terms are parameters; the statement's shape (how many terms,
which kind each is) comes from bot/service/search.py's parsed query, never from its text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.db.pool import Queryable

# Every configuration a term is looked up in: `simple` (code, names, exact words) and each
# prose language's, so that a stemmed word matches a paste indexed under its language.
CONFIGS = (
    "simple",
    "arabic",
    "basque",
    "dutch",
    "english",
    "french",
    "german",
    "italian",
    "portuguese",
    "russian",
    "spanish",
)
# Characters of a paste's indexed text its matching lines are looked for in: ts_headline parses
# all it is given, for every result of a page.
HEADLINE_TEXT = 64 * 1024


async def index_item(
    conn: Queryable,
    content_id: str,
    *,
    names: str,
    body: str | None = None,
    config: str = "simple",
) -> None:
    """Write (or rewrite) an item's index row, in the caller's transaction with its refs row."""
    assert config in CONFIGS  # a closed set: it is cast to a configuration
    await conn.execute(
        """
        INSERT INTO search_index (content_id, owner_id, config, body, words, names, body_indexed)
        SELECT r.content_id, r.owner_id, $2::text::regconfig, $3::text,
               CASE WHEN $2::text = 'simple' THEN ''::tsvector
                    ELSE to_tsvector($2::text::regconfig, COALESCE($3, '')) END
               || to_tsvector('simple', COALESCE($3, ''))
               -- The parts of dotted names too (asyncpg.create_pool: create, pool), which
               -- the parser keeps whole.
               || to_tsvector('simple', regexp_replace(COALESCE($3, ''), '[.:/]+', ' ', 'g'))
               || to_tsvector('simple', regexp_replace($4::text, '[.:/]+', ' ', 'g')),
               $4, TRUE
        FROM refs r
        WHERE r.content_id = $1
        ON CONFLICT (content_id) DO UPDATE
        SET owner_id = EXCLUDED.owner_id, config = EXCLUDED.config, body = EXCLUDED.body,
            words = EXCLUDED.words, names = EXCLUDED.names, body_indexed = TRUE
        """,
        content_id,
        config,
        body,
        names,
    )


async def unindexed_pastes(conn: Queryable, after: str, limit: int) -> list[tuple[str, str]]:
    """Up to `limit` pastes (id, blob sha256) whose text is not indexed yet, ids after `after`."""
    rows = await conn.fetch(
        """
        SELECT s.content_id, t.sha256
        FROM search_index s
        JOIN texts t ON t.content_id = s.content_id
        WHERE NOT s.body_indexed AND s.content_id > $1
        ORDER BY s.content_id
        LIMIT $2
        """,
        after,
        limit,
    )
    return [(row["content_id"], row["sha256"]) for row in rows]


async def count_unindexed(conn: Queryable) -> int:
    return await conn.fetchval("SELECT count(*) FROM search_index WHERE NOT body_indexed")


async def fetch_names(conn: Queryable, content_id: str) -> tuple[str, str | None] | None:
    """An item's indexed names and paste language (None: no index row)."""
    row = await conn.fetchrow(
        """
        SELECT s.names, t.language
        FROM search_index s
        LEFT JOIN texts t ON t.content_id = s.content_id
        WHERE s.content_id = $1
        """,
        content_id,
    )
    return None if row is None else (row["names"], row["language"])


@dataclass(frozen=True)
class Term:
    """One term of a query: a `word` or a `phrase`, the ILIKE pattern for fragments of names,
    and for the last word, its `prefix` as a tsquery of letters and digits only (`'asy':*`)."""

    kind: str
    text: str
    pattern: str | None
    prefix: str | None = None
    # Letters only: looked up in every language's configuration, stemmed and without its stop
    # words; anything else (a_b, 100%, x.y) in `simple` only, where no part of it is dropped.
    natural: bool = True


@dataclass(frozen=True)
class Criteria:
    """Everything a search asks for besides its terms (None: not asked)."""

    owner_id: int | None
    kind: str | None = None
    visibility: str | None = None
    has_password: bool | None = None
    view_limited: bool | None = None
    expires_before: datetime | None = None
    language: str | None = None
    before: datetime | None = None
    after: datetime | None = None


@dataclass(frozen=True)
class Hit:
    content_id: str
    matches: str | None


def _tsquery(function: str, param: str, natural: bool) -> str:
    configs = CONFIGS if natural else CONFIGS[:1]
    return "(" + " || ".join(f"{function}('{config}', {param})" for config in configs) + ")"


def search_sql(terms: Sequence[Term], *, headline: bool) -> str:
    """The statement for these terms: $1-$9 the criteria, $10 offset, $11 limit, then each
    term's text, pattern and (if it has one) prefix."""
    matches, queries = [], []
    number = 11
    for term in terms:
        text, pattern = f"${number + 1}::text", f"${number + 2}::text"
        number += 2
        function = "phraseto_tsquery" if term.kind == "phrase" else "plainto_tsquery"
        query = _tsquery(function, text, term.natural)
        if term.prefix is not None:
            number += 1
            prefix = _tsquery("to_tsquery", f"${number}::text", term.natural)
            query = f"({query} || {prefix})"
        queries.append(query)
        matches.append(f"(s.words @@ {query} OR s.names ILIKE {pattern})")
    everything = " && ".join(queries) if queries else "''::tsquery"
    where = " AND ".join(matches) if matches else "TRUE"
    # The matching lines are shown to the item's owner only ($1: the owner searching).
    shown = (
        f"""CASE WHEN page.kind = 'text' AND page.body IS NOT NULL AND page.owner_id = $1 THEN
                ts_headline(page.config, left(page.body, {HEADLINE_TEXT}), {everything},
                    'StartSel=«, StopSel=», MaxFragments=3, MaxWords=12, MinWords=4, '
                    'FragmentDelimiter=" … "')
            END"""
        if headline
        else "NULL"
    )
    return f"""
        SELECT page.content_id, {shown} AS matches
        FROM (
            SELECT r.content_id, r.kind, r.owner_id, s.config, s.body,
                   ts_rank(s.words, {everything}) AS rank, r.created_at
            FROM search_index s
            JOIN refs r ON r.content_id = s.content_id
            LEFT JOIN texts t ON t.content_id = s.content_id AND r.kind = 'text'
            WHERE ($1::bigint IS NULL OR r.owner_id = $1)
              AND ($2::ref_kind IS NULL OR r.kind = $2)
              AND ($3::visibility IS NULL OR r.visibility = $3)
              AND ($4::boolean IS NULL OR (r.password_hash IS NOT NULL) = $4)
              AND ($5::boolean IS NULL OR (r.max_views IS NOT NULL) = $5)
              AND ($6::timestamptz IS NULL OR (r.expires_at > now() AND r.expires_at <= $6))
              AND ($7::text IS NULL OR lower(t.language) = lower($7))
              AND ($8::timestamptz IS NULL OR r.created_at < $8)
              AND ($9::timestamptz IS NULL OR r.created_at >= $9)
              AND {where}
            ORDER BY rank DESC, r.created_at DESC, r.content_id DESC
            OFFSET $10
            LIMIT $11
        ) AS page
        ORDER BY page.rank DESC, page.created_at DESC, page.content_id DESC
    """


async def search(
    conn: Queryable,
    criteria: Criteria,
    terms: Sequence[Term],
    *,
    offset: int,
    limit: int,
) -> list[Hit]:
    """A page of the items matching every term and criterion, best first, then newest."""
    values: list[object] = []
    for term in terms:
        values += [term.text, term.pattern]
        if term.prefix is not None:
            values.append(term.prefix)
    rows = await conn.fetch(
        search_sql(terms, headline=criteria.owner_id is not None),
        criteria.owner_id,
        criteria.kind,
        criteria.visibility,
        criteria.has_password,
        criteria.view_limited,
        criteria.expires_before,
        criteria.language,
        criteria.before,
        criteria.after,
        offset,
        limit,
        *values,
    )
    return [Hit(row["content_id"], row["matches"]) for row in rows]
