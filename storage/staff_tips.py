"""Tips that staff register (from a case, or for a walk-in visitor), the one-time codes that
link a walk-in tip to its visitor, and the "is it fixed?" question after a resolution.

A staff member's tip form lives here while they fill it in (`bot/tips/staff_form.py` has its
steps), so a restart in the middle costs nothing. Saving turns it into an ordinary tip in one
transaction, with its card's outbox task and (for a case) the resident's reference.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from storage import outbox
from storage.db import Database, Transaction
from storage.tips import TipStatus, reference


class TipSource(StrEnum):
    """Where a tip came from (the `source` column, in exports and the district's figures)."""

    RESIDENT = "resident"
    CASE = "case"
    WALK_IN = "walk-in"


# --------------------------------------------------------------------------- the staff form
@dataclass(frozen=True)
class FormMedia:
    kind: str
    file_id: str
    mime_type: str | None


@dataclass(frozen=True)
class StaffTipForm:
    staff_user_id: int
    chat_id: int
    thread_id: int | None
    case_id: int | None
    step: str
    category: str | None
    description: str | None
    latitude: float | None
    longitude: float | None
    place_text: str | None
    updated_at: datetime
    media: tuple[FormMedia, ...] = ()

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def count(self, kind: str) -> int:
        return sum(1 for item in self.media if item.kind == kind)


async def form_of(db: Database, staff_user_id: int) -> StaffTipForm | None:
    row = await db.fetchone(
        "SELECT * FROM staff_tip_forms WHERE staff_user_id = ?", (staff_user_id,)
    )
    if row is None:
        return None
    media = await db.fetchall(
        "SELECT kind, file_id, mime_type FROM staff_tip_form_media WHERE staff_user_id = ?"
        " ORDER BY id",
        (staff_user_id,),
    )
    return _form(row, media)


def _form(row: sqlite3.Row, media: list[sqlite3.Row]) -> StaffTipForm:
    return StaffTipForm(
        staff_user_id=row["staff_user_id"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        case_id=row["case_id"],
        step=row["step"],
        category=row["category"],
        description=row["description"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        place_text=row["place_text"],
        updated_at=datetime.fromisoformat(row["updated_at"]),
        media=tuple(FormMedia(m["kind"], m["file_id"], m["mime_type"]) for m in media),
    )


async def start_form(
    db: Database,
    staff_user_id: int,
    chat_id: int,
    thread_id: int | None,
    case_id: int | None,
    step: str,
    now: datetime,
) -> None:
    """A new form at its first step, replacing any earlier one of the staff member."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM staff_tip_forms WHERE staff_user_id = ?", (staff_user_id,))
        await tx.execute(
            "INSERT INTO staff_tip_forms (staff_user_id, chat_id, thread_id, case_id, step,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (staff_user_id, chat_id, thread_id, case_id, step, now.isoformat()),
        )


_FORM_FIELDS = {"step", "category", "description", "latitude", "longitude", "place_text"}


async def update_form(db: Database, staff_user_id: int, now: datetime, **fields: Any) -> None:
    unknown = set(fields) - _FORM_FIELDS
    if unknown:
        raise ValueError(f"unknown form fields {unknown}")
    assignments = "".join(f"{name} = ?, " for name in fields)
    await db.execute(
        f"UPDATE staff_tip_forms SET {assignments}updated_at = ? WHERE staff_user_id = ?",
        (*fields.values(), now.isoformat(), staff_user_id),
    )


async def add_to_form(
    db: Database,
    staff_user_id: int,
    message_id: int,
    now: datetime,
    *,
    words: str | None = None,
    media: tuple[str, str, str | None] | None = None,
    location: tuple[float, float] | None = None,
) -> bool:
    """Add one staff message's worth (text, one medium, a location) to the form, in one
    transaction; False if that message was taken already (handled again after a crash)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT description, last_message FROM staff_tip_forms WHERE staff_user_id = ?",
            (staff_user_id,),
        )
        if row is None or row["last_message"] == message_id:
            return False
        description = row["description"]
        if words:
            description = "\n\n".join(part for part in (description, words) if part)
        await tx.execute(
            "UPDATE staff_tip_forms SET description = ?, last_message = ?, updated_at = ?"
            " WHERE staff_user_id = ?",
            (description, message_id, now.isoformat(), staff_user_id),
        )
        if media is not None:
            await tx.execute(
                "INSERT INTO staff_tip_form_media (staff_user_id, kind, file_id, mime_type)"
                " VALUES (?, ?, ?, ?)",
                (staff_user_id, *media),
            )
        if location is not None:
            await tx.execute(
                "UPDATE staff_tip_forms SET latitude = ?, longitude = ? WHERE staff_user_id = ?",
                (*location, staff_user_id),
            )
    return True


async def delete_form(db: Database, staff_user_id: int) -> bool:
    async with db.transaction() as tx:
        existed = await tx.fetchval(
            "SELECT 1 FROM staff_tip_forms WHERE staff_user_id = ?", (staff_user_id,)
        )
        await tx.execute("DELETE FROM staff_tip_forms WHERE staff_user_id = ?", (staff_user_id,))
    return bool(existed)


@dataclass(frozen=True)
class Reporter:
    """Who a staff-made tip belongs to: the case's resident, or nobody (a walk-in visitor)."""

    telegram_id: int | None
    language: str
    name: str | None


async def save_form(
    db: Database,
    staff_user_id: int,
    source: TipSource,
    reporter: Reporter,
    claim_code: str | None,
    now: datetime,
) -> int | None:
    """Turn a staff member's complete form into a tip, in one transaction: the tip, its media,
    the card's outbox task, the resident's reference (a case) or the claim code (a walk-in).
    Returns the tip's id, or None if there is no complete form (saved already)."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT * FROM staff_tip_forms WHERE staff_user_id = ?", (staff_user_id,)
        )
        if row is None or row["category"] is None:
            return None
        tip_id = await tx.execute(
            "INSERT INTO tips (telegram_id, category, description, latitude, longitude,"
            " place_text, show_name, reporter_name, language, source, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reporter.telegram_id,
                row["category"],
                row["description"],
                row["latitude"],
                row["longitude"],
                row["place_text"],
                int(reporter.name is not None),
                reporter.name,
                reporter.language,
                source.value,
                now.isoformat(),
                now.isoformat(),
            ),
        )
        await tx.execute(
            "INSERT INTO tip_media (tip_id, kind, file_id, mime_type)"
            " SELECT ?, kind, file_id, mime_type FROM staff_tip_form_media"
            " WHERE staff_user_id = ? ORDER BY id",
            (tip_id, staff_user_id),
        )
        await tx.execute("DELETE FROM staff_tip_forms WHERE staff_user_id = ?", (staff_user_id,))
        await outbox.add_task(tx, "tip-card", f"tip-card:{tip_id}", {"tip_id": tip_id}, now)
        if reporter.telegram_id is not None:
            await _enqueue_reference(tx, tip_id, reporter.telegram_id, now)
        if claim_code is not None:
            await tx.execute(
                "INSERT INTO tip_claims (code, tip_id, created_at) VALUES (?, ?, ?)",
                (claim_code, tip_id, now.isoformat()),
            )
    return tip_id


async def _enqueue_reference(
    tx: Transaction, tip_id: int, telegram_id: int, now: datetime
) -> None:
    """The resident hears the tip's number through the outbox (bot/tips/staff_form.py)."""
    await outbox.add_task(
        tx,
        "tip-reference",
        f"tip-reference:{tip_id}",
        {"tip_id": tip_id},
        now,
        chat_id=telegram_id,
    )


# --------------------------------------------------------------------------- claims
async def claim(
    db: Database, code: str, telegram_id: int, now: datetime, valid_since: datetime
) -> int | None:
    """Link the walk-in tip of a one-time `code` to the visitor who opened it.

    Returns the tip's id, or None if the code is unknown, used, or older than `valid_since`.
    """
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "SELECT tip_id, created_at, claimed_at FROM tip_claims WHERE code = ?", (code,)
        )
        if row is None or row["claimed_at"] is not None:
            return None
        if datetime.fromisoformat(row["created_at"]) < valid_since:
            return None
        tip_id = row["tip_id"]
        taken = await tx.fetchval("SELECT telegram_id FROM tips WHERE id = ?", (tip_id,))
        if taken is not None:
            return None
        await tx.execute(
            "UPDATE tip_claims SET claimed_at = ? WHERE code = ?", (now.isoformat(), code)
        )
        await tx.execute("UPDATE tips SET telegram_id = ? WHERE id = ?", (telegram_id, tip_id))
        await _enqueue_reference(tx, tip_id, telegram_id, now)
        return int(tip_id)


async def source_of(db: Database, tip_id: int) -> TipSource:
    value = await db.fetchval("SELECT source FROM tips WHERE id = ?", (tip_id,))
    return TipSource(value or TipSource.RESIDENT)


async def sources(db: Database) -> dict[int, TipSource]:
    """Every tip's source, for the export."""
    rows = await db.fetchall("SELECT id, source FROM tips")
    return {row["id"]: TipSource(row["source"]) for row in rows}


# --------------------------------------------------------------------------- is it fixed?
async def ask_if_fixed(
    db: Database, resolved_before: datetime, resolved_after: datetime, now: datetime
) -> int:
    """Enqueue "is it fixed?" for the reporter and followers of every tip still resolved since
    between `resolved_after` and `resolved_before`, once per person per resolution; returns how
    many were asked. (The lower bound keeps a first start from asking about old tips.)"""
    rows = await db.fetchall(
        "SELECT c.id AS change_id, t.id AS tip_id FROM tips t"
        " JOIN tip_status_changes c ON c.id ="
        "  (SELECT MAX(id) FROM tip_status_changes WHERE tip_id = t.id)"
        " WHERE t.status = ? AND c.status = ? AND c.changed_at < ? AND c.changed_at >= ?",
        (
            TipStatus.RESOLVED.value,
            TipStatus.RESOLVED.value,
            resolved_before.isoformat(),
            resolved_after.isoformat(),
        ),
    )
    asked = 0
    for row in rows:
        async with db.transaction() as tx:
            people = await tx.fetchall(
                "SELECT telegram_id FROM tips WHERE id = ? AND telegram_id IS NOT NULL"
                " UNION SELECT telegram_id FROM tip_followers WHERE tip_id = ?",
                (row["tip_id"], row["tip_id"]),
            )
            for person in people:
                telegram_id = person["telegram_id"]
                asked_before = await tx.fetchval(
                    "SELECT 1 FROM tip_fixed_checks WHERE change_id = ? AND telegram_id = ?",
                    (row["change_id"], telegram_id),
                )
                if asked_before:
                    continue
                await tx.execute(
                    "INSERT INTO tip_fixed_checks (change_id, telegram_id, asked_at)"
                    " VALUES (?, ?, ?)",
                    (row["change_id"], telegram_id, now.isoformat()),
                )
                await outbox.add_task(
                    tx,
                    "tip-fixed-ask",
                    f"tip-fixed:{row['change_id']}:{telegram_id}",
                    {"change_id": row["change_id"]},
                    now,
                    chat_id=telegram_id,
                )
                asked += 1
    return asked


@dataclass(frozen=True)
class FixedAnswer:
    """What an answer to "is it fixed?" did: `reopened_change` is the new status change when a
    "no" reopened the tip (None: it was not resolved any more, or the answer was "yes")."""

    tip_id: int
    answered_before: bool
    reopened_change: int | None = None


async def answer_fixed(
    db: Database, change_id: int, telegram_id: int, fixed: bool, now: datetime
) -> FixedAnswer | None:
    """Record a person's answer (once); a "no" on a tip still resolved reopens it, in the same
    transaction as the status change, its news to the others, and the note to staff's task.

    None if the person was never asked about this resolution (a forged or foreign button)."""
    async with db.transaction() as tx:
        check = await tx.fetchone(
            "SELECT k.answer, c.tip_id FROM tip_fixed_checks k"
            " JOIN tip_status_changes c ON c.id = k.change_id"
            " WHERE k.change_id = ? AND k.telegram_id = ?",
            (change_id, telegram_id),
        )
        if check is None:
            return None
        tip_id = int(check["tip_id"])
        if check["answer"] is not None:
            return FixedAnswer(tip_id, answered_before=True)
        await tx.execute(
            "UPDATE tip_fixed_checks SET answer = ?, answered_at = ?"
            " WHERE change_id = ? AND telegram_id = ?",
            ("yes" if fixed else "no", now.isoformat(), change_id, telegram_id),
        )
        status = await tx.fetchval("SELECT status FROM tips WHERE id = ?", (tip_id,))
        if fixed or status != TipStatus.RESOLVED.value:
            return FixedAnswer(tip_id, answered_before=False)
        await tx.execute(
            "UPDATE tips SET status = ?, updated_at = ? WHERE id = ?",
            (TipStatus.REOPENED.value, now.isoformat(), tip_id),
        )
        reopened = await tx.execute(
            "INSERT INTO tip_status_changes (tip_id, status, staff_user_id, changed_at)"
            " VALUES (?, ?, NULL, ?)",
            (tip_id, TipStatus.REOPENED.value, now.isoformat()),
        )
        # The person who said "no" is answered at once; the news goes to the others.
        await tx.execute(
            "INSERT INTO tip_notifications (change_id, telegram_id, outcome, at)"
            " VALUES (?, ?, 'sent', ?)",
            (reopened, telegram_id, now.isoformat()),
        )
        await outbox.add_task(tx, "tip-news", f"tip-news:{reopened}", {"change_id": reopened}, now)
        await outbox.add_task(
            tx, "tip-reopened", f"tip-reopened:{reopened}", {"tip_id": tip_id}, now
        )
        return FixedAnswer(tip_id, answered_before=False, reopened_change=reopened)


async def delete_stale_forms(db: Database, cutoff: datetime) -> int:
    """Drop staff tip forms untouched since `cutoff` (abandoned); returns how many."""
    async with db.transaction() as tx:
        count = await tx.fetchval(
            "SELECT COUNT(*) FROM staff_tip_forms WHERE updated_at < ?", (cutoff.isoformat(),)
        )
        await tx.execute("DELETE FROM staff_tip_forms WHERE updated_at < ?", (cutoff.isoformat(),))
    return int(count)


# --------------------------------------------------------------------------- personal data
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    """The resident's answers to "is it fixed?" (by tip reference)."""
    rows = await db.fetchall(
        "SELECT c.tip_id, k.asked_at, k.answer, k.answered_at FROM tip_fixed_checks k"
        " JOIN tip_status_changes c ON c.id = k.change_id WHERE k.telegram_id = ? ORDER BY 2",
        (telegram_id,),
    )
    if not rows:
        return {}
    return {
        "is_it_fixed": [
            {
                "tip": reference(row["tip_id"]),
                "asked_at": row["asked_at"],
                "answer": row["answer"],
                "answered_at": row["answered_at"],
            }
            for row in rows
        ]
    }


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    """Their answers go, and any tip staff are still writing from their case (its words are
    theirs). Runs before the cases lose the link to the resident."""
    await tx.execute("DELETE FROM tip_fixed_checks WHERE telegram_id = ?", (telegram_id,))
    await tx.execute(
        "DELETE FROM staff_tip_forms WHERE case_id IN"
        " (SELECT id FROM cases WHERE resident_id = ?)",
        (telegram_id,),
    )


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """Questions asked before `cutoff` are forgotten with who was asked (the reopenings stay
    in the status history, which names nobody)."""
    count = await tx.fetchval(
        "SELECT COUNT(*) FROM tip_fixed_checks WHERE asked_at < ?", (cutoff.isoformat(),)
    )
    await tx.execute("DELETE FROM tip_fixed_checks WHERE asked_at < ?", (cutoff.isoformat(),))
    return int(count or 0)


async def fixed_answers(db: Database, start: datetime, end: datetime) -> dict[str, int]:
    """Answers to "is it fixed?" given in [start, end), by answer (yes, no)."""
    rows = await db.fetchall(
        "SELECT answer, COUNT(*) FROM tip_fixed_checks"
        " WHERE answered_at >= ? AND answered_at < ? GROUP BY answer",
        (start.isoformat(), end.isoformat()),
    )
    return {str(row[0]): int(row[1]) for row in rows}
