"""Staff members as the bot has seen them in the staff chat (Telegram ID, @username, first
name), so `/assign @username` can hand a case to a colleague: bots cannot look a username up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Database


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    username: str | None
    first_name: str


async def seen(
    db: Database, user_id: int, username: str | None, first_name: str, now: datetime
) -> None:
    await db.execute(
        "INSERT INTO staff_members (user_id, username, first_name, last_seen) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET username = excluded.username,"
        " first_name = excluded.first_name, last_seen = excluded.last_seen",
        (user_id, username, first_name, now.isoformat()),
    )


async def by_username(db: Database, username: str) -> StaffMember | None:
    row = await db.fetchone(
        "SELECT user_id, username, first_name FROM staff_members WHERE lower(username) = ?",
        (username.lstrip("@").lower(),),
    )
    return StaffMember(int(row[0]), row[1], row[2]) if row else None
