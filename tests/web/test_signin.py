"""Signing in with Discord, over real HTTP against the OAuth2 stand-in: the flow, the owner it
signs in (the bot's owner for the same Discord user), the header, and every refusal."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.models import ItemOptions
from bot.runtime import open_runtime
from bot.web import create_app
from tests.oauth_standin import OAuthStandin
from tests.signin_fixtures import (  # noqa: F401 - fixtures
    ALICE,
    BOB,
    CLIENT_ID,
    Site,
    Visitors,
    oauth_fixture,
    running_site,
    site_fixture,
    visitors_fixture,
    with_signin,
)


def set_cookie(answer: aiohttp.ClientResponse, name: str) -> str:
    """The Set-Cookie header for `name`, flags and all."""
    found = [v for v in answer.headers.getall("Set-Cookie", []) if v.startswith(name + "=")]
    assert len(found) == 1, answer.headers.getall("Set-Cookie", [])
    return found[0]


def flags(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


async def session_rows(site: Site) -> list[dict[str, object]]:
    async with site.runtime.db.pool.acquire() as conn:
        return [dict(row) for row in await conn.fetch("SELECT * FROM sessions")]


# ---- the flow ---------------------------------------------------------------------------------


async def test_signing_in_makes_what_the_bot_stored_yours_on_the_web(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    service = site.service
    bots_owner = await service.owner_for_discord_user(ALICE.user_id, ALICE.username)
    from_discord = await service.add_link(
        "https://example.com/from-discord", options=ItemOptions(owner_id=bots_owner)
    )
    oauth.signed_in_as = ALICE
    alice = visitors.new()

    authorize = await alice.start_sign_in("/me/tokens")
    landed = await alice.sign_in(authorize=authorize)

    asked = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(oauth.url + "/oauth2/authorize?")
    assert asked["client_id"] == [CLIENT_ID] and asked["scope"] == ["identify"]
    assert asked["redirect_uri"] == [site.url + "/auth/callback"]
    assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43
    assert len(asked["state"][0]) >= 32
    exchanged = oauth.token_requests[-1]
    assert exchanged["client_secret"] and 43 <= len(exchanged["code_verifier"]) <= 128
    assert landed == "/me/tokens"
    status, page, _ = await alice.get("/me")
    assert status == 200
    assert from_discord.item.content_id in page and "https://example.com/from-discord" in page
    assert ">alice</a>" in page and 'action="/logout"' in page
    # What she makes on the web while signed in is hers in Discord too.
    status, _, _ = await alice.post("/", {"url": "https://example.com/from-the-web"})
    assert status == 201
    owned = await service.list_owned(bots_owner)
    assert {item.target for item in owned.items} == {
        "https://example.com/from-discord",
        "https://example.com/from-the-web",
    }


async def test_signing_in_again_replaces_the_browsers_session(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)
    first = alice.session_cookie()

    await alice.sign_in()

    assert alice.session_cookie() != first
    rows = await session_rows(site)
    assert len(rows) == 1
    assert rows[0]["client"] == "Firefox on Linux" and rows[0]["network"] == "127.0.0.0/24"


async def test_without_a_client_id_there_is_no_sign_in_anywhere(client: TestClient) -> None:
    html = {"Accept": "text/html"}
    for path in ("/login", "/auth/callback?code=x&state=y", "/me", "/me/tokens", "/admin"):
        answer = await client.get(path, headers=html, allow_redirects=False)
        assert answer.status == 404, path
    home = await (await client.get("/", headers=html)).text()
    assert "/login" not in home and "Sign in" not in home and "<!--refbin:account-->" in home


async def test_pages_say_sign_in_or_who_is_signed_in_with_a_sign_out_button(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    paste = await site.service.add_paste("print('hello')\n", language="python")
    paste_id = paste.item.content_id
    stranger = visitors.new()
    alice = await visitors.signed_in(oauth, ALICE)

    _, home, _ = await stranger.get("/")
    _, alice_paste, _ = await alice.get(f"/{paste_id}")  # made for alice first, then reused
    _, stranger_paste, _ = await stranger.get(f"/{paste_id}")
    _, alice_again, _ = await alice.get(f"/{paste_id}")
    _, alice_404, _ = await alice.get("/nothing-here-at-all")

    assert 'href="/login">Sign in</a>' in home
    assert f'href="/login?next=/{paste_id}">Sign in</a>' in stranger_paste
    assert "alice" not in stranger_paste
    for page in (alice_paste, alice_again, alice_404):
        assert ">alice</a>" in page and 'action="/logout"' in page and "Sign in" not in page
    for page in (home, stranger_paste, alice_paste, alice_again):
        assert "<!--refbin:account-->" not in page


async def test_account_pages_send_strangers_to_sign_in_and_refuse_their_posts(
    site: Site, visitors: Visitors
) -> None:
    stranger = visitors.new()

    status, _, answer = await stranger.get("/me/sessions")
    assert status == 303 and answer.headers["Location"] == "/login?next=/me/sessions"
    for path, form in (
        ("/me/tokens", {"name": "x"}),
        ("/me/tokens/revoke", {"token_id": "1"}),
        ("/me/sessions/revoke", {"session_id": "1"}),
        ("/me/sessions/revoke-all", {}),
    ):
        status, _, _ = await stranger.post(path, form)
        assert status == 404, path


# ---- what is stored, and for how long ---------------------------------------------------------


async def test_sessions_are_stored_only_as_a_hash_of_the_cookie(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)
    cookie = alice.session_cookie()
    assert cookie is not None and len(cookie) >= 32  # 192 random bits, URL-safe

    rows = await session_rows(site)

    assert [row["token_hash"] for row in rows] == [hashlib.sha256(cookie.encode()).digest()]
    assert all(cookie not in str(value) for row in rows for value in row.values())


async def test_a_session_is_renewed_when_used_and_lapses_when_not(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)
    pool = site.runtime.db.pool

    status, _, answer = await alice.get("/me")
    assert status == 200 and "Set-Cookie" not in answer.headers  # fresh: nothing written
    await pool.execute(
        "UPDATE sessions SET created_at = now() - interval '20 days', "
        "last_seen_at = now() - interval '10 minutes', expires_at = now() + interval '1 hour'"
    )
    status, _, answer = await alice.get("/me")
    renewed = set_cookie(answer, "refbin_session")
    left = await pool.fetchval("SELECT expires_at - now() FROM sessions")

    assert status == 200
    assert "Max-Age=2592000" in renewed and left > timedelta(days=29)
    await pool.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    status, _, answer = await alice.get("/me")
    assert status == 303 and answer.headers["Location"].startswith("/login")
    status, home, answer = await alice.get("/")
    assert "Sign in" in home and "Max-Age=0" in set_cookie(answer, "refbin_session")
    assert alice.session_cookie() is None


async def test_deleting_an_owner_ends_their_sessions(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)
    owner_id = await site.service.owner_for_discord_user(ALICE.user_id, ALICE.username)

    await site.runtime.db.pool.execute("DELETE FROM owners WHERE owner_id = $1", owner_id)

    assert await session_rows(site) == []
    status, _, _ = await alice.get("/me")
    assert status == 303


async def test_cookies_are_httponly_lax_and_secure_on_https(
    settings: Settings, oauth: OAuthStandin
) -> None:
    oauth.signed_in_as = ALICE
    public = with_signin(settings, oauth.url)
    public = dataclasses.replace(
        public, server=dataclasses.replace(public.server, public_url="https://bin.example")
    )
    async with (
        open_runtime(public) as runtime,
        TestClient(TestServer(create_app(runtime.service))) as client,
        aiohttp.ClientSession() as discord_side,
    ):
        login = await client.get("/login", allow_redirects=False)
        state_cookie = set_cookie(login, "refbin_signin")
        async with discord_side.get(login.headers["Location"], allow_redirects=False) as agreed:
            back = urlsplit(agreed.headers["Location"])
        assert back.netloc == "bin.example" and back.path == "/auth/callback"
        # The client would not send a Secure cookie over plain HTTP: send it as a browser
        # would over https.
        done = await client.get(
            f"/auth/callback?{back.query}",
            headers={"Cookie": state_cookie.split(";")[0]},
            allow_redirects=False,
        )
        session = set_cookie(done, "__Host-refbin_session")

    assert {"httponly", "secure", "path", "max-age", "samesite"} <= flags(state_cookie)
    assert "Path=/auth" in state_cookie and "SameSite=Lax" in state_cookie
    assert done.status == 303 and done.headers["Location"] == "/me"
    assert {"httponly", "secure", "samesite", "path"} <= flags(session)
    assert "Path=/;" in session + ";" and "SameSite=Lax" in session and "Domain" not in session


async def test_cookies_on_plain_http_are_httponly_and_lax(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    oauth.signed_in_as = ALICE
    alice = visitors.new()
    callback = await alice.at_discord(await alice.start_sign_in())

    _, _, answer = await alice.get(callback)

    session = set_cookie(answer, "refbin_session")
    assert {"httponly", "samesite", "path", "max-age"} <= flags(session)
    assert "secure" not in flags(session) and "Path=/" in session and "SameSite=Lax" in session
    assert "Max-Age=0" in set_cookie(answer, "refbin_signin")  # a state is good once


# ---- refusals: the state, the code, Discord -----------------------------------------------------


async def test_a_wrong_missing_tampered_or_replayed_state_is_a_clear_400(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    oauth.signed_in_as = ALICE
    alice = visitors.new()
    callback = await alice.at_discord(await alice.start_sign_in())
    parts = urlsplit(callback)
    code = parse_qs(parts.query)["code"][0]
    tampered = visitors.new()
    tampered_callback = await tampered.at_discord(await tampered.start_sign_in())
    state_cookie = next(c.value for c in list(tampered.jar) if c.key == "refbin_signin")
    body, _, mac = state_cookie.partition(".")

    attempts = [
        # A state that is not this browser's.
        await alice.get(f"{parts.path}?{urlencode({'code': code, 'state': 'not-the-state'})}"),
        # The right callback, again: the failed answer ended this sign-in (a state is good once).
        await alice.get(callback),
        # The right callback in a browser that never started this sign-in.
        await visitors.new().get(callback),
        # A state cookie someone changed (sent by hand: the jar holds the real one).
        await visitors.new().get(
            tampered_callback, headers={"Cookie": f"refbin_signin={body[:-4]}AAAA.{mac}"}
        ),
    ]

    for status, page, answer in attempts:
        assert status == 400
        assert "Sign-in expired" in page and "Sign in again" in page
        assert answer.headers["Cache-Control"] == "no-store"
    assert await session_rows(site) == []


async def test_a_replayed_callback_after_signing_in_is_a_400(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    oauth.signed_in_as = ALICE
    alice = visitors.new()
    callback = await alice.at_discord(await alice.start_sign_in())
    status, _, _ = await alice.get(callback)
    assert status == 303

    status, page, _ = await alice.get(callback)

    assert status == 400 and "Sign-in expired" in page
    assert len(await session_rows(site)) == 1


async def test_a_code_discord_refuses_or_a_cancelled_sign_in_is_a_400(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    oauth.signed_in_as = ALICE
    alice = visitors.new()
    callback = await alice.at_discord(await alice.start_sign_in())
    state = parse_qs(urlsplit(callback).query)["state"][0]
    status, refused, _ = await alice.get(f"/auth/callback?code=made-up&state={state}")

    oauth.deny = True
    bob = visitors.new()
    status_cancelled, cancelled, _ = await bob.get(await bob.at_discord(await bob.start_sign_in()))

    assert status == 400 and "Discord did not accept this sign-in" in refused
    assert status_cancelled == 400 and "Discord did not sign you in" in cancelled
    assert await session_rows(site) == []


async def test_discord_down_or_slow_is_a_502_page_not_a_500(
    settings: Settings, oauth: OAuthStandin
) -> None:
    # A port held bound but never listened on refuses connections, and no other process can
    # take it meanwhile (a port merely found free could be).
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{held.getsockname()[1]}"
        async with running_site(with_signin(settings, dead)) as site:
            visitor = Visitors(site)
            down = visitor.new()
            authorize = await down.start_sign_in()
            state = parse_qs(urlsplit(authorize).query)["state"][0]
            status_down, page_down, _ = await down.get(f"/auth/callback?code=x&state={state}")
            await visitor.close()
    oauth.token_delay = 8  # past refbin's 5 s
    async with running_site(with_signin(settings, oauth.url)) as site:
        visitor = Visitors(site)
        slow = visitor.new()
        oauth.signed_in_as = ALICE
        callback = await slow.at_discord(await slow.start_sign_in())
        started = time.monotonic()
        status_slow, page_slow, _ = await slow.get(callback)
        waited = time.monotonic() - started
        await visitor.close()
        failing = Visitors(site)
        oauth.token_delay, oauth.token_status = 0, 503
        broken = failing.new()
        status_failing, _, _ = await broken.get(
            await broken.at_discord(await broken.start_sign_in())
        )
        await failing.close()

    assert status_down == 502 and "Discord could not be reached" in page_down
    assert status_slow == 502 and "Discord could not be reached" in page_slow
    assert waited < 7.5
    assert status_failing == 502


# ---- after sign-in: only ever a path on this site ---------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/me",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/login?next=//evil.example",
        "/é",
    ],
)
async def test_next_that_is_not_a_path_here_leads_to_the_dashboard(
    target: str, site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    oauth.signed_in_as = ALICE
    visitor = visitors.new()
    status, _, answer = await visitor.get("/login?" + urlencode({"next": target}))
    assert status == 303

    landed = await visitor.sign_in(authorize=answer.headers["Location"])

    assert landed == "/me"


@pytest.mark.parametrize("target", ["/me/sessions", "/abc1234?lang=python", "/"])
async def test_next_that_is_a_path_here_is_kept(
    target: str, site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    oauth.signed_in_as = ALICE
    visitor = visitors.new()

    landed = await visitor.sign_in(target)

    assert landed == target


# ---- signing out, and a cookie that was copied --------------------------------------------------


async def test_a_stolen_cookie_opens_nothing_after_sign_out(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)
    stolen = alice.session_cookie()
    thief = visitors.new()
    thief.jar.update_cookies({"refbin_session": stolen})
    status, _, _ = await thief.get("/me")
    assert status == 200  # a copy works while the session lives: that is what a cookie is

    status, _, answer = await alice.post("/logout")

    assert status == 303 and answer.headers["Location"] == "/"
    assert alice.session_cookie() is None
    status, _, answer = await thief.get("/me")
    assert status == 303 and answer.headers["Location"].startswith("/login")
    status, _, _ = await thief.post("/me/tokens", {"name": "thief"})
    assert status == 404
    assert await session_rows(site) == []


async def test_sign_out_everywhere_ends_every_session_of_the_person_only(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    laptop = await visitors.signed_in(oauth, ALICE)
    phone = await visitors.signed_in(oauth, ALICE)
    bob = await visitors.signed_in(oauth, BOB)
    status, page, _ = await phone.get("/me/sessions")
    assert status == 200 and page.count("Firefox on Linux") == 2 and "this browser" in page

    status, _, _ = await laptop.post("/me/sessions/revoke-all")

    assert status == 303
    for browser in (laptop, phone):
        status, _, _ = await browser.get("/me")
        assert status == 303
    status, _, _ = await bob.get("/me")
    assert status == 200


async def test_ending_one_session_and_someone_elses_session_id(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    laptop = await visitors.signed_in(oauth, ALICE)
    phone = await visitors.signed_in(oauth, ALICE)
    bob = await visitors.signed_in(oauth, BOB)
    phone_id = await site.runtime.db.pool.fetchval(
        "SELECT session_id FROM sessions WHERE token_hash = $1",
        hashlib.sha256(str(phone.session_cookie()).encode()).digest(),
    )

    for wrong in (str(phone_id), "-1", "x", "99999999999999999999"):
        status, _, _ = await bob.post("/me/sessions/revoke", {"session_id": wrong})
        assert status == 404, wrong
    assert (await phone.get("/me"))[0] == 200
    status, _, answer = await laptop.post("/me/sessions/revoke", {"session_id": str(phone_id)})

    assert status == 303 and answer.headers["Location"] == "/me/sessions"
    assert (await phone.get("/me"))[0] == 303
    assert (await laptop.get("/me"))[0] == 200


# ---- forms from another site --------------------------------------------------------------------


async def test_posts_from_another_site_are_refused_and_change_nothing(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)
    evil = "https://evil.example"
    session_id = (await session_rows(site))[0]["session_id"]

    for path, form in (
        ("/logout", {}),
        ("/me/sessions/revoke", {"session_id": str(session_id)}),
        ("/me/sessions/revoke-all", {}),
        ("/me/tokens", {"name": "planted"}),
    ):
        status, page, _ = await alice.post(path, form, origin=evil)
        assert status == 403 and "Cross-site requests are refused" in page, path
    async with alice.session.post(
        site.url + "/logout", headers={"Sec-Fetch-Site": "cross-site"}, allow_redirects=False
    ) as answer:
        assert answer.status == 403

    owner_id = await site.service.owner_for_discord_user(ALICE.user_id, ALICE.username)
    assert await site.service.list_owner_tokens(owner_id) == []
    assert len(await session_rows(site)) == 1
    assert (await alice.get("/me"))[0] == 200


# ---- API tokens ---------------------------------------------------------------------------------


async def test_tokens_are_made_shown_once_listed_by_name_and_revoked(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)
    bob = await visitors.signed_in(oauth, BOB)

    status, page, answer = await alice.post("/me/tokens", {"name": "laptop"})
    assert status == 201 and answer.headers["Cache-Control"] == "no-store"
    token = page.split('id="api-token" type="text" value="', 1)[1].split('"', 1)[0]
    assert len(token) >= 32
    status, listing, _ = await alice.get("/me/tokens")
    assert status == 200 and "laptop" in listing and token not in listing
    async with aiohttp.ClientSession() as api:
        async with api.post(
            site.url + "/api/v1/items",
            json={"url": "https://example.com/by-token"},
            headers={"Authorization": f"Bearer {token}"},
        ) as made:
            assert made.status == 201
    owner_id = await site.service.owner_for_discord_user(ALICE.user_id, ALICE.username)
    assert [i.target for i in (await site.service.list_owned(owner_id)).items] == [
        "https://example.com/by-token"
    ]

    status, sxcu, answer = await alice.post("/me/tokens/sharex", {"token": token})
    assert status == 200 and token in sxcu
    assert "attachment" in answer.headers["Content-Disposition"]
    status, _, _ = await bob.post("/me/tokens/sharex", {"token": token})
    assert status == 404
    token_id = (await site.service.list_owner_tokens(owner_id))[0].token_id
    status, _, _ = await bob.post("/me/tokens/revoke", {"token_id": str(token_id)})
    assert status == 404 and await site.service.owner_for_api_token(token) == owner_id
    status, _, _ = await alice.post("/me/tokens/revoke", {"token_id": str(token_id)})
    assert status == 303
    assert await site.service.owner_for_api_token(token) is None
    status, _, _ = await alice.post("/me/tokens/sharex", {"token": token})
    assert status == 404


async def test_token_forms_refuse_unknown_or_missing_fields(
    site: Site, oauth: OAuthStandin, visitors: Visitors
) -> None:
    alice = await visitors.signed_in(oauth, ALICE)

    unknown = await alice.post("/me/tokens", {"name": "x", "owner_id": "1"})
    missing = await alice.post("/me/tokens", {})
    empty = await alice.post("/me/tokens", {"name": "   "})

    assert unknown[0] == 400 and "Unknown field(s): owner_id" in unknown[1]
    assert missing[0] == 400 and "Missing field(s): name" in missing[1]
    assert empty[0] == 400 and "1 to 100 characters" in empty[1]
