"""Paste highlighting: Pygments in worker processes, under a time limit, behind a bounded cache.

Pygments is pure Python and some of its lexers have regular expressions that backtrack
catastrophically on hostile input (one regex match can run for hours holding the GIL), so a
thread would not do: rendering runs in worker processes, each render is cut off by a timer in
the worker itself (the regex engine checks for signals), and the page falls back to plain
escaped text. A result is kept in an LRU bounded by its total size, keyed by the blob's sha256
and the language, so a paste is highlighted once however often it is viewed.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
import multiprocessing
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial

from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from bot.lru import SizedCache
from bot.service.languages import PLAIN
from bot.workers import kill_pool, limit_worker

log = logging.getLogger(__name__)

MAX_LINES = 10_000  # a page shows at most this many lines ...
MAX_CHARS = 256 * 1024  # ... and this many characters; the rest is behind the raw link
TIME_LIMIT = 3.0  # seconds Pygments may take for one paste before plain text is shown
CACHE_BYTES = 64 * 1024 * 1024
WORKER_MEMORY = 1 << 30
CODE_CLASS = "hl"  # the class of the code table; the Pygments styles are scoped under it
LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"


@dataclass(frozen=True)
class Rendered:
    """A paste ready for its page: table rows, and what was left out."""

    rows: str  # <tr> elements, one per line, with #L<n> anchors
    lines: int  # lines shown
    truncated: bool  # the paste has more than was shown
    highlighted: bool  # False when Pygments was skipped or gave up: plain escaped text
    preview: str  # the first lines as plain text, for link previews

    @property
    def size(self) -> int:
        """What the entry costs the cache, in bytes (UTF-8 is close enough for str storage)."""
        return len(self.rows) + len(self.preview) + 64


@dataclass
class RenderStats:
    hits: int = 0
    misses: int = 0
    highlights: int = 0  # times Pygments was asked to highlight a paste
    fallbacks: int = 0  # times it gave up (time limit, error) and plain text was shown


class PasteRenderer:
    """Highlights pastes once, in worker processes, never longer than `time_limit` each."""

    def __init__(
        self,
        *,
        time_limit: float = TIME_LIMIT,
        cache_bytes: int = CACHE_BYTES,
        workers: int = 2,
    ) -> None:
        self.time_limit = time_limit
        self.workers = workers
        self.cache: SizedCache[tuple[str, str], Rendered] = SizedCache(cache_bytes)
        self.stats = RenderStats()
        self._pool: ProcessPoolExecutor | None = None
        self._pending: dict[tuple[str, str], asyncio.Task[Rendered]] = {}

    async def render(
        self, sha256: str, language: str, load_text: Callable[[], Awaitable[str]]
    ) -> Rendered:
        """The rendered paste, from the cache or made now (once, however many ask at once)."""
        key = (sha256, language)
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.hits += 1
            return cached
        task = self._pending.get(key)
        if task is None:
            self.stats.misses += 1
            # A task of its own: a visitor who leaves does not cancel the render for the others.
            task = asyncio.create_task(self._produce(key, load_text))
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        else:
            self.stats.hits += 1
        return await asyncio.shield(task)

    async def _produce(
        self, key: tuple[str, str], load_text: Callable[[], Awaitable[str]]
    ) -> Rendered:
        rendered, keep = await self._make(await load_text(), key[1])
        if keep:
            self.cache.put(key, rendered)
        return rendered

    async def _make(self, text: str, language: str) -> tuple[Rendered, bool]:
        """(rendered, whether to cache it): a render cut short by our own waiting is not kept."""
        loop = asyncio.get_running_loop()
        shown, truncated = await loop.run_in_executor(None, visible_part, text)
        preview = preview_of(shown[:16384])
        rows = None
        keep = True
        if language != PLAIN:
            self.stats.highlights += 1
            rows, keep = await self._highlight(shown, language)
        if rows is not None:
            return Rendered(rows, count_rows(shown), truncated, True, preview), True
        if language != PLAIN:
            self.stats.fallbacks += 1
        rows = await loop.run_in_executor(None, plain_rows, shown)
        return Rendered(rows, count_rows(shown), truncated, False, preview), keep

    async def _highlight(self, text: str, language: str) -> tuple[str | None, bool]:
        """Pygments' rows, or None (with whether that answer may be cached) when it gave up."""
        loop = asyncio.get_running_loop()
        try:
            # Submitted from a thread: starting a worker process may block for a moment.
            pool = self._ensure_pool()
            job = partial(pool.submit, highlight_rows, text, language, self.time_limit)
            submitted = await loop.run_in_executor(None, job)
            # The worker stops itself at the limit (None: cached, it would only fail again).
            # The margin covers a worker that cannot, stuck outside Python code: its pool is
            # killed, and the paste is tried again next time.
            rows = await asyncio.wait_for(asyncio.wrap_future(submitted), self.time_limit + 5.0)
        except TimeoutError:
            log.warning("highlighting %s did not stop; the render workers are restarted", language)
            self._discard_pool()
            return None, False
        except Exception:  # noqa: BLE001 - any failure of a worker falls back to plain text
            log.exception("highlighting failed; showing plain text")
            self._discard_pool()
            return None, False
        return rows, True

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            # Workers fork from a server that has Pygments imported already: a fresh pool is
            # ready in milliseconds rather than the second an interpreter takes to import it.
            context.set_forkserver_preload([__name__])
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_prepare_worker,
                initargs=(WORKER_MEMORY,),
            )
        return self._pool

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        kill_pool(pool)

    async def close(self) -> None:
        """Stop the renders under way and the workers (a busy one stops within the limit)."""
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*self._pending.values(), return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: pool.shutdown(wait=True, cancel_futures=True))


