"""What the stand-in received, kept in order, and awaiting a record that has not arrived yet."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

PathPattern = str | re.Pattern[str]


@dataclass(frozen=True)
class RecordedFile:
    """One file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request and how the stand-in answered it.

    `path` is relative to /api/v10 for API calls (e.g. "/channels/1/messages") and the full path
    otherwise (e.g. "/attachments/1/2/a.png"). `json` is the JSON body, or the `payload_json` part
    of a multipart body. `at` is the event loop's clock when the request arrived.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    json: Any
    files: tuple[RecordedFile, ...]
    status: int
    response: Any
    at: float

    def matches(self, method: str | None = None, path: PathPattern | None = None) -> bool:
        if method is not None and self.method != method.upper():
            return False
        return path is None or compile_path(path).fullmatch(self.path) is not None

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass(frozen=True)
class InteractionCallback:
    """The bot's initial response to an interaction: its type, data and resulting message."""

    interaction_id: int
    type: int
    data: dict[str, Any]
    message: dict[str, Any] | None
    request: RecordedRequest


@dataclass(frozen=True)
class GatewayFrame:
    """One payload a client sent over the gateway."""

    session_id: str | None
    op: int
    d: Any
    at: float

    def describe(self) -> str:
        return f"op {self.op} (session {self.session_id})"


def compile_path(pattern: PathPattern) -> re.Pattern[str]:
    """A path template: `{name}` matches one path segment, the rest literally; or a regex."""
    if isinstance(pattern, re.Pattern):
        return pattern
    parts = re.split(r"\{[^}/]*\}", pattern)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


class Recorder(Generic[T]):
    """An append-only log that can be awaited for an entry matching a predicate."""

    def __init__(self, describe: Callable[[T], str], *, timeout: float) -> None:
        self._items: list[T] = []
        self._changed = asyncio.Condition()
        self._describe = describe
        self.timeout = timeout

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[T]:
        return list(self._items)

    async def add(self, item: T) -> None:
        async with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def find(self, predicate: Callable[[T], bool], *, start: int = 0) -> list[T]:
        return [item for item in self._items[start:] if predicate(item)]

    async def wait_for(self, predicate: Callable[[T], bool], *, what: str, start: int = 0) -> T:
        """The first entry (from index `start`) matching `predicate`, waiting up to `timeout`.

        On timeout: AssertionError naming what was awaited and listing what arrived instead.
        """
        found: list[T] = []

        def arrived() -> bool:
            found[:] = self.find(predicate, start=start)[:1]
            return bool(found)

        try:
            async with asyncio.timeout(self.timeout), self._changed:
                await self._changed.wait_for(arrived)
        except TimeoutError:
            seen = "\n  ".join(self._describe(i) for i in self._items[start:]) or "(nothing)"
            raise AssertionError(
                f"timed out after {self.timeout}s waiting for {what}; saw:\n  {seen}"
            ) from None
        return found[0]


def request_matcher(
    method: str | None,
    path: PathPattern | None,
    predicate: Callable[[RecordedRequest], bool] | None,
) -> Callable[[RecordedRequest], bool]:
    def matches(record: RecordedRequest) -> bool:
        return record.matches(method, path) and (predicate is None or predicate(record))

    return matches


def describe_request_query(method: str | None, path: PathPattern | None) -> str:
    shown = path.pattern if isinstance(path, re.Pattern) else path
    return f"a request {method or '*'} {shown or '*'}"
