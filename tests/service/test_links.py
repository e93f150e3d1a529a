"""Links back to this refbin are refused in every spelling of its hosts, so that no short link
redirects to another one (two aliases pointing at each other would redirect forever)."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import Invalid
from bot.runtime import Runtime
from bot.service import ContentService
from bot.service.links import ITSELF, check_link_allowed, normalise_link

LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:8080/x",
    "http://127.0.0.1/x",  # without the port
    "https://127.0.0.1:9999/x",  # another port of the same host
    "http://127.0.0.1.:8080/x",
    "http://localhost:8080/x",
    "http://localhost.:8080/x",
    "http://LOCALHOST/x",
    "http://LocalHost./x",
    "http://refbin.localhost/x",
    "http://localhost.localdomain/x",
    "http://ip6-localhost/x",
    "http://0.0.0.0:8080/x",
    "http://0/x",
    "http://[::1]:8080/x",
    "http://[0:0:0:0:0:0:0:1]/x",
    "http://[::]/x",
    "http://[::ffff:127.0.0.1]:8080/x",
    "http://[::FFFF:7f00:1]/x",
    "http://[::ffff:0.0.0.0]/x",
    "http://127.1:8080/x",
    "http://127.0.1/x",
    "http://2130706433/x",
    "http://0x7f000001/x",
    "http://0x7F.0.0.1/x",
    "http://0177.0.0.1/x",
    "http://\uff11\uff12\uff17.0.0.1/x",  # full-width digits
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/x",  # full-width localhost
]
ELSEWHERE = [
    "http://127.0.0.2:8080/x",  # another loopback address: refbin does not listen there
    "http://127.8.9.10/x",
    "http://[::ffff:127.0.0.2]/x",
    "https://example.com/",
    "https://127.0.0.1.example.com/",
    "https://localhost.example.com/",
    "https://example.com/?next=http://127.0.0.1:8080/x",
    "http://10.0.0.1/",
    "http://128.0.0.1/",
    "http://0.0.0.1/",
    "http://[::2]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[2001:db8::1]/",
]
PUBLIC = "https://bin.example"
CONTENT = "https://content.bin.example:8443"
NAMED_SPELLINGS = [
    "https://bin.example/x",
    "http://bin.example/x",
    "https://BIN.Example./x",
    "https://bin.example:443/x",
    "https://bin.example:8443/x",
    "https://\uff42\uff49\uff4e.example/x",  # full-width letters IDNA-map to bin.example
    "https://content.bin.example:8443/x",
    "https://content.bin.example/x",
    "https://CONTENT.bin.example./x",
]
NAMED_ELSEWHERE = [
    "https://www.bin.example/",
    "https://bin.example.com/",
    "https://other.example/bin.example",
    # refbin is reached by name here: loopback addresses lead a visitor to their own machine
    "http://127.0.0.1:8080/x",
    "http://localhost/x",
    "http://[::1]/x",
]
CASES = {
    # (public_url, content_url): (links refused as this refbin, links accepted)
    "loopback-address": (("", ""), LOOPBACK_SPELLINGS, ELSEWHERE),
    "loopback-name": (("http://localhost:8080", ""), LOOPBACK_SPELLINGS, ELSEWHERE),
    "ipv6-loopback": (("http://[::1]:8080", ""), LOOPBACK_SPELLINGS, ELSEWHERE),
    # Reached at an unspecified address, refbin listens on every address: 127.0.0.2 too.
    "unspecified-address": (
        ("http://0.0.0.0:8080", ""),
        [*LOOPBACK_SPELLINGS, "http://127.0.0.2:8080/x", "http://127.8.9.10/x"],
        ["https://example.com/", "http://10.0.0.1/", "http://[::2]/"],
    ),
    "named": ((PUBLIC, CONTENT), NAMED_SPELLINGS, NAMED_ELSEWHERE),
    "public-address": (
        ("http://203.0.113.5:8080", ""),
        [
            "http://203.0.113.5/x",
            "http://3405803781/x",
            "http://0xcb.0.113.5/x",
            "http://203.0.28933/x",
            "http://[::ffff:203.0.113.5]/x",
            "http://[::ffff:cb00:7105]/x",
        ],
        ["http://127.0.0.1:8080/x", "http://localhost/x", "http://203.0.113.6/"],
    ),
}


@pytest.mark.parametrize(("urls", "refused", "accepted"), CASES.values(), ids=CASES.keys())
async def test_every_spelling_of_this_refbins_hosts_is_refused(
    runtime: Runtime, urls: tuple[str, str], refused: list[str], accepted: list[str]
) -> None:
    public_url, content_url = urls
    service = runtime.service
    server = dataclasses.replace(
        service.settings.server, public_url=public_url, content_url=content_url
    )
    service.settings = dataclasses.replace(service.settings, server=server)
    refusals = {link: await _refusal(service, link) for link in refused}
    assert refusals == dict.fromkeys(refused, ITSELF)
    for link in accepted:
        created = await service.add_link(link)
        assert created.item.target == normalise_link(link)


async def _refusal(service: ContentService, link: str) -> str | None:
    try:
        await service.add_link(link)
    except Invalid as refusal:
        return str(refusal)
    return None


# ---- the same rule as a property: any spelling of any address -----------------------------


def _part(value: int, style: str) -> str:
    return {"dec": str(value), "hex": hex(value), "oct": "0" + oct(value)[2:]}[style]


@st.composite
def ipv4_spellings(draw: st.DrawFn, addresses: st.SearchStrategy[int]) -> tuple[int, str]:
    """An IPv4 address and one of the ways a browser reads it: 1 to 4 numbers (the last one
    filling the remaining bytes), each in decimal, hex or octal; or as IPv4-mapped IPv6."""
    number = draw(addresses)
    octets = number.to_bytes(4, "big")
    form = draw(st.sampled_from(["1", "2", "3", "4", "mapped-dotted", "mapped-hex"]))
    if form == "mapped-dotted":
        return number, f"[::ffff:{'.'.join(map(str, octets))}]"
    if form == "mapped-hex":
        return number, f"[::ffff:{number >> 16:x}:{number & 0xFFFF:x}]"
    count = int(form)
    head = list(octets[: count - 1])
    tail = int.from_bytes(octets[count - 1 :], "big")
    styles = draw(st.lists(st.sampled_from(["dec", "hex", "oct"]), min_size=count, max_size=count))
    spelling = ".".join(_part(v, s) for v, s in zip([*head, tail], styles, strict=True))
    if draw(st.booleans()):
        spelling += "."
    return number, spelling


def _judge(host: str, own: tuple[str, ...]) -> bool:
    """Whether refbin, reached at `own`, refuses a link to `host` as itself."""
    try:
        check_link_allowed(normalise_link(f"http://{host}:8080/x"), own, ())
    except Invalid as refusal:
        assert str(refusal) == ITSELF
        return True
    return False


THIS_MACHINE = st.sampled_from([("127.0.0.1",), ("localhost",), ("::1",), ("0.0.0.0",)])
ANY_ADDRESS = st.one_of(
    st.integers(0, 2**32 - 1),
    st.integers(0x7F000000, 0x7FFFFFFF),  # loopback
    st.sampled_from([0, 0x7F000001, 0x7F000002, 0x7F000100]),
)


@settings(max_examples=600, deadline=None)
@given(ipv4_spellings(ANY_ADDRESS), THIS_MACHINE)
def test_any_spelling_of_an_address_is_refused_exactly_when_it_leads_to_this_refbin(
    spelled: tuple[int, str], own: tuple[str, ...]
) -> None:
    number, host = spelled
    address = ipaddress.IPv4Address(number)
    # 127.0.0.1 and 0.0.0.0 reach whatever listens on 127.0.0.1; another loopback address only
    # reaches refbin when it listens on every address (reached at 0.0.0.0).
    leads_here = str(address) in ("127.0.0.1", "0.0.0.0") or (
        own == ("0.0.0.0",) and address.is_loopback
    )
    assert _judge(host, own) == leads_here, host


@settings(max_examples=300, deadline=None)
@given(ipv4_spellings(st.integers(0, 2**32 - 1)))
def test_any_spelling_of_a_public_address_of_refbin_is_refused(spelled: tuple[int, str]) -> None:
    number, host = spelled
    own = (str(ipaddress.IPv4Address(number)),)
    assert _judge(host, own), host


async def test_two_aliases_cannot_redirect_to_each_other(runtime: Runtime) -> None:
    service = runtime.service
    base = service.settings.server.base_url  # http://127.0.0.1:8080
    ping = await service.add_link("https://example.com/", alias="ping")
    assert ping.item.target == "https://example.com/"
    for target in (f"{base}/ping", "http://localhost:8080/ping", "http://[::1]:8080/ping+"):
        with pytest.raises(Invalid, match=ITSELF):
            await service.add_link(target, alias="pong")
    # Nor may an alias point at itself.
    with pytest.raises(Invalid, match=ITSELF):
        await service.add_link("http://0.0.0.0:8080/loop", alias="loop")