def visible_part(text: str) -> tuple[str, bool]:
    """The part of a paste a page shows (whole lines, within the limits) and if any was cut."""
    text = normalise_newlines(text)
    truncated = False
    lines = text.split("\n", MAX_LINES)
    if len(lines) > MAX_LINES and lines[MAX_LINES]:
        text = "\n".join(lines[:MAX_LINES]) + "\n"
        truncated = True
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n", 0, MAX_CHARS)
        text = text[: cut + 1] if cut > 0 else text[:MAX_CHARS]
        truncated = True
    return text, truncated


def normalise_newlines(text: str) -> str:
    """As Pygments does it, so plain and highlighted renders number lines alike."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def count_rows(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def preview_of(text: str, lines: int = 6, chars: int = 300) -> str:
    """The first non-blank lines, for og:description."""
    kept = [line.rstrip() for line in text.lstrip("\n").split("\n", lines)[:lines]]
    preview = "\n".join(kept).strip()
    return preview if len(preview) <= chars else preview[: chars - 1].rstrip() + "…"


def rows_of(lines: list[str]) -> str:
    """Table rows with a linked line number each: #L12 works with no script at all."""
    return "".join(
        f'<tr id="L{n}"><td class="line-no"><a href="#L{n}">{n}</a></td>'
        f'<td class="line-code">{line}</td></tr>'
        for n, line in enumerate(lines, 1)
    )


def plain_rows(text: str) -> str:
    """The rows of escaped, unhighlighted text (blocking for big pastes: run in a thread)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return rows_of([html.escape(line, quote=False) for line in lines])


class _OutOfTime(Exception):
    pass


def _prepare_worker(memory_limit: int) -> None:
    """Runs in each worker: a memory ceiling, and the alarm that ends a slow render."""
    limit_worker(memory_limit)
    signal.signal(signal.SIGALRM, _out_of_time)


def _out_of_time(signum: int, frame: object) -> None:
    raise _OutOfTime()


def highlight_rows(text: str, language: str, time_limit: float) -> str | None:
    """Pygments' rows for the text, or None when it ran out of time (runs in a worker)."""
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        lexer = get_lexer_by_name(language, stripnl=False, ensurenl=True)
        out = io.StringIO()
        HtmlFormatter(nowrap=True).format(lexer.get_tokens(text), out)
    except (_OutOfTime, ClassNotFound):
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    # HtmlFormatter closes every span at the end of its line, so lines split cleanly.
    lines = out.getvalue().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return rows_of(lines)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The token colours for a light and a dark theme, following prefers-color-scheme."""
    selector = f".{CODE_CLASS}"
    light = "\n".join(HtmlFormatter(style=LIGHT_STYLE).get_token_style_defs(selector))
    dark = "\n".join(HtmlFormatter(style=DARK_STYLE).get_token_style_defs(selector))
    return (
        "/* Generated from Pygments styles: "
        f"{LIGHT_STYLE} (light) and {DARK_STYLE} (dark). */\n"
        f"@media not all and (prefers-color-scheme: dark) {{\n{light}\n}}\n"
        f"@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
    )
