"""The database: migrations, durability settings, transactions and residents."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import inbox, residents
from storage.db import Database, DatabaseLocation, _migrations
from tests.postgres import on_both_engines

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
async def db(database_location: DatabaseLocation):
    database = await Database.open(database_location)
    yield database
    await database.close()


async def test_open_creates_folder_and_applies_every_migration(tmp_path: Path):
    db = await Database.open(tmp_path / "sub" / "bot.sqlite3")
    try:
        await _check_sqlite_settings(db, tmp_path)
    finally:
        await db.close()


async def _check_sqlite_settings(db: Database, tmp_path: Path) -> None:
    assert (tmp_path / "sub" / "bot.sqlite3").exists()
    assert await db.schema_version() == max(number for number, _, _ in _migrations())
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA busy_timeout") == 5000


@on_both_engines
async def test_every_migration_is_applied(db: Database):
    expected = {number for number, _, _ in _migrations()}
    assert await db.applied_migrations() == expected
    assert await db.schema_version() == max(expected)


@on_both_engines
async def test_reopening_does_not_reapply_migrations(database_location: DatabaseLocation):
    first = await Database.open(database_location)
    await residents.touch(first, 1, "nb", "Kari", NOW)
    await first.close()
    second = await Database.open(database_location)
    try:
        assert await residents.count(second) == 1
    finally:
        await second.close()


@on_both_engines
@pytest.mark.empty_database
async def test_a_migration_numbered_below_the_applied_ones_still_runs(
    database_location: DatabaseLocation,
):
    path = database_location
    one = (1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")
    two = (2, "0002_b.sql", "CREATE TABLE b (x INTEGER);")
    three = (3, "0003_c.sql", "CREATE TABLE c (x INTEGER);")
    db = await Database.open(path, [one, three])  # 0002 was merged later
    await db.close()
    db = await Database.open(path, [one, two, three])
    try:
        assert await db.applied_migrations() == {1, 2, 3}
        assert await db.fetchval("SELECT COUNT(*) FROM b") == 0
        assert await db.schema_version() == 3
    finally:
        await db.close()


@on_both_engines
async def test_failed_transaction_leaves_nothing(db: Database):
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO residents (telegram_id, language, first_seen, last_seen)"
                " VALUES (1, 'nb', 'x', 'x')"
            )
            raise RuntimeError("crash in the middle")
    assert await residents.count(db) == 0


@on_both_engines
async def test_concurrent_transactions_do_not_interleave(db: Database):
    async def writer(user_id: int) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO residents (telegram_id, language, first_seen, last_seen)"
                " VALUES (?, 'nb', 'x', 'x')",
                (user_id,),
            )
            await asyncio.sleep(0.01)  # another handler runs meanwhile
            if user_id % 2:
                raise ValueError("odd writers fail")

    results = await asyncio.gather(*(writer(i) for i in range(10)), return_exceptions=True)
    assert sum(isinstance(r, ValueError) for r in results) == 5
    ids = [row[0] for row in await db.fetchall("SELECT telegram_id FROM residents ORDER BY 1")]
    assert ids == [0, 2, 4, 6, 8]


@on_both_engines
async def test_touch_creates_then_updates(db: Database):
    resident, is_new = await residents.touch(db, 7, "so", "Ali", NOW)
    assert is_new and resident.language == "so" and not resident.language_chosen
    later = NOW + timedelta(hours=2)
    resident, is_new = await residents.touch(db, 7, "en", "Ali", later)
    assert not is_new
    assert resident.language == "so"  # the app language only seeds a new resident
    assert resident.last_seen == later and resident.first_seen == NOW
    await residents.set_language(db, 7, "pl")
    stored = await residents.get(db, 7)
    assert stored is not None and stored.language == "pl" and stored.language_chosen


async def test_backup_is_a_consistent_copy(tmp_path: Path):
    db = await Database.open(tmp_path / "bot.sqlite3")
    await residents.touch(db, 1, "nb", "Kari", NOW)
    target = tmp_path / "backup.sqlite3"
    await db.backup(target)
    copy = await Database.open(target)
    try:
        assert await residents.count(copy) == 1
    finally:
        await copy.close()
        await db.close()


@pytest.mark.postgresql
@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
async def test_a_postgresql_backup_points_to_pg_dump(db: Database, tmp_path: Path):
    with pytest.raises(NotImplementedError, match="pg_dump"):
        await db.backup(tmp_path / "backup.sqlite3")


@pytest.mark.postgresql
@pytest.mark.parametrize("database_location", ["postgresql"], indirect=True)
async def test_an_insert_returns_its_new_id_on_postgresql(db: Database):
    first = await db.execute(
        "INSERT INTO audit_log (at, actor_kind, actor_name, action) VALUES (?, ?, ?, ?)",
        ("2026-11-25T09:00:00+00:00", "staff", "Kari", "export.tips"),
    )
    async with db.transaction() as tx:
        second = await tx.execute(
            "INSERT INTO audit_log (at, actor_kind, actor_name, action) VALUES (?, ?, ?, ?)",
            ("2026-11-25T09:00:00+00:00", "staff", "Kari", "export.tips"),
        )
    assert first > 0 and second == first + 1
    row = await db.fetchone("SELECT id, actor_name FROM audit_log WHERE id = ?", (second,))
    assert row is not None and row["actor_name"] == row[1] == "Kari" and row[0] == second


@on_both_engines
async def test_an_update_is_given_up_after_its_handling_began_again_too_often(db: Database):
    """Only a begun handling counts: an update that waited its turn while the bot was killed
    again and again is never given up, one that the bot dies on is (MAX_ATTEMPTS)."""
    for update_id in (1, 2):
        assert await inbox.store(db, update_id, {"update_id": update_id}, NOW)
    for _ in range(5):  # five restarts; update 2 never got its turn
        again, dropped = await inbox.take_unhandled(db, 5, NOW)
        assert [p["update_id"] for p in again] == [1, 2] and dropped == []
        await inbox.count_attempt(db, 1)
    again, dropped = await inbox.take_unhandled(db, 5, NOW)
    assert [p["update_id"] for p in again] == [2] and dropped == [1]
    assert await inbox.is_unhandled(db, 2) and not await inbox.is_unhandled(db, 1)
