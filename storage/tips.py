"""Tips: confirmed tips, their status history, followers, the staff
chat's topics and messages. Drafts being written are in `storage/tip_drafts.py`; staff
questions on a tip and the residents' answers in `storage/tip_questions.py` (their rows are
exported and erased with the tip, here)."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from storage import outbox
from storage.db import Database, Transaction


class TipStatus(StrEnum):
    """Where a tip stands. `NEW` until staff press a button; `MERGED` into another tip;
    `REOPENED` when a resident said a resolved tip is not fixed."""

    NEW = "new"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FORWARDED = "forwarded"
    REJECTED = "rejected"
    MERGED = "merged"
    REOPENED = "reopened"

    @property
    def is_open(self) -> bool:
        return self in (
            TipStatus.NEW,
            TipStatus.RECEIVED,
            TipStatus.IN_PROGRESS,
            TipStatus.REOPENED,
        )


#: Media kinds a tip can carry.
MEDIA_KINDS = ("photo", "image", "voice", "video")


def reference(tip_id: int) -> str:
    """The short reference residents and staff use: T-0042."""
    return f"T-{tip_id:04d}"


def parse_reference(text: str) -> int | None:
    """`T-0042`, `t42` or `42` -> 42."""
    cleaned = text.strip().upper().removeprefix("T").lstrip("-")
    return int(cleaned) if cleaned.isdigit() else None


# --------------------------------------------------------------------------- tips
@dataclass(frozen=True)
class TipMedia:
    kind: str
    file_id: str
    mime_type: str | None


@dataclass(frozen=True)
class Tip:
    id: int
    telegram_id: int | None
    category: str
    description: str | None
    latitude: float | None
    longitude: float | None
    place_text: str | None
    show_name: bool
    reporter_name: str | None
    language: str
    status: TipStatus
    possible_duplicate_of: int | None
    merged_into: int | None
    created_at: datetime
    updated_at: datetime
    staff_thread_id: int | None
    staff_card_message_id: int | None
    posted_at: datetime | None
    media: tuple[TipMedia, ...] = ()
    followers: int = 0
    #: Where it came from: resident, case, walk-in (`storage.staff_tips.TipSource`).
    source: str = "resident"

    @property
    def reference(self) -> str:
        return reference(self.id)

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def count(self, kind: str) -> int:
        return sum(1 for item in self.media if item.kind == kind)


def _tip(row: sqlite3.Row, media: list[sqlite3.Row] = (), followers: int = 0) -> Tip:  # type: ignore[assignment]
    def when(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return Tip(
        id=row["id"],
        telegram_id=row["telegram_id"],
        category=row["category"],
        description=row["description"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        place_text=row["place_text"],
        show_name=bool(row["show_name"]),
        reporter_name=row["reporter_name"],
        language=row["language"],
        status=TipStatus(row["status"]),
        possible_duplicate_of=row["possible_duplicate_of"],
        merged_into=row["merged_into"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        staff_thread_id=row["staff_thread_id"],
        staff_card_message_id=row["staff_card_message_id"],
        posted_at=when(row["posted_at"]),
        media=tuple(TipMedia(m["kind"], m["file_id"], m["mime_type"]) for m in media),
        followers=followers,
        source=row["source"],
    )


async def get_tip(db: Database, tip_id: int) -> Tip | None:
    row = await db.fetchone("SELECT * FROM tips WHERE id = ?", (tip_id,))
    if row is None:
        return None
    media = await db.fetchall(
        "SELECT kind, file_id, mime_type FROM tip_media WHERE tip_id = ? ORDER BY id", (tip_id,)
    )
    followers = await db.fetchval("SELECT COUNT(*) FROM tip_followers WHERE tip_id = ?", (tip_id,))
    return _tip(row, media, int(followers))


async def count_recent_tips(db: Database, telegram_id: int, since: datetime) -> int:
    """Tips a resident confirmed since `since` (for the flood limit)."""
    return int(
        await db.fetchval(
            "SELECT COUNT(*) FROM tips WHERE telegram_id = ? AND created_at >= ?",
            (telegram_id, since.isoformat()),
        )
    )


async def set_card(db: Database, tip_id: int, thread_id: int | None, message_id: int) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE tips SET staff_thread_id = ?, staff_card_message_id = ? WHERE id = ?",
            (thread_id, message_id, tip_id),
        )


async def mark_posted(db: Database, tip_id: int, now: datetime) -> None:
    await db.execute("UPDATE tips SET posted_at = ? WHERE id = ?", (now.isoformat(), tip_id))


async def mark_thanked(db: Database, tip_id: int, now: datetime) -> None:
    """The resident was told the tip's number."""
    await db.execute("UPDATE tips SET thanked_at = ? WHERE id = ?", (now.isoformat(), tip_id))


