"""Filling in a modal the bot opened: the submitted components, as Discord's client sends them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

ACTION_ROW, TEXT_INPUT, TEXT_DISPLAY, LABEL = 1, 4, 10, 18
SELECTS = frozenset({3, 5, 6, 7, 8})


def submitted_components(
    components: list[dict[str, Any]], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The modal's components with `values` filled in, keyed by input custom_id or label.

    ValueError when a key names no input, or when the client would refuse the values (a required
    input left empty, a length outside min_length..max_length).
    """
    filler = _Filler(values)
    submitted = filler.fill(components)
    unused = set(values) - filler.used
    if unused:
        raise ValueError(f"the modal has no input {sorted(unused)}")
    return submitted


class _Filler:
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values
        self.used: set[str] = set()
        self._ids = itertools.count(1)

    def fill(
        self, components: list[dict[str, Any]], label: str | None = None
    ) -> list[dict[str, Any]]:
        return [self._one(c, label) for c in components]

    def _one(self, component: dict[str, Any], label: str | None) -> dict[str, Any]:
        kind = component["type"]
        submitted: dict[str, Any] = {"type": kind, "id": component.get("id") or next(self._ids)}
        if kind == ACTION_ROW:
            submitted["components"] = self.fill(component["components"])
        elif kind == LABEL:
            submitted["component"] = self._one(component["component"], component.get("label"))
        elif kind == TEXT_INPUT:
            submitted.update(custom_id=component["custom_id"], value=self._text(component, label))
        elif kind in SELECTS:
            picked = self._take(component, label)
            submitted.update(custom_id=component["custom_id"], values=list(picked or []))
        elif kind == TEXT_DISPLAY:
            submitted["content"] = component.get("content", "")
        return submitted

    def _take(self, component: dict[str, Any], label: str | None) -> Any:
        for key in (component.get("custom_id"), component.get("label"), label):
            if key is not None and key in self.values:
                self.used.add(key)
                return self.values[key]
        return None

    def _text(self, component: dict[str, Any], label: str | None) -> str:
        value = self._take(component, label)
        text = "" if value is None else str(value)
        name = component.get("label") or label or component["custom_id"]
        if component.get("required", True) and not text:
            raise ValueError(f"modal input {name!r} is required")
        low, high = component.get("min_length", 0), component.get("max_length", 4000)
        if text and not low <= len(text) <= high:
            raise ValueError(f"modal input {name!r} takes {low} to {high} characters")
        return text
