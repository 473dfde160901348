"""Staff questions on a tip and the residents' answers. The answer is stored, and its relay
to the staff chat enqueued, before the resident is thanked. Personal data: the rows are
exported and erased with their tip (`storage/tips.py`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage import outbox
from storage.db import Database


@dataclass(frozen=True)
class Question:
    id: int
    tip_id: int
    telegram_id: int
    resident_message_id: int | None
    asked_at: datetime
    answered_at: datetime | None
    #: What staff asked (shown to the resident; erased with the tip).
    text: str = ""


def _question(row: sqlite3.Row) -> Question:
    return Question(
        id=row["id"],
        tip_id=row["tip_id"],
        telegram_id=row["telegram_id"],
        resident_message_id=row["resident_message_id"],
        asked_at=datetime.fromisoformat(row["asked_at"]),
        answered_at=datetime.fromisoformat(row["answered_at"]) if row["answered_at"] else None,
        text=row["text"] or "",
    )


async def get_question(db: Database, question_id: int) -> Question | None:
    row = await db.fetchone("SELECT * FROM tip_questions WHERE id = ?", (question_id,))
    return _question(row) if row else None


async def add_question(
    db: Database, tip_id: int, telegram_id: int, staff_user_id: int, text: str, now: datetime
) -> int:
    return await db.execute(
        "INSERT INTO tip_questions (tip_id, telegram_id, staff_user_id, text, asked_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (tip_id, telegram_id, staff_user_id, text, now.isoformat()),
    )


async def set_question_message(db: Database, question_id: int, message_id: int) -> None:
    await db.execute(
        "UPDATE tip_questions SET resident_message_id = ? WHERE id = ?", (message_id, question_id)
    )


async def question_by_message(db: Database, telegram_id: int, message_id: int) -> Question | None:
    row = await db.fetchone(
        "SELECT * FROM tip_questions WHERE telegram_id = ? AND resident_message_id = ?",
        (telegram_id, message_id),
    )
    return _question(row) if row else None


async def open_question(db: Database, telegram_id: int, since: datetime) -> Question | None:
    """The latest unanswered question asked since `since`."""
    row = await db.fetchone(
        "SELECT * FROM tip_questions WHERE telegram_id = ? AND answered_at IS NULL"
        " AND asked_at >= ? AND resident_message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        (telegram_id, since.isoformat()),
    )
    return _question(row) if row else None


async def store_answer(
    db: Database,
    question: Question,
    kind: str,
    text: str | None,
    resident_message_id: int,
    now: datetime,
) -> int:
    """Store the resident's answer (before anyone is told) and close the question."""
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE tip_questions SET answered_at = COALESCE(answered_at, ?) WHERE id = ?",
            (now.isoformat(), question.id),
        )
        answer_id = await tx.execute(
            "INSERT INTO tip_answers (tip_id, telegram_id, kind, text, resident_message_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                question.tip_id,
                question.telegram_id,
                kind,
                text,
                resident_message_id,
                now.isoformat(),
            ),
        )
        await outbox.add_task(
            tx, "tip-answer", f"tip-answer:{answer_id}", {"answer_id": answer_id}, now
        )
        return answer_id


@dataclass(frozen=True)
class Answer:
    id: int
    tip_id: int
    telegram_id: int
    kind: str
    text: str | None
    resident_message_id: int


async def get_answer(db: Database, answer_id: int) -> Answer | None:
    r = await db.fetchone("SELECT * FROM tip_answers WHERE id = ?", (answer_id,))
    if r is None:
        return None
    return Answer(
        r["id"], r["tip_id"], r["telegram_id"], r["kind"], r["text"], r["resident_message_id"]
    )


async def mark_answer_relayed(db: Database, answer_id: int, now: datetime) -> None:
    await db.execute(
        "UPDATE tip_answers SET relayed_at = ? WHERE id = ?", (now.isoformat(), answer_id)
    )