async def thanked(db: Database, tip_id: int) -> bool:
    return bool(await db.fetchval("SELECT thanked_at FROM tips WHERE id = ?", (tip_id,)))


async def tips_of_resident(db: Database, telegram_id: int, limit: int = 10) -> list[Tip]:
    """The resident's own tips and the ones they follow, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM tips WHERE telegram_id = ?"
        " OR id IN (SELECT tip_id FROM tip_followers WHERE telegram_id = ?)"
        " ORDER BY created_at DESC, id DESC LIMIT ?",
        (telegram_id, telegram_id, limit),
    )
    return [_tip(row) for row in rows]


async def open_tips_for(db: Database, telegram_id: int) -> list[Tip]:
    """A resident's open tips (for the header of a staff case about them), newest first."""
    open_statuses = [s.value for s in TipStatus if s.is_open]
    rows = await db.fetchall(
        f"SELECT * FROM tips WHERE telegram_id = ? AND status IN ({_marks(open_statuses)})"
        " ORDER BY created_at DESC, id DESC",
        (telegram_id, *open_statuses),
    )
    return [_tip(row) for row in rows]


def _marks(values: list[Any]) -> str:
    return ", ".join("?" for _ in values)


# --------------------------------------------------------------------------- duplicates
#: Earth radius for the haversine distance, in metres.
EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine): exact enough at neighbourhood scale."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


async def find_similar(
    db: Database,
    category: str,
    latitude: float,
    longitude: float,
    now: datetime,
    *,
    radius_m: float,
    days: int,
    exclude_resident: int | None = None,
    exclude_tip: int | None = None,
) -> Tip | None:
    """The nearest open tip of the same category within `radius_m` from the last `days`.

    A bounding box narrows the rows in SQL; the exact distance is computed here.
    """
    open_statuses = [s.value for s in TipStatus if s.is_open]
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(latitude)), 0.01))
    rows = await db.fetchall(
        "SELECT * FROM tips WHERE category = ? AND created_at >= ?"
        f" AND status IN ({_marks(open_statuses)})"
        " AND latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ?"
        " AND (telegram_id IS NULL OR telegram_id != ?) AND id != ?",
        (
            category,
            (now - timedelta(days=days)).isoformat(),
            *open_statuses,
            latitude - dlat,
            latitude + dlat,
            longitude - dlon,
            longitude + dlon,
            exclude_resident if exclude_resident is not None else 0,
            exclude_tip if exclude_tip is not None else 0,
        ),
    )
    best: tuple[float, sqlite3.Row] | None = None
    for row in rows:
        distance = distance_m(latitude, longitude, row["latitude"], row["longitude"])
        if distance <= radius_m and (best is None or distance < best[0]):
            best = (distance, row)
    return _tip(best[1]) if best else None


async def follow(db: Database, tip_id: int, telegram_id: int, now: datetime) -> bool:
    """Make a resident follow a tip; False if they reported it or followed it already."""
    async with db.transaction() as tx:
        reporter = await tx.fetchval("SELECT telegram_id FROM tips WHERE id = ?", (tip_id,))
        if reporter == telegram_id:
            return False
        existing = await tx.fetchval(
            "SELECT 1 FROM tip_followers WHERE tip_id = ? AND telegram_id = ?",
            (tip_id, telegram_id),
        )
        if existing:
            return False
        await tx.execute(
            "INSERT INTO tip_followers (tip_id, telegram_id, since) VALUES (?, ?, ?)",
            (tip_id, telegram_id, now.isoformat()),
        )
        await tx.execute("DELETE FROM tip_drafts WHERE telegram_id = ?", (telegram_id,))
    return True


