"""Tips being written: one draft per resident, its media, and turning it into a tip.

The draft is where the resident is in the tip flow (its step, see `bot/tips/steps.py`) and what
they gave so far; it lives here, not in memory, so a restart in the middle costs nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import outbox
from storage.db import Database


@dataclass(frozen=True)
class DraftMedia:
    kind: str
    file_id: str
    mime_type: str | None


@dataclass(frozen=True)
class Draft:
    telegram_id: int
    step: str
    category: str | None
    description: str | None
    latitude: float | None
    longitude: float | None
    place_text: str | None
    show_name: bool | None
    similar_tip_id: int | None
    created_at: datetime
    updated_at: datetime
    media: tuple[DraftMedia, ...] = ()

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def count(self, kind: str) -> int:
        return sum(1 for item in self.media if item.kind == kind)


async def get_draft(db: Database, telegram_id: int) -> Draft | None:
    row = await db.fetchone("SELECT * FROM tip_drafts WHERE telegram_id = ?", (telegram_id,))
    if row is None:
        return None
    media = await db.fetchall(
        "SELECT kind, file_id, mime_type FROM tip_draft_media WHERE telegram_id = ? ORDER BY id",
        (telegram_id,),
    )
    return _draft(row, media)


def _draft(row: sqlite3.Row, media: list[sqlite3.Row]) -> Draft:
    return Draft(
        telegram_id=row["telegram_id"],
        step=row["step"],
        category=row["category"],
        description=row["description"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        place_text=row["place_text"],
        show_name=None if row["show_name"] is None else bool(row["show_name"]),
        similar_tip_id=row["similar_tip_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        media=tuple(DraftMedia(m["kind"], m["file_id"], m["mime_type"]) for m in media),
    )


async def start_draft(
    db: Database, telegram_id: int, step: str, now: datetime, category: str | None = None
) -> None:
    """Begin a new draft at `step` (the flow's first), replacing any earlier one."""
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM tip_drafts WHERE telegram_id = ?", (telegram_id,))
        await tx.execute(
            "INSERT INTO tip_drafts (telegram_id, step, category, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (telegram_id, step, category, now.isoformat(), now.isoformat()),
        )


_DRAFT_FIELDS = {
    "step",
    "category",
    "description",
    "latitude",
    "longitude",
    "place_text",
    "show_name",
    "similar_tip_id",
}


async def update_draft(db: Database, telegram_id: int, now: datetime, **fields: Any) -> None:
    unknown = set(fields) - _DRAFT_FIELDS
    if unknown:
        raise ValueError(f"unknown draft fields {unknown}")
    assignments = ", ".join(f"{name} = ?" for name in fields)
    params = [*fields.values(), now.isoformat(), telegram_id]
    sql = f"UPDATE tip_drafts SET {assignments + ', ' if assignments else ''}updated_at = ?"
    await db.execute(sql + " WHERE telegram_id = ?", params)


async def add_draft_media(
    db: Database, telegram_id: int, kind: str, file_id: str, mime_type: str | None, now: datetime
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO tip_draft_media (telegram_id, kind, file_id, mime_type)"
            " VALUES (?, ?, ?, ?)",
            (telegram_id, kind, file_id, mime_type),
        )
        await tx.execute(
            "UPDATE tip_drafts SET updated_at = ? WHERE telegram_id = ?",
            (now.isoformat(), telegram_id),
        )


async def delete_draft(db: Database, telegram_id: int) -> bool:
    async with db.transaction() as tx:
        existed = await tx.fetchval(
            "SELECT 1 FROM tip_drafts WHERE telegram_id = ?", (telegram_id,)
        )
        await tx.execute("DELETE FROM tip_drafts WHERE telegram_id = ?", (telegram_id,))
    return bool(existed)


async def delete_stale_drafts(db: Database, cutoff: datetime) -> int:
    """Drop drafts untouched since `cutoff` (abandoned flows); returns how many."""
    async with db.transaction() as tx:
        count = await tx.fetchval(
            "SELECT COUNT(*) FROM tip_drafts WHERE updated_at < ?", (cutoff.isoformat(),)
        )
        await tx.execute("DELETE FROM tip_drafts WHERE updated_at < ?", (cutoff.isoformat(),))
    return int(count)


async def submit_draft(
    db: Database,
    telegram_id: int,
    language: str,
    reporter_name: str | None,
    possible_duplicate_of: int | None,
    now: datetime,
) -> int | None:
    """Turn a complete draft into a tip in one transaction; returns the new tip's id.

    The draft and its media go in the same transaction, so a tip is either fully stored or
    still a draft: a crash can never leave half a tip, nor lose a confirmed one.
    """
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT * FROM tip_drafts WHERE telegram_id = ?", (telegram_id,))
        if row is None or row["category"] is None:
            return None
        show_name = bool(row["show_name"])
        tip_id = await tx.execute(
            "INSERT INTO tips (telegram_id, category, description, latitude, longitude,"
            " place_text, show_name, reporter_name, language, possible_duplicate_of,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                telegram_id,
                row["category"],
                row["description"],
                row["latitude"],
                row["longitude"],
                row["place_text"],
                int(show_name),
                reporter_name if show_name else None,
                language,
                possible_duplicate_of,
                now.isoformat(),
                now.isoformat(),
            ),
        )
        await tx.execute(
            "INSERT INTO tip_media (tip_id, kind, file_id, mime_type)"
            " SELECT ?, kind, file_id, mime_type FROM tip_draft_media WHERE telegram_id = ?"
            " ORDER BY id",
            (tip_id, telegram_id),
        )
        await tx.execute("DELETE FROM tip_drafts WHERE telegram_id = ?", (telegram_id,))
        # The staff card goes out through the outbox, committed with the tip itself.
        await outbox.add_task(tx, "tip-card", f"tip-card:{tip_id}", {"tip_id": tip_id}, now)
    return tip_id
