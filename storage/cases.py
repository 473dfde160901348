"""Staff cases: a resident's conversation with a person, its forum topic and its messages.

Only ids and times are stored for relayed messages (the content stays in Telegram), so a case
can be threaded, counted and reminded about without the bot keeping what people wrote.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage.db import Database, Transaction


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Case:
    id: int
    resident_id: int | None
    language: str
    anonymous: bool
    status: CaseStatus
    opened_at: datetime
    topic_id: int | None
    first_message_at: datetime | None
    waiting_since: datetime | None
    reminded_at: datetime | None
    first_staff_reply_at: datetime | None
    assigned_to: int | None
    assigned_name: str | None
    closed_notice_for: datetime | None
    closed_at: datetime | None
    closed_by: int | None
    rating: int | None

    @property
    def number(self) -> str:
        """The reference staff and residents use: S-0042 ("sak")."""
        return f"S-{self.id:04d}"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _from_row(row: sqlite3.Row) -> Case:
    return Case(
        id=row["id"],
        resident_id=row["resident_id"],
        language=row["language"],
        anonymous=bool(row["anonymous"]),
        status=CaseStatus(row["status"]),
        opened_at=datetime.fromisoformat(row["opened_at"]),
        topic_id=row["topic_id"],
        first_message_at=_time(row["first_message_at"]),
        waiting_since=_time(row["waiting_since"]),
        reminded_at=_time(row["reminded_at"]),
        first_staff_reply_at=_time(row["first_staff_reply_at"]),
        assigned_to=row["assigned_to"],
        assigned_name=row["assigned_name"],
        closed_notice_for=_time(row["closed_notice_for"]),
        closed_at=_time(row["closed_at"]),
        closed_by=row["closed_by"],
        rating=row["rating"],
    )


# --- reading ---
async def get(db: Database, case_id: int) -> Case | None:
    row = await db.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,))
    return _from_row(row) if row else None


async def open_case_of(db: Database, resident_id: int) -> Case | None:
    row = await db.fetchone(
        "SELECT * FROM cases WHERE resident_id = ? AND status = 'open'", (resident_id,)
    )
    return _from_row(row) if row else None


async def latest_case_of(db: Database, resident_id: int) -> Case | None:
    row = await db.fetchone(
        "SELECT * FROM cases WHERE resident_id = ? ORDER BY id DESC LIMIT 1", (resident_id,)
    )
    return _from_row(row) if row else None


async def by_topic(db: Database, topic_id: int) -> Case | None:
    """The case whose forum topic this is (the newest, should a topic id ever repeat)."""
    row = await db.fetchone(
        "SELECT * FROM cases WHERE topic_id = ? ORDER BY id DESC LIMIT 1", (topic_id,)
    )
    return _from_row(row) if row else None


async def earlier_cases(db: Database, resident_id: int, before_case: int) -> list[Case]:
    rows = await db.fetchall(
        "SELECT * FROM cases WHERE resident_id = ? AND id < ? AND first_message_at IS NOT NULL"
        " ORDER BY id DESC",
        (resident_id, before_case),
    )
    return [_from_row(row) for row in rows]


async def open_cases(db: Database) -> list[Case]:
    """Open cases with a message, those waiting longest first."""
    rows = await db.fetchall(
        "SELECT * FROM cases WHERE status = 'open' AND first_message_at IS NOT NULL"
        " ORDER BY waiting_since IS NULL, waiting_since, id"
    )
    return [_from_row(row) for row in rows]


async def waiting_unreminded(db: Database) -> list[Case]:
    """Open cases waiting for a staff reply that have not had a reminder for this wait."""
    rows = await db.fetchall(
        "SELECT * FROM cases WHERE status = 'open' AND waiting_since IS NOT NULL"
        " AND reminded_at IS NULL AND topic_id IS NOT NULL ORDER BY waiting_since"
    )
    return [_from_row(row) for row in rows]


async def cases_since(db: Database, since: datetime) -> list[Case]:
    """Cases with any activity worth counting (a message, or a closing) since `since`."""
    rows = await db.fetchall(
        "SELECT * FROM cases WHERE first_message_at IS NOT NULL"
        " AND (first_message_at >= ? OR closed_at >= ?)",
        (since.isoformat(), since.isoformat()),
    )
    return [_from_row(row) for row in rows]


# --- writing ---
async def open_case(db: Database, resident_id: int, language: str, now: datetime) -> Case:
    """Open a case, or return the resident's open one (never two at once)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT * FROM cases WHERE resident_id = ? AND status = 'open'", (resident_id,)
        )
        if row is None:
            case_id = await tx.execute(
                "INSERT INTO cases (resident_id, language, opened_at) VALUES (?, ?, ?)",
                (resident_id, language, now.isoformat()),
            )
            row = await tx.fetchone("SELECT * FROM cases WHERE id = ?", (case_id,))
    assert row is not None
    return _from_row(row)