async def followers(db: Database, tip_id: int) -> list[int]:
    rows = await db.fetchall(
        "SELECT telegram_id FROM tip_followers WHERE tip_id = ? ORDER BY since", (tip_id,)
    )
    return [row["telegram_id"] for row in rows]


async def merge(
    db: Database, duplicate_id: int, original_id: int, staff_user_id: int, now: datetime
) -> int | None:
    """Merge a duplicate into the original: its reporter and followers follow the original.

    Returns the id of the duplicate's "merged" status change (whose notification tells the
    duplicate's reporter), or None if either tip cannot take part in a merge.
    """
    async with db.transaction() as tx:
        dup = await tx.fetchone("SELECT * FROM tips WHERE id = ?", (duplicate_id,))
        orig = await tx.fetchone("SELECT * FROM tips WHERE id = ?", (original_id,))
        if (
            dup is None
            or orig is None
            or duplicate_id == original_id
            or dup["status"] == TipStatus.MERGED
            or orig["status"] == TipStatus.MERGED
        ):
            return None
        movers = [
            row["telegram_id"]
            for row in await tx.fetchall(
                "SELECT telegram_id FROM tip_followers WHERE tip_id = ?", (duplicate_id,)
            )
        ]
        if dup["telegram_id"] is not None:
            movers.append(dup["telegram_id"])
        for person in movers:
            if person != orig["telegram_id"]:
                await tx.execute(
                    "INSERT OR IGNORE INTO tip_followers (tip_id, telegram_id, since)"
                    " VALUES (?, ?, ?)",
                    (original_id, person, now.isoformat()),
                )
        await tx.execute("DELETE FROM tip_followers WHERE tip_id = ?", (duplicate_id,))
        await tx.execute(
            "UPDATE tips SET status = ?, merged_into = ?, updated_at = ? WHERE id = ?",
            (TipStatus.MERGED.value, original_id, now.isoformat(), duplicate_id),
        )
        change_id = await tx.execute(
            "INSERT INTO tip_status_changes (tip_id, status, staff_user_id, changed_at)"
            " VALUES (?, ?, ?, ?)",
            (duplicate_id, TipStatus.MERGED.value, staff_user_id, now.isoformat()),
        )
        await _enqueue_news(tx, change_id, now)
        return change_id


# --------------------------------------------------------------------------- status
async def set_status(
    db: Database, tip_id: int, status: TipStatus, staff_user_id: int, now: datetime
) -> int | None:
    """Store a status change by a staff member; returns its id (None if nothing changed)."""
    async with db.transaction() as tx:
        current = await tx.fetchval("SELECT status FROM tips WHERE id = ?", (tip_id,))
        if current is None or current == status.value or current == TipStatus.MERGED.value:
            return None
        await tx.execute(
            "UPDATE tips SET status = ?, updated_at = ? WHERE id = ?",
            (status.value, now.isoformat(), tip_id),
        )
        change_id = await tx.execute(
            "INSERT INTO tip_status_changes (tip_id, status, staff_user_id, changed_at)"
            " VALUES (?, ?, ?, ?)",
            (tip_id, status.value, staff_user_id, now.isoformat()),
        )
        await _enqueue_news(tx, change_id, now)
        return change_id


async def _enqueue_news(tx: Transaction, change_id: int, now: datetime) -> None:
    """The news of a change goes out through the outbox (bot/tips/outbox.py fans it out)."""
    await outbox.add_task(tx, "tip-news", f"tip-news:{change_id}", {"change_id": change_id}, now)


@dataclass(frozen=True)
class StatusChange:
    id: int
    tip_id: int
    status: TipStatus
    staff_user_id: int | None
    changed_at: datetime


async def status_history(db: Database, tip_id: int) -> list[StatusChange]:
    rows = await db.fetchall(
        "SELECT * FROM tip_status_changes WHERE tip_id = ? ORDER BY id", (tip_id,)
    )
    return [_change(row) for row in rows]


