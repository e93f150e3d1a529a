"""Who may do what: deleting, reading the stats of and listing items are for their owner (or the
holder of the item's delete token) only, and every refusal looks the same whatever its reason;
tokens are long, random, stored only as hashes and compared in constant time; private items
are reached only by their long id (and password); a valid token cannot be invented to dodge the
rate limits. Cross-site form posts: tests/web/test_pages.py::test_cross_site_posts_are_refused_and_store_nothing.
"""  # noqa: E501

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import math
import re
import string
import time

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from bot.runtime import Runtime, open_runtime
from bot.service import tokens
from bot.service.grants import Grants
from bot.service.ids import ALPHABET
from bot.service.owners import Owners
from bot.web import create_app

API = "/api/v1/items"
URLSAFE = set(string.ascii_letters + string.digits + "-_")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(client: TestClient, headers: dict[str, str] | None = None, **body: object):
    response = await client.post(API, json=body, headers=headers or {})
    assert response.status == 201, await response.text()
    return await response.json()


async def answer_of(response: aiohttp.ClientResponse) -> tuple[int, str, bytes]:
    """What a caller can tell from a response: status, type and the exact body."""
    return response.status, response.headers["Content-Type"], await response.read()


# ---- one refusal for every reason --------------------------------------------------------------


async def test_every_refusal_to_delete_is_the_same_404_byte_for_byte(
    client: TestClient, runtime: Runtime
) -> None:
    alice = bearer(await runtime.service.create_api_token("alice"))
    bob = bearer(await runtime.service.create_api_token("bob"))
    target = await create(client, alice, url="https://example.com/alice")
    other = await create(client, bob, url="https://example.com/bob")
    gone = await create(client, alice, text="deleted already")
    deleted = await client.delete(f"{API}/{gone['id']}", headers=alice)
    assert deleted.status == 204
    attempts = {
        "no such id": ("Zz9Zz9Z", {}),
        "no such id, with a token": ("Zz9Zz9Z", {"X-Delete-Token": target["delete_token"]}),
        "not an id at all": ("not.an-id!", {}),
        "no credentials": (target["id"], {}),
        "a wrong delete token": (target["id"], {"X-Delete-Token": tokens.new_token()}),
        "another item's delete token": (target["id"], {"X-Delete-Token": other["delete_token"]}),
        "another owner's API token": (target["id"], bob),
        "another owner's token and a wrong delete token": (
            target["id"],
            {**bob, "X-Delete-Token": "x" * 32},
        ),
        "a deleted item's own token": (gone["id"], {"X-Delete-Token": gone["delete_token"]}),
    }
    for path in (API + "/{}", "/{}"):
        answers = {
            reason: await answer_of(await client.delete(path.format(content_id), headers=headers))
            for reason, (content_id, headers) in attempts.items()
        }
        first = next(iter(answers.values()))
        assert first[0] == 404 and b'"not_found"' in first[2]
        for reason, answer in answers.items():
            assert answer == first, (path, reason, answer)
    # Nothing was deleted by any of them; the owner still can.
    assert (await client.get(f"{API}/{target['id']}")).status == 200
    assert (await client.get(f"{API}/{other['id']}")).status == 200
    assert (await client.delete(f"/{target['id']}", headers=alice)).status == 204


async def test_every_refusal_to_show_stats_is_the_same_404_byte_for_byte(
    client: TestClient, runtime: Runtime
) -> None:
    alice = bearer(await runtime.service.create_api_token("alice"))
    bob = bearer(await runtime.service.create_api_token("bob"))
    mine = await create(client, alice, url="https://example.com/mine")
    anonymous = await create(client, url="https://example.com/anyone")
    gone = await create(client, alice, text="gone")
    await client.delete(f"{API}/{gone['id']}", headers=alice)
    attempts = {
        "no such id": ("Zz9Zz9Z", alice),
        "not an id at all": ("not.an-id!", alice),
        "another owner's item": (mine["id"], bob),
        "an item nobody owns": (anonymous["id"], alice),
        "a deleted item of mine": (gone["id"], alice),
    }
    answers = {
        reason: await answer_of(await client.get(f"{API}/{content_id}/stats", headers=headers))
        for reason, (content_id, headers) in attempts.items()
    }
    first = next(iter(answers.values()))
    assert first[0] == 404 and b'"not_found"' in first[2]
    for reason, answer in answers.items():
        assert answer == first, (reason, answer)
    assert (await client.get(f"{API}/{mine['id']}/stats", headers=alice)).status == 200
    # Without a token, or with a made-up one, the answer is about the token, never the item.
    for headers in ({}, bearer(tokens.new_token())):
        for content_id in (mine["id"], "Zz9Zz9Z"):
            refused = await client.get(f"{API}/{content_id}/stats", headers=headers)
            assert refused.status == 401


