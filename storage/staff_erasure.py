"""What erasure and retention remove from the staff chat: planned in the transaction that
erases the database rows, done by the outbox (`bot/staff_erasure.py`), recorded here.

The database forgets a resident in one transaction; the staff chat can only be cleaned by
Telegram calls, which may fail, wait for an outage or be cut by a crash. So that transaction
also stores one row in `staff_chat_erasures` and one outbox task per removal (a case topic, a
tip card, a photo, a voice message, a map pin, a relayed answer), and a last task that tells
staff what could not be removed. The rows hold message ids only, never content.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import outbox
from storage.db import Database, Transaction

#: The outbox kinds, one per kind of removal (their senders are in bot/staff_erasure.py).
ERASE_TOPIC = "erase-topic"
REDACT_CARD = "redact-card"
ERASE_MESSAGE = "erase-media"
ERASE_REPORT = "erase-report"

TARGET_KIND = {"topic": ERASE_TOPIC, "card": REDACT_CARD, "message": ERASE_MESSAGE}

#: Staff-chat messages of a tip that are the staff's own words: erasure leaves them alone.
STAFF_OWN = "staff"


@dataclass(frozen=True)
class Erasure:
    id: int
    batch: str
    reason: str
    target: str
    kind: str | None
    subject: str | None
    tip_id: int | None
    thread_id: int | None
    message_id: int | None
    outcome: str


def _erasure(row: Any) -> Erasure:
    return Erasure(
        id=row["id"],
        batch=row["batch"],
        reason=row["reason"],
        target=row["target"],
        kind=row["kind"],
        subject=row["subject"],
        tip_id=row["tip_id"],
        thread_id=row["thread_id"],
        message_id=row["message_id"],
        outcome=row["outcome"],
    )


# --------------------------------------------------------------------------- planning
async def plan_for_resident(tx: Transaction, telegram_id: int, now: datetime) -> int:
    """Before the rows are erased: plan the removal of a resident's tips and cases from the
    staff chat. Returns the number of removals planned."""
    tip_ids = await _ids(tx, "SELECT id FROM tips WHERE telegram_id = ?", (telegram_id,))
    case_ids = await _ids(tx, "SELECT id FROM cases WHERE resident_id = ?", (telegram_id,))
    return await _plan(tx, "resident", tip_ids, case_ids, now)


async def plan_expiring(
    tx: Transaction, tip_where: str, tip_params: tuple[Any, ...], cutoff: datetime, now: datetime
) -> int:
    """Before the retention run: plan the removal of the staff-chat traces of the tips
    (`tip_where`, the same condition `storage/tips.py` expires by) and of the finished cases
    older than `cutoff`."""
    tip_ids = await _ids(tx, f"SELECT id FROM tips WHERE {tip_where}", tip_params)
    case_ids = await _ids(
        tx,
        "SELECT id FROM cases WHERE status != 'open' AND closed_at < ?"
        " AND resident_id IS NOT NULL",
        (cutoff.isoformat(),),
    )
    return await _plan(tx, "retention", tip_ids, case_ids, now)


async def _ids(tx: Transaction, sql: str, params: tuple[Any, ...]) -> list[int]:
    return [row[0] for row in await tx.fetchall(sql, params)]


async def _plan(
    tx: Transaction, reason: str, tip_ids: list[int], case_ids: list[int], now: datetime
) -> int:
    batch = f"{reason}-{uuid.uuid4().hex[:12]}"
    planned = 0
    for tip_id in tip_ids:
        planned += await _plan_tip(tx, batch, reason, tip_id, now)
    for case_id in case_ids:
        planned += await _plan_case(tx, batch, reason, case_id, now)
    if planned:
        await outbox.add_task(tx, ERASE_REPORT, f"erase-report:{batch}", {"batch": batch}, now)
    return planned


async def _plan_tip(tx: Transaction, batch: str, reason: str, tip_id: int, now: datetime) -> int:
    card = await tx.fetchone(
        "SELECT staff_thread_id, staff_card_message_id FROM tips WHERE id = ?", (tip_id,)
    )
    if card is None or card["staff_card_message_id"] is None:
        return 0
    subject = f"T-{tip_id:04d}"
    card_id = card["staff_card_message_id"]
    planned = 1
    await _add(
        tx, batch, reason, "card", "card", subject, tip_id, card["staff_thread_id"], card_id, now
    )
    rows = await tx.fetchall(
        "SELECT message_id, kind FROM tip_staff_messages WHERE tip_id = ? AND message_id != ?"
        " AND (kind IS NULL OR kind != ?) ORDER BY message_id",
        (tip_id, card_id, STAFF_OWN),
    )
    for row in rows:
        await _add(
            tx,
            batch,
            reason,
            "message",
            row["kind"],
            subject,
            tip_id,
            card["staff_thread_id"],
            row["message_id"],
            now,
        )
        planned += 1
    # The ids now live in staff_chat_erasures until done; only the card keeps its mapping (a
    # staff reply to it is answered "this resident can no longer be reached").
    await tx.execute(
        "DELETE FROM tip_staff_messages WHERE tip_id = ? AND message_id != ?"
        " AND (kind IS NULL OR kind != ?)",
        (tip_id, card_id, STAFF_OWN),
    )
    return planned


async def _plan_case(tx: Transaction, batch: str, reason: str, case_id: int, now: datetime) -> int:
    topic_id = await tx.fetchval("SELECT topic_id FROM cases WHERE id = ?", (case_id,))
    subject = f"S-{case_id:04d}"
    if topic_id is not None:
        await _add(tx, batch, reason, "topic", None, subject, None, topic_id, None, now)
        return 1
    # A staff chat without topics: the relayed copies of the resident's messages, one by one.
    rows = await tx.fetchall(
        "SELECT staff_message_id FROM case_messages WHERE case_id = ? AND direction = 'in'"
        " AND staff_message_id IS NOT NULL ORDER BY id",
        (case_id,),
    )
    for row in rows:
        await _add(
            tx, batch, reason, "message", "copy", subject, None, None, row["staff_message_id"], now
        )
    return len(rows)


async def _add(
    tx: Transaction,
    batch: str,
    reason: str,
    target: str,
    kind: str | None,
    subject: str,
    tip_id: int | None,
    thread_id: int | None,
    message_id: int | None,
    now: datetime,
) -> None:
    erasure_id = await tx.execute(
        "INSERT INTO staff_chat_erasures (batch, reason, target, kind, subject, tip_id,"
        " thread_id, message_id, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (batch, reason, target, kind, subject, tip_id, thread_id, message_id, now.isoformat()),
    )
    await outbox.add_task(
        tx, TARGET_KIND[target], f"erase:{erasure_id}", {"erasure_id": erasure_id}, now
    )


# --------------------------------------------------------------------------- progress
async def get(db: Database, erasure_id: int) -> Erasure | None:
    row = await db.fetchone("SELECT * FROM staff_chat_erasures WHERE id = ?", (erasure_id,))
    return _erasure(row) if row else None


async def done(db: Database, erasure_id: int, outcome: str, now: datetime) -> None:
    """Record what became of one removal: deleted, edited, kept (Telegram does not allow
    it), gone (staff had deleted it already) or failed (given up after errors)."""
    await db.execute(
        "UPDATE staff_chat_erasures SET outcome = ?, done_at = ? WHERE id = ?",
        (outcome, now.isoformat(), erasure_id),
    )


async def batch(db: Database, name: str) -> list[Erasure]:
    rows = await db.fetchall(
        "SELECT * FROM staff_chat_erasures WHERE batch = ? ORDER BY id", (name,)
    )
    return [_erasure(row) for row in rows]


async def card_reason(db: Database, tip_id: int) -> str | None:
    """Why a tip's card was redacted ('resident', 'retention'), or None if it was not: a later
    redraw (a status button) must keep it redacted."""
    value = await db.fetchval(
        "SELECT reason FROM staff_chat_erasures WHERE tip_id = ? AND target = 'card'"
        " ORDER BY id DESC LIMIT 1",
        (tip_id,),
    )
    return str(value) if value is not None else None


async def pending(db: Database) -> int:
    """Removals planned and not done yet (the CLI says the running bot will do them)."""
    return int(
        await db.fetchval("SELECT COUNT(*) FROM staff_chat_erasures WHERE outcome = 'pending'")
    )


async def not_removed(db: Database) -> list[Erasure]:
    """Every message the bot could not remove (for `python -m bot check` and tests)."""
    rows = await db.fetchall(
        "SELECT * FROM staff_chat_erasures WHERE outcome IN ('kept', 'failed') ORDER BY id"
    )
    return [_erasure(row) for row in rows]
