"""The README's map of the tree ("How it is built") names every folder of the code, and only
folders that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def mapped_paths() -> set[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    section = text.split("## How it is built", 1)[1].split("```", 2)[1]
    return {m.group(1) for m in re.finditer(r"^(\S+)\s", section, re.M)}


def test_every_mapped_path_exists() -> None:
    for path in mapped_paths() - {"bot/*.py"}:
        assert (ROOT / path).exists(), f"the README's map names {path}, which is not in the tree"


def test_every_package_of_the_code_is_on_the_map() -> None:
    mapped = mapped_paths()
    packages = {
        f"{p.parent.relative_to(ROOT)}/"
        for top in ("bot", "cogs", "storage", "sql")
        for p in (ROOT / top).rglob("__init__.py")
    }
    packages.discard("bot/")

    assert packages <= mapped, f"not on the README's map: {sorted(packages - mapped)}"
