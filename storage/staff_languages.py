"""Which languages each staff member reads (`/languages so ar` in the staff chat)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database


@dataclass(frozen=True)
class Reader:
    user_id: int
    name: str


async def set_languages(
    db: Database, user_id: int, name: str, languages: Sequence[str], now: datetime
) -> None:
    """Replace what `user_id` reads with `languages` (empty: nothing)."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM staff_languages WHERE user_id = ?", (user_id,))
        await tx.executemany(
            "INSERT INTO staff_languages (user_id, language, position, name, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (user_id, language, position, name, now.isoformat())
                for position, language in enumerate(dict.fromkeys(languages))
            ],
        )


async def languages_of(db: Database, user_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT language FROM staff_languages WHERE user_id = ? ORDER BY position",
        (user_id,),
    )
    return [row["language"] for row in rows]


async def readers_for(db: Database, language: str) -> list[Reader]:
    """The staff members who read `language`, in the order they said so."""
    rows = await db.fetchall(
        "SELECT user_id, name FROM staff_languages WHERE language = ?"
        " ORDER BY updated_at, user_id",
        (language,),
    )
    return [Reader(row["user_id"], row["name"]) for row in rows]
