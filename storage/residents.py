"""Residents: who talks to the bot and in which language."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage.db import Database, Transaction


@dataclass(frozen=True)
class Resident:
    telegram_id: int
    language: str
    language_chosen: bool
    first_name: str | None
    first_seen: datetime
    last_seen: datetime
    privacy_notice_shown: datetime | None


def _from_row(row: sqlite3.Row) -> Resident:
    return Resident(
        telegram_id=row["telegram_id"],
        language=row["language"],
        language_chosen=bool(row["language_chosen"]),
        first_name=row["first_name"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_seen=datetime.fromisoformat(row["last_seen"]),
        privacy_notice_shown=(
            datetime.fromisoformat(row["privacy_notice_shown"])
            if row["privacy_notice_shown"]
            else None
        ),
    )


async def get(db: Database, telegram_id: int) -> Resident | None:
    row = await db.fetchone("SELECT * FROM residents WHERE telegram_id = ?", (telegram_id,))
    return _from_row(row) if row else None


#: last_seen is refreshed at most this often: it serves retention, not analytics, and skipping
#: the write keeps a busy resident's updates read-only.
SEEN_RESOLUTION = timedelta(minutes=10)


async def touch(
    db: Database, telegram_id: int, language: str, first_name: str | None, now: datetime
) -> tuple[Resident, bool]:
    """Record that a resident was seen; create them with `language` if new.

    Returns the resident and whether they are new. The first name is kept only so staff can
    greet a resident who allows it; it is refreshed because people change it.
    """
    row = await db.fetchone("SELECT * FROM residents WHERE telegram_id = ?", (telegram_id,))
    if row is not None:
        resident = _from_row(row)
        if now - resident.last_seen < SEEN_RESOLUTION and resident.first_name == first_name:
            return resident, False
    rows = await db.write_returning(
        "INSERT INTO residents (telegram_id, language, first_name, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (telegram_id) DO UPDATE"
        " SET last_seen = excluded.last_seen, first_name = excluded.first_name"
        " RETURNING *",
        (telegram_id, language, first_name, now.isoformat(), now.isoformat()),
    )
    return _from_row(rows[0]), row is None


async def set_language(db: Database, telegram_id: int, language: str) -> None:
    await db.execute(
        "UPDATE residents SET language = ?, language_chosen = 1 WHERE telegram_id = ?",
        (language, telegram_id),
    )


async def mark_privacy_notice_shown(db: Database, telegram_id: int, now: datetime) -> None:
    await db.execute(
        "UPDATE residents SET privacy_notice_shown = ? WHERE telegram_id = ?"
        " AND privacy_notice_shown IS NULL",
        (now.isoformat(), telegram_id),
    )


async def count(db: Database) -> int:
    return int(await db.fetchval("SELECT COUNT(*) FROM residents"))


async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    row = await db.fetchone("SELECT * FROM residents WHERE telegram_id = ?", (telegram_id,))
    return dict(row) if row else {}


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    await tx.execute("DELETE FROM residents WHERE telegram_id = ?", (telegram_id,))