async def test_listing_shows_only_the_callers_own_items(
    client: TestClient, runtime: Runtime
) -> None:
    alice = bearer(await runtime.service.create_api_token("alice"))
    bob = bearer(await runtime.service.create_api_token("bob"))
    alices = {
        (await create(client, alice, text=f"alice {visibility}", visibility=visibility))["id"]
        for visibility in ("public", "unlisted", "private")
    }
    bobs = {(await create(client, bob, url="https://example.com/bob"))["id"]}
    await create(client, text="nobody's")

    async def listed(headers: dict[str, str], query: str = "") -> set[str]:
        response = await client.get(f"{API}?limit=100{query}", headers=headers)
        assert response.status == 200
        return {item["id"] for item in (await response.json())["items"]}

    assert await listed(alice) == alices
    assert await listed(bob) == bobs
    assert await listed(bob, "&kind=text") == set()
    # A cursor made from someone else's item pages through the caller's own items only.
    newest = max(alices)
    cursor = f"{int(time.time()) + 60}.0.{newest}"
    assert await listed(bob, f"&cursor={cursor}") == bobs
    assert await listed(bob, f"&owner_id=1&owner={newest}") == bobs  # unknown filters: ignored
    for headers in ({}, bearer(tokens.new_token())):
        refused = await client.get(API, headers=headers)
        assert refused.status == 401
        assert (await refused.json())["error"]["code"] == "unauthorized"


# ---- tokens ------------------------------------------------------------------------------------


async def test_tokens_carry_at_least_128_random_bits(client: TestClient, runtime: Runtime) -> None:
    delete_tokens = [
        (await create(client, url=f"https://example.com/{n}"))["delete_token"] for n in range(50)
    ]
    api_tokens = [await runtime.service.create_api_token(f"t{n}") for n in range(50)]
    for token in delete_tokens + api_tokens:
        assert set(token) <= URLSAFE, token  # base64url: 6 bits a character
        assert len(token) * math.log2(len(URLSAFE)) >= 128, token
    assert len(set(delete_tokens + api_tokens)) == 100
    # The characters are spread over the whole alphabet, as random ones are.
    assert len(set("".join(delete_tokens + api_tokens))) >= 60


async def test_tokens_and_passwords_are_stored_only_as_hashes(
    client: TestClient, runtime: Runtime
) -> None:
    api_token = await runtime.service.create_api_token("hashed")
    password = "correct horse battery staple"
    item = await create(client, bearer(api_token), text="secret", password=password)
    delete_token = item["delete_token"]
    pool = runtime.db.pool

    row = await pool.fetchrow(
        "SELECT delete_token_hash, password_hash FROM refs WHERE content_id = $1", item["id"]
    )
    assert row["delete_token_hash"] == hashlib.sha256(delete_token.encode()).digest()
    assert len(row["delete_token_hash"]) == 32
    assert row["password_hash"].startswith("scrypt$")
    stored = await pool.fetchval("SELECT token_hash FROM api_tokens WHERE name = 'hashed'")
    assert stored == hashlib.sha256(api_token.encode()).digest()

    # No column of any table holds a token or the password as text.
    tables = await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    assert {"refs", "api_tokens", "owners", "texts"} <= {t["tablename"] for t in tables}
    for table in tables:
        rows = await pool.fetch(f'SELECT t::text AS row FROM "{table["tablename"]}" t')
        for text in (r["row"] for r in rows):
            for secret in (api_token, delete_token, password):
                assert secret not in text, (table["tablename"], text[:200])


def test_tokens_and_passwords_are_compared_in_constant_time() -> None:
    stored = tokens.hash_token("the-token")
    assert tokens.token_matches("the-token", stored)
    assert not tokens.token_matches("the-tokeN", stored)
    assert not tokens.token_matches("the-token", None)
    hashed = tokens.hash_password("pw")
    assert tokens.verify_password("pw", hashed) and not tokens.verify_password("pW", hashed)
    # Each comparison of a secret goes through hmac.compare_digest, never ==.
    for compare in (tokens.token_matches, tokens.verify_password, Grants.holds):
        source = inspect.getsource(compare)
        assert "hmac.compare_digest(" in source, compare.__name__
        assert not re.search(r"(digest|stored|expected|mac)\s*==", source), compare.__name__
    # An API token is looked up by its sha256: the database never sees or compares the token.
    assert "hash_token(token)" in inspect.getsource(Owners.owner_for_api_token)


