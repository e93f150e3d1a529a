"""An owner's items through the content service, against a real database: the filtered listing
with keyset pages, changing one item, and changing many at once."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import Forbidden, Gone, Invalid, NotFound, PasswordRequired
from bot.models import ItemChanges, ItemOptions, ListFilter, Page, Visit
from bot.runtime import Runtime
from bot.service import ContentService
from bot.service.listing import FIRST_LINE, NO_FILTER, first_line
from bot.service.owning import MAX_BULK
from tests.helpers import chunks_of, png_bytes


async def owner(runtime: Runtime, user_id: int) -> int:
    return await runtime.service.owner_for_discord_user(user_id, f"user{user_id}")


async def everything(
    service: ContentService,
    owner_id: int | None,
    filters: ListFilter = NO_FILTER,
    *,
    limit: int = 100,
    admin: bool = False,
) -> list[str]:
    """Every id a listing shows, following its cursors to the end."""
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        page = await service.list_owned(owner_id, filters, cursor=cursor, limit=limit, admin=admin)
        seen += [item.content_id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the listing never ended")


@dataclasses.dataclass
class Holdings:
    link: str
    paste: str  # unlisted, named notes.md
    secret_file: str  # private
    locked_image: str  # password
    once: str  # view-limited paste
    soon: str  # a link expiring in 2 days
    later: str  # a link expiring in 30 days


async def hold_one_of_each(service: ContentService, owner_id: int, tag: str) -> Holdings:
    def opts(**kwargs: object) -> ItemOptions:
        return ItemOptions(owner_id=owner_id, **kwargs)  # type: ignore[arg-type]

    async def link(url: str, **kwargs: object) -> str:
        return (await service.add_link(url, options=opts(**kwargs))).item.content_id

    return Holdings(
        link=await link(f"https://example.com/{tag}/plain"),
        paste=(
            await service.add_paste(
                f"# {tag}\nbody\n", filename="notes.md", options=opts(visibility="unlisted")
            )
        ).item.content_id,
        secret_file=(
            await service.add_upload(
                chunks_of(f"{tag} secret bytes".encode()),
                filename=f"{tag}-report.bin",
                options=opts(visibility="private"),
            )
        ).item.content_id,
        locked_image=(
            await service.add_upload(
                chunks_of(png_bytes(color=(1, 2, len(tag)))),
                filename="cat.png",
                options=opts(password="hunter2"),
            )
        ).item.content_id,
        once=(await service.add_paste(f"{tag} once", options=opts(max_views=3))).item.content_id,
        soon=await link(f"https://example.com/{tag}/soon", expires_in=timedelta(days=2)),
        later=await link(f"https://example.com/{tag}/later", expires_in=timedelta(days=30)),
    )


# ---- listing -----------------------------------------------------------------------------


async def test_each_filter_lists_exactly_the_owners_matching_items(runtime: Runtime) -> None:
    service = runtime.service
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    a = await hold_one_of_each(service, alice, "alice")
    b = await hold_one_of_each(service, bob, "bob")
    await service.add_link("https://example.com/anonymous/notes.md")
    mine = {getattr(a, field.name) for field in dataclasses.fields(a)}
    cases = {
        ListFilter(): mine,
        ListFilter(kind="url"): {a.link, a.soon, a.later},
        ListFilter(kind="text"): {a.paste, a.once},
        ListFilter(kind="image"): {a.locked_image},
        ListFilter(kind="file"): {a.secret_file},
        ListFilter(visibility="public"): mine - {a.paste, a.secret_file},
        ListFilter(visibility="unlisted"): {a.paste},
        ListFilter(visibility="private"): {a.secret_file},
        ListFilter(has_password=True): {a.locked_image},
        ListFilter(has_password=False): mine - {a.locked_image},
        ListFilter(view_limited=True): {a.once},
        ListFilter(view_limited=False): mine - {a.once},
        ListFilter(expiring_within=timedelta(days=7)): {a.soon},
        ListFilter(expiring_within=timedelta(days=31)): {a.soon, a.later},
        ListFilter(text="notes"): {a.paste},
        ListFilter(text="ALICE/SOON"): {a.soon},  # the link's target, any case
        ListFilter(text="report"): {a.secret_file},
        ListFilter(text=a.once[2:6]): {a.once},  # a piece of the id
        ListFilter(text="bob"): set(),
        ListFilter(kind="url", expiring_within=timedelta(days=31)): {a.soon, a.later},
        ListFilter(kind="text", visibility="unlisted", text="NOTES"): {a.paste},
        ListFilter(kind="image", has_password=False): set(),
    }
    for filters, expected in cases.items():
        for limit in (2, 100):
            listed = await everything(service, alice, filters, limit=limit)
            assert len(listed) == len(set(listed)), filters
            assert set(listed) == expected, filters
    # Bob's never shows up in Alice's listing, and the other way round.
    assert set(await everything(service, bob)) == {
        getattr(b, field.name) for field in dataclasses.fields(b)
    }


async def test_a_listing_is_newest_first_and_expiring_soonest_first(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    ids = []
    for days in (9, 3, 6):
        created = await service.add_link(
            f"https://example.com/{days}",
            options=ItemOptions(owner_id=alice, expires_in=timedelta(days=days)),
        )
        ids.append(created.item.content_id)
    assert await everything(service, alice) == ids[::-1]
    soonest = await everything(service, alice, ListFilter(expiring_within=timedelta(days=10)))
    assert soonest == [ids[1], ids[2], ids[0]]


async def test_keyset_pages_never_skip_or_repeat_while_items_are_added(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    before = [
        (
            await service.add_link(
                f"https://example.com/{n}",
                options=ItemOptions(owner_id=alice, expires_in=timedelta(days=1 + n % 7)),
            )
        ).item.content_id
        for n in range(23)
    ]
    for filters in (ListFilter(), ListFilter(expiring_within=timedelta(days=8))):
        seen: list[str] = []
        page = await service.list_owned(alice, filters, limit=4)
        added = 0
        while True:
            seen += [item.content_id for item in page.items]
            # New items arrive between pages: at the top, or (expiring) anywhere in the order.
            for _ in range(2):
                added += 1
                await service.add_link(
                    f"https://example.com/new/{bool(filters.expiring_within)}/{added}",
                    options=ItemOptions(owner_id=alice, expires_in=timedelta(hours=1 + added)),
                )
            if page.next_cursor is None:
                break
            page = await service.list_owned(alice, filters, cursor=page.next_cursor, limit=4)
        assert len(seen) == len(set(seen))
        assert set(before) <= set(seen)


async def test_a_bounded_scan_gives_short_pages_that_still_reach_every_match(
    runtime: Runtime,
) -> None:
    service = runtime.service
    service.listing.scan_limit = 5
    alice = await owner(runtime, 1)
    wanted = set()
    for n in range(23):
        # Public items are the rare ones here: no index serves a public-only listing.
        name = f"needle-{n}.txt" if n in (3, 4, 17) else f"hay-{n}.txt"
        visibility = "public" if name.startswith("needle") else "unlisted"
        created = await service.add_paste(
            f"paste {n}", filename=name, options=ItemOptions(alice, visibility=visibility)
        )
        if name.startswith("needle"):
            wanted.add(created.item.content_id)
    pages: list[Page] = []
    cursor = None
    public = ListFilter(visibility="public")
    while True:
        page = await service.list_owned(alice, public, cursor=cursor, limit=3)
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert {item.content_id for page in pages for item in page.items} == wanted
    assert len(pages) == 5  # 23 items, 5 looked at a page
    assert any(not page.items and page.next_cursor for page in pages)
    # A search is not a scan: its index finds every match, a full page at a time.
    found = await service.list_owned(alice, ListFilter(text="needle"), limit=3)
    assert {item.content_id for item in found.items} == wanted
    # Filters with an index of their own fill their pages, whatever the scan's limit.
    full = await service.list_owned(alice, ListFilter(kind="text"), limit=10)
    assert len(full.items) == 10 and full.next_cursor


async def test_the_text_filter_takes_wildcards_literally(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    percent = await service.add_link("https://example.com/100%25", options=ItemOptions(alice))
    under = await service.add_link("https://example.com/a_b", options=ItemOptions(alice))
    await service.add_link("https://example.com/aXb", options=ItemOptions(alice))
    slash = await service.add_link("https://example.com/back\\slash", options=ItemOptions(alice))
    assert await everything(service, alice, ListFilter(text="%")) == [percent.item.content_id]
    assert await everything(service, alice, ListFilter(text="a_b")) == [under.item.content_id]
    assert await everything(service, alice, ListFilter(text="\\")) == [slash.item.content_id]
    assert len(await everything(service, alice, ListFilter(text="   "))) == 4  # blank: no filter


async def test_listing_refusals(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    await service.add_link("https://example.com/", options=ItemOptions(alice))
    soon = ListFilter(expiring_within=timedelta(days=1))
    newest_cursor = "1700000000.000000.abcdefg"
    for filters, cursor, message in (
        (ListFilter(kind="video"), None, "Kind"),  # type: ignore[arg-type]
        (ListFilter(visibility="secret"), None, "Visibility"),  # type: ignore[arg-type]
        (ListFilter(expiring_within=timedelta(0)), None, "Expiring"),
        (ListFilter(text="x" * 101), None, "at most 100"),
        (ListFilter(text="nul\x00"), None, "not valid text"),
        (ListFilter(), "garbage", "cursor"),
        (ListFilter(), "x" + newest_cursor, "cursor"),  # a soonest-first cursor
        (soon, newest_cursor, "cursor"),
    ):
        with pytest.raises(Invalid, match=message):
            await service.list_owned(alice, filters, cursor=cursor)
    with pytest.raises(Forbidden):
        await service.list_owned(None)


async def test_operators_list_every_owners_items(runtime: Runtime) -> None:
    service = runtime.service
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    ids = {
        (await service.add_link("https://example.com/a", options=ItemOptions(alice))).item,
        (await service.add_link("https://example.com/b", options=ItemOptions(bob))).item,
        (await service.add_link("https://example.com/anonymous")).item,
    }
    assert set(await everything(service, None, admin=True, limit=2)) == {
        item.content_id for item in ids
    }
    urls = await everything(service, None, ListFilter(text="example.com/a"), admin=True)
    assert len(urls) == 2
    assert await everything(service, bob, admin=True) == [
        item.content_id for item in ids if item.owner_id == bob
    ]


async def test_listed_items_carry_what_the_dashboard_shows(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    opts = ItemOptions(owner_id=alice, max_views=5)
    paste = await service.add_paste("\n\n   def main():  \n    pass\n", options=opts)
    image = await service.add_upload(chunks_of(png_bytes()), options=ItemOptions(alice))
    await service.resolve(paste.item.content_id, password=None, visit=Visit())
    listed = {item.content_id: item for item in (await service.list_owned(alice)).items}
    shown = listed[paste.item.content_id]
    assert shown.first_line == "def main():"
    assert shown.language == "python" and shown.line_count == 4
    assert shown.views_left == 4 and not shown.has_thumbnail
    picture = listed[image.item.content_id]
    assert picture.has_thumbnail and picture.views_left is None and picture.size
    assert picture.first_line is None


def test_a_pastes_first_line_is_its_first_with_something_on_it() -> None:
    assert first_line("\n  \t\n  hello  \nworld") == "hello"
    assert first_line("\n\n \n") is None
    assert first_line("x" * 500) == "x" * FIRST_LINE
    assert first_line("bad \ud800 surrogate") == "bad ? surrogate"


# ---- changing one item ---------------------------------------------------------------------


async def test_the_owner_changes_each_field_and_the_change_is_seen_at_once(
    runtime: Runtime,
) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    created = await service.add_paste(
        "change me", options=ItemOptions(owner_id=alice, expires_in=timedelta(days=1))
    )
    content_id = created.item.content_id
    await service.resolve(content_id)  # now in the item cache
    start = datetime.now(UTC)

    item = await service.update(content_id, alice, ItemChanges(expires_in=timedelta(days=10)))
    assert item.expires_at is not None
    assert timedelta(days=10) <= item.expires_at - start < timedelta(days=10, minutes=1)
    extended = await service.update(content_id, alice, ItemChanges(extend_by=timedelta(days=2)))
    assert extended.expires_at == item.expires_at + timedelta(days=2)
    assert (
        await service.update(content_id, alice, ItemChanges(expires_in=None))
    ).expires_at is None

    limited = await service.update(content_id, alice, ItemChanges(max_views=2))
    assert limited.max_views == 2
    assert (await service.resolve(content_id)).max_views == 2  # not the cached copy
    assert (await service.update(content_id, alice, ItemChanges(max_views=None))).max_views is None

    private = await service.update(content_id, alice, ItemChanges(visibility="private"))
    assert private.visibility == "private" and private.content_id == content_id  # the same id

    await service.update(content_id, alice, ItemChanges(password="s3cret"))
    with pytest.raises(PasswordRequired):
        await service.resolve(content_id)
    await service.resolve(content_id, password="s3cret")
    await service.update(content_id, alice, ItemChanges(password="other"))
    with pytest.raises(PasswordRequired):
        await service.resolve(content_id, password="s3cret")
    unlocked = await service.update(content_id, alice, ItemChanges(password=None))
    assert not unlocked.has_password
    assert (await service.resolve(content_id)).content_id == content_id


async def test_changes_anyone_but_the_owner_makes_are_not_found(runtime: Runtime) -> None:
    service = runtime.service
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    private = await service.add_paste("p", options=ItemOptions(alice, visibility="private"))
    anonymous = await service.add_paste("anonymous")
    answers = set()
    for content_id, who in (
        (private.item.content_id, bob),
        (anonymous.item.content_id, bob),
        ("NoSuchIdHere", bob),
        ("bad id!", alice),
    ):
        with pytest.raises(NotFound) as refused:
            await service.update(content_id, who, ItemChanges(visibility="public"))
        answers.add(refused.value.message)
    assert len(answers) == 1
    assert (await service.get(private.item.content_id)).visibility == "private"


async def test_change_refusals_name_the_rule(runtime: Runtime) -> None:
    service = runtime.service
    service.settings = dataclasses.replace(
        service.settings,
        limits=dataclasses.replace(service.settings.limits, max_expiry=timedelta(days=30)),
    )
    alice = await owner(runtime, 1)
    opts = ItemOptions(owner_id=alice, max_views=10, expires_in=timedelta(days=20))
    content_id = (await service.add_paste("rules", options=opts)).item.content_id
    for _ in range(3):
        await service.resolve(content_id, visit=Visit())
    for changes, message in (
        (ItemChanges(), "Nothing to change"),
        (ItemChanges(max_views=3), "more than the 3 views"),
        (ItemChanges(max_views=2), "more than the 3 views"),
        (ItemChanges(max_views=0), "from 1"),
        (ItemChanges(expires_in=timedelta(days=31)), "longer than this instance allows"),
        (ItemChanges(extend_by=timedelta(days=11)), "longer than this instance allows"),
        (ItemChanges(expires_in=None), "cannot be kept forever"),
        (ItemChanges(expires_in=timedelta(days=1), extend_by=timedelta(days=1)), "not both"),
        (ItemChanges(expires_in=-timedelta(days=1)), "future"),
        (ItemChanges(visibility="secret"), "Visibility"),  # type: ignore[arg-type]
        (ItemChanges(password=""), "1 to 200"),
        (ItemChanges(password="x" * 201), "1 to 200"),
    ):
        with pytest.raises(Invalid, match=message):
            await service.update(content_id, alice, changes)
    item = await service.update(content_id, alice, ItemChanges(max_views=4))
    assert item.max_views == 4 and item.views == 3


async def test_an_item_that_never_expires_is_not_extended(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    never = (await service.add_link("https://example.com/n", options=ItemOptions(alice))).item
    with pytest.raises(Invalid, match="never expires"):
        await service.update(never.content_id, alice, ItemChanges(extend_by=timedelta(days=1)))


async def test_a_gone_item_cannot_be_changed(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    once = await service.add_paste("once", options=ItemOptions(owner_id=alice, max_views=1))
    await service.resolve(once.item.content_id, visit=Visit())
    with pytest.raises(Gone):
        await service.update(once.item.content_id, alice, ItemChanges(max_views=None))


# ---- many at once --------------------------------------------------------------------------


async def test_bulk_changes_touch_the_owners_items_only(runtime: Runtime) -> None:
    service = runtime.service
    alice, bob = await owner(runtime, 1), await owner(runtime, 2)
    day = timedelta(days=1)

    async def paste(text: str, who: int, expires: timedelta | None = day) -> str:
        options = ItemOptions(owner_id=who, expires_in=expires)
        return (await service.add_paste(text, options=options)).item.content_id

    a1, a2, forever = (
        await paste("a1", alice),
        await paste("a2", alice),
        await paste("a3", alice, None),
    )
    b1 = await paste("b1", bob)
    asked = [a1, b1, "NoSuchId", a2, forever, a1, "bad id!"]
    before = {cid: (await service.get(cid)).expires_at for cid in (a1, a2, b1)}

    extended = await service.bulk_change(alice, "extend", asked, extend_by=day)
    outcomes = {outcome.content_id: outcome for outcome in extended}
    assert [outcome.content_id for outcome in extended] == [
        a1,
        b1,
        "NoSuchId",
        a2,
        forever,
        "bad id!",
    ]
    assert outcomes[a1].done and outcomes[a2].done
    assert (outcomes[b1].code, outcomes["NoSuchId"].code) == ("not_found", "not_found")
    assert outcomes[b1].message == outcomes["NoSuchId"].message
    assert outcomes[forever].code == "invalid" and "never expires" in outcomes[forever].message
    for cid in (a1, a2):
        assert (await service.get(cid)).expires_at == before[cid] + day
    assert (await service.get(b1)).expires_at == before[b1]

    hidden = await service.bulk_change(alice, "visibility", [a1, b1], visibility="unlisted")
    assert [outcome.done for outcome in hidden] == [True, False]
    assert (await service.get(a1)).visibility == "unlisted"
    assert (await service.get(b1)).visibility == "public"

    deleted = await service.bulk_change(alice, "delete", [a1, b1, a2])
    assert [outcome.done for outcome in deleted] == [True, False, True]
    for cid in (a1, a2):
        with pytest.raises(NotFound):
            await service.get(cid)
    assert (await service.get(b1)).content_id == b1
    # An operator deletes anyone's.
    assert (await service.bulk_change(None, "delete", [b1], admin=True))[0].done


async def test_bulk_refusals(runtime: Runtime) -> None:
    service = runtime.service
    alice = await owner(runtime, 1)
    day = timedelta(days=1)
    for action, ids, kwargs, message in (
        ("delete", [], {}, "at least one"),
        ("delete", [f"id{n}" for n in range(MAX_BULK + 1)], {}, "At most 500"),
        ("archive", ["abc"], {}, "action is one of"),
        ("extend", ["abc"], {}, "needs a duration"),
        ("delete", ["abc"], {"extend_by": day}, "only extending"),
        ("visibility", ["abc"], {}, "needs one"),
        ("visibility", ["abc"], {"visibility": "secret"}, "Visibility"),
        ("extend", ["abc"], {"extend_by": -day}, "future"),
    ):
        with pytest.raises(Invalid, match=message):
            await service.bulk_change(alice, action, ids, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        await service.bulk_change(None, "delete", ["abc"])
    with pytest.raises(Invalid):
        await service.bulk_change(None, "extend", ["abc"], extend_by=day, admin=True)
    # Repeats count once: 500 distinct ids are the limit, not 500 names.
    outcomes = await service.bulk_change(alice, "delete", ["abc"] * (MAX_BULK + 5))
    assert len(outcomes) == 1 and outcomes[0].code == "not_found"
