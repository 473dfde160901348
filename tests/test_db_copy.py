"""`python -m bot db copy`: a district's data from SQLite to PostgreSQL and back, verified by
row counts, never into a database that holds data."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import pytest

from storage.copy import counts, tables
from storage.db import Database, DatabaseLocation
from tests.harness import BotHarness, make_harness

pytestmark = [
    pytest.mark.postgresql,
    pytest.mark.parametrize("database_location", ["postgresql"], indirect=True),
]


async def _district(tmp_path: Path) -> Path:
    """An SQLite database with what a running bot writes: residents, a case with messages."""
    async for bot in make_harness(tmp_path / "district"):
        await _use(bot)
    return tmp_path / "district" / "bot.sqlite3"


async def _use(bot: BotHarness) -> None:
    kari = bot.resident("Kari", language_code="nb")
    await kari.says("/start")
    await kari.presses("Norsk")
    await kari.says("/contact")
    await kari.says("Lampen utenfor huset er knust")
    amina = bot.resident("Amina", language_code="so")
    await amina.says("/start")


async def _cli(*argv: str) -> int:
    from bot.__main__ import main

    # The CLI runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(functools.partial(main, list(argv)))


async def test_copy_to_postgresql_and_back_keeps_every_row(
    tmp_path: Path, database_location: DatabaseLocation, capsys: pytest.CaptureFixture[str]
):
    source = await _district(tmp_path)
    assert await _cli("db", "copy", "--from", str(source), "--to", str(database_location)) == 0
    assert "counts match" in capsys.readouterr().out
    back = tmp_path / "back.sqlite3"
    assert (
        await _cli("db", "copy", "--from", str(database_location), "--to", f"sqlite:///{back}")
        == 0
    )

    first, pg, last = [await Database.open(x) for x in (source, database_location, back)]
    try:
        names = await tables(first)
        assert names == await tables(last) and set(names) == set(await tables(pg))
        expected = await counts(first, names)
        assert expected["residents"] == 2 and expected["cases"] == 1
        assert await counts(pg, names) == expected == await counts(last, names)
        query = "SELECT telegram_id, language, first_name FROM residents ORDER BY telegram_id"
        assert [tuple(r) for r in await pg.fetchall(query)] == [
            tuple(r) for r in await first.fetchall(query)
        ]
        # New rows on PostgreSQL are numbered after the copied ones.
        case_id = await pg.fetchval("SELECT MAX(id) FROM cases")
        new_id = await pg.execute(
            "INSERT INTO audit_log (at, actor_kind, action) VALUES (?, ?, ?)",
            ("2026-11-25T09:00:00+00:00", "system", "test"),
        )
        assert new_id > (await first.fetchval("SELECT COALESCE(MAX(id), 0) FROM audit_log"))
        assert case_id == await first.fetchval("SELECT MAX(id) FROM cases")
    finally:
        for db in (first, pg, last):
            await db.close()


async def test_copy_refuses_a_target_with_data(
    tmp_path: Path, database_location: DatabaseLocation, capsys: pytest.CaptureFixture[str]
):
    source = await _district(tmp_path)
    assert await _cli("db", "copy", "--from", str(source), "--to", str(database_location)) == 0
    capsys.readouterr()
    assert await _cli("db", "copy", "--from", str(source), "--to", str(database_location)) == 1
    error = capsys.readouterr().err
    assert "not empty" in error and "residents: 2 rows" in error
    pg = await Database.open(database_location)
    try:
        assert await pg.fetchval("SELECT COUNT(*) FROM residents") == 2  # nothing doubled
    finally:
        await pg.close()
