"""A property of every page refbin renders: user content is text, never markup.

Generated strings full of markup, template syntax and attribute breakers go in as paste content,
filenames, language names (?lang=), link targets and form options; each carries the marker
`<refbin-probe`, which no template contains. On the paste, file, link-info, result and error
pages the marker must never appear with its `<` unescaped, the parsed page must have no inline
event handler and no script but refbin's own, and the marker must be there as text (the content
was shown, escaped: the check is not vacuous).
"""

from __future__ import annotations

import itertools
from html.parser import HTMLParser
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.web.templating import LANGUAGE_CHOICES
from tests.security_fixtures import (  # noqa: F401 - the shared_app fixture
    MULTIPART,
    SharedApp,
    multipart,
    part,
    shared_app_fixture,
)

MARKER = "<refbin-probe"
HTML = {"Accept": "text/html"}
bounded = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_serial = itertools.count()

PIECES = [
    "<", ">", "&", '"', "'", "/", "=", "`", "<script>alert(1)</script>", "</script>",
    "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>", '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus='", "{{7*7}}", "{% raw %}", "{#", "<!--", "-->", "]]>",
    "&lt;", "&amp;", "&#60;", "</textarea>", "</title>", "<base href=//evil.example/>",
    "javascript:alert(1)", "\u202e", "é", "日本",
]  # fmt: skip
markupish = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=10).map("".join)
# No whitespace or controls: what a link may hold.
url_safe = st.lists(
    st.sampled_from([p for p in PIECES if " " not in p and p.isprintable()])
    | st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=4),
    max_size=8,
).map("".join)


def probe(before: str, after: str, attribute: str = " a='1'") -> str:
    """A user string that carries the marker, unique so nothing is deduplicated away."""
    return f"{before}{MARKER}-{next(_serial)}{attribute}>{after}"


class Page(HTMLParser):
    """What the browser would build: text, tags, script sources, event-handler attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.scripts: list[str | None] = []
        self.handlers: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts.append(dict(attrs).get("src"))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_page(html: str, *shown: str) -> None:
    """User content in `html` is escaped text: no unescaped `<` from it, no markup it made."""
    assert MARKER not in html, html[max(0, html.find(MARKER) - 200) : html.find(MARKER) + 200]
    for value in shown:
        assert value not in html  # every value carries a `<`: verbatim would be markup
    page = Page(html)
    assert page.handlers == []
    assert all(src and src.startswith("/static/refbin.js") for src in page.scripts)
    assert len(page.scripts) == 1
    assert not any(tag.startswith("refbin-probe") for tag in page.tags)
    assert MARKER in "".join(page.text)  # it was shown, as text


async def get_page(app: SharedApp, path: str, status: int = 200) -> str:
    response = await app.client.get(path, headers=HTML, allow_redirects=False)
    html = await response.text()
    assert response.status == status, html[:500]
    assert response.content_type == "text/html"
    return html


@bounded
@given(
    content=st.tuples(markupish, markupish),
    name=st.tuples(markupish, markupish),
    language=st.sampled_from(LANGUAGE_CHOICES),
)
async def test_paste_pages_show_content_and_names_as_text(
    shared_app: SharedApp, content: tuple[str, str], name: tuple[str, str], language: str
) -> None:
    text = probe(*content).replace("\x00", "") + "\n"
    filename = probe(*name).replace("/", "").replace("\\", "")
    response = await shared_app.client.post(
        "/",
        data={"text": text, "filename": filename, "language": language},
        headers=HTML,
    )
    result = await response.text()
    assert response.status == 201, result[:500]
    check_page(result, filename)
    content_id = result.split('id="short-url" type="text" value="', 1)[1].split('"')[0]
    content_id = content_id.rsplit("/", 1)[-1]
    check_page(await get_page(shared_app, f"/{content_id}"), filename)


@bounded
@given(name=st.tuples(markupish, markupish))
async def test_file_pages_show_names_as_text(shared_app: SharedApp, name: tuple[str, str]) -> None:
    filename = probe(*name).replace("/", "").replace("\\", "")  # folders are cut off
    # filename*= carries any character, as a hostile client may send it.
    disposition = b"name=\"file\"; filename*=UTF-8''" + quote(filename, safe="").encode()
    body = multipart(part(disposition, b"\x00\x01 some bytes " + filename.encode()))
    response = await shared_app.client.post("/api/v1/items", data=body, headers=MULTIPART)
    created = await response.json()
    assert response.status == 201, created
    check_page(await get_page(shared_app, f"/{created['id']}"), created["filename"])


@bounded
@given(path=url_safe, query=url_safe)
async def test_link_pages_show_targets_as_text(
    shared_app: SharedApp, path: str, query: str
) -> None:
    target = f"https://example.com/{probe(path, '', attribute='')}?q={query}".replace("#", "")
    response = await shared_app.client.post("/", data={"url": target}, headers=HTML)
    result = await response.text()
    assert response.status == 201, result[:500]
    check_page(result, target)
    content_id = result.split('id="short-url" type="text" value="', 1)[1].split('"')[0]
    content_id = content_id.rsplit("/", 1)[-1]
    info = await get_page(shared_app, f"/{content_id}+")
    check_page(info, target)
    link = next(a for a in _anchors(info) if a.startswith("https://example.com/"))
    assert link == target  # the href, once parsed, is exactly the target


@bounded
@given(language=markupish, expires=st.tuples(markupish, markupish))
async def test_error_pages_show_what_was_sent_as_text(
    shared_app: SharedApp, language: str, expires: tuple[str, str]
) -> None:
    paste = await shared_app.client.post("/", data={"text": "x\n"})
    content_id = (await paste.text()).strip().rsplit("/", 1)[-1]
    wanted = probe("", language)[:40]  # the message quotes the first 40 characters
    html = await get_page(shared_app, f"/{content_id}?lang={quote(wanted)}", status=400)
    check_page(html)
    assert "Unknown language" in html
    response = await shared_app.client.post(
        "/", data={"text": "x\n", "expires": probe(*expires)}, headers=HTML
    )
    assert response.status == 400
    check_page(await response.text())


def _anchors(html: str) -> list[str]:
    hrefs: list[str] = []

    class Anchors(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                hrefs.append(dict(attrs).get("href") or "")

    Anchors().feed(html)
    return hrefs