def _change(row: sqlite3.Row) -> StatusChange:
    return StatusChange(
        id=row["id"],
        tip_id=row["tip_id"],
        status=TipStatus(row["status"]),
        staff_user_id=row["staff_user_id"],
        changed_at=datetime.fromisoformat(row["changed_at"]),
    )


async def status_change(db: Database, change_id: int) -> StatusChange | None:
    row = await db.fetchone("SELECT * FROM tip_status_changes WHERE id = ?", (change_id,))
    return _change(row) if row is not None else None


async def recipients_to_notify(db: Database, change_id: int) -> list[tuple[int, str]]:
    """(telegram_id, language) of the reporter and followers not yet told of a change."""
    rows = await db.fetchall(
        "SELECT r.telegram_id, r.language FROM tip_status_changes c"
        " JOIN tips t ON t.id = c.tip_id"
        " JOIN residents r ON r.telegram_id = t.telegram_id"
        " WHERE c.id = ?"
        " UNION"
        " SELECT r.telegram_id, r.language FROM tip_status_changes c"
        " JOIN tip_followers f ON f.tip_id = c.tip_id"
        " JOIN residents r ON r.telegram_id = f.telegram_id"
        " WHERE c.id = ?",
        (change_id, change_id),
    )
    done = {
        row["telegram_id"]
        for row in await db.fetchall(
            "SELECT telegram_id FROM tip_notifications WHERE change_id = ?", (change_id,)
        )
    }
    return [
        (row["telegram_id"], row["language"]) for row in rows if row["telegram_id"] not in done
    ]


async def record_notification(
    db: Database, change_id: int, telegram_id: int, outcome: str, now: datetime
) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO tip_notifications (change_id, telegram_id, outcome, at)"
        " VALUES (?, ?, ?, ?)",
        (change_id, telegram_id, outcome, now.isoformat()),
    )


async def mark_change_notified(db: Database, change_id: int, now: datetime) -> None:
    await db.execute(
        "UPDATE tip_status_changes SET notified_at = ? WHERE id = ?", (now.isoformat(), change_id)
    )


# --------------------------------------------------------------------------- staff chat
async def topic_thread(db: Database, category: str) -> int | None:
    thread: int | None = await db.fetchval(
        "SELECT thread_id FROM tip_topics WHERE category = ?", (category,)
    )
    return thread


async def save_topic(db: Database, category: str, thread_id: int, now: datetime) -> None:
    await db.execute(
        "INSERT OR REPLACE INTO tip_topics (category, thread_id, created_at) VALUES (?, ?, ?)",
        (category, thread_id, now.isoformat()),
    )


async def forget_topic(db: Database, category: str) -> None:
    await db.execute("DELETE FROM tip_topics WHERE category = ?", (category,))


async def record_staff_message(
    db: Database, chat_id: int, message_id: int, tip_id: int, kind: str
) -> None:
    """Remember a staff-chat message of a tip, and what it is (card, photo, document, voice,
    video, location, text, or `staff`: a staff member's own), for replies and for erasure."""
    await db.execute(
        "INSERT OR IGNORE INTO tip_staff_messages (chat_id, message_id, tip_id, kind)"
        " VALUES (?, ?, ?, ?)",
        (chat_id, message_id, tip_id, kind),
    )


async def tip_of_staff_message(db: Database, chat_id: int, message_id: int) -> int | None:
    tip_id: int | None = await db.fetchval(
        "SELECT tip_id FROM tip_staff_messages WHERE chat_id = ? AND message_id = ?",
        (chat_id, message_id),
    )
    return tip_id


# --------------------------------------------------------------------------- exports
async def tips_since(db: Database, since: datetime | None) -> list[Tip]:
    """Tips for an export, oldest first, with media and follower counts."""
    rows = await db.fetchall(
        "SELECT * FROM tips WHERE created_at >= ? ORDER BY id",
        ((since.astimezone(UTC).isoformat() if since else ""),),
    )
    media = await db.fetchall("SELECT tip_id, kind, file_id, mime_type FROM tip_media ORDER BY id")
    by_tip: dict[int, list[sqlite3.Row]] = {}
    for item in media:
        by_tip.setdefault(item["tip_id"], []).append(item)
    counts = {
        row["tip_id"]: row["n"]
        for row in await db.fetchall(
            "SELECT tip_id, COUNT(*) AS n FROM tip_followers GROUP BY tip_id"
        )
    }
    return [_tip(row, by_tip.get(row["id"], []), counts.get(row["id"], 0)) for row in rows]