async def set_anonymous(db: Database, case_id: int, anonymous: bool) -> None:
    await db.execute("UPDATE cases SET anonymous = ? WHERE id = ?", (int(anonymous), case_id))


async def set_topic(db: Database, case_id: int, topic_id: int) -> None:
    await db.execute("UPDATE cases SET topic_id = ? WHERE id = ?", (topic_id, case_id))


async def set_language(db: Database, case_id: int, language: str) -> None:
    await db.execute("UPDATE cases SET language = ? WHERE id = ?", (language, case_id))


async def mark_closed_notice(db: Database, case_id: int, opening: datetime) -> None:
    await db.execute(
        "UPDATE cases SET closed_notice_for = ? WHERE id = ?", (opening.isoformat(), case_id)
    )


async def record_incoming(
    db: Database, case_id: int, resident_message_id: int, kind: str, now: datetime
) -> int | None:
    """Store a resident's message before it is relayed; None if it was stored already.

    The first unanswered message starts the waiting time; later ones do not reset it.
    """
    async with db.transaction() as tx:
        exists = await tx.fetchval(
            "SELECT id FROM case_messages WHERE case_id = ? AND direction = 'in'"
            " AND resident_message_id = ?",
            (case_id, resident_message_id),
        )
        if exists is not None:
            return None
        row_id = await tx.execute(
            "INSERT INTO case_messages (case_id, direction, kind, resident_message_id,"
            " created_at) VALUES (?, 'in', ?, ?, ?)",
            (case_id, kind, resident_message_id, now.isoformat()),
        )
        await tx.execute(
            "UPDATE cases SET first_message_at = COALESCE(first_message_at, ?),"
            " waiting_since = COALESCE(waiting_since, ?) WHERE id = ?",
            (now.isoformat(), now.isoformat(), case_id),
        )
    return row_id


async def record_outgoing(
    db: Database, case_id: int, staff_message_id: int, staff_user_id: int, kind: str, now: datetime
) -> int | None:
    """Store a staff message before it is relayed; None if it was handled already."""
    async with db.transaction() as tx:
        exists = await tx.fetchval(
            "SELECT id FROM case_messages WHERE case_id = ? AND direction = 'out'"
            " AND staff_message_id = ?",
            (case_id, staff_message_id),
        )
        if exists is not None:
            return None
        return await tx.execute(
            "INSERT INTO case_messages (case_id, direction, kind, staff_message_id,"
            " staff_user_id, created_at) VALUES (?, 'out', ?, ?, ?, ?)",
            (case_id, kind, staff_message_id, staff_user_id, now.isoformat()),
        )


async def undelivered(
    db: Database,
    case_id: int,
    *,
    resident_message_id: int | None = None,
    staff_message_id: int | None = None,
) -> int | None:
    """The row of a stored message whose relay has not happened yet (a crash came between
    storing and relaying), found by its id in the chat it was written in."""
    value: int | None
    if resident_message_id is not None:
        where, value = "direction = 'in' AND resident_message_id = ?", resident_message_id
    else:
        where, value = "direction = 'out' AND staff_message_id = ?", staff_message_id
    row_id: int | None = await db.fetchval(
        f"SELECT id FROM case_messages WHERE case_id = ? AND {where} AND status = 'pending'",
        (case_id, value),
    )
    return row_id


async def mark_delivered(
    db: Database,
    message_row: int,
    *,
    resident_message_id: int | None = None,
    staff_message_id: int | None = None,
) -> None:
    await db.execute(
        "UPDATE case_messages SET status = 'delivered', error = NULL,"
        " resident_message_id = COALESCE(resident_message_id, ?),"
        " staff_message_id = COALESCE(staff_message_id, ?) WHERE id = ?",
        (resident_message_id, staff_message_id, message_row),
    )


async def mark_failed(db: Database, message_row: int, error: str, *, final: bool) -> None:
    """Record why a relay failed; `final` failures are not retried."""
    await db.execute(
        "UPDATE case_messages SET status = ?, error = ? WHERE id = ?",
        ("failed" if final else "pending", error[:200], message_row),
    )


async def mark_staff_replied(db: Database, case_id: int, now: datetime) -> None:
    """A staff reply reached the resident: the wait is over, a new one may be reminded."""
    await db.execute(
        "UPDATE cases SET waiting_since = NULL, reminded_at = NULL,"
        " first_staff_reply_at = COALESCE(first_staff_reply_at, ?) WHERE id = ?",
        (now.isoformat(), case_id),
    )


