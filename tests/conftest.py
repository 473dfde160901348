"""Shared fixtures: a fresh database and a fresh Telegram double for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import DatabaseLocation
from tests.harness import BotHarness, make_harness
from tests.postgres import ENGINES, fresh_database


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that runs on a database (the `bot` or `database_location` fixture) runs on
    both engines, SQLite and PostgreSQL, unless it chose its engine itself or is marked
    `sqlite_only` (it tests something only SQLite has: its file, its backup, its locking)."""
    if "database_location" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only"):
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        if "database_location" in (names.split(",") if isinstance(names, str) else names):
            return
    metafunc.parametrize("database_location", ENGINES, indirect=True)


@pytest.fixture
async def database_location(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[DatabaseLocation]:
    """Where the test's database is: an SQLite file, or a fresh PostgreSQL database when the
    test is parametrized with "postgresql" (`tests.postgres.on_both_engines`)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield tmp_path / "bot.sqlite3"
        return
    empty = request.node.get_closest_marker("empty_database") is not None
    async for location in fresh_database(empty=empty):
        yield location


@pytest.fixture
async def bot(tmp_path: Path, database_location: DatabaseLocation) -> AsyncIterator[BotHarness]:
    """The real bot, running against the Telegram double, with a staff forum group."""
    async for harness in make_harness(tmp_path, database=database_location):
        yield harness
