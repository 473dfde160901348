"""Labels staff put on cases (`/label`): a tip category key or a free word.

Labels say what a conversation was about, for `/stats`, the weekly summary and the district
report ("12 conversations about the sports field"); residents never see them.
"""

from __future__ import annotations

from datetime import datetime

from storage.db import Database


async def add(
    db: Database, case_id: int, label: str, staff_user_id: int, now: datetime
) -> bool:
    """Label a case; False when it already had the label."""
    rows = await db.write_returning(
        "INSERT INTO case_labels (case_id, label, added_by, added_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (case_id, label) DO NOTHING RETURNING case_id",
        (case_id, label, staff_user_id, now.isoformat()),
    )
    return bool(rows)


async def remove(db: Database, case_id: int, label: str) -> bool:
    rows = await db.write_returning(
        "DELETE FROM case_labels WHERE case_id = ? AND label = ? RETURNING case_id",
        (case_id, label),
    )
    return bool(rows)


async def of_case(db: Database, case_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT label FROM case_labels WHERE case_id = ? ORDER BY added_at, label", (case_id,)
    )
    return [str(row[0]) for row in rows]


async def counts_since(db: Database, since: datetime) -> dict[str, int]:
    """Cases whose first message came since `since`, by label, most used first."""
    rows = await db.fetchall(
        "SELECT l.label, COUNT(*) FROM case_labels l JOIN cases c ON c.id = l.case_id"
        " WHERE c.first_message_at >= ? GROUP BY l.label ORDER BY COUNT(*) DESC, l.label",
        (since.isoformat(),),
    )
    return {str(row[0]): int(row[1]) for row in rows}