async def claim_reminder(db: Database, case_id: int, now: datetime) -> bool:
    """Mark a waiting case as reminded; False if someone else already did (one reminder)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT reminded_at, waiting_since FROM cases WHERE id = ?", (case_id,)
        )
        if row is None or row["reminded_at"] is not None or row["waiting_since"] is None:
            return False
        await tx.execute(
            "UPDATE cases SET reminded_at = ? WHERE id = ?", (now.isoformat(), case_id)
        )
    return True


async def clear_reminded(db: Database, case_id: int) -> None:
    await db.execute("UPDATE cases SET reminded_at = NULL WHERE id = ?", (case_id,))


async def staff_message_for(db: Database, case_id: int, resident_message_id: int) -> int | None:
    """The topic message that shows (or was) this message of the resident's chat."""
    message_id: int | None = await db.fetchval(
        "SELECT staff_message_id FROM case_messages WHERE case_id = ?"
        " AND resident_message_id = ? AND staff_message_id IS NOT NULL",
        (case_id, resident_message_id),
    )
    return message_id


async def resident_message_for(db: Database, case_id: int, staff_message_id: int) -> int | None:
    """The resident-chat message that shows (or was) this message of the topic."""
    message_id: int | None = await db.fetchval(
        "SELECT resident_message_id FROM case_messages WHERE case_id = ?"
        " AND staff_message_id = ? AND resident_message_id IS NOT NULL",
        (case_id, staff_message_id),
    )
    return message_id


async def assign(db: Database, case_id: int, staff_user_id: int, name: str) -> None:
    await db.execute(
        "UPDATE cases SET assigned_to = ?, assigned_name = ? WHERE id = ?",
        (staff_user_id, name, case_id),
    )


async def add_note(
    db: Database, case_id: int, staff_user_id: int, text: str, now: datetime
) -> None:
    await db.execute(
        "INSERT INTO case_notes (case_id, staff_user_id, text, created_at) VALUES (?, ?, ?, ?)",
        (case_id, staff_user_id, text, now.isoformat()),
    )


async def notes(db: Database, case_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT text FROM case_notes WHERE case_id = ? ORDER BY id", (case_id,)
    )
    return [row["text"] for row in rows]


async def close(
    db: Database, case_id: int, now: datetime, closed_by: int | None, *, cancelled: bool = False
) -> bool:
    """Close an open case; False if it was not open (closed twice, or by someone else)."""
    async with db.transaction() as tx:
        status = await tx.fetchval("SELECT status FROM cases WHERE id = ?", (case_id,))
        if status != CaseStatus.OPEN:
            return False
        await tx.execute(
            "UPDATE cases SET status = ?, closed_at = ?, closed_by = ?, waiting_since = NULL"
            " WHERE id = ?",
            (
                CaseStatus.CANCELLED if cancelled else CaseStatus.CLOSED,
                now.isoformat(),
                closed_by,
                case_id,
            ),
        )
    return True


async def rate(db: Database, case_id: int, resident_id: int, rating: int, now: datetime) -> bool:
    """Store the resident's 1-5 rating of a closed case of theirs; False if not theirs."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT status FROM cases WHERE id = ? AND resident_id = ?", (case_id, resident_id)
        )
        if row is None or row["status"] != CaseStatus.CLOSED:
            return False
        await tx.execute(
            "UPDATE cases SET rating = ?, rated_at = ? WHERE id = ?",
            (rating, now.isoformat(), case_id),
        )
    return True


# --- personal data (see storage/privacy.py) ---
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    rows = await db.fetchall(
        "SELECT id, language, anonymous, status, opened_at, closed_at, rating FROM cases"
        " WHERE resident_id = ? ORDER BY id",
        (telegram_id,),
    )
    result: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = dict(row)
        entry["messages"] = await db.fetchval(
            "SELECT COUNT(*) FROM case_messages WHERE case_id = ?", (row["id"],)
        )
        entry["staff_notes"] = await notes(db, row["id"])
        result[f"S-{row['id']:04d}"] = entry
    return result


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    """Cut the case rows loose from the person: counts and ratings stay for the statistics."""
    await _anonymise(tx, "resident_id = ?", (telegram_id,))


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """Finished cases older than `cutoff` lose everything that points to the resident."""
    return await _anonymise(
        tx,
        "status != 'open' AND closed_at < ? AND resident_id IS NOT NULL",
        (cutoff.isoformat(),),
    )


async def _anonymise(tx: Transaction, where: str, params: tuple[object, ...]) -> int:
    ids = [row["id"] for row in await tx.fetchall(f"SELECT id FROM cases WHERE {where}", params)]
    for case_id in ids:
        await tx.execute("DELETE FROM case_messages WHERE case_id = ?", (case_id,))
        await tx.execute("DELETE FROM case_notes WHERE case_id = ?", (case_id,))
        await tx.execute(
            "UPDATE cases SET resident_id = NULL, anonymous = 1, assigned_name = NULL,"
            " block_reason = NULL, block_hint_at = NULL,"
            " status = CASE status WHEN 'open' THEN 'cancelled' ELSE status END,"
            " closed_at = COALESCE(closed_at, opened_at), waiting_since = NULL WHERE id = ?",
            (case_id,),
        )
    return len(ids)
