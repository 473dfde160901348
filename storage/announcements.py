"""Announcements from staff or operators, and residents who stopped them.

An announcement is stored before anything is sent: its texts per language, the audience and
the time. A scheduled one survives restarts and is picked up by a job; its messages go through
the delivery engine as the edition `announcement-<id>`, so each resident gets it once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Database, Transaction


@dataclass(frozen=True)
class Announcement:
    id: int
    step: str | None
    staff_id: int | None
    thread_id: int | None
    texts: dict[str, str]
    #: Languages whose text is a machine translation of the staff's text.
    machine: frozenset[str]
    audience: dict[str, Any]
    send_at: datetime | None
    status: str


@dataclass(frozen=True)
class Recipient:
    telegram_id: int
    language: str
    age_groups: frozenset[str]
    birth_years: tuple[int, ...]


def _announcement(row: Any) -> Announcement:
    return Announcement(
        id=row["id"],
        step=row["step"],
        staff_id=row["staff_id"],
        thread_id=row["thread_id"],
        texts=json.loads(row["texts"] or "{}"),
        machine=frozenset(part for part in row["machine"].split(",") if part),
        audience=json.loads(row["audience"] or "{}"),
        send_at=datetime.fromisoformat(row["send_at"]) if row["send_at"] else None,
        status=row["status"],
    )


async def get(db: Database, announcement_id: int) -> Announcement | None:
    row = await db.fetchone("SELECT * FROM announcements WHERE id = ?", (announcement_id,))
    return _announcement(row) if row else None


async def start_draft(
    db: Database, staff_id: int, thread_id: int | None, step: str, now: datetime
) -> int:
    """A new /announce draft of a staff member; an older unfinished one of theirs is dropped."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE announcements SET status = 'cancelled', step = NULL"
            " WHERE staff_id = ? AND status = 'draft'",
            (staff_id,),
        )
        return await tx.execute(
            "INSERT INTO announcements (step, staff_id, thread_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (step, staff_id, thread_id, now.isoformat()),
        )


async def draft_of(db: Database, staff_id: int) -> Announcement | None:
    """The staff member's unfinished /announce, if any."""
    row = await db.fetchone(
        "SELECT * FROM announcements WHERE staff_id = ? AND status = 'draft'"
        " AND step IS NOT NULL ORDER BY id DESC LIMIT 1",
        (staff_id,),
    )
    return _announcement(row) if row else None


async def update_draft(
    db: Database,
    announcement_id: int,
    *,
    step: str | None,
    texts: dict[str, str] | None = None,
    machine: frozenset[str] | None = None,
    audience: dict[str, Any] | None = None,
    send_at: datetime | None = None,
) -> None:
    fields: dict[str, Any] = {"step": step}
    if texts is not None:
        fields["texts"] = json.dumps(texts, ensure_ascii=False)
    if machine is not None:
        fields["machine"] = ",".join(sorted(machine))
    if audience is not None:
        fields["audience"] = json.dumps(audience, sort_keys=True)
    if send_at is not None:
        fields["send_at"] = send_at.isoformat()
    assignments = ", ".join(f"{name} = ?" for name in fields)
    await db.execute(
        f"UPDATE announcements SET {assignments} WHERE id = ? AND status = 'draft'",
        (*fields.values(), announcement_id),
    )


async def cancel_draft(db: Database, staff_id: int) -> bool:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE announcements SET status = 'cancelled', step = NULL"
            " WHERE staff_id = ? AND status = 'draft'",
            (staff_id,),
        )
        return int(await tx.fetchval("SELECT changes()")) > 0


