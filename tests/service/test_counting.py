"""Counting visits: batched (no UPDATE per request), exact under bursts, never from link-preview
bots, exactly-once for view-limited items, and not lost when the server stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from datetime import date

import aiohttp
import asyncpg
from aiohttp.test_utils import TestClient

from bot.models import ItemOptions
from bot.runtime import Runtime
from bot.service.counting import VisitCounter

PREVIEW_AGENTS = [
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Twitterbot/1.0",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "TelegramBot (like TwitterBot)",
    "WhatsApp/2.23.20.0 A",
    "Mastodon/4.2.0 (http.rb/5.1.1; +https://mastodon.social/)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


async def stored_views(runtime: Runtime, content_id: str) -> tuple[int, int]:
    """(refs.views, the sum of the per-day visit rows) as the database has them now."""
    row = await runtime.db.pool.fetchrow(
        """
        SELECT r.views, COALESCE((SELECT sum(count) FROM visits v
                                  WHERE v.content_id = r.content_id), 0) AS visits
        FROM refs r
        WHERE r.content_id = $1
        """,
        content_id,
    )
    return row["views"], row["visits"]


async def link(runtime: Runtime, url: str, **options: object) -> str:
    created = await runtime.service.add_link(url, options=ItemOptions(**options))
    return created.item.content_id


async def visit(client: TestClient, content_id: str, agent: str = BROWSER) -> int:
    response = await client.get(
        f"/{content_id}", allow_redirects=False, headers={"User-Agent": agent}
    )
    await response.read()
    return response.status


async def test_visits_are_flushed_in_a_batch_not_written_per_request(
    client: TestClient, runtime: Runtime
) -> None:
    content_id = await link(runtime, "https://example.com/batched")

    statuses = await asyncio.gather(*(visit(client, content_id) for _ in range(25)))

    assert statuses == [302] * 25
    assert await stored_views(runtime, content_id) == (0, 0)  # nothing written yet
    assert runtime.service.counter.pending == 25
    assert await runtime.service.counter.flush(runtime.db.pool) == 25
    assert await stored_views(runtime, content_id) == (25, 25)
    assert runtime.service.counter.pending == 0


async def test_a_burst_of_200_concurrent_visits_adds_up_exactly(
    client: TestClient, runtime: Runtime
) -> None:
    content_id = await link(runtime, "https://example.com/burst")
    other = await link(runtime, "https://example.com/other")

    statuses = await asyncio.gather(
        *(visit(client, content_id) for _ in range(200)),
        *(visit(client, other) for _ in range(30)),
    )
    await runtime.service.counter.flush(runtime.db.pool)

    assert Counter(statuses) == {302: 230}
    assert await stored_views(runtime, content_id) == (200, 200)
    assert await stored_views(runtime, other) == (30, 30)


async def test_link_preview_bots_are_not_counted_and_use_up_no_view(
    client: TestClient, runtime: Runtime
) -> None:
    content_id = await link(runtime, "https://example.com/once", max_views=1)

    for agent in PREVIEW_AGENTS:
        # A one-view link's target is its content: a bot gets a page that does not hold it.
        response = await client.get(
            f"/{content_id}", allow_redirects=False, headers={"User-Agent": agent}
        )
        assert response.status == 200, agent
        assert "Location" not in response.headers, agent
        assert "example.com/once" not in await response.text(), agent

    assert runtime.service.counter.pending == 0
    await runtime.service.counter.flush(runtime.db.pool)
    assert await stored_views(runtime, content_id) == (0, 0)
    assert await visit(client, content_id) == 302  # the one real view
    assert await visit(client, content_id) == 410
    assert await visit(client, content_id, PREVIEW_AGENTS[0]) == 410  # used up for bots too


async def test_a_one_view_item_fetched_by_20_clients_at_once_is_served_once(
    client: TestClient, runtime: Runtime
) -> None:
    content_id = await link(runtime, "https://example.com/burn", max_views=1)
    paste = await runtime.service.add_paste("burn after reading", options=ItemOptions(max_views=1))

    links = await asyncio.gather(*(visit(client, content_id) for _ in range(20)))
    pastes = await asyncio.gather(*(client.get(f"/{paste.item.content_id}/raw") for _ in range(20)))

    assert Counter(links) == {302: 1, 410: 19}
    assert Counter(response.status for response in pastes) == {200: 1, 410: 19}
    await runtime.service.counter.flush(runtime.db.pool)
    assert await stored_views(runtime, content_id) == (1, 1)


# ---- a real process stopped with SIGTERM -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_counts_survive_a_clean_shutdown(database_url: str, tmp_path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "REFBIN_DATABASE_URL": database_url,
        "REFBIN_DATABASE_DATA_DIR": str(tmp_path / "data"),
        "REFBIN_SERVER_PORT": str(port),
        "REFBIN_LIMITS_RATE_READ": "0",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "web", env=env, stdout=asyncio.subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    visits = 57
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert b"refbin is serving on" in line, line
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{base}/", data={"url": "https://example.com/k"}) as made:
                assert made.status == 201
                content_id = (await made.text()).strip().rsplit("/", 1)[1]

            async def one() -> int:
                url = f"{base}/{content_id}"
                async with session.get(url, allow_redirects=False) as response:
                    return response.status

            assert await asyncio.gather(*(one() for _ in range(visits))) == [302] * visits
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    conn = await asyncpg.connect(database_url)
    try:
        views = await conn.fetchval("SELECT views FROM refs WHERE content_id = $1", content_id)
        total = await conn.fetchval(
            "SELECT sum(count) FROM visits WHERE content_id = $1", content_id
        )
    finally:
        await conn.close()
    assert (views, total) == (visits, visits)


def test_visits_are_filed_under_the_utc_day_they_happened() -> None:
    midnight = 1_767_225_600  # 2026-01-01T00:00:00Z
    clock = iter([midnight - 1, midnight - 0.5, midnight, midnight + 86_399])
    counter = VisitCounter(clock=lambda: next(clock))
    for _ in range(4):
        counter.add("abc", "", view_counted=False)
    days = Counter({day: n for (_, day, _), n in counter._visits.items()})
    assert days == {date(2025, 12, 31): 2, date(2026, 1, 1): 2}
