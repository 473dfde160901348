"""Shared fixtures: a fresh database and a fresh Telegram double for every test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import DatabaseLocation
from tests.harness import BotHarness, make_harness
from tests.postgres import fresh_database


@pytest.fixture
async def database_location(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[DatabaseLocation]:
    """Where the test's database is: an SQLite file, or a fresh PostgreSQL database when the
    test is parametrized with "postgresql" (`tests.postgres.on_both_engines`)."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield tmp_path / "bot.sqlite3"
        return
    async for location in fresh_database():
        yield location


@pytest.fixture
async def bot(tmp_path: Path, database_location: DatabaseLocation) -> AsyncIterator[BotHarness]:
    """The real bot, running against the Telegram double, with a staff forum group."""
    async for harness in make_harness(tmp_path, database=database_location):
        yield harness
