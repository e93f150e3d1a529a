"""A Markdown paste as a document: GitHub-flavoured Markdown to HTML that is safe on our origin.

Parsing is pulldown-cmark (through pyromark): Rust, linear time, fuzzed, no recursion limit to
hit; markdown-it-py, measured first, took 50 s and 500 MB for a 1 MiB table and minutes for a
few thousand headings or deeply indented lists. The HTML is written here from the parser's
events, so every element is one this module chose to make:

- raw HTML is never passed on: comments are dropped, other HTML is shown as its source text;
- a link keeps its URL only for http, https, mailto and relative URLs, after the clean-up a
  browser does (control characters, tabs and newlines removed, any case; entities are decoded
  by the parser), so `javascript:`, `data:` and `vbscript:` never reach an href;
- an image loads only from `own_origin` (or a path on it); any other becomes a link to it;
- headings get ids, and footnotes and `#fragment` links point at them, all prefixed `md-` so
  they cannot clobber the page's own ids;
- fenced code goes through the `highlight` callback (refbin's Pygments path), else is escaped;
- element nesting is capped at MAX_DEPTH (deeper containers are flattened), the input at
  MAX_INPUT characters and the output at MAX_OUTPUT: bounded time, memory and DOM depth.

Then nh3 (ammonia) sanitises the result against an explicit allow-list as a second, independent
line: even a bug in the writer or a hostile `highlight` result cannot add a script, a style,
an event handler, a form or a foreign image. `rel="nofollow ugc noopener"` is set on every link.

Pure and blocking (a second or so for a hostile 512 KiB, plus highlighting): run it in a worker
process or an executor.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3
import pyromark
from pygments.token import STANDARD_TYPES

MAX_INPUT = 512 * 1024  # characters rendered (a hostile one renders in ~1.5 s); the rest is raw
MAX_OUTPUT = 8 * 1024 * 1024  # characters of HTML written before the writer stops
MAX_DEPTH = 32  # nested lists, quotes and inline markup rendered as elements; deeper is flat
ID_PREFIX = "md-"
LINK_REL = "nofollow ugc noopener"
TRUNCATED_NOTE = '<p class="md-truncated">… The rest is in the raw text.</p>'

Highlight = Callable[[str, str], "str | None"]  # (code, language) -> inner HTML, or None

_OPTIONS = (
    pyromark.Options.ENABLE_TABLES
    | pyromark.Options.ENABLE_FOOTNOTES
    | pyromark.Options.ENABLE_STRIKETHROUGH
    | pyromark.Options.ENABLE_TASKLISTS
    | pyromark.Options.ENABLE_GFM
)
_PARSER = pyromark.Markdown(options=_OPTIONS)


def render_markdown(text: str, *, own_origin: str, highlight: Highlight | None = None) -> str:
    """Markdown to sanitised HTML; images only from `own_origin` (e.g. https://bin.example)."""
    truncated = len(text) > MAX_INPUT
    if truncated:
        cut = text.rfind("\n", 0, MAX_INPUT)
        text = text[: cut if cut > 0 else MAX_INPUT]
    writer = _Writer(own_origin, highlight)
    truncated = writer.write(_PARSER.events(text)) or truncated
    body = writer.html()
    if truncated:
        body += TRUNCATED_NOTE
    return _cleaner(own_origin).clean(body)


# --- URLs -----------------------------------------------------------------------------------

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_IGNORED_BY_BROWSERS = re.compile(r"[\t\n\r]")


_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _clean_url(url: str) -> str:
    """The URL as a browser reads it: C0 controls and spaces trimmed, tabs and newlines gone."""
    return _IGNORED_BY_BROWSERS.sub("", url).strip(_C0_AND_SPACE)


def safe_href(url: str) -> str | None:
    """The URL if a link may point there (http, https, mailto or relative), else None."""
    url = _clean_url(url)
    scheme = _SCHEME.match(url)
    if scheme and scheme.group(1).lower() not in _SAFE_SCHEMES:
        return None
    return url


def own_image(url: str, own_origin: str) -> str | None:
    """The URL if it is on this refbin (same scheme, host and port, or an absolute path)."""
    url = _clean_url(url)
    if url.startswith("/") and not url.startswith(("//", "/\\")):
        return url
    if "\\" in url:
        return None
    try:
        parts, own = urlsplit(url), urlsplit(own_origin)
    except ValueError:
        return None
    same = (parts.scheme.lower(), parts.netloc.lower()) == (own.scheme.lower(), own.netloc.lower())
    return url if same and parts.scheme.lower() in ("http", "https") else None


# GFM's extended autolinks: a bare URL or www. address in text, less trailing punctuation.
_BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`]{1,2000}")
_TRAILING = ".,:;!?*_~'\""


def _autolink(text: str) -> str:
    """Escaped text with its bare URLs made links."""
    if "://" not in text and "www." not in text:
        return html.escape(text, quote=False)
    out: list[str] = []
    last = 0
    for match in _BARE_URL.finditer(text):
        url = _trim_autolink(match.group())
        if len(url) <= 4 or url.endswith(("://", "www.")):
            continue
        out.append(html.escape(text[last : match.start()], quote=False))
        href = url if "://" in url else "http://" + url
        out.append(f'<a href="{html.escape(href)}">{html.escape(url, quote=False)}</a>')
        last = match.start() + len(url)
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def _trim_autolink(url: str) -> str:
    """GFM's rule: trailing punctuation and unbalanced closing parentheses are not the URL's
    (in a bounded number of linear passes: a run of parentheses costs no quadratic time)."""
    for _ in range(4):
        url = url.rstrip(_TRAILING)
        closing = len(url) - len(url.rstrip(")"))
        cut = min(max(url.count(")") - url.count("("), 0), closing)
        if not cut:
            break
        url = url[:-cut]
    return url


# --- the writer -----------------------------------------------------------------------------

_ALIGN = {"Left": "align-left", "Center": "align-center", "Right": "align-right"}
_FLATTENABLE = frozenset(
    {"List", "Item", "BlockQuote", "Emphasis", "Strong", "Strikethrough", "Link", "Paragraph"}
)
_SIMPLE = {
    "Emphasis": ("<em>", "</em>"),
    "Strong": ("<strong>", "</strong>"),
    "Strikethrough": ("<del>", "</del>"),
    "Superscript": ("<sup>", "</sup>"),
    "Subscript": ("<sub>", "</sub>"),
    "Paragraph": ("<p>", "</p>\n"),
    "Item": ("<li>", "</li>\n"),
    "TableRow": ("<tr>", "</tr>\n"),
    "DefinitionList": ("", ""),
    "DefinitionListTitle": ("", ""),
    "DefinitionListDefinition": ("", ""),
}


class _Writer:
    """HTML from pulldown-cmark events; see the module docstring for what it makes."""

    def __init__(self, own_origin: str, highlight: Highlight | None) -> None:
        self.own_origin = own_origin
        self.highlight = highlight
        self.main: list[str] = []
        self.out = self.main  # where text goes now: the body, or a footnote's own buffer
        self.size = 0
        self.closers: list[str] = []  # what each open Start event closes with
        self.depth = 0  # elements open that count towards MAX_DEPTH
        self.counted: list[bool] = []  # per open Start: whether it counted
        self.link_depth = 0
        self.capture: list[str] | None = None  # the text of a code block, HTML block or image
        self.capture_kind = ""
        self.capture_info: Any = None
        self.slugs: dict[str, int] = {}
        self.cells: list[str] = []  # alignment classes of the table being written
        self.cell = 0
        self.in_head = False
        self.item_at: int | None = None  # where the current <li> is, for a task marker
        self.heading_at: int | None = None  # where the current heading's opening tag goes
        self.heading_text: list[str] | None = None  # its plain text, for the id
        self.footnotes: dict[str, list[str]] = {}
        self.footnote_numbers: dict[str, int] = {}

    def html(self) -> str:
        return "".join(self.main) + self._footnotes()

    def emit(self, piece: str) -> None:
        self.out.append(piece)
        self.size += len(piece)

    def write(self, events: Any) -> bool:
        """Writes every event; True when it stopped early at MAX_OUTPUT."""
        for event in events:
            if self.size > MAX_OUTPUT:
                return True
            if isinstance(event, str):
                self._bare(event)
            elif "Start" in event:
                self._start(event["Start"])
            elif "End" in event:
                self._end()
            else:
                [(kind, value)] = event.items()
                self._leaf(kind, value)
        return False

    # Events without content: SoftBreak, HardBreak, Rule.
    def _bare(self, event: str) -> None:
        if self.capture is not None:
            self.capture.append(" " if event != "Rule" else "")
            return
        self.emit({"SoftBreak": "\n", "HardBreak": "<br>\n", "Rule": "<hr>\n"}.get(event, ""))

    def _leaf(self, kind: str, value: Any) -> None:
        if self.capture is not None:
            if kind in ("Text", "Code", "Html"):
                self.capture.append(value)
            return
        if self.heading_text is not None and kind in ("Text", "Code"):
            self.heading_text.append(value)
        if kind == "Text":
            self.emit(html.escape(value, quote=False) if self.link_depth else _autolink(value))
        elif kind == "Code":
            self.emit(f"<code>{html.escape(value, quote=False)}</code>")
        elif kind in ("Html", "InlineHtml"):
            self._raw_html(value, block=kind == "Html")
        elif kind == "FootnoteReference":
            self._footnote_reference(value)
        elif kind == "TaskListMarker":
            self._task_marker(bool(value))
        elif kind in ("InlineMath", "DisplayMath"):
            self.emit(f"<code>{html.escape(value, quote=False)}</code>")

    def _raw_html(self, source: str, *, block: bool) -> None:
        """Raw HTML is shown as its source, never passed on; comments are dropped."""
        if source.lstrip().startswith("<!--") or not source.strip():
            return
        escaped = html.escape(source, quote=False)
        self.emit(f'<pre class="md-html"><code>{escaped}</code></pre>\n' if block else escaped)

    # Start and End: every Start pushes what its End will emit.
    def _start(self, tag: Any) -> None:
        name, value = (tag, None) if isinstance(tag, str) else next(iter(tag.items()))
        if self.capture is not None:  # inside an image's alt text: structure is dropped
            self._push("", counted=False)
            return
        if name in _FLATTENABLE and self.depth >= MAX_DEPTH:
            self._push("", counted=False)
            return
        opener, closer = self._open(name, value)
        self.emit(opener)
        self._push(closer, counted=name in _FLATTENABLE)

    def _push(self, closer: str, *, counted: bool) -> None:
        self.closers.append(closer)
        self.counted.append(counted)
        if counted:
            self.depth += 1

    def _end(self) -> None:
        closer = self.closers.pop()
        if self.counted.pop():
            self.depth -= 1
        if closer == "\0link":
            self.link_depth -= 1
            self.emit("</a>")
        elif closer == "\0footnote":
            self.out = self.main
        elif closer.startswith("\0heading:"):
            self._finish_heading(int(closer.removeprefix("\0heading:")))
        elif closer.startswith("\0"):
            self._finish_capture()
        else:
            self.emit(closer)

    def _open(self, name: str, value: Any) -> tuple[str, str]:
        if name in _SIMPLE:
            opener, closer = _SIMPLE[name]
            if name == "Item":
                self.item_at = len(self.out)
            elif name == "TableRow":
                self.in_head, self.cell = False, 0
            return opener, closer
        if name == "Heading":
            # Written now, its opening tag filled in at its End, when its text gives the id.
            self.heading_at, self.heading_text = len(self.out), []
            return "", "\0heading:" + value["level"][1:]
        if name == "HtmlBlock":
            return self._begin_capture("html", None)
        if name == "CodeBlock":
            info = value["Fenced"] if isinstance(value, dict) else ""
            return self._begin_capture("code", info)
        if name == "Image":
            return self._begin_capture("image", value)
        if name == "Link":
            return self._open_link(value)
        if name == "List":
            if value is None:
                return "<ul>\n", "</ul>\n"
            start = f' start="{int(value)}"' if value != 1 else ""
            return f"<ol{start}>\n", "</ol>\n"
        if name == "BlockQuote":
            kind = f' class="alert-{value.lower()}"' if value else ""
            return f"<blockquote{kind}>\n", "</blockquote>\n"
        if name == "Table":
            self.cells = [_ALIGN.get(alignment, "") for alignment in value]
            return "<table>\n", "</tbody></table>\n"
        if name == "TableHead":
            self.in_head, self.cell = True, 0
            return "<thead><tr>", "</tr></thead>\n<tbody>\n"
        if name == "TableCell":
            return self._open_cell()
        if name == "FootnoteDefinition":
            buffer: list[str] = []
            self.footnotes.setdefault(value, buffer)
            self.out = buffer
            return "", "\0footnote"
        return "", ""  # MetadataBlock and anything newer: its text still shows

    def _open_cell(self) -> tuple[str, str]:
        align = self.cells[self.cell] if self.cell < len(self.cells) else ""
        self.cell += 1
        cell = "th" if self.in_head else "td"
        attribute = f' class="{align}"' if align else ""
        return f"<{cell}{attribute}>", f"</{cell}>"

    def _open_link(self, value: dict[str, Any]) -> tuple[str, str]:
        url = value["dest_url"]
        if value["link_type"] == "Email":
            url = "mailto:" + url
        href = safe_href(url)
        if href is None:
            return "", ""
        if href.startswith("#"):
            href = "#" + ID_PREFIX + href[1:]
        title = f' title="{html.escape(value["title"])}"' if value["title"] else ""
        self.link_depth += 1
        return f'<a href="{html.escape(href)}"{title}>', "\0link"

    def _finish_heading(self, level: int) -> None:
        slug = self._slug("".join(self.heading_text or []))
        self.heading_text = None
        if self.heading_at is not None and self.heading_at < len(self.out):
            self.out[self.heading_at] = f'<h{level} id="{ID_PREFIX}{slug}">'
        self.emit(f"</h{level}>\n")

    # Code blocks, raw HTML blocks and images collect their text and are written at their End.
    def _begin_capture(self, kind: str, info: Any) -> tuple[str, str]:
        self.capture = []
        self.capture_kind = kind
        self.capture_info = info
        return "", "\0" + kind

    def _finish_capture(self) -> None:
        text = "".join(self.capture or [])
        kind, info = self.capture_kind, self.capture_info
        self.capture = None
        if kind == "html":
            self._raw_html(text, block=True)
        elif kind == "code":
            self.emit(self._code_block(text, info))
        else:
            self.emit(self._image(text, info))

    def _code_block(self, code: str, info: str) -> str:
        language = info.split(maxsplit=1)[0] if info.strip() else ""
        inner = None
        if language and self.highlight is not None:
            try:
                inner = self.highlight(code, language)
            except Exception:  # noqa: BLE001 - a failed highlight shows the code plain
                inner = None
        # What the highlighter gives is held to its own narrow allow-list: spans of token classes.
        inner = html.escape(code, quote=False) if inner is None else _TOKENS.clean(inner)
        return f'<pre class="hl"><code>{inner}</code></pre>\n'

    def _image(self, alt: str, value: dict[str, Any]) -> str:
        src = own_image(value["dest_url"], self.own_origin)
        title = f' title="{html.escape(value["title"])}"' if value["title"] else ""
        if src is not None:
            return f'<img src="{html.escape(src)}" alt="{html.escape(alt)}"{title} loading="lazy">'
        # Not ours: no request leaves the reader's browser; the image is a link to follow.
        label = html.escape(alt or "image", quote=False)
        href = safe_href(value["dest_url"])
        if href is None or self.link_depth:
            return label
        return f'<a class="md-image-link" href="{html.escape(href)}"{title}>{label}</a>'

    def _slug(self, text: str) -> str:
        """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, unique."""
        base = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")[:80] or "section"
        slug = base
        while slug in self.slugs:
            self.slugs[base] += 1
            slug = f"{base}-{self.slugs[base]}"
        self.slugs[slug] = 0
        return slug

    def _task_marker(self, checked: bool) -> None:
        if self.item_at is not None and self.item_at < len(self.out):
            if self.out[self.item_at] == "<li>":
                self.out[self.item_at] = '<li class="task">'
        state = "done" if checked else "todo"
        box = "☑" if checked else "☐"
        self.emit(f'<span class="task-{state}">{box}</span> ')

    def _footnote_reference(self, label: str) -> None:
        first = label not in self.footnote_numbers
        number = self.footnote_numbers.setdefault(label, len(self.footnote_numbers) + 1)
        anchor = f' id="{ID_PREFIX}fnref-{number}"' if first else ""
        self.emit(
            f'<sup class="footnote-ref"><a href="#{ID_PREFIX}fn-{number}"{anchor}>'
            f"{number}</a></sup>"
        )

    def _footnotes(self) -> str:
        """The referenced footnotes, in order of first reference, at the end as GitHub does."""
        if not self.footnote_numbers:
            return ""
        items = []
        for label, number in self.footnote_numbers.items():
            body = "".join(self.footnotes.get(label, []))
            back = f' <a class="footnote-backref" href="#{ID_PREFIX}fnref-{number}">↩</a>'
            items.append(f'<li id="{ID_PREFIX}fn-{number}">{body}{back}</li>\n')
        return '<section class="footnotes">\n<ol>\n' + "".join(items) + "</ol>\n</section>\n"


# --- the sanitiser --------------------------------------------------------------------------

_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "pre", "code"}
    | {"span", "em", "strong", "del", "sup", "sub", "a", "img", "hr", "br", "section"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
# Gone with everything inside, should they ever get here: what would run, fetch or ask.
_DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg"}
    | {"math", "template", "noscript", "form", "textarea", "select", "button", "title"}
)
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "img": {"src", "alt", "title", "loading"},
    "ol": {"start"},
    "li": {"id"},
    **{heading: {"id"} for heading in _HEADINGS},
}
_PYGMENTS_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name)
_CLASSES = {
    "pre": {"hl", "md-html"},
    "span": set(_PYGMENTS_CLASSES) | {"task-done", "task-todo"},
    "th": set(_ALIGN.values()),
    "td": set(_ALIGN.values()),
    "li": {"task"},
    "p": {"md-truncated"},
    "a": {"md-image-link", "footnote-backref"},
    "sup": {"footnote-ref"},
    "section": {"footnotes"},
    "blockquote": {"alert-note", "alert-tip", "alert-important", "alert-warning", "alert-caution"},
}
_TOKENS = nh3.Cleaner(
    tags={"span"},
    clean_content_tags=set(_DROPPED_WITH_CONTENT),
    attributes={},
    allowed_classes={"span": set(_PYGMENTS_CLASSES)},
    link_rel=None,
)
_ID = re.compile(re.escape(ID_PREFIX) + r"[\w-]{1,100}")


@lru_cache(maxsize=8)
def _cleaner(own_origin: str) -> nh3.Cleaner:
    """The allow-list, with this refbin's origin as the only place images may come from."""

    def check(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "href":
            return safe_href(value)
        if attribute == "src":
            return own_image(value, own_origin)
        if attribute == "id":
            return value if _ID.fullmatch(value) else None
        if attribute == "start":
            return value if value.isdigit() and len(value) < 10 else None
        if attribute == "loading":
            return "lazy"
        return value

    return nh3.Cleaner(
        tags=set(_TAGS),
        clean_content_tags=set(_DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=check,
        strip_comments=True,
        link_rel=LINK_REL,
        url_schemes=set(_SAFE_SCHEMES),
        allowed_classes={tag: set(names) for tag, names in _CLASSES.items()},
    )
