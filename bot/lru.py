"""A least-recently-used cache bounded by the bytes its values take, not by their number."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SizedCache(Generic[K, V]):
    """key -> value; the least recently used leave once the values' sizes pass `max_bytes`.

    `size_of` says what a value costs (by default its `size` attribute). A value larger than
    the whole budget is not kept: it would evict everything and then itself.
    """

    def __init__(
        self, max_bytes: int, size_of: Callable[[V], int] = lambda value: value.size
    ) -> None:
        self.max_bytes = max_bytes
        self.size_of = size_of
        self.bytes = 0
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        size = self.size_of(value)
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= self.size_of(old)
        self._entries[key] = value
        self.bytes += size
        while self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= self.size_of(evicted)

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
