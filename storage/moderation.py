"""Moderation of cases: blocks set by staff, the once-a-day hint to a blocked resident, and
the cases silent long enough to be closed automatically.

A block belongs to a case (the columns `blocked_at`, `blocked_by`, `blocked_by_name`,
`block_reason`, `block_hint_at` of `cases`): while it is set, the resident's messages are not
relayed. It ends with /unblock or with the case. The reason is staff's words about the case and
is erased with the case's link to the resident (`storage/cases.py`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.db import Database, Transaction

#: A blocked resident is reminded at most this often that nothing is relayed.
HINT_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Block:
    case_id: int
    at: datetime
    by_name: str | None
    reason: str | None

    @property
    def number(self) -> str:
        return f"S-{self.case_id:04d}"


async def block(
    db: Database | Transaction,
    case_id: int,
    staff_id: int,
    staff_name: str,
    reason: str,
    now: datetime,
) -> bool:
    """Block an open case; False if it is blocked already (or not open)."""
    await db.execute(
        "UPDATE cases SET blocked_at = ?, blocked_by = ?, blocked_by_name = ?,"
        " block_reason = ?, block_hint_at = NULL"
        " WHERE id = ? AND status = 'open' AND blocked_at IS NULL",
        (now.isoformat(), staff_id, staff_name, reason or None, case_id),
    )
    return bool(await db.fetchval("SELECT changes()") == 1)


async def unblock(db: Transaction, case_id: int) -> bool:
    """Lift a block; False if the case was not blocked."""
    await db.execute(
        "UPDATE cases SET blocked_at = NULL, blocked_by = NULL, blocked_by_name = NULL,"
        " block_reason = NULL, block_hint_at = NULL WHERE id = ? AND blocked_at IS NOT NULL",
        (case_id,),
    )
    return bool(await db.fetchval("SELECT changes()") == 1)


async def block_of(db: Database, case_id: int) -> Block | None:
    row = await db.fetchone(
        "SELECT id, blocked_at, blocked_by_name, block_reason FROM cases"
        " WHERE id = ? AND blocked_at IS NOT NULL",
        (case_id,),
    )
    return _block(row) if row else None


async def blocked(db: Database) -> list[Block]:
    """Open cases that are blocked, oldest block first (for /blocked)."""
    rows = await db.fetchall(
        "SELECT id, blocked_at, blocked_by_name, block_reason FROM cases"
        " WHERE status = 'open' AND blocked_at IS NOT NULL ORDER BY blocked_at"
    )
    return [_block(row) for row in rows]


def _block(row: sqlite3.Row) -> Block:
    return Block(
        case_id=row["id"],
        at=datetime.fromisoformat(row["blocked_at"]),
        by_name=row["blocked_by_name"],
        reason=row["block_reason"],
    )


async def hint_due(db: Database, case_id: int, now: datetime) -> bool:
    """True (once a day at most) if the blocked resident should get the short hint now; the
    time is stored at once, so two messages at the same moment give one hint."""
    async with db.transaction() as tx:
        return await _hint_due(tx, case_id, now)


async def _hint_due(tx: Transaction, case_id: int, now: datetime) -> bool:
    await tx.execute(
        "UPDATE cases SET block_hint_at = ? WHERE id = ? AND blocked_at IS NOT NULL"
        " AND (block_hint_at IS NULL OR block_hint_at <= ?)",
        (now.isoformat(), case_id, (now - HINT_EVERY).isoformat()),
    )
    return bool(await tx.fetchval("SELECT changes()") == 1)


# --------------------------------------------------------------------------- auto-close
async def close_silent(
    tx: Transaction, cutoff: datetime, now: datetime
) -> list[tuple[int, int | None, int | None, str]]:
    """Close the open cases with no message on either side since `cutoff` (nor opened since):
    returns (case id, resident id, topic id, language) of each, inside the caller's
    transaction, which also enqueues the notices (so a crash closes and tells exactly once)."""
    rows = await tx.fetchall(
        "SELECT c.id, c.resident_id, c.topic_id, c.language FROM cases c"
        " WHERE c.status = 'open' AND c.opened_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM case_messages m"
        "                 WHERE m.case_id = c.id AND m.created_at >= ?)",
        (cutoff.isoformat(), cutoff.isoformat()),
    )
    closed = []
    for row in rows:
        await tx.execute(
            "UPDATE cases SET status = 'closed', closed_at = ?, closed_by = NULL,"
            " waiting_since = NULL WHERE id = ? AND status = 'open'",
            (now.isoformat(), row["id"]),
        )
        closed.append((row["id"], row["resident_id"], row["topic_id"], row["language"]))
    return closed