async def schedule(db: Database, announcement_id: int, send_at: datetime) -> bool:
    """Confirmed: from now on the job sends it at `send_at` (False: it was not a draft)."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE announcements SET status = 'scheduled', step = NULL, send_at = ?"
            " WHERE id = ? AND status = 'draft'",
            (send_at.isoformat(), announcement_id),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def add_scheduled(
    db: Database,
    texts: dict[str, str],
    machine: frozenset[str],
    audience: dict[str, Any],
    send_at: datetime,
    now: datetime,
) -> int:
    """An announcement from a file: stored ready to send."""
    return await db.execute(
        "INSERT INTO announcements (texts, machine, audience, send_at, status, created_at)"
        " VALUES (?, ?, ?, ?, 'scheduled', ?)",
        (
            json.dumps(texts, ensure_ascii=False),
            ",".join(sorted(machine)),
            json.dumps(audience, sort_keys=True),
            send_at.isoformat(),
            now.isoformat(),
        ),
    )


async def due(db: Database, now: datetime) -> list[Announcement]:
    rows = await db.fetchall(
        "SELECT * FROM announcements WHERE status = 'scheduled' AND send_at <= ? ORDER BY id",
        (now.isoformat(),),
    )
    return [_announcement(row) for row in rows]


async def mark_sent(tx: Transaction, announcement_id: int, now: datetime) -> None:
    await tx.execute(
        "UPDATE announcements SET status = 'sent', sent_at = ? WHERE id = ?",
        (now.isoformat(), announcement_id),
    )


async def recipients(db: Database, going_to: int | None = None) -> list[Recipient]:
    """Who may get announcements: digest subscribers (or those going to an activity), minus
    those who stopped announcements. Age groups and languages are filtered by the caller."""
    if going_to is not None:
        rows = await db.fetchall(
            "SELECT r.telegram_id, r.language, COALESCE(s.age_groups, '') AS age_groups,"
            " COALESCE(s.birth_years, '') AS birth_years FROM activity_going g"
            " JOIN residents r ON r.telegram_id = g.telegram_id"
            " LEFT JOIN digest_subscriptions s ON s.telegram_id = r.telegram_id"
            " WHERE g.activity_id = ? AND r.telegram_id NOT IN"
            " (SELECT telegram_id FROM announcement_optouts) ORDER BY r.telegram_id",
            (going_to,),
        )
    else:
        rows = await db.fetchall(
            "SELECT r.telegram_id, r.language, s.age_groups, s.birth_years"
            " FROM digest_subscriptions s JOIN residents r ON r.telegram_id = s.telegram_id"
            " WHERE s.active = 1 AND r.telegram_id NOT IN"
            " (SELECT telegram_id FROM announcement_optouts) ORDER BY r.telegram_id"
        )
    return [
        Recipient(
            row["telegram_id"],
            row["language"],
            frozenset(part for part in row["age_groups"].split(",") if part),
            tuple(int(part) for part in row["birth_years"].split(",") if part.isdigit()),
        )
        for row in rows
    ]


# --- residents who stopped announcements ---
async def stop(db: Database, telegram_id: int, now: datetime) -> bool:
    """False if they had stopped them already."""
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT OR IGNORE INTO announcement_optouts (telegram_id, created_at) VALUES (?, ?)",
            (telegram_id, now.isoformat()),
        )
        return int(await tx.fetchval("SELECT changes()")) == 1


async def resume(db: Database, telegram_id: int) -> bool:
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM announcement_optouts WHERE telegram_id = ?", (telegram_id,))
        return int(await tx.fetchval("SELECT changes()")) == 1


async def stopped(db: Database, telegram_id: int) -> bool:
    return bool(
        await db.fetchval(
            "SELECT 1 FROM announcement_optouts WHERE telegram_id = ?", (telegram_id,)
        )
    )


# --- personal data (storage/privacy.py) ---
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    since = await db.fetchval(
        "SELECT created_at FROM announcement_optouts WHERE telegram_id = ?", (telegram_id,)
    )
    return {"announcements_stopped_since": since} if since else {}


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    await tx.execute("DELETE FROM announcement_optouts WHERE telegram_id = ?", (telegram_id,))


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """Announcements hold no resident's data; an opt-out is kept while it is wanted."""
    return 0
