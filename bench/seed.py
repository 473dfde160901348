"""Large databases, quickly: the real schema (the migration files, applied as the bot applies
them) filled with plain `sqlite3.executemany`, so that preparing 100,000 residents takes a
second rather than the minutes the bot's own one-row-at-a-time functions would need.

Only the tables a benchmark reads are filled; the rows look like the bot's own (ISO times in
UTC, language codes, comma-separated age groups).
"""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.db import _migrations

LANGUAGES = ("nb", "en", "ar", "so", "ur", "pl")
#: The preference sets subscribers choose most (age groups of their children, or everything).
AGE_GROUP_SETS = ("all", "0-1", "2-5", "6-12", "13-18", "0-1,2-5", "2-5,6-12", "adults")
#: Telegram ids of seeded residents start here (the double gives its own users 1,000,001 on).
FIRST_ID = 10_000_000
SEEDED_AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def create(path: Path) -> sqlite3.Connection:
    """A new database at `path` with every migration applied, as `Database.open` leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        "CREATE TABLE schema_migrations ("
        " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)"
    )
    for number, name, sql in _migrations():
        conn.executescript(sql)
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))", (number, name)
        )
        conn.execute(f"PRAGMA user_version = {number}")
    return conn


def tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def resident_ids(count: int) -> range:
    return range(FIRST_ID, FIRST_ID + count)


def add_residents(conn: sqlite3.Connection, count: int, *, first_id: int = FIRST_ID) -> None:
    """Residents who chose their language (spread over the six) and saw the privacy notice."""
    seen = SEEDED_AT.isoformat()
    languages = itertools.cycle(LANGUAGES)
    rows = (
        (telegram_id, next(languages), 1, f"R{telegram_id}", seen, seen, seen)
        for telegram_id in range(first_id, first_id + count)
    )
    with transaction(conn):
        conn.executemany(
            "INSERT INTO residents (telegram_id, language, language_chosen, first_name,"
            " first_seen, last_seen, privacy_notice_shown) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def add_subscriptions(conn: sqlite3.Connection, count: int, *, first_id: int = FIRST_ID) -> None:
    """Digest subscriptions of the first `count` seeded residents, with varied age groups."""
    created = SEEDED_AT.isoformat()
    sets = itertools.cycle(AGE_GROUP_SETS[i] for i in (0, 1, 2, 3, 4, 5, 6, 7, 2, 3, 0))
    rows = (
        (telegram_id, next(sets), created) for telegram_id in range(first_id, first_id + count)
    )
    with transaction(conn):
        conn.executemany(
            "INSERT INTO digest_subscriptions (telegram_id, age_groups, active, created_at)"
            " VALUES (?, ?, 1, ?)",
            rows,
        )


def add_activities(conn: sqlite3.Connection, count: int, week_start: datetime) -> None:
    """`count` listed activities spread over the 7 days from `week_start`, with translations
    and age groups, like an imported district calendar."""
    series, rows = activity_rows(count, week_start)
    with transaction(conn):
        conn.executemany(SERIES_INSERT, series)
        conn.executemany(ACTIVITY_INSERT, rows)


SERIES_INSERT = (
    "INSERT INTO activity_series (uid, source, ical, status, proposed_by, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
ACTIVITY_INSERT = (
    "INSERT INTO activities (series_uid, occurrence, starts_at, ends_at, title,"
    " description, place, organiser, category, age_groups, languages, price,"
    " translations, cancelled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def activity_rows(
    count: int, week_start: datetime
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The rows of `add_activities` (activity_series, activities), for either engine."""
    rng = random.Random(40)
    groups = ("", "0-1", "2-5", "6-12", "13-18", "adults", "0-1,2-5", "6-12,13-18")
    series: list[tuple[object, ...]] = []
    rows: list[tuple[object, ...]] = []
    created = SEEDED_AT.isoformat()
    for number in range(count):
        uid = f"bench-{number}@stikk-innom"
        start = week_start + timedelta(hours=8 + (number * 37) % (24 * 7 - 12))
        end = start + timedelta(hours=2)
        translations = {
            language: {
                "title": f"Aktivitet {number} ({language})",
                "description": f"Beskrivelse {number} ({language}) " * 3,
            }
            for language in LANGUAGES[1:]
        }
        series.append((uid, "csv", None, "listed", None, created, created))
        rows.append(
            (
                uid,
                start.astimezone(UTC).isoformat(),
                start.astimezone(UTC).isoformat(),
                end.astimezone(UTC).isoformat(),
                f"Aktivitet {number}",
                "Åpen møteplass for alle. " * 4,
                ["Stovner bibliotek", "Haugenstua samfunnshus", "Vestli fritidsklubb"][number % 3],
                "Bydel Stovner",
                ["leisure", "family", "language", "sports"][number % 4],
                groups[rng.randrange(len(groups))],
                "nb,en",
                "" if number % 5 else "50 kr",
                _json(translations),
                0,
            )
        )
    return series, rows


def add_tips(conn: sqlite3.Connection, count: int, *, residents: int) -> int:
    """`count` confirmed, posted tips from seeded residents, if this database has the tips
    feature's tables; returns the tips added."""
    if "tips" not in tables(conn):
        return 0
    rng = random.Random(10)
    statuses = ("new", "received", "in_progress", "resolved", "forwarded")
    rows = []
    for number in range(count):
        when = (SEEDED_AT - timedelta(minutes=number * 7)).isoformat()
        rows.append(
            (
                FIRST_ID + rng.randrange(residents),
                ["litter", "roads", "lights", "graffiti", "other"][number % 5],
                "Søppel ved busstoppet, har ligget der i en uke.",
                59.96 + rng.random() / 50,
                10.86 + rng.random() / 50,
                LANGUAGES[number % 6],
                statuses[number % len(statuses)],
                when,
                when,
                when,
            )
        )
    with transaction(conn):
        conn.executemany(
            "INSERT INTO tips (telegram_id, category, description, latitude, longitude,"
            " language, status, created_at, updated_at, posted_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return count


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class transaction:
    """BEGIN/COMMIT around a bulk insert (the connection is in autocommit mode)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN")

    def __exit__(self, kind, *_: object) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def chunks(values: range, size: int) -> Iterator[range]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
