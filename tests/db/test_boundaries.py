"""The database layer's boundary: only the content service and the process's wiring use it.

Front ends (the web, the Discord client, the cogs, the command line) call the service and see
domain errors; the service sees the database layer's functions and `Unavailable`, never asyncpg.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONT_ENDS = ("bot/web", "bot/discord", "bot/cli", "cogs")


def modules(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def caught_names(tree: ast.AST) -> Iterator[str]:
    """The dotted names in every `except` clause, e.g. asyncpg.PostgresError."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            yield from (ast.unparse(n) for n in ast.walk(node.type) if isinstance(n, ast.Attribute))


@pytest.mark.parametrize("path", list(modules(*FRONT_ENDS)), ids=lambda p: str(p.relative_to(ROOT)))
def test_front_ends_neither_use_the_database_layer_nor_catch_driver_errors(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    reaching = [name for name in imported_modules(tree) if name.split(".")[:2] == ["bot", "db"]]
    catching = [name for name in caught_names(tree) if name.startswith("asyncpg.")]

    assert reaching == [], "front ends call the content service"
    assert catching == [], "the database layer turns a lost connection into Unavailable"


def test_the_service_knows_the_database_layer_but_not_the_driver() -> None:
    for path in modules("bot/service"):
        tree = ast.parse(path.read_text("utf-8"))
        driver = [name for name in imported_modules(tree) if name.split(".")[0] == "asyncpg"]
        assert driver == [], path.relative_to(ROOT)


PROCESS = ("bot.runtime", "bot.server", "bot.jobs")


@pytest.mark.parametrize(
    "path", list(modules("bot/web", "bot/discord", "cogs")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_front_ends_are_handed_the_service_not_the_process(path: Path) -> None:
    tree = ast.parse(path.read_text("utf-8"))
    process = [name for name in imported_modules(tree) if name.startswith(PROCESS)]

    assert process == [], "the web and the bot are given the service; only the launcher opens it"
