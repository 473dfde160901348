"""The two storage engines under the same benchmark: a fresh SQLite file, or a fresh database on
a PostgreSQL server (created for the run and dropped afterwards), seeded the same way.

On PostgreSQL, subscribers are seeded by one `INSERT ... SELECT generate_series` per table, so
that a 500,000-subscriber city takes seconds, not the minutes row-by-row inserts would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench import seed
from storage.db import Database, PostgresLocation
from storage.dialect import to_postgres

ENGINES = ("sqlite", "postgresql")


def with_database(server: str, name: str) -> str:
    """The server URL with its database name replaced."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


@asynccontextmanager
async def fresh(engine: str, tmp: Path, server: str | None) -> AsyncIterator[str]:
    """A `BOT_DATABASE` value naming an empty database of `engine`, gone after the block."""
    if engine == "sqlite":
        yield str(tmp / "bot.sqlite3")
        return
    if server is None:
        raise ValueError("PostgreSQL needs --postgresql URL")
    # Named after this process, so one can tell which run left a database behind.
    name = f"bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield with_database(server, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def migrate(location: str) -> None:
    """Apply every migration, as `Database.open` does when the bot starts."""
    if location.startswith("postgres"):
        db = await Database.open(PostgresLocation(location))
    else:
        db = await Database.open(Path(location))
    await db.close()


async def seed_residents(location: str, first_id: int, count: int) -> None:
    """Returning residents with their language chosen (see `seed.add_residents`)."""
    if not location.startswith("postgres"):
        conn = seed.create(Path(location))
        seed.add_residents(conn, count, first_id=first_id)
        conn.close()
        return
    await migrate(location)
    conn = await asyncpg.connect(location)
    try:
        await _pg_residents(conn, first_id, count)
    finally:
        await conn.close()


async def _pg_residents(conn: asyncpg.Connection, first_id: int, count: int) -> None:
    languages = "ARRAY[" + ",".join(f"'{code}'" for code in seed.LANGUAGES) + "]"
    seen = seed.SEEDED_AT.isoformat()
    await conn.execute(
        "INSERT INTO residents (telegram_id, language, language_chosen, first_name,"
        " first_seen, last_seen, privacy_notice_shown)"
        f" SELECT n, ({languages})[1 + (n - $1) % {len(seed.LANGUAGES)}], 1, 'R' || n,"
        " $3, $3, $3 FROM generate_series($1::bigint, $1::bigint + $2 - 1) AS n",
        first_id,
        count,
        seen,
    )


async def seed_digest(location: str, subscribers: int, activities: int, week: datetime) -> None:
    """Subscribers (spread over languages and age groups) and a week of activities."""
    if not location.startswith("postgres"):
        conn = seed.create(Path(location))
        seed.add_residents(conn, subscribers)
        seed.add_subscriptions(conn, subscribers)
        seed.add_activities(conn, activities, week)
        conn.close()
        return
    await migrate(location)
    conn = await asyncpg.connect(location)
    try:
        await _pg_residents(conn, seed.FIRST_ID, subscribers)
        sets = [seed.AGE_GROUP_SETS[i] for i in (0, 1, 2, 3, 4, 5, 6, 7, 2, 3, 0)]
        await conn.execute(
            "INSERT INTO digest_subscriptions (telegram_id, age_groups, active, created_at)"
            " SELECT n, ($4::text[])[1 + (n - $1) % $3], 1, $5"
            " FROM generate_series($1::bigint, $1::bigint + $2 - 1) AS n",
            seed.FIRST_ID,
            subscribers,
            len(sets),
            sets,
            seed.SEEDED_AT.isoformat(),
        )
        series, rows = seed.activity_rows(activities, week)
        await conn.executemany(to_postgres(seed.SERIES_INSERT), series)
        await conn.executemany(to_postgres(seed.ACTIVITY_INSERT), rows)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def case_topics(location: str) -> dict[int, int]:
    """Open cases' forum topics by resident."""
    sql = "SELECT resident_id, topic_id FROM cases WHERE status = 'open'"
    if location.startswith("postgres"):
        conn = await asyncpg.connect(location)
        try:
            rows = [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()
    else:
        import sqlite3

        lite = sqlite3.connect(location)
        try:
            rows = list(lite.execute(sql))
        finally:
            lite.close()
    return {resident: topic for resident, topic in rows if topic is not None}