# --------------------------------------------------------------------------- personal data
async def export_resident(db: Database, telegram_id: int) -> dict[str, Any]:
    tips = await db.fetchall(
        "SELECT id, category, description, place_text, latitude, longitude, show_name,"
        " status, created_at, updated_at FROM tips WHERE telegram_id = ? ORDER BY id",
        (telegram_id,),
    )
    followed = await db.fetchall(
        "SELECT tip_id, since FROM tip_followers WHERE telegram_id = ? ORDER BY tip_id",
        (telegram_id,),
    )
    answers = await db.fetchall(
        "SELECT tip_id, kind, text, created_at FROM tip_answers WHERE telegram_id = ? ORDER BY id",
        (telegram_id,),
    )
    draft = await db.fetchone(
        "SELECT category, description, place_text, updated_at FROM tip_drafts"
        " WHERE telegram_id = ?",
        (telegram_id,),
    )
    data: dict[str, Any] = {}
    if tips:
        data["tips"] = [dict(row, reference=reference(row["id"])) for row in tips]
    if followed:
        data["following"] = [reference(row["tip_id"]) for row in followed]
    if answers:
        data["answers"] = [dict(row) for row in answers]
    if draft:
        data["draft"] = dict(draft)
    return data


_ERASE_TIP = (
    "UPDATE tips SET telegram_id = NULL, description = NULL, place_text = NULL,"
    " latitude = NULL, longitude = NULL, show_name = 0, reporter_name = NULL"
)


async def _erase_tip_rows(tx: Transaction, where: str, params: tuple[Any, ...]) -> int:
    ids = [row["id"] for row in await tx.fetchall(f"SELECT id FROM tips WHERE {where}", params)]
    for tip_id in ids:
        await tx.execute("DELETE FROM tip_media WHERE tip_id = ?", (tip_id,))
        await tx.execute("DELETE FROM tip_answers WHERE tip_id = ?", (tip_id,))
        await tx.execute("DELETE FROM tip_questions WHERE tip_id = ?", (tip_id,))
        await tx.execute("DELETE FROM tip_followers WHERE tip_id = ?", (tip_id,))
        await tx.execute("DELETE FROM tip_bridge WHERE tip_id = ?", (tip_id,))
        await tx.execute(f"{_ERASE_TIP} WHERE id = ?", (tip_id,))
    return len(ids)


async def forget_resident(tx: Transaction, telegram_id: int) -> None:
    """Erase what a resident wrote and where; keep the bare tip (category, dates, status).

    The district keeps a record that a tip of that kind was made and what was done, which
    says nothing about the person; text, place, media, answers and the link to them go.
    """
    await tx.execute("DELETE FROM tip_drafts WHERE telegram_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM tip_followers WHERE telegram_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM tip_answers WHERE telegram_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM tip_questions WHERE telegram_id = ?", (telegram_id,))
    await tx.execute("DELETE FROM tip_notifications WHERE telegram_id = ?", (telegram_id,))
    await _erase_tip_rows(tx, "telegram_id = ?", (telegram_id,))


def expiring(cutoff: datetime) -> tuple[str, tuple[Any, ...]]:
    """The tips whose personal data the retention run erases: finished (closed or merged)
    before `cutoff` and not erased yet. Shared with the staff-chat erasure's plan."""
    open_statuses = [s.value for s in TipStatus if s.is_open]
    return (
        f"status NOT IN ({_marks(open_statuses)}) AND updated_at < ?"
        " AND (telegram_id IS NOT NULL OR description IS NOT NULL)",
        (*open_statuses, cutoff.isoformat()),
    )


async def expire(tx: Transaction, cutoff: datetime) -> int:
    """Erase personal data from tips finished (closed or merged) before `cutoff`."""
    await tx.execute("DELETE FROM tip_drafts WHERE updated_at < ?", (cutoff.isoformat(),))
    return await _erase_tip_rows(tx, *expiring(cutoff))