async def test_a_revoked_token_opens_nothing_at_once(client: TestClient, runtime: Runtime) -> None:
    token = await runtime.service.create_api_token("leaving")
    item = await create(client, bearer(token), url="https://example.com/revoked")
    assert (await client.get(API, headers=bearer(token))).status == 200
    assert await runtime.service.revoke_api_token("leaving") == 1
    for method, path in (("GET", API), ("GET", f"{API}/{item['id']}/stats")):
        refused = await client.request(method, path, headers=bearer(token))
        assert refused.status == 401, path
    refused = await client.delete(f"{API}/{item['id']}", headers=bearer(token))
    assert refused.status == 401
    assert (await client.get(f"{API}/{item['id']}")).status == 200  # still there


# ---- private items -----------------------------------------------------------------------------


async def test_private_items_are_reached_only_by_their_long_id_and_password(
    client: TestClient, runtime: Runtime
) -> None:
    alice = bearer(await runtime.service.create_api_token("alice"))
    bob = bearer(await runtime.service.create_api_token("bob"))
    private = await create(
        client, alice, text="the plan", visibility="private", password="opensesame"
    )
    content_id = private["id"]
    assert len(content_id) >= 22 and set(content_id) <= set(ALPHABET)
    assert len(content_id) * math.log2(len(ALPHABET)) >= 128
    again = await create(client, alice, text="the plan", visibility="private", password="x")
    assert again["id"] != content_id  # random, not derived from the content

    # Not listed for anyone else, not found by a prefix.
    listing = await (await client.get(f"{API}?limit=100", headers=bob)).json()
    assert content_id not in {item["id"] for item in listing["items"]}
    for prefix in (content_id[:7], content_id[:8], content_id[:-1]):
        assert (await client.get(f"/{prefix}")).status == 404
        assert (await client.get(f"{API}/{prefix}")).status == 404
    # The id alone is not enough while it has a password; the owner needs no password.
    assert (await client.get(f"/{content_id}")).status == 401
    assert (await client.get(f"/{content_id}/raw")).status == 401
    assert (await client.get(f"{API}/{content_id}", headers=bob)).status == 401
    assert (await client.get(f"{API}/{content_id}", headers=alice)).status == 200
    opened = await client.get(f"/{content_id}/raw", headers={"X-Password": "opensesame"})
    assert opened.status == 200 and await opened.text() == "the plan"
    page = await client.get(
        f"/{content_id}", headers={"Accept": "text/html", "X-Password": "opensesame"}
    )
    assert '<meta name="robots" content="noindex, nofollow">' in await page.text()
    assert page.headers["Cache-Control"] == "no-store"


# ---- cross-site and volume ---------------------------------------------------------------------


async def test_a_cross_site_delete_is_refused_even_with_the_delete_token(
    client: TestClient,
) -> None:
    item = await create(client, url="https://example.com/keep")
    token = {"X-Delete-Token": item["delete_token"]}
    for origin in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = await client.delete(f"/{item['id']}", headers={**token, **origin})
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "forbidden"
    assert (await client.get(f"{API}/{item['id']}")).status == 200
    assert (await client.delete(f"/{item['id']}", headers=token)).status == 204


async def test_an_invented_bearer_token_is_counted_against_the_address(settings) -> None:
    limited = dataclasses.replace(
        settings, limits=dataclasses.replace(settings.limits, rate_read=5, rate_create=0)
    )
    async with (
        open_runtime(limited) as runtime,
        TestClient(TestServer(create_app(runtime.service))) as client,
    ):
        valid = bearer(await runtime.service.create_api_token("real"))
        link = await create(client, valid, url="https://example.com/limited")
        path = f"/{link['id']}"
        invented = [
            (await client.get(path, headers=bearer(tokens.new_token()), allow_redirects=False))
            for _ in range(8)
        ]
        assert [r.status for r in invented] == [302] * 5 + [429] * 3
        assert (await client.get(path, allow_redirects=False)).status == 429  # the address
        # A token that has proven itself has its own bucket, apart from the address's.
        assert (await client.get(path, headers=valid, allow_redirects=False)).status == 302
